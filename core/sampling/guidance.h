#pragma once
// Classifier-free guidance as the denoising loop of speech2video.py combines its two model calls:
// noise_pred = uncond + scale * (cond - uncond).

#include <torch/types.h>

namespace s2v::sampling {

// cond, uncond: the model outputs with and without conditioning, same shape.
torch::Tensor cfg_combine(const torch::Tensor& cond, const torch::Tensor& uncond, double scale);

// speech2video.py runs the unconditional branch only when guide_scale > 1.
inline bool needs_uncond(double scale) { return scale > 1.0; }

}  // namespace s2v::sampling
