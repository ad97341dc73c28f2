#pragma once
// UniMatch's matching (unimatch/matching.py) and the geometry it uses (unimatch/geometry.py,
// upsample_flow_with_mask of unimatch/utils.py): global and local correlation + softmax giving
// flow as the expected displacement, the local correlation around a flow for the refinement,
// backward warping and RAFT's convex upsampling. No parameters.

#include <cstdint>

#include <torch/types.h>

namespace s2v::unimatch {

// as coords_grid: [B, 2, H, W] pixel coordinates (x, y), float32.
torch::Tensor coords_grid(int64_t b, int64_t h, int64_t w, torch::Device device = torch::kCPU);

// as flow_warp / bilinear_sample: feature [B, C, H, W] sampled at (x + flow) bilinearly with zero
// padding (align_corners).
torch::Tensor flow_warp(const torch::Tensor& feature, const torch::Tensor& flow);

// as global_correlation_softmax: feature0, feature1 [B, C, H, W] -> flow [B, 2, H, W].
torch::Tensor global_correlation_softmax(const torch::Tensor& feature0, const torch::Tensor& feature1);

// as local_correlation_softmax: matching inside a (2r+1)² window, out-of-image candidates masked.
torch::Tensor local_correlation_softmax(const torch::Tensor& feature0, const torch::Tensor& feature1,
                                        int64_t local_radius);

// as local_correlation_with_flow: [B, (2r+1)², H, W] correlation of feature0 with feature1 around
// x + flow (zero padding), candidates in row-major (dy, dx) order.
torch::Tensor local_correlation_with_flow(const torch::Tensor& feature0, const torch::Tensor& feature1,
                                          const torch::Tensor& flow, int64_t local_radius);

// as upsample_flow_with_mask: flow [B, 2, H, W], mask [B, 9·K², H, W] -> [B, 2, K·H, K·W]
// (convex combination of the 3×3 neighbours of K·flow).
torch::Tensor upsample_flow_with_mask(const torch::Tensor& flow, const torch::Tensor& mask, int64_t factor);

}  // namespace s2v::unimatch
