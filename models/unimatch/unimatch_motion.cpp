#include "models/unimatch/unimatch_motion.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/checkpoint.h"

namespace s2v::unimatch {

namespace F = torch::nn::functional;

UniMatchMotion::UniMatchMotion(UniMatch model, UniMatchMotionOptions options)
    : model_(std::move(model)), options_(options), run_(UniMatchRun::defaults(model_->config())) {
  if (options_.num_reg_refine > 0) run_.num_reg_refine = options_.num_reg_refine;
  if (options_.input_h < 8 || options_.input_w < 8)
    throw Error("UniMatch motion: input size " + std::to_string(options_.input_h) + "x" +
                    std::to_string(options_.input_w) + " is too small",
                ErrorKind::InvalidArgument);
  options_.pairs_per_batch = std::max(1, options_.pairs_per_batch);
  model_->eval();
}

// as VideoTextDataset.__getitem__ in Open-Sora's tools/scoring/optical_flow/inference.py
torch::Tensor UniMatchMotion::to_input(const cv::Mat& bgr) const {
  if (bgr.empty() || bgr.type() != CV_8UC3)
    throw Error("UniMatch motion: frames must be non-empty 8-bit BGR images", ErrorKind::InvalidArgument);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  auto t = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8)
               .permute({2, 0, 1})
               .to(torch::kFloat32)
               .unsqueeze(0);  // [1, 3, H, W], a copy
  if (t.size(2) > t.size(3)) t = t.transpose(2, 3);
  t = F::interpolate(t, F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{options_.input_h, options_.input_w})
                            .mode(torch::kBilinear)
                            .align_corners(true));
  return t.squeeze(0).contiguous();
}

torch::Tensor UniMatchMotion::flow(const torch::Tensor& img0, const torch::Tensor& img1) {
  torch::NoGradGuard no_grad;
  return model_->estimate_flow(img0, img1, run_, UniMatchRun::padding_factor(model_->config()));
}

double UniMatchMotion::normalised_magnitude(const torch::Tensor& flow) const {
  const double diagonal = std::hypot(double(options_.input_h), double(options_.input_w));
  const double mean = flow.to(torch::kFloat64).norm(2, {0}).mean().item<double>();
  return mean / diagonal * 1000.0;
}

std::vector<int> UniMatchMotion::chosen_pairs(int n, int max_pairs) {
  std::vector<int> out;
  const int pairs = n - 1;
  if (pairs <= 0) return out;
  if (max_pairs <= 0 || pairs <= max_pairs) {
    for (int i = 1; i < n; ++i) out.push_back(i);
    return out;
  }
  if (max_pairs == 1) return {1 + (pairs - 1) / 2};
  for (int k = 0; k < max_pairs; ++k) {
    const int i = 1 + int(std::lround(double(k) * double(pairs - 1) / double(max_pairs - 1)));
    if (out.empty() || out.back() != i) out.push_back(i);
  }
  return out;
}

curation::MotionMetrics UniMatchMotion::score(const curation::ClipFrames& clip, const CancelToken& cancel) {
  curation::MotionMetrics out;
  const int n = int(clip.frames.size());
  out.series.assign(size_t(std::max(n, 0)), std::numeric_limits<double>::quiet_NaN());
  if (n < 2) {
    out.motion = curation::Metric::na(method(), n == 1 ? "only one sampled frame (a pair needs two)"
                                                       : "no sampled frames");
    return out;
  }
  const auto pairs = chosen_pairs(n, options_.max_pairs);
  std::map<int, torch::Tensor> inputs;  // frame index -> network input, each converted once
  const auto input = [&](int i) {
    auto it = inputs.find(i);
    if (it == inputs.end()) it = inputs.emplace(i, to_input(clip.frames[size_t(i)])).first;
    return it->second;
  };
  double sum = 0.0;
  int count = 0;
  for (size_t start = 0; start < pairs.size(); start += size_t(options_.pairs_per_batch)) {
    cancel.throw_if_requested();
    const size_t end = std::min(pairs.size(), start + size_t(options_.pairs_per_batch));
    std::vector<torch::Tensor> a, b;
    for (size_t k = start; k < end; ++k) {
      a.push_back(input(pairs[k] - 1));
      b.push_back(input(pairs[k]));
    }
    const auto f = flow(torch::stack(a), torch::stack(b));  // [P, 2, H, W]
    for (size_t k = start; k < end; ++k) {
      const double v = normalised_magnitude(f[int64_t(k - start)]);
      out.series[size_t(pairs[k])] = v;
      sum += v;
      ++count;
    }
    // frames no later pair uses are dropped
    const int keep_from = end < pairs.size() ? pairs[end] - 1 : n;
    inputs.erase(inputs.begin(), inputs.lower_bound(keep_from));
  }
  out.motion = curation::Metric::of(sum / count, method());
  return out;
}

std::string UniMatchMotion::method() const {
  const double diagonal = std::hypot(double(options_.input_h), double(options_.input_w));
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%.3f", diagonal / 1000.0);
  return model_->config().name(run_.num_reg_refine) + " at " + std::to_string(options_.input_h) + "x" +
         std::to_string(options_.input_w) + ", mean |flow| / diagonal x1000 (Open-Sora's raw score = value x " +
         buf + ")";
}

std::shared_ptr<UniMatchMotion> make_motion_model(const std::filesystem::path& weights,
                                                  UniMatchMotionOptions options) {
  const auto view = unimatch_view(weights::open_checkpoint(weights));
  const UniMatchConfig config = infer_unimatch_config(*view);
  UniMatch model(config);
  load_unimatch(*model, view);
  return std::make_shared<UniMatchMotion>(model, options);
}

}  // namespace s2v::unimatch
