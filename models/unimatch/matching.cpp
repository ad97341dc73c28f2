#include "models/unimatch/matching.h"

#include <cmath>
#include <vector>

#include <torch/torch.h>

namespace s2v::unimatch {

namespace F = torch::nn::functional;

torch::Tensor coords_grid(int64_t b, int64_t h, int64_t w, torch::Device device) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const auto y = torch::arange(h, opts).view({h, 1}).expand({h, w});
  const auto x = torch::arange(w, opts).view({1, w}).expand({h, w});
  return torch::stack({x, y}, 0).unsqueeze(0).repeat({b, 1, 1, 1});  // [B, 2, H, W]
}

namespace {

torch::Tensor grid_sample(const torch::Tensor& img, const torch::Tensor& grid) {
  return F::grid_sample(img, grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(true));
}

// as normalize_coords: pixel coordinates x, y [B, H, W] -> grid [B, H, W, 2] in [-1, 1]
torch::Tensor normalize_coords(const torch::Tensor& x, const torch::Tensor& y, int64_t h, int64_t w) {
  const auto cx = torch::tensor(float((w - 1) / 2.0), x.options());
  const auto cy = torch::tensor(float((h - 1) / 2.0), x.options());
  return torch::stack({(x - cx) / cx, (y - cy) / cy}, -1);
}

}  // namespace

// as bilinear_sample(feature, coords_grid + flow)
torch::Tensor flow_warp(const torch::Tensor& feature, const torch::Tensor& flow) {
  const int64_t b = feature.size(0), h = feature.size(2), w = feature.size(3);
  const auto coords = coords_grid(b, h, w, flow.device()) + flow;  // [B, 2, H, W]
  const auto x = 2 * coords.select(1, 0) / double(w - 1) - 1;
  const auto y = 2 * coords.select(1, 1) / double(h - 1) - 1;
  return grid_sample(feature, torch::stack({x, y}, -1));
}

torch::Tensor global_correlation_softmax(const torch::Tensor& feature0, const torch::Tensor& feature1) {
  const int64_t b = feature0.size(0), c = feature0.size(1), h = feature0.size(2), w = feature0.size(3);
  const auto f0 = feature0.view({b, c, -1}).permute({0, 2, 1});  // [B, H*W, C]
  const auto f1 = feature1.view({b, c, -1});                      // [B, C, H*W]
  const auto correlation = torch::matmul(f0, f1) / std::pow(double(c), 0.5);  // [B, H*W, H*W]
  const auto init_grid = coords_grid(b, h, w, feature0.device());
  const auto grid = init_grid.view({b, 2, -1}).permute({0, 2, 1});  // [B, H*W, 2]
  const auto prob = torch::softmax(correlation, -1);
  const auto correspondence = torch::matmul(prob, grid).view({b, h, w, 2}).permute({0, 3, 1, 2});
  return correspondence - init_grid;
}

namespace {

// The correlation of feature0 with feature1 sampled at (x + dx, y + dy) [+ flow] for every offset
// of the (2r+1)² window in row-major (dy, dx) order: [B, (2r+1)², H, W]. One grid_sample per
// offset instead of the official [B, H*W, C, (2r+1)²] window tensor (≈ 0.5 GB at 80×144); the
// same products, summed over C in another order.
torch::Tensor window_correlation(const torch::Tensor& feature0, const torch::Tensor& feature1,
                                 const torch::Tensor& flow, int64_t r, std::vector<torch::Tensor>* xs,
                                 std::vector<torch::Tensor>* ys) {
  const int64_t b = feature0.size(0), c = feature0.size(1), h = feature0.size(2), w = feature0.size(3);
  const auto coords = coords_grid(b, h, w, feature0.device());
  const auto x0 = coords.select(1, 0), y0 = coords.select(1, 1);  // [B, H, W]
  const double scale = std::pow(double(c), 0.5);
  std::vector<torch::Tensor> corr;
  for (int64_t dy = -r; dy <= r; ++dy) {
    for (int64_t dx = -r; dx <= r; ++dx) {
      auto x = x0 + double(dx);
      auto y = y0 + double(dy);
      if (flow.defined()) {
        x = x + flow.select(1, 0);
        y = y + flow.select(1, 1);
      }
      const auto sampled = grid_sample(feature1, normalize_coords(x, y, h, w));  // [B, C, H, W]
      corr.push_back((feature0 * sampled).sum(1) / scale);
      if (xs) xs->push_back(x);
      if (ys) ys->push_back(y);
    }
  }
  return torch::stack(corr, 1);
}

}  // namespace

// as local_correlation_softmax in matching.py
torch::Tensor local_correlation_softmax(const torch::Tensor& feature0, const torch::Tensor& feature1,
                                        int64_t r) {
  const int64_t h = feature0.size(2), w = feature0.size(3);
  std::vector<torch::Tensor> xs, ys;
  auto corr = window_correlation(feature0, feature1, {}, r, &xs, &ys);
  const auto sx = torch::stack(xs, 1), sy = torch::stack(ys, 1);  // [B, (2r+1)², H, W]
  const auto valid = (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h);
  corr = corr.masked_fill(valid.logical_not(), -1e9);
  const auto prob = torch::softmax(corr, 1);
  const auto cx = (prob * sx).sum(1), cy = (prob * sy).sum(1);
  const auto coords = coords_grid(feature0.size(0), h, w, feature0.device());
  return torch::stack({cx, cy}, 1) - coords;
}

torch::Tensor local_correlation_with_flow(const torch::Tensor& feature0, const torch::Tensor& feature1,
                                          const torch::Tensor& flow, int64_t r) {
  return window_correlation(feature0, feature1, flow, r, nullptr, nullptr);
}

// as upsample_flow_with_mask in utils.py
torch::Tensor upsample_flow_with_mask(const torch::Tensor& flow, const torch::Tensor& up_mask, int64_t k) {
  const int64_t b = flow.size(0), fc = flow.size(1), h = flow.size(2), w = flow.size(3);
  const auto mask = torch::softmax(up_mask.view({b, 1, 9, k, k, h, w}), 2);
  auto up = F::unfold(double(k) * flow, F::UnfoldFuncOptions({3, 3}).padding(1)).view({b, fc, 9, 1, 1, h, w});
  up = torch::sum(mask * up, 2);          // [B, 2, K, K, H, W]
  up = up.permute({0, 1, 4, 2, 5, 3});    // [B, 2, H, K, W, K]
  return up.reshape({b, fc, k * h, k * w});
}

}  // namespace s2v::unimatch
