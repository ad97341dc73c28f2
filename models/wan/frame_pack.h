#pragma once
// FramePackMotioner of Wan2.2-S2V (wan/modules/s2v/motioner.py): the motion latents of the previous
// clip are packed into few tokens, nearest frames finest: the last zip_frame_buckets[0] frames with a
// (1,2,2) patch (proj), the 2 before with (2,4,4) (proj_2x), the 16 before those with (4,8,8)
// (proj_4x). Their RoPE positions are negative frames (conjugated factors), sampled with strides so
// that a 2x/4x token covers the positions of the tokens it replaces.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace s2v::wan {

class FramePackMotionerImpl : public torch::nn::Module {
 public:
  FramePackMotionerImpl(int64_t inner_dim, int64_t num_heads, std::vector<int64_t> zip_frame_buckets,
                        std::string drop_mode);

  struct Output {
    torch::Tensor tokens;  // [1, Lm, inner_dim]
    torch::Tensor rope;    // [Lm, head_dim/2] complex128, as rope_precompute
  };
  // motion_latents: [16, T_m, H, W] (one sample). add_last_motion: 2 all buckets, 1 without the
  // nearest frame, 0 only the 4x bucket ('padd' mode zeroes the dropped frames instead).
  Output forward(const torch::Tensor& motion_latents, int64_t add_last_motion = 2);

  int64_t inner_dim, num_heads;
  std::vector<int64_t> zip_frame_buckets;
  std::string drop_mode;
  torch::Tensor freqs;  // rope_freqs(inner_dim / num_heads), complex128 (not a parameter)
  torch::nn::Conv3d proj{nullptr}, proj_2x{nullptr}, proj_4x{nullptr};
};
TORCH_MODULE(FramePackMotioner);

}  // namespace s2v::wan
