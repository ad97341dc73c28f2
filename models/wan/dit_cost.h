#pragma once
// The work and memory of one WanModel_S2V denoising step, as plain arithmetic (no LibTorch): the
// figures the UI's memory estimate (core/generate estimate_memory) and bench_dit's achieved
// TFLOP/s are computed from, so a benchmark is judged against the same formula the user sees.

#include <algorithm>
#include <cstdint>

namespace s2v::wan {

struct DiTCostInputs {
  int64_t height = 0, width = 0;  // video pixels
  int64_t infer_frames = 80;      // video frames of one clip
  int64_t motion_frames = 73;     // video frames of the motion context (19 latent frames)
  int64_t dim = 5120, ffn_dim = 13824, num_heads = 40, num_layers = 40;
  int64_t parameters = 0;         // DiT parameters (16.3e9 for the 14B checkpoint)
  bool cfg = true;                // both guidance branches run
  uint64_t bytes_per_value = 2;   // activation / weight dtype size
  bool fused_attention = true;    // SDPA (no [heads, L, L] score matrix)
};

struct DiTCost {
  int64_t latent_frames = 0;
  int64_t tokens = 0;               // noisy + reference + FramePack motion tokens
  double flop_per_forward = 0;      // one branch
  double flop_per_step = 0;         // both branches with CFG
  double activation_bytes = 0;      // live tensors of one block at its peak
};

// Parameters of one WanAttentionBlock (dim C, FFN width F): self- and cross-attention q, k, v, o
// with biases (8 C^2 + 8 C), their q/k RMSNorms (4 C), norm3 (2 C), the FFN (2 C F + F + C) and
// the modulation (6 C). What --offload_blocks streams; everything else stays on the GPU.
inline double block_parameters(int64_t dim, int64_t ffn_dim) {
  const double C = static_cast<double>(dim), F = static_cast<double>(ffn_dim);
  return 8.0 * C * C + 2.0 * C * F + F + 21.0 * C;
}

inline DiTCost dit_cost(const DiTCostInputs& in) {
  DiTCost c;
  // tokens: noisy frames + reference + FramePack motion (1 full-res frame, 1 at 1/4, 4 at 1/16)
  const int64_t per_frame = (in.height / 16) * (in.width / 16);
  const int64_t lat_motion = (in.motion_frames + 3) / 4;
  c.latent_frames = (in.infer_frames + 3 + in.motion_frames) / 4 - lat_motion;
  c.tokens = per_frame * (c.latent_frames + 1) + per_frame + per_frame / 4 + per_frame / 4;
  const double L = static_cast<double>(c.tokens), C = static_cast<double>(in.dim);
  const double b = static_cast<double>(in.bytes_per_value);
  // 2 FLOPs per weight per token (linear layers) + attention (QK^T and PV: 4 L^2 C per layer)
  c.flop_per_forward = 2.0 * static_cast<double>(in.parameters) * L + 4.0 * L * L * C * static_cast<double>(in.num_layers);
  c.flop_per_step = (in.cfg ? 2.0 : 1.0) * c.flop_per_forward;
  // one block's live tensors at its peak, per token (b: compute dtype size):
  //   x, q, k, v, attention out, one more of width C      6 C b
  //   the FFN hidden before and after GELU                2 ffn_dim b
  //   the float32 residual stream and the normed input    2 C 4
  //   RoPE, in float64 as the reference: q or k as complex128 and its rotated copy (one of the
  //   two at a time)                                       2 C 8
  //   the rotated q and k, back in float32                 2 C 4
  // The last three rows were missing until the H200 run of 2026-12-04 measured 40.31 GiB peak
  // allocated at 14B/480p/80 frames against 34.6 estimated; with them the estimate is 39.5 GiB
  // (docs/performance.md "GPU"). The plain attention materialises [heads, L, L] float32 scores,
  // SDPA does not.
  const double act = L * (6.0 * C * b + 2.0 * static_cast<double>(in.ffn_dim) * b + 2.0 * C * 4.0 +
                          2.0 * C * 8.0 + 2.0 * C * 4.0);
  const double scores = in.fused_attention ? 0.0 : static_cast<double>(in.num_heads) * L * L * 4.0;
  c.activation_bytes = act + scores;
  return c;
}

}  // namespace s2v::wan
