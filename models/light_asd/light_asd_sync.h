#pragma once
// Light-ASD as curation's SyncModel: the single visible face is tracked through the clip (the face
// boxes of the sampled frames, interpolated to every dense frame), cropped as Light-ASD's
// Columbia_test.py crops (box median-smoothed over 13 frames, crop scale 0.4, 224×224, the centre
// 112×112, grey) at 25 fps, and scored against the MFCC of the audio shifted by each lag of
// ±1 s in 0.2 s steps. Per lag, the mean per-frame P(speaking) (softmax of the lossAV logits,
// class 1); the lag with the highest mean is the offset.
//
//   auto sync = s2v::light_asd::make_sync_model("pretrain_AVA_CVPR.model");
//   options.sync = sync;  // curation::CurateOptions

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/curation/network_models.h"
#include "models/light_asd/light_asd.h"

namespace s2v::light_asd {

struct LightAsdSyncOptions {
  double max_lag_s = 1.0;     // lags −max..max
  double lag_step_s = 0.2;
  double crop_scale = 0.40;   // Columbia_test.py --cropScale
  int smooth_kernel = 13;     // scipy.signal.medfilt kernel on the box track (odd; 1 = off)
  double min_overlap_s = 0.4; // a lag whose audio/video overlap is shorter gives NaN
};

class LightAsdSync : public curation::SyncModel {
 public:
  // model: a loaded LightAsd (set to eval mode here).
  explicit LightAsdSync(LightAsd model, LightAsdSyncOptions options = {});

  // av_offset_s: the lag of the highest mean (positive when audio lags video); av_sync_confidence:
  // that mean minus the median over lags; ncc: the per-lag means (P(speaking), not correlations),
  // lags −max..max; lag_step_s: the step. n/a as the fallback: no audio, or one face in fewer
  // than half the sampled frames; also fewer than 16 frames at 25 fps.
  curation::SyncMetrics score(const curation::ClipFrames& clip,
                              const std::vector<curation::FrameDetections>& dets,
                              const CancelToken& cancel = CancelToken::none()) override;
  std::string method() const override;

  // The face crops the network sees: [T, 112, 112] float 0..255 at 25 fps, one per 25 fps frame
  // of the dense stream (empty when the clip has no single face track). Exposed for tests and
  // the clip viewer.
  torch::Tensor face_crops(const curation::ClipFrames& clip,
                           const std::vector<curation::FrameDetections>& dets) const;
  // Mean P(speaking) of the crops against the MFCC shifted by each lag (see score()); NaN where
  // the overlap is too short. frames: [T, 112, 112]; mfcc: [N, 13] at 100 frames/s.
  // `cancel` is checked between visual chunks and between lags.
  std::vector<double> lag_scores(const torch::Tensor& frames, const torch::Tensor& mfcc,
                                 const CancelToken& cancel = CancelToken::none()) const;

  const LightAsd& model() const { return model_; }
  const LightAsdSyncOptions& options() const { return options_; }

 private:
  LightAsd model_;
  LightAsdSyncOptions options_;
};

// Crops one face as Columbia_test.py's crop_video: the frame padded by bs·(1 + 2·crop_scale)
// with grey 110, rows [cy − bs, cy + bs·(1 + 2·crop_scale)), columns cx ± bs·(1 + crop_scale),
// resized to 224×224 (bilinear), then the centre 112×112. grey: CV_8U; (cx, cy, bs): box centre
// and half of its longer side in grey's pixels. Returns CV_8U 112×112.
cv::Mat crop_face(const cv::Mat& grey, double cx, double cy, double bs, double crop_scale = 0.40);

// scipy.signal.medfilt: a running median of odd `kernel` with zero padding at both ends.
std::vector<double> medfilt(const std::vector<double>& v, int kernel);

// Builds the adapter from the official checkpoint (.model/.pth) or a safetensors file with the
// official names. Throws s2v::Error naming the file and every missing/unexpected/mis-shaped tensor.
std::shared_ptr<LightAsdSync> make_sync_model(const std::filesystem::path& weights,
                                              LightAsdSyncOptions options = {});

}  // namespace s2v::light_asd
