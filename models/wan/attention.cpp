#include "models/wan/attention.h"

#include <cmath>

#include <torch/torch.h>
#include <torch/version.h>

#include "models/base/error.h"

namespace s2v::wan {

bool sdpa_available() {
#if TORCH_VERSION_MAJOR >= 2
  return true;
#else
  return false;
#endif
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
  q = register_module("q", torch::nn::Linear(dim, dim));
  k = register_module("k", torch::nn::Linear(dim, dim));
  v = register_module("v", torch::nn::Linear(dim, dim));
  o = register_module("o", torch::nn::Linear(dim, dim));
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
