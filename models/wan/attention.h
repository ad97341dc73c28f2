#pragma once
// Attention for the Wan2.2-S2V DiT: one kernel interface (flash_attention in
// wan/modules/attention.py) with a plain softmax implementation for any LibTorch and
// scaled_dot_product_attention where LibTorch >= 2 has it, chosen at run time; and the attention
// layers built on it (WanRMSNorm, WanSelfAttention as in model_s2v.py WanS2VSelfAttention,
// WanCrossAttention from wan/modules/model.py), registered under the official names
// (q, k, v, o, norm_q, norm_k).

#include <cstdint>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "models/wan/rope.h"

namespace s2v::wan {

enum class AttentionBackend {
  Auto,  // Sdpa when compiled against LibTorch >= 2, otherwise Math
  Math,  // softmax(q k^T / sqrt(d)) v, queries in chunks to bound the score memory
  Sdpa,  // at::scaled_dot_product_attention (LibTorch >= 2 only; throws otherwise)
};

// Which of scaled_dot_product_attention's kernels it may choose (LibTorch >= 2 with the
// at::globalContext().setSDPUse* switches; see sdpa_kernel_selectable()). Any leaves PyTorch's
// own choice (flash for bf16/fp16 on recent GPUs); the others allow that kernel alone for the call
// and restore the switches afterwards, so an input the kernel cannot take fails loudly instead of
// falling back silently.
enum class SdpaKernel { Any, Flash, MemEfficient, Math, CuDNN };

struct AttentionOptions {
  AttentionBackend backend = AttentionBackend::Auto;
  SdpaKernel sdpa_kernel = SdpaKernel::Any;
  // Math backend: upper bound of one chunk of attention scores, in bytes.
  int64_t max_score_bytes = int64_t(1) << 30;
};

// True when this build can run AttentionBackend::Sdpa.
bool sdpa_available();
// True when this build can restrict SDPA to one kernel (SdpaKernel other than Any; CuDNN needs 2.4+).
bool sdpa_kernel_selectable(SdpaKernel kernel);
const char* to_string(AttentionBackend backend);
const char* to_string(SdpaKernel kernel);
// "any" | "flash" | "efficient" | "math" | "cudnn"; throws s2v::Error for anything else.
SdpaKernel parse_sdpa_kernel(const std::string& name);

// While one is alive (on this thread), make_linear() leaves weights uninitialised instead of drawing
// LibTorch's random init, and allocates them on `device` in `dtype`. Building a 14B model whose
// weights are loaded or filled next then costs no 16e9 serial CPU random draws (minutes), and a
// GPU benchmark can build its blocks on the GPU directly.
class SkipInitGuard {
 public:
  explicit SkipInitGuard(torch::Device device = torch::kCPU, torch::ScalarType dtype = torch::kFloat32);
  ~SkipInitGuard();
  SkipInitGuard(const SkipInitGuard&) = delete;
  SkipInitGuard& operator=(const SkipInitGuard&) = delete;

 private:
  const void* previous_;
};

// nn.Linear(in, out) with bias: LibTorch's init, or uninitialised under a SkipInitGuard.
torch::nn::Linear make_linear(int64_t in, int64_t out);

// q: [B, Lq, N, D], k/v: [B, Lk, N, D] (same dtype) -> [B, Lq, N*D]. Full (unmasked) attention with
// scale 1/sqrt(D); softmax is computed in float32 for half-precision inputs.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const AttentionOptions& options = {});

// Linear applied in the weight's dtype (inputs of another dtype are cast first).
torch::Tensor linear_in_weight_dtype(const torch::nn::Linear& layer, const torch::Tensor& x);

// as WanRMSNorm: x * rsqrt(mean(x^2) + eps) in float32, cast back, times weight.
class WanRMSNormImpl : public torch::nn::Module {
 public:
  WanRMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(WanRMSNorm);

// as WanLayerNorm without affine parameters (norm1, norm2, head.norm): in float32, cast back.
torch::Tensor wan_layer_norm(const torch::Tensor& x, double eps,
                             const torch::Tensor& weight = {}, const torch::Tensor& bias = {});

// Shared layers of WanSelfAttention / WanCrossAttention.
class WanAttentionImpl : public torch::nn::Module {
 public:
  WanAttentionImpl(int64_t dim, int64_t num_heads, bool qk_norm, double eps);

  // as WanS2VSelfAttention.forward: x: [B, L, C], rope over the first rope.length() tokens.
  torch::Tensor self_attention(const torch::Tensor& x, const RopeTable& rope,
                               const AttentionOptions& options);
  // as WanCrossAttention.forward: x: [B, L1, C], context: [B, L2, C] -> [B, L1, C].
  torch::Tensor cross_attention(const torch::Tensor& x, const torch::Tensor& context,
                                const AttentionOptions& options);

  int64_t dim, num_heads, head_dim;
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  WanRMSNorm norm_q{nullptr}, norm_k{nullptr};  // null when qk_norm is off
};
TORCH_MODULE(WanAttention);

}  // namespace s2v::wan
