#include "models/wan/attention.h"

#include <cmath>

#include <torch/torch.h>
#include <torch/version.h>

#include "models/base/error.h"
#include "s2v_torch_features.h"

#if S2V_TORCH_SDP_BACKENDS
#include <ATen/Context.h>
#endif

namespace s2v::wan {

bool sdpa_available() {
#if TORCH_VERSION_MAJOR >= 2
  return true;
#else
  return false;
#endif
}

bool sdpa_kernel_selectable(SdpaKernel kernel) {
  if (kernel == SdpaKernel::Any) return sdpa_available();
  if (kernel == SdpaKernel::CuDNN) return S2V_TORCH_SDP_BACKENDS && S2V_TORCH_SDP_CUDNN;
  return S2V_TORCH_SDP_BACKENDS;
}

const char* to_string(SdpaKernel kernel) {
  switch (kernel) {
    case SdpaKernel::Any: return "any";
    case SdpaKernel::Flash: return "flash";
    case SdpaKernel::MemEfficient: return "efficient";
    case SdpaKernel::Math: return "math";
    case SdpaKernel::CuDNN: return "cudnn";
  }
  return "?";
}

SdpaKernel parse_sdpa_kernel(const std::string& name) {
  for (auto k : {SdpaKernel::Any, SdpaKernel::Flash, SdpaKernel::MemEfficient, SdpaKernel::Math, SdpaKernel::CuDNN})
    if (name == to_string(k)) return k;
  throw Error("unknown SDPA kernel '" + name + "' (any, flash, efficient, math, cudnn)", ErrorKind::InvalidArgument,
              name);
}

namespace {

struct LinearInit {
  torch::Device device;
  torch::ScalarType dtype;
};
thread_local const LinearInit* skip_init = nullptr;

}  // namespace

SkipInitGuard::SkipInitGuard(torch::Device device, torch::ScalarType dtype) : previous_(skip_init) {
  skip_init = new LinearInit{device, dtype};
}

SkipInitGuard::~SkipInitGuard() {
  delete skip_init;
  skip_init = static_cast<const LinearInit*>(previous_);
}

torch::nn::Linear make_linear(int64_t in, int64_t out) {
  if (!skip_init) return torch::nn::Linear(in, out);
  // a 1x1 layer (its init is nothing), then the real shapes without init
  torch::nn::Linear l(1, 1);
  const auto opts = torch::TensorOptions().device(skip_init->device).dtype(skip_init->dtype);
  l->weight.set_data(torch::empty({out, in}, opts));
  l->bias.set_data(torch::empty({out}, opts));
  l->options = torch::nn::LinearOptions(in, out);
  return l;
}

const char* to_string(AttentionBackend backend) {
  switch (backend) {
    case AttentionBackend::Auto: return "auto";
    case AttentionBackend::Math: return "math";
    case AttentionBackend::Sdpa: return "sdpa";
  }
  return "?";
}

namespace {

// q: [B, N, Lq, D], k/v: [B, N, Lk, D] -> [B, N, Lq, D]
torch::Tensor math_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             int64_t max_score_bytes) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const bool half = q.scalar_type() == torch::kBFloat16 || q.scalar_type() == torch::kHalf;
  const int64_t B = q.size(0), N = q.size(1), Lq = q.size(2), Lk = k.size(2);
  const int64_t row_bytes = B * N * Lk * 4;  // one query row of float32 scores
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(Lq, max_score_bytes / std::max<int64_t>(row_bytes, 1)));
  auto kt = k.transpose(-2, -1);
  auto run = [&](const torch::Tensor& qc) {
    auto scores = torch::matmul(qc, kt).mul_(scale);
    if (half) return torch::matmul(torch::softmax(scores, -1, torch::kFloat32).to(v.scalar_type()), v);
    return torch::matmul(torch::softmax(scores, -1), v);
  };
  if (chunk >= Lq) return run(q);
  auto out = torch::empty({B, N, Lq, v.size(-1)}, v.options());
  for (int64_t s = 0; s < Lq; s += chunk) {
    const int64_t n = std::min(chunk, Lq - s);
    out.narrow(2, s, n).copy_(run(q.narrow(2, s, n)));
  }
  return out;
}

#if S2V_TORCH_SDP_BACKENDS
// Allows one SDPA kernel for its lifetime, then restores the global switches.
class SdpaKernelScope {
 public:
  explicit SdpaKernelScope(SdpaKernel kernel) : active_(kernel != SdpaKernel::Any) {
    if (!active_) return;
    auto& c = at::globalContext();
    flash_ = c.userEnabledFlashSDP();
    efficient_ = c.userEnabledMemEfficientSDP();
    math_ = c.userEnabledMathSDP();
    c.setSDPUseFlash(kernel == SdpaKernel::Flash);
    c.setSDPUseMemEfficient(kernel == SdpaKernel::MemEfficient);
    c.setSDPUseMath(kernel == SdpaKernel::Math);
#if S2V_TORCH_SDP_CUDNN
    cudnn_ = c.userEnabledCuDNNSDP();
    c.setSDPUseCuDNN(kernel == SdpaKernel::CuDNN);
#endif
  }
  ~SdpaKernelScope() {
    if (!active_) return;
    auto& c = at::globalContext();
    c.setSDPUseFlash(flash_);
    c.setSDPUseMemEfficient(efficient_);
    c.setSDPUseMath(math_);
#if S2V_TORCH_SDP_CUDNN
    c.setSDPUseCuDNN(cudnn_);
#endif
  }

 private:
  bool active_, flash_ = true, efficient_ = true, math_ = true, cudnn_ = true;
};
#endif

}  // namespace

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const AttentionOptions& options) {
  // q: [B, Lq, N, D], k/v: [B, Lk, N, D]
  const int64_t B = q.size(0), Lq = q.size(1), N = q.size(2), D = q.size(3);
  auto qt = q.transpose(1, 2), kt = k.transpose(1, 2), vt = v.transpose(1, 2);  // [B, N, L, D]
  AttentionBackend backend = options.backend;
  if (backend == AttentionBackend::Auto)
    backend = sdpa_available() ? AttentionBackend::Sdpa : AttentionBackend::Math;
  torch::Tensor out;
  if (backend == AttentionBackend::Sdpa) {
#if TORCH_VERSION_MAJOR >= 2
    if (!sdpa_kernel_selectable(options.sdpa_kernel))
      throw Error(std::string("this LibTorch cannot restrict scaled_dot_product_attention to the ") +
                      to_string(options.sdpa_kernel) + " kernel",
                  ErrorKind::Unsupported);
#if S2V_TORCH_SDP_BACKENDS
    SdpaKernelScope scope(options.sdpa_kernel);
#endif
    out = at::scaled_dot_product_attention(qt, kt, vt);
#else
    throw Error("scaled_dot_product_attention needs LibTorch 2 or newer; this build has " +
                    std::string(TORCH_VERSION),
                ErrorKind::Unsupported);
#endif
  } else {
    out = math_attention(qt, kt, vt, options.max_score_bytes);
  }
  return out.transpose(1, 2).reshape({B, Lq, N * D});
}

torch::Tensor linear_in_weight_dtype(const torch::nn::Linear& layer, const torch::Tensor& x) {
  const auto& w = layer->weight;
  return torch::linear(x.scalar_type() == w.scalar_type() ? x : x.to(w.scalar_type()), w,
                       layer->bias);
}

WanRMSNormImpl::WanRMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor WanRMSNormImpl::forward(const torch::Tensor& x) {
  // x: [B, L, C]
  auto xf = x.to(torch::kFloat32);
  auto n = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps);
  return n.to(x.scalar_type()) * weight;
}

torch::Tensor wan_layer_norm(const torch::Tensor& x, double eps, const torch::Tensor& weight,
                             const torch::Tensor& bias) {
  // x: [B, L, C]; as WanLayerNorm: computed on x.float(), returned in x's dtype
  auto y = torch::layer_norm(x.to(torch::kFloat32), {x.size(-1)},
                             weight.defined() ? weight.to(torch::kFloat32) : weight,
                             bias.defined() ? bias.to(torch::kFloat32) : bias, eps);
  return y.to(x.scalar_type());
}

WanAttentionImpl::WanAttentionImpl(int64_t dim_, int64_t num_heads_, bool qk_norm, double eps)
    : dim(dim_), num_heads(num_heads_), head_dim(dim_ / num_heads_) {
  q = register_module("q", make_linear(dim, dim));
  k = register_module("k", make_linear(dim, dim));
  v = register_module("v", make_linear(dim, dim));
  o = register_module("o", make_linear(dim, dim));
  if (qk_norm) {
    norm_q = register_module("norm_q", WanRMSNorm(dim, eps));
    norm_k = register_module("norm_k", WanRMSNorm(dim, eps));
  }
}

torch::Tensor WanAttentionImpl::self_attention(const torch::Tensor& x, const RopeTable& rope,
                                               const AttentionOptions& options) {
  // x: [B, L, C]
  const int64_t b = x.size(0), s = x.size(1);
  auto qx = linear_in_weight_dtype(q, x), kx = linear_in_weight_dtype(k, x);
  auto vx = linear_in_weight_dtype(v, x).view({b, s, num_heads, head_dim});
  if (norm_q) qx = norm_q(qx);
  if (norm_k) kx = norm_k(kx);
  // rope_apply returns float32 (as the reference); the kernel runs in v's dtype.
  auto qr = rope_apply(qx.view({b, s, num_heads, head_dim}), rope).to(vx.scalar_type());
  auto kr = rope_apply(kx.view({b, s, num_heads, head_dim}), rope).to(vx.scalar_type());
  auto y = attention(qr, kr, vx, options);  // [B, L, C]
  return linear_in_weight_dtype(o, y);
}

torch::Tensor WanAttentionImpl::cross_attention(const torch::Tensor& x, const torch::Tensor& context,
                                                const AttentionOptions& options) {
  // x: [B, L1, C], context: [B, L2, C]
  const int64_t b = x.size(0);
  auto qx = linear_in_weight_dtype(q, x), kx = linear_in_weight_dtype(k, context);
  auto vx = linear_in_weight_dtype(v, context);
  if (norm_q) qx = norm_q(qx);
  if (norm_k) kx = norm_k(kx);
  auto y = attention(qx.view({b, -1, num_heads, head_dim}), kx.view({b, -1, num_heads, head_dim}),
                     vx.view({b, -1, num_heads, head_dim}), options);
  return linear_in_weight_dtype(o, y);
}

}  // namespace s2v::wan
