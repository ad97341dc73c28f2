#include "models/unimatch/transformer.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/unimatch/attention.h"

namespace s2v::unimatch {

// as PositionEmbeddingSine.forward (normalize=True, scale 2π, temperature 10000), batch of one
torch::Tensor position_embedding_sine(int64_t channels, int64_t h, int64_t w, torch::Device device) {
  const int64_t npf = channels / 2;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const auto mask = torch::ones({1, h, w}, opts);
  auto y_embed = mask.cumsum(1, torch::kFloat32);
  auto x_embed = mask.cumsum(2, torch::kFloat32);
  const double eps = 1e-6, scale = 2 * M_PI;
  y_embed = y_embed / (y_embed.slice(1, h - 1, h) + eps) * scale;
  x_embed = x_embed / (x_embed.slice(2, w - 1, w) + eps) * scale;
  auto dim_t = torch::arange(npf, opts);
  dim_t = torch::pow(10000, 2 * torch::div(dim_t, 2, "floor") / npf);
  auto pos_x = x_embed.unsqueeze(-1) / dim_t;  // [1, H, W, npf]
  auto pos_y = y_embed.unsqueeze(-1) / dim_t;
  using torch::indexing::None;
  using torch::indexing::Slice;
  const auto interleave = [](const torch::Tensor& p) {
    return torch::stack({p.index({"...", Slice(0, None, 2)}).sin(), p.index({"...", Slice(1, None, 2)}).cos()}, 4)
        .flatten(3);
  };
  return torch::cat({interleave(pos_y), interleave(pos_x)}, 3).permute({0, 3, 1, 2});
}

std::pair<torch::Tensor, torch::Tensor> feature_add_position(const torch::Tensor& feature0,
                                                             const torch::Tensor& feature1,
                                                             int64_t attn_splits) {
  const int64_t c = feature0.size(1);
  if (attn_splits > 1) {
    auto f0 = split_feature(feature0, attn_splits, false);
    auto f1 = split_feature(feature1, attn_splits, false);
    const auto pos = position_embedding_sine(c, f0.size(2), f0.size(3), feature0.device());
    return {merge_splits(f0 + pos, attn_splits, false), merge_splits(f1 + pos, attn_splits, false)};
  }
  const auto pos = position_embedding_sine(c, feature0.size(2), feature0.size(3), feature0.device());
  return {feature0 + pos, feature1 + pos};
}

namespace {

// [begin, end) of the Python slice(start, stop) over n elements (None as INT64_MAX / INT64_MIN)
std::pair<int64_t, int64_t> py_slice(int64_t start, int64_t stop, int64_t n) {
  const auto norm = [n](int64_t i) {
    if (i == INT64_MAX) return n;
    if (i < 0) i += n;
    return std::clamp<int64_t>(i, 0, n);
  };
  return {norm(start), norm(stop)};
}

}  // namespace

// as generate_shift_window_attn_mask in utils.py
torch::Tensor generate_shift_window_attn_mask(int64_t h, int64_t w, int64_t window_h, int64_t window_w,
                                              int64_t shift_h, int64_t shift_w, torch::Device device) {
  auto img_mask = torch::zeros({1, h, w, 1});
  // slice(0, -window), slice(-window, -shift), slice(-shift, None); "-0" is 0 in Python
  const std::pair<int64_t, int64_t> hs[3] = {py_slice(0, -window_h, h), py_slice(-window_h, -shift_h, h),
                                             py_slice(-shift_h, INT64_MAX, h)};
  const std::pair<int64_t, int64_t> ws[3] = {py_slice(0, -window_w, w), py_slice(-window_w, -shift_w, w),
                                             py_slice(-shift_w, INT64_MAX, w)};
  double cnt = 0;
  for (const auto& [h0, h1] : hs) {
    for (const auto& [w0, w1] : ws) {
      if (h1 > h0 && w1 > w0) img_mask.slice(1, h0, h1).slice(2, w0, w1).fill_(cnt);
      cnt += 1;
    }
  }
  auto windows = split_feature(img_mask, w / window_w, true).view({-1, window_h * window_w});
  auto mask = windows.unsqueeze(1) - windows.unsqueeze(2);
  mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0);
  return mask.to(device);
}

TransformerLayerImpl::TransformerLayerImpl(int64_t d, bool no_ffn_, int64_t e) : no_ffn(no_ffn_) {
  const auto lin = [](int64_t i, int64_t o) { return torch::nn::Linear(torch::nn::LinearOptions(i, o).bias(false)); };
  q_proj = register_module("q_proj", lin(d, d));
  k_proj = register_module("k_proj", lin(d, d));
  v_proj = register_module("v_proj", lin(d, d));
  merge = register_module("merge", lin(d, d));
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  if (!no_ffn) {
    mlp = register_module("mlp", torch::nn::Sequential(lin(2 * d, 2 * d * e), torch::nn::GELU(), lin(2 * d * e, d)));
    norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  }
}

// as TransformerLayer.forward with attn_type 'swin'
torch::Tensor TransformerLayerImpl::forward(const torch::Tensor& source, const torch::Tensor& target, int64_t h,
                                            int64_t w, int64_t num_splits, bool with_shift,
                                            const torch::Tensor& shift_mask) {
  const auto q = q_proj(source), k = k_proj(target), v = v_proj(target);  // [B, L, C]
  auto message = num_splits > 1
                     ? single_head_split_window_attention(q, k, v, num_splits, with_shift, h, w, shift_mask)
                     : single_head_full_attention(q, k, v);
  message = norm1(merge(message));
  if (!no_ffn) message = norm2(mlp->forward(torch::cat({source, message}, -1)));
  return source + message;
}

TransformerBlockImpl::TransformerBlockImpl(int64_t d, int64_t e) {
  self_attn = register_module("self_attn", TransformerLayer(d, true, e));
  cross_attn_ffn = register_module("cross_attn_ffn", TransformerLayer(d, false, e));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& source, const torch::Tensor& target, int64_t h,
                                            int64_t w, int64_t num_splits, bool with_shift,
                                            const torch::Tensor& shift_mask) {
  const auto s = self_attn(source, source, h, w, num_splits, with_shift, shift_mask);
  return cross_attn_ffn(s, target, h, w, num_splits, with_shift, shift_mask);
}

FeatureTransformerImpl::FeatureTransformerImpl(int64_t num_layers, int64_t d, int64_t e) : d_model(d) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < num_layers; ++i) layers->push_back(TransformerBlock(d, e));
}

// as FeatureTransformer.forward with attn_type 'swin'
std::pair<torch::Tensor, torch::Tensor> FeatureTransformerImpl::forward(const torch::Tensor& feature0,
                                                                        const torch::Tensor& feature1,
                                                                        int64_t splits) {
  const int64_t b = feature0.size(0), c = feature0.size(1), h = feature0.size(2), w = feature0.size(3);
  if (c != d_model)
    throw Error("UniMatch transformer: features have " + std::to_string(c) + " channels, the layers " +
                    std::to_string(d_model),
                ErrorKind::InvalidArgument);
  if (splits > 1 && (h % splits != 0 || w % splits != 0))
    throw Error("UniMatch transformer: a " + std::to_string(h) + "x" + std::to_string(w) +
                    " feature map cannot be split into " + std::to_string(splits) + "x" + std::to_string(splits) +
                    " windows (pad the input to a multiple of the padding factor)",
                ErrorKind::InvalidArgument);
  const auto f0 = feature0.flatten(-2).permute({0, 2, 1});  // [B, H*W, C]
  const auto f1 = feature1.flatten(-2).permute({0, 2, 1});
  torch::Tensor mask;
  if (splits > 1) {
    const int64_t wh = h / splits, ww = w / splits;
    mask = generate_shift_window_attn_mask(h, w, wh, ww, wh / 2, ww / 2, feature0.device());
  }
  auto concat0 = torch::cat({f0, f1}, 0);  // [2B, H*W, C]
  auto concat1 = torch::cat({f1, f0}, 0);
  for (size_t i = 0; i < layers->size(); ++i) {
    concat0 = layers->at<TransformerBlockImpl>(i).forward(concat0, concat1, h, w, splits, splits > 1 && i % 2 == 1,
                                                          mask);
    const auto halves = concat0.chunk(2, 0);
    concat1 = torch::cat({halves[1], halves[0]}, 0);
  }
  const auto halves = concat0.chunk(2, 0);
  return {halves[0].view({b, h, w, c}).permute({0, 3, 1, 2}).contiguous(),
          halves[1].view({b, h, w, c}).permute({0, 3, 1, 2}).contiguous()};
}

}  // namespace s2v::unimatch
