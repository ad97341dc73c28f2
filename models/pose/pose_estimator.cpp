#include "models/pose/pose_estimator.h"

#include <algorithm>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/pose/topdown.h"
#include "models/weights/checkpoint.h"

namespace s2v::pose {

ViTPoseEstimator::ViTPoseEstimator(ViTPose model, std::string name, PoseEstimatorOptions options)
    : model_(std::move(model)), name_(std::move(name)), options_(options) {
  model_->eval();
}

std::vector<std::vector<Keypoint>> ViTPoseEstimator::estimate_wholebody(
    const cv::Mat& bgr, const std::vector<cv::Rect>& person_boxes) {
  if (bgr.empty() || bgr.type() != CV_8UC3)
    throw Error("ViTPose needs a BGR 8-bit frame", ErrorKind::InvalidArgument);
  const auto& c = model_->config();
  const cv::Size input(static_cast<int>(c.img_w), static_cast<int>(c.img_h));
  std::vector<cv::Rect> boxes = person_boxes;
  if (boxes.empty()) boxes.emplace_back(0, 0, bgr.cols, bgr.rows);

  std::vector<CenterScale> cs;
  cs.reserve(boxes.size());
  for (const auto& b : boxes) cs.push_back(box_to_center_scale(cv::Rect2d(b), input, options_.box_padding));

  std::vector<std::vector<Keypoint>> out;
  out.reserve(boxes.size());
  torch::NoGradGuard no_grad;
  const auto param = model_->parameters().front();
  const size_t step = static_cast<size_t>(std::max(1, options_.max_batch));
  for (size_t begin = 0; begin < boxes.size(); begin += step) {
    const size_t end = std::min(boxes.size(), begin + step);
    std::vector<torch::Tensor> crops;
    for (size_t i = begin; i < end; ++i) crops.push_back(crop_person(bgr, cs[i], input));
    // [n, 3, h, w] -> [n, K, Hh, Wh]
    const auto batch = torch::stack(crops).to(param.device(), param.scalar_type());
    auto heatmaps = model_->forward(batch);
    if (options_.flip_test && c.out_channels == kWholeBodyPoints)
      heatmaps = 0.5 * (heatmaps + flip_back(model_->forward(batch.flip({3})),
                                             wholebody_flip_permutation()));
    heatmaps = heatmaps.to(torch::kCPU, torch::kFloat32);
    for (size_t i = begin; i < end; ++i)
      out.push_back(decode_heatmaps(heatmaps[static_cast<int64_t>(i - begin)], cs[i]));
  }
  return out;
}

std::vector<Pose> ViTPoseEstimator::estimate(const cv::Mat& bgr,
                                             const std::vector<cv::Rect>& person_boxes) {
  if (model_->config().out_channels != kWholeBodyPoints)
    throw Error(name_ + " predicts " + std::to_string(model_->config().out_channels) +
                    " keypoints; the DWPose layout needs the 133 COCO-WholeBody points",
                ErrorKind::Unsupported);
  const auto raw = estimate_wholebody(bgr, person_boxes);
  std::vector<Pose> poses;
  poses.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    Pose p = from_coco_wholebody(raw[i], options_.conversion);
    const cv::Rect b = person_boxes.empty() ? cv::Rect(0, 0, bgr.cols, bgr.rows) : person_boxes[i];
    p.box = cv::Rect2f(b);
    poses.push_back(p);
  }
  return poses;
}

std::string ViTPoseEstimator::method() const {
  const auto& c = model_->config();
  return name_ + " whole-body " + std::to_string(c.img_h) + "x" + std::to_string(c.img_w) +
         " (top-down on person boxes)";
}

std::string vitpose_name(const ViTPoseConfig& c) {
  switch (c.embed_dim) {
    case 384: return "ViTPose-S";
    case 768: return "ViTPose-B";
    case 1024: return "ViTPose-L";
    case 1280: return "ViTPose-H";
    default: return "ViTPose-" + std::to_string(c.embed_dim);
  }
}

std::shared_ptr<ViTPoseEstimator> make_pose_model(const std::filesystem::path& weights,
                                                  PoseEstimatorOptions options) {
  auto source = weights::open_checkpoint(weights);
  const ViTPoseConfig config = infer_vitpose_config(*source);
  ViTPose model(config);
  load_vitpose(*model, source);
  return std::make_shared<ViTPoseEstimator>(model, vitpose_name(config), options);
}

}  // namespace s2v::pose
