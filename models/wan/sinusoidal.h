#pragma once
// Sinusoidal timestep embedding, as sinusoidal_embedding_1d in wan/modules/model.py.

#include <cstdint>

#include <torch/types.h>

namespace s2v::wan {

// position: [N] (any dtype) -> [N, dim] float64: [cos(p * w_j), sin(p * w_j)] with
// w_j = 10000^(-j / (dim/2)), j = 0 .. dim/2 - 1. dim must be even.
torch::Tensor sinusoidal_embedding_1d(int64_t dim, const torch::Tensor& position);

}  // namespace s2v::wan
