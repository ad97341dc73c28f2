#pragma once
// UniMatch's FeatureTransformer (unimatch/transformer.py): num_layers blocks of single-head
// self-attention then cross-attention + FFN, run on both images at once (feature0 attends to
// feature1 and vice versa), with Swin-style split-window attention (windows shifted on odd
// layers) when attn_num_splits > 1. Also the sine position encoding (position.py) and
// feature_add_position / generate_shift_window_attn_mask (utils.py).
// Names: transformer.layers.N.{self_attn, cross_attn_ffn}.{q_proj, k_proj, v_proj, merge, norm1}
// and cross_attn_ffn.{mlp.0, mlp.2, norm2}.

#include <cstdint>
#include <utility>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace s2v::unimatch {

// PositionEmbeddingSine(num_pos_feats = channels / 2, normalize) of an h×w map: [1, channels, h, w]
// (y features first, then x; sin/cos interleaved).
torch::Tensor position_embedding_sine(int64_t channels, int64_t h, int64_t w, torch::Device device);

// as feature_add_position: the encoding of one attn_splits window, added in every window.
std::pair<torch::Tensor, torch::Tensor> feature_add_position(const torch::Tensor& feature0,
                                                             const torch::Tensor& feature1,
                                                             int64_t attn_splits);

// as generate_shift_window_attn_mask: [K*K, wh*ww, wh*ww] with 0 inside a region, -100 across.
torch::Tensor generate_shift_window_attn_mask(int64_t h, int64_t w, int64_t window_h, int64_t window_w,
                                              int64_t shift_h, int64_t shift_w, torch::Device device);

class TransformerLayerImpl : public torch::nn::Module {
 public:
  TransformerLayerImpl(int64_t d_model, bool no_ffn, int64_t ffn_dim_expansion);
  // source, target: [B, L, C] -> [B, L, C]. num_splits > 1: split-window attention (shifted with
  // shift_mask when with_shift), else full attention.
  torch::Tensor forward(const torch::Tensor& source, const torch::Tensor& target, int64_t h, int64_t w,
                        int64_t num_splits, bool with_shift, const torch::Tensor& shift_mask);

  bool no_ffn;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, merge{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Sequential mlp{nullptr};
};
TORCH_MODULE(TransformerLayer);

class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int64_t d_model, int64_t ffn_dim_expansion);
  torch::Tensor forward(const torch::Tensor& source, const torch::Tensor& target, int64_t h, int64_t w,
                        int64_t num_splits, bool with_shift, const torch::Tensor& shift_mask);

  TransformerLayer self_attn{nullptr}, cross_attn_ffn{nullptr};
};
TORCH_MODULE(TransformerBlock);

class FeatureTransformerImpl : public torch::nn::Module {
 public:
  FeatureTransformerImpl(int64_t num_layers, int64_t d_model, int64_t ffn_dim_expansion);
  // feature0, feature1: [B, C, H, W] -> both transformed, [B, C, H, W] (attn_type 'swin').
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& feature0, const torch::Tensor& feature1,
                                                  int64_t attn_num_splits);

  torch::nn::ModuleList layers{nullptr};
  int64_t d_model;
};
TORCH_MODULE(FeatureTransformer);

}  // namespace s2v::unimatch
