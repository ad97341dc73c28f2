#pragma once
// ViTPose whole-body as curation's PoseModel: crops each person box (mmpose top-down), runs the
// network on the batch of crops, decodes the heatmaps to 133 COCO-WholeBody keypoints and
// converts them to the DWPose layout.
//
//   auto pose = s2v::pose::make_pose_model("vitpose_h_wholebody.pth");
//   options.pose = pose;  // curation::CurateOptions

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/curation/pose_model.h"
#include "models/pose/vitpose.h"

namespace s2v::pose {

struct PoseEstimatorOptions {
  ConversionOptions conversion;  // DWPose's 0.3 visibility cuts
  double box_padding = 1.25;     // mmpose's _box2cs padding
  int max_batch = 8;             // crops per forward pass
  // mmpose's test_cfg flip_test with shift_heatmap (the ViTPose configs' evaluation setting):
  // average with the heatmaps of the mirrored crop. Doubles the cost; off by default.
  bool flip_test = false;
};

class ViTPoseEstimator : public curation::PoseModel {
 public:
  // model: a loaded ViTPose (eval mode); name: e.g. "ViTPose-H" for the method string.
  ViTPoseEstimator(ViTPose model, std::string name, PoseEstimatorOptions options = {});

  std::vector<Pose> estimate(const cv::Mat& bgr, const std::vector<cv::Rect>& person_boxes) override;
  std::string method() const override;

  // The raw keypoints (133 COCO-WholeBody points in frame pixels, raw scores) of each box.
  std::vector<std::vector<Keypoint>> estimate_wholebody(const cv::Mat& bgr,
                                                        const std::vector<cv::Rect>& person_boxes);
  const ViTPose& model() const { return model_; }

 private:
  ViTPose model_;
  std::string name_;
  PoseEstimatorOptions options_;
};

// "ViTPose-S/B/L/H" by embedding width ("ViTPose-<width>" for other widths).
std::string vitpose_name(const ViTPoseConfig& config);

// Builds a ViTPose whole-body estimator from a checkpoint file (an mmpose .pth or a safetensors
// file with the mmpose names), its configuration inferred from the tensor shapes. Throws
// s2v::Error naming the file and every missing/unexpected/mis-shaped tensor.
std::shared_ptr<ViTPoseEstimator> make_pose_model(const std::filesystem::path& weights,
                                                  PoseEstimatorOptions options = {});

}  // namespace s2v::pose
