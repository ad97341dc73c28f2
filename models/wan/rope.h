#pragma once
// 3D rotary position embedding of Wan2.2-S2V (wan/modules/model.py rope_params,
// wan/modules/s2v/s2v_utils.py rope_precompute, model_s2v.py rope_apply). The head dimension d is
// split into d - 4*(d//6) channels for time and 2*(d//6) each for height and width; the factors are
// computed in float64 as in the reference.

#include <array>
#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace s2v::wan {

// One segment of tokens laid out as an (f, h, w) grid, in the form rope_precompute receives it
// (grid_sizes entries [start, end, range]): the segment has (end-start) frames x rows x columns
// tokens, and positions are sampled evenly over `range` starting at `start`. A negative start frame
// means motion tokens in the past: their frame positions count backwards and the factors are
// conjugated.
struct RopeGrid {
  std::array<int64_t, 3> start{0, 0, 0};
  std::array<int64_t, 3> end{0, 0, 0};
  std::array<int64_t, 3> range{0, 0, 0};

  int64_t tokens() const { return (end[0] - start[0]) * (end[1] - start[1]) * (end[2] - start[2]); }
};

// as rope_params: complex128 [max_seq_len, dim/2], e^{i * p * theta^(-2j/dim)}.
torch::Tensor rope_params(int64_t max_seq_len, int64_t dim, double theta = 10000.0);

// The model's table: rope_params for time, height and width concatenated: complex128
// [max_seq_len, head_dim/2].
torch::Tensor rope_freqs(int64_t head_dim, int64_t max_seq_len = 1024);

// as rope_precompute (batch 1): the complex128 factors [S, head_dim/2] of every token of the grids
// in order, S = sum of grid.tokens(). freqs: rope_freqs(head_dim).
torch::Tensor rope_precompute(const std::vector<RopeGrid>& grids, const torch::Tensor& freqs);

// Real form of precomputed factors for rope_apply: cos and sin of shape [1, S, 1, d/2] in `dtype`
// (float64 reproduces the reference; float32 is faster on accelerators) on `device`.
struct RopeTable {
  torch::Tensor cos;
  torch::Tensor sin;
  int64_t length() const { return cos.defined() ? cos.size(1) : 0; }
};
RopeTable rope_table(const torch::Tensor& factors, torch::ScalarType dtype, torch::Device device);

// as rope_apply in model_s2v.py: x: [B, S, N, D] -> [B, S, N, D] float32 (the reference returns
// float), rotating channel pairs (2j, 2j+1) of the first table.length() tokens.
torch::Tensor rope_apply(const torch::Tensor& x, const RopeTable& table);

// numpy.linspace(start, stop, num).astype(int): the exact sampling rope_precompute uses.
std::vector<int64_t> linspace_int(int64_t start, int64_t stop, int64_t num);

}  // namespace s2v::wan
