#pragma once
// The paper's networks for the metrics that also have an OpenCV fallback: DOVER (clarity),
// UniMatch (motion) and Light-ASD (audio-visual sync). The networks live in models/ (LibTorch);
// curation sees them only through these interfaces, so this header has no LibTorch. Each is
// optional in CurateOptions: null keeps the fallback of CURATION.md.
//
// They run after the per-frame workers of ClipScorer, on the scoring thread, with LibTorch's own
// intra-op threads; they must not keep state between clips that changes a clip's result. Each
// takes the job's CancelToken and checks it between its units of work (a frame pair, a view, a
// lag), so a cancel stops a slow network within one unit, not one clip.

#include <string>
#include <vector>

#include "core/curation/clip_frames.h"
#include "core/curation/detect.h"
#include "core/curation/metrics.h"
#include "core/curation/scores.h"
#include "models/base/cancel.h"

namespace s2v::curation {

// DOVER: technical + aesthetic branches fused into one clarity score, higher = better.
class ClarityModel {
 public:
  virtual ~ClarityModel() = default;
  // Source-resolution frames the model wants in clip.native_frames (see DecodeOptions): count and
  // the source-frame stride between them. 0 = it uses the sampled frames only.
  virtual int native_frames_wanted() const { return 0; }
  virtual int native_stride() const { return 1; }
  // The clip's score; `series`, when given, receives one value per sampled frame (NaN where the
  // model gives none). An unsuitable clip gives an n/a Metric with its reason; a failure throws
  // s2v::Error.
  virtual Metric score(const ClipFrames& clip, std::vector<double>* series,
                       const CancelToken& cancel = CancelToken::none()) = 0;
  virtual std::string method() const = 0;
};

// UniMatch optical flow. `motion` uses the unit of the DIS fallback (mean |flow| divided by the
// frame diagonal, ×1000, at the network's input size) so presets apply to both; series has one
// value per sampled frame, motion[i] for the pair (i-1, i), NaN at 0 and at skipped pairs.
class MotionModel {
 public:
  virtual ~MotionModel() = default;
  virtual MotionMetrics score(const ClipFrames& clip, const CancelToken& cancel = CancelToken::none()) = 0;
  virtual std::string method() const = 0;
};

// Light-ASD active-speaker detection on the single visible face against the audio.
// dets: the detections of clip.frames (working-resolution pixels; face boxes of sampled frames).
class SyncModel {
 public:
  virtual ~SyncModel() = default;
  virtual SyncMetrics score(const ClipFrames& clip, const std::vector<FrameDetections>& dets,
                            const CancelToken& cancel = CancelToken::none()) = 0;
  virtual std::string method() const = 0;
};

// One table names the networks for the CLI flags, the curate job's params and the GUI's settings,
// so the three never disagree (core/curate_job/model_loading.h builds them from those params).
struct CurationNetwork {
  std::string param;   // job param and CLI flag (--<param>), e.g. "pose_weights"
  std::string label;   // for the GUI, e.g. "ViTPose whole-body"
  std::string help;    // what it replaces and which file it takes
};
const std::vector<CurationNetwork>& curation_networks();

}  // namespace s2v::curation
