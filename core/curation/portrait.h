#pragma once
// The Generate workspace's portrait check: the curation detectors run on the dropped reference
// portrait, so the user sees the face/person boxes (and the skeleton when a pose model is loaded)
// and is warned before a long render about what the curation presets would reject: no face,
// several faces, a small face, a blurred face, a poor picture. No Qt, no LibTorch.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "core/curation/detect.h"
#include "core/curation/pose_model.h"
#include "core/curation/preset.h"
#include "core/curation/scores.h"

namespace s2v::curation {

struct PortraitCheck {
  cv::Size size;              // the working-resolution size the overlay is measured in
  FrameOverlay overlay;       // persons, hands (with a pose model), poses, and the prominent faces
                              // (at least 60% of the height of the largest)
  double face_share = 0.0;    // height of the largest face over the picture height
  Metric face_sharpness;      // of the largest face (CURATION.md's crop, 128×128 Laplacian variance)
  Metric clarity;             // 100 − BRISQUE
  std::string method;         // the detector that found the boxes
  std::vector<std::string> warnings;  // sentences, most important first; empty = looks fine
};

struct PortraitCheckOptions {
  DetectorPaths detectors;
  std::string brisque_dir = "/usr/share/opencv4/quality";
  PoseModel* pose = nullptr;                 // ViTPose when loaded; else the face/HOG detectors
  Preset preset = Preset::builtin("talking-head");  // its face_sharpness / clarity thresholds
  double min_face_share = 0.15;              // a face smaller than this share of the height is "small"
};

// bgr: the portrait at any size (resized to the working resolution first). Throws s2v::Error when
// a detector's model file is missing or the picture is empty.
PortraitCheck check_portrait(const cv::Mat& bgr, const PortraitCheckOptions& options = {});

// The JSON form `s2v portrait-check --json` prints and the GUI reads back when the check needs a
// network (the GUI links no LibTorch). portrait_check_from_json throws s2v::Error(Corrupt).
nlohmann::json to_json(const PortraitCheck& check);
PortraitCheck portrait_check_from_json(const nlohmann::json& j);

}  // namespace s2v::curation
