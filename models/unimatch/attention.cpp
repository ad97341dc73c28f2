#include "models/unimatch/attention.h"

#include <cmath>

#include <torch/torch.h>

namespace s2v::unimatch {

namespace F = torch::nn::functional;

torch::Tensor split_feature(const torch::Tensor& x, int64_t k, bool channel_last) {
  if (channel_last) {  // [B, H, W, C]
    const int64_t b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
    return x.view({b, k, h / k, k, w / k, c}).permute({0, 1, 3, 2, 4, 5}).reshape({b * k * k, h / k, w / k, c});
  }
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);  // [B, C, H, W]
  return x.view({b, c, k, h / k, k, w / k}).permute({0, 2, 4, 1, 3, 5}).reshape({b * k * k, c, h / k, w / k});
}

torch::Tensor merge_splits(const torch::Tensor& x, int64_t k, bool channel_last) {
  if (channel_last) {  // [B*K*K, H/K, W/K, C]
    const int64_t nb = x.size(0) / k / k, h = x.size(1), w = x.size(2), c = x.size(3);
    return x.view({nb, k, k, h, w, c}).permute({0, 1, 3, 2, 4, 5}).contiguous().view({nb, k * h, k * w, c});
  }
  const int64_t nb = x.size(0) / k / k, c = x.size(1), h = x.size(2), w = x.size(3);
  return x.view({nb, k, k, c, h, w}).permute({0, 3, 1, 4, 2, 5}).contiguous().view({nb, c, k * h, k * w});
}

torch::Tensor single_head_full_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const auto scores = torch::matmul(q, k.permute({0, 2, 1})) / std::pow(double(q.size(2)), 0.5);
  return torch::matmul(torch::softmax(scores, 2), v);
}

// as single_head_split_window_attention in attention.py
torch::Tensor single_head_split_window_attention(const torch::Tensor& q_in, const torch::Tensor& k_in,
                                                 const torch::Tensor& v_in, int64_t num_splits,
                                                 bool with_shift, int64_t h, int64_t w,
                                                 const torch::Tensor& attn_mask) {
  const int64_t b = q_in.size(0), c = q_in.size(2);
  const int64_t b_new = b * num_splits * num_splits;
  const int64_t wh = h / num_splits, ww = w / num_splits;
  auto q = q_in.view({b, h, w, c});
  auto k = k_in.view({b, h, w, c});
  auto v = v_in.view({b, h, w, c});
  const double scale = std::pow(double(c), 0.5);
  const int64_t sh = wh / 2, sw = ww / 2;
  if (with_shift) {
    q = torch::roll(q, {-sh, -sw}, {1, 2});
    k = torch::roll(k, {-sh, -sw}, {1, 2});
    v = torch::roll(v, {-sh, -sw}, {1, 2});
  }
  q = split_feature(q, num_splits, true);
  k = split_feature(k, num_splits, true);
  v = split_feature(v, num_splits, true);
  auto scores = torch::matmul(q.view({b_new, -1, c}), k.view({b_new, -1, c}).permute({0, 2, 1})) / scale;
  if (with_shift) scores = scores + attn_mask.repeat({b, 1, 1});
  const auto attn = torch::softmax(scores, -1);
  auto out = torch::matmul(attn, v.view({b_new, -1, c}));  // [B*K*K, L_w, C]
  out = merge_splits(out.view({b_new, wh, ww, c}), num_splits, true);
  if (with_shift) out = torch::roll(out, {sh, sw}, {1, 2});
  return out.view({b, -1, c});
}

SelfAttnPropagationImpl::SelfAttnPropagationImpl(int64_t in_channels) {
  q_proj = register_module("q_proj", torch::nn::Linear(in_channels, in_channels));
  k_proj = register_module("k_proj", torch::nn::Linear(in_channels, in_channels));
}

torch::Tensor SelfAttnPropagationImpl::forward(const torch::Tensor& feature0, const torch::Tensor& flow,
                                               int64_t local_window_radius) {
  if (local_window_radius > 0) return forward_local_window_attn(feature0, flow, local_window_radius);
  const int64_t b = feature0.size(0), c = feature0.size(1), h = feature0.size(2), w = feature0.size(3);
  auto query = q_proj(feature0.view({b, c, h * w}).permute({0, 2, 1}));  // [B, H*W, C]
  // the official key is k_proj(q_proj(feature0)) (see the note in attention.py); kept for the weights
  const auto key = k_proj(query);
  const auto value = flow.view({b, flow.size(1), h * w}).permute({0, 2, 1});  // [B, H*W, 2]
  const auto scores = torch::matmul(query, key.permute({0, 2, 1})) / std::pow(double(c), 0.5);
  const auto prob = torch::softmax(scores, -1);
  return torch::matmul(prob, value).view({b, h, w, value.size(-1)}).permute({0, 3, 1, 2});
}

// as forward_local_window_attn in attention.py
torch::Tensor SelfAttnPropagationImpl::forward_local_window_attn(const torch::Tensor& feature0,
                                                                 const torch::Tensor& flow, int64_t r) {
  const int64_t b = feature0.size(0), c = feature0.size(1), h = feature0.size(2), w = feature0.size(3);
  const int64_t vc = flow.size(1), ks = 2 * r + 1;
  const auto tokens = feature0.view({b, c, -1}).permute({0, 2, 1});  // [B, H*W, C]
  const auto query = q_proj(tokens).reshape({b * h * w, 1, c});
  const auto keys = k_proj(tokens).permute({0, 2, 1}).reshape({b, c, h, w});
  const auto unfold = F::UnfoldFuncOptions({ks, ks}).padding(r);
  const auto key_window = F::unfold(keys, unfold)
                              .view({b, c, ks * ks, h, w})
                              .permute({0, 3, 4, 1, 2})
                              .reshape({b * h * w, c, ks * ks});
  const auto flow_window = F::unfold(flow, unfold)
                               .view({b, vc, ks * ks, h, w})
                               .permute({0, 3, 4, 2, 1})
                               .reshape({b * h * w, ks * ks, vc});
  const auto scores = torch::matmul(query, key_window) / std::pow(double(c), 0.5);  // [B*H*W, 1, (2R+1)²]
  const auto prob = torch::softmax(scores, -1);
  return torch::matmul(prob, flow_window).view({b, h, w, vc}).permute({0, 3, 1, 2}).contiguous();
}

}  // namespace s2v::unimatch
