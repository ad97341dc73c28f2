#pragma once
// ClipScorer: every default metric of one clip from its decoded frames, sharing detections and
// grey frames between metrics and running the two halves of the work on two threads.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/curation/aesthetics.h"
#include "core/curation/clip_frames.h"
#include "core/curation/detect.h"
#include "core/curation/network_models.h"
#include "core/curation/pose_model.h"
#include "core/curation/scores.h"
#include "models/base/cancel.h"

namespace s2v::curation {

struct CurateOptions {
  DetectorPaths detectors;
  std::string brisque_dir = "/usr/share/opencv4/quality";
  std::string tessdata;               // empty = Tesseract's default folder
  std::shared_ptr<AestheticsModel> aesthetics;  // null → aesthetics n/a
  // null → HOG + face cascades (no hands); set → ViTPose whole-body on the detectors' person
  // boxes (the whole frame when none) gives people, face boxes and hand boxes.
  std::shared_ptr<PoseModel> pose;
  // The paper's networks for clarity (DOVER), motion (UniMatch) and sync (Light-ASD); each, when
  // set, replaces its fallback (BRISQUE, DIS flow, mouth motion vs envelope), which is then skipped.
  std::shared_ptr<ClarityModel> clarity_model;
  std::shared_ptr<MotionModel> motion_model;
  std::shared_ptr<SyncModel> sync_model;
  int workers = 2;                    // threads for the per-frame work (s2v curate --jobs)
  int ocr_every = 1;                  // OCR every n-th sampled frame
  int clarity_every = 1;              // BRISQUE on every n-th sampled frame
};

// CPU seconds (summed over the worker threads) per metric group in the last score() call:
// people, motion, clarity, subtitles, sharpness, aesthetics, av_sync; and "wall": wall seconds.
using MetricTimings = std::map<std::string, double>;

class ClipScorer {
 public:
  // Loads every detector/model once. Throws s2v::Error naming a missing model file.
  explicit ClipScorer(CurateOptions options = {});
  ~ClipScorer();

  // Scores one clip. `cancel` is checked between frames by every worker and handed to the
  // networks, which check it between their units (a frame pair, a lag, a view); throws
  // s2v::Cancelled.
  ClipScores score(const ClipFrames& clip, const CancelToken& cancel = CancelToken::none());
  const MetricTimings& timings() const { return timings_; }
  const CurateOptions& options() const { return options_; }

 private:
  struct Impl;
  CurateOptions options_;
  std::unique_ptr<Impl> impl_;
  MetricTimings timings_;
};

}  // namespace s2v::curation
