#include "core/sampling/guidance.h"

#include <torch/torch.h>

#include "models/base/error.h"

namespace s2v::sampling {

torch::Tensor cfg_combine(const torch::Tensor& cond, const torch::Tensor& uncond, double scale) {
  if (cond.sizes() != uncond.sizes())
    throw Error("classifier-free guidance: the conditional and unconditional outputs differ in "
                "shape",
                ErrorKind::InvalidArgument);
  return uncond + (cond - uncond) * scale;
}

}  // namespace s2v::sampling
