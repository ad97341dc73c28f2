#include "models/wan/sinusoidal.h"

#include <torch/torch.h>

#include "models/base/error.h"

namespace s2v::wan {

torch::Tensor sinusoidal_embedding_1d(int64_t dim, const torch::Tensor& position) {
  if (dim % 2 != 0)
    throw Error("sinusoidal_embedding_1d: the dimension " + std::to_string(dim) + " is odd",
                ErrorKind::InvalidArgument);
  // position: [N]
  const int64_t half = dim / 2;
  auto pos = position.to(torch::kFloat64).reshape({-1});
  auto j = torch::arange(half, pos.options()).div(static_cast<double>(half));
  auto freq = torch::pow(10000.0, -j);                 // [half]
  auto sinusoid = torch::outer(pos, freq);             // [N, half]
  return torch::cat({torch::cos(sinusoid), torch::sin(sinusoid)}, 1);  // [N, dim]
}

}  // namespace s2v::wan
