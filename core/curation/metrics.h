#pragma once
// The curation metrics of CURATION.md as functions of decoded frames and detections. Each returns
// Metric values (value + method + n/a reason) and, where a plot needs it, a per-frame series.

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/curation/clip_frames.h"
#include "core/curation/detect.h"
#include "core/curation/scores.h"

namespace s2v::curation {

// ---- Pose and people (fallback: HOG + face cascades) --------------------------------------
struct PeopleMetrics {
  Metric people_max;           // max persons in a sampled frame
  Metric single_person_ratio;  // share of frames with exactly one person covering ≥ 5% of frame
  Metric talking_face_run_s;   // longest run of consecutive frames with exactly one face, seconds
  std::vector<double> people_series;
  std::vector<double> faces_series;
};
// dets: resolved detections of each sampled frame (see resolve_persons), fps: sampling rate.
PeopleMetrics people_metrics(const std::vector<FrameDetections>& dets, cv::Size frame, double fps,
                             const std::string& method);

// ---- Sharpness ------------------------------------------------------------------------------
// Variance of the 3×3 Laplacian of a box enlarged by 10%, grey, resized to side×side (area).
// Returns NaN when the box is under 24 px.
double box_sharpness(const cv::Mat& bgr, const cv::Rect& box, int side);
struct SharpnessMetrics {
  Metric face_sharpness;  // median over frames of the mean face sharpness of the frame
  Metric hand_sharpness;
  std::vector<double> face_series;
};
SharpnessMetrics sharpness_metrics(const std::vector<cv::Mat>& frames,
                                   const std::vector<FrameDetections>& dets);

// ---- Motion ---------------------------------------------------------------------------------
struct MotionMetrics {
  Metric motion;               // mean over pairs of mean |flow| / diagonal × 1000
  std::vector<double> series;  // one value per consecutive pair
};
class MotionScorer {
 public:
  MotionScorer();
  ~MotionScorer();
  // Normalised mean flow magnitude between two grey frames of equal size.
  double pair(const cv::Mat& grey0, const cv::Mat& grey1);
  MotionMetrics score(const std::vector<cv::Mat>& grey_frames);
  static std::string method();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- Clarity --------------------------------------------------------------------------------
class ClarityScorer {
 public:
  // model_dir holds brisque_model_live.yml and brisque_range_live.yml. Throws s2v::Error.
  explicit ClarityScorer(const std::string& model_dir = "/usr/share/opencv4/quality");
  ~ClarityScorer();
  double brisque(const cv::Mat& bgr);  // lower = better
  // clarity = 100 − median BRISQUE over the frames.
  Metric score(const std::vector<cv::Mat>& frames, std::vector<double>* series = nullptr);
  static std::string method();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- Subtitles ------------------------------------------------------------------------------
struct TextMetrics {
  Metric text_area_ratio;              // median over frames of union(text boxes) / frame area
  Metric subtitle_over_face_or_hands;  // 1 when ≥ 2 frames have text over a face/hand box
  std::vector<double> area_series;
  std::vector<std::vector<cv::Rect>> boxes;  // kept word boxes per frame
};
class TextDetector {
 public:
  // tessdata: folder with eng.traineddata (empty = Tesseract's default). Throws s2v::Error.
  explicit TextDetector(const std::string& tessdata = {}, const std::string& lang = "eng");
  ~TextDetector();
  TextDetector(const TextDetector&) = delete;
  TextDetector& operator=(const TextDetector&) = delete;
  // Word boxes with confidence ≥ 60 and at least 2 characters. bgr or grey input.
  std::vector<cv::Rect> words(const cv::Mat& image);
  std::string method() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
// Union area of boxes over the frame area.
double text_area(const std::vector<cv::Rect>& boxes, cv::Size frame);
// boxes: word boxes per sampled frame; read[i] == 0 marks frames that OCR skipped.
TextMetrics text_metrics(std::vector<std::vector<cv::Rect>> boxes, const std::vector<char>& read,
                         const std::vector<FrameDetections>& dets, cv::Size frame,
                         const std::string& method, bool hands_known);

// ---- Audio-visual sync ----------------------------------------------------------------------
// The lag search of the mouth-motion sync fallback covers +-kSyncSearchS seconds; offsets within
// +-kSyncInSyncS count as in sync (CURATION.md's search range). The wider search sees a 1-2 s
// offset instead of scoring a side lobe inside +-1 s; the narrower range keeps such a clip, found
// late or early, from passing as in sync.
inline constexpr double kSyncSearchS = 2.0;
inline constexpr double kSyncInSyncS = 1.0;

struct SyncMetrics {
  // In sync: the best NCC within +-kSyncInSyncS minus the median over all lags. Flagged (see
  // beyond_in_sync): that best in-sync NCC minus the peak beyond it (< 0).
  Metric av_sync_confidence;
  // Lag of the best in-sync NCC, or of the peak when flagged; positive when audio lags video.
  Metric av_offset_s;
  std::vector<double> ncc;    // NCC per lag, lags −L..L
  double lag_step_s = 0.0;
  // The audio matches the mouth better at a lag beyond +-kSyncInSyncS, by more than the spread of
  // the NCC over lags: the clip is out of sync by av_offset_s.
  bool beyond_in_sync = false;
};
// Why sync cannot be judged (no audio; one face in fewer than half the sampled frames), or "" when
// it can. The fallback and Light-ASD apply the same rule.
std::string sync_not_applicable(const ClipFrames& clip, const std::vector<FrameDetections>& dets);
// Mouth-region motion energy vs audio RMS envelope (fallback for Light-ASD). Uses
// clip.sync_frames when present, else the sampled frames; dets are the sampled frames' detections.
SyncMetrics av_sync(const ClipFrames& clip, const std::vector<FrameDetections>& dets);
// Normalised cross-correlation of a against b shifted by each lag in [−max_lag, max_lag]:
// ncc[k] = corr(a[t], b[t + lag_k]) over the overlap.
std::vector<double> ncc_lags(const std::vector<double>& a, const std::vector<double>& b,
                             int max_lag);
// RMS of `audio` in windows of 1/fps seconds centred on i/fps, for n frames.
std::vector<double> rms_envelope(const std::vector<float>& audio, int rate, double fps, int n);

// Median of the finite values (NaN when none).
double median_finite(std::vector<double> v);

}  // namespace s2v::curation
