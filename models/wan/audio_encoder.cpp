#include "models/wan/audio_encoder.h"

#include <torch/torch.h>

namespace s2v::wan {

namespace {
// LayerNorm over the last dim without affine parameters, eps 1e-6 (norm1/norm2/norm3).
torch::Tensor plain_norm(const torch::Tensor& x) { return torch::layer_norm(x, {x.size(-1)}, {}, {}, 1e-6); }
}  // namespace

CausalConv1dImpl::CausalConv1dImpl(int64_t in, int64_t out, int64_t kernel_, int64_t stride)
    : kernel(kernel_) {
  conv = register_module("conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(in, out, kernel).stride(stride)));
}

torch::Tensor CausalConv1dImpl::forward(const torch::Tensor& x) {
  // x: [B, C, T]; replicate padding of the first frame
  auto xin = x.scalar_type() == conv->weight.scalar_type() ? x : x.to(conv->weight.scalar_type());
  auto padded = torch::cat({xin.narrow(2, 0, 1).expand({-1, -1, kernel - 1}), xin}, 2);
  return conv(padded);
}

MotionEncoderTCImpl::MotionEncoderTCImpl(int64_t in_dim, int64_t hidden_dim, int64_t num_heads_,
                                         bool need_global_)
    : num_heads(num_heads_), need_global(need_global_) {
  // Registration order follows the reference's __init__.
  conv1_local = register_module("conv1_local", CausalConv1d(in_dim, hidden_dim / 4 * num_heads, 3, 1));
  if (need_global) conv1_global = register_module("conv1_global", CausalConv1d(in_dim, hidden_dim / 4, 3, 1));
  conv2 = register_module("conv2", CausalConv1d(hidden_dim / 4, hidden_dim / 2, 3, 2));
  conv3 = register_module("conv3", CausalConv1d(hidden_dim / 2, hidden_dim, 3, 2));
  if (need_global) final_linear = register_module("final_linear", torch::nn::Linear(hidden_dim, hidden_dim));
  padding_tokens = register_parameter("padding_tokens", torch::zeros({1, 1, 1, hidden_dim}));
}

torch::Tensor MotionEncoderTCImpl::tail(torch::Tensor x) {
  // x: [B', C/4, T] after conv1
  x = torch::silu(plain_norm(x.transpose(1, 2))).transpose(1, 2);
  x = conv2(x);
  x = torch::silu(plain_norm(x.transpose(1, 2))).transpose(1, 2);
  x = conv3(x);
  return torch::silu(plain_norm(x.transpose(1, 2)));  // [B', T', hidden]
}

MotionEncoderTCImpl::Output MotionEncoderTCImpl::forward(const torch::Tensor& x_btc) {
  // x: [B, T, C_a]
  auto x = x_btc.transpose(1, 2);  // b t c -> b c t
  const int64_t b = x.size(0), t = x.size(2);
  Output out;
  auto l = conv1_local(x);                                           // [B, n*C/4, T]
  l = l.view({b, num_heads, -1, t}).reshape({b * num_heads, -1, t});  // b (n c) t -> (b n) c t
  l = tail(l);                                                        // [(B n), T', hidden]
  const int64_t t2 = l.size(1), hidden = l.size(2);
  l = l.view({b, num_heads, t2, hidden}).permute({0, 2, 1, 3});       // [B, T', n, hidden]
  out.local = torch::cat({l, padding_tokens.to(l.scalar_type()).expand({b, t2, 1, hidden})}, 2);
  if (!need_global) return out;
  auto g = tail(conv1_global(x));                                     // [B, T', hidden]
  g = torch::linear(g.to(final_linear->weight.scalar_type()), final_linear->weight, final_linear->bias);
  out.global = g.unsqueeze(2);                                        // [B, T', 1, hidden]
  return out;
}

CausalAudioEncoderImpl::CausalAudioEncoderImpl(int64_t audio_dim, int64_t num_layers, int64_t out_dim,
                                               int64_t num_token, bool need_global) {
  encoder = register_module("encoder", MotionEncoderTC(audio_dim, out_dim, num_token, need_global));
  weights = register_parameter("weights", torch::full({1, num_layers, 1, 1}, 0.01));
}

MotionEncoderTCImpl::Output CausalAudioEncoderImpl::forward(const torch::Tensor& features) {
  // features: [B, layers, C_a, frames]; computed in float32 as the reference's autocast region
  auto f = features.to(torch::kFloat32);
  auto w = torch::silu(weights.to(torch::kFloat32));
  auto w_sum = w.sum(1, true);
  auto weighted = ((f * w) / w_sum).sum(1);   // [B, C_a, frames]
  return encoder->forward(weighted.permute({0, 2, 1}));  // [B, frames, C_a]
}

}  // namespace s2v::wan
