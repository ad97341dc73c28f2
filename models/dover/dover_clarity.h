#pragma once
// DOVER as curation's ClarityModel: one clip of the technical view (fragments of 32 source-
// resolution frames, every 2nd frame, centred in the clip, as dover.yml's clip_len/frame_interval)
// and the aesthetic view (32 frames spread over the whole clip, as the official sampler does,
// resized to 224×224), each branch scored as the mean of its head map, fused as
// evaluate_one_video.py fuse_results, reported ×100 (0..100, higher is better).
//
//   auto clarity = s2v::dover::make_clarity_model("DOVER.pth");
//   options.clarity_model = clarity;  // curation::CurateOptions

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/curation/network_models.h"
#include "models/dover/dover.h"
#include "models/dover/dover_views.h"

namespace s2v::dover {

struct DoverClarityOptions {
  int clip_len = 32;         // frames per view (dover.yml clip_len)
  int frame_interval = 2;    // source-frame stride of the technical clip (dover.yml frame_interval)
  FragmentOptions fragments; // 7×7 patches of 32×32
  int64_t aesthetic_size = 224;
  // The official aesthetic sampler takes one frame from each of clip_len equal segments of the
  // whole video; the sampled working-resolution frames (clip.frames) cover the whole clip, the
  // native ones only ~2 s. false: use the native frames for both views.
  bool aesthetic_from_sampled_frames = true;
};

struct DoverResult {
  double technical = 0.0;  // mean of the technical head map (DOVER's raw technical score)
  double aesthetic = 0.0;  // mean of the aesthetic head map
  double fused = 0.0;      // fuse_scores, 0..1
  std::string note;        // which frames fed the views when not the preferred ones
};

class DoverClarity : public curation::ClarityModel {
 public:
  explicit DoverClarity(Dover model, DoverClarityOptions options = {});

  int native_frames_wanted() const override { return options_.clip_len; }
  int native_stride() const override { return options_.frame_interval; }
  // clarity = fused × 100; `series` is left untouched (DOVER gives one score per clip).
  curation::Metric score(const curation::ClipFrames& clip, std::vector<double>* series,
                         const CancelToken& cancel = CancelToken::none()) override;
  std::string method() const override;

  // Both branch scores and the fused one. Throws s2v::Error when the clip has no frames;
  // s2v::Cancelled when `cancel` is requested before the views are built or before the forward.
  DoverResult evaluate(const curation::ClipFrames& clip, const CancelToken& cancel = CancelToken::none());
  const Dover& model() const { return model_; }

 private:
  Dover model_;
  DoverClarityOptions options_;
};

// Builds DOVER from DOVER.pth (or a safetensors file with its names), the configuration inferred
// from the tensor shapes. Throws s2v::Error naming the file and every missing, unexpected or
// mis-shaped tensor.
std::shared_ptr<DoverClarity> make_clarity_model(const std::filesystem::path& weights,
                                                 DoverClarityOptions options = {});

}  // namespace s2v::dover
