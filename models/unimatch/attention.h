#pragma once
// UniMatch's attention (unimatch/attention.py, with the window split/merge of unimatch/utils.py):
// single-head full and split-window (Swin-style, optionally shifted) attention, and the flow
// propagation by self-attention on feature0 (SelfAttnPropagation: feature_flow_attn.{q_proj,k_proj}).

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace s2v::unimatch {

// as split_feature: [B, H, W, C] -> [B*K*K, H/K, W/K, C] (channel_last) or
// [B, C, H, W] -> [B*K*K, C, H/K, W/K]; windows in row-major order.
torch::Tensor split_feature(const torch::Tensor& x, int64_t num_splits, bool channel_last);
// as merge_splits: the inverse of split_feature.
torch::Tensor merge_splits(const torch::Tensor& x, int64_t num_splits, bool channel_last);

// q, k, v: [B, L, C] -> [B, L, C]; softmax(q k^T / sqrt(C)) v
torch::Tensor single_head_full_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// q, k, v: [B, H*W, C]; attention inside K×K windows; with_shift rolls by half a window first and
// adds attn_mask ([K*K, L_w, L_w], see generate_shift_window_attn_mask) to the scores.
torch::Tensor single_head_split_window_attention(const torch::Tensor& q, const torch::Tensor& k,
                                                 const torch::Tensor& v, int64_t num_splits,
                                                 bool with_shift, int64_t h, int64_t w,
                                                 const torch::Tensor& attn_mask);

// query/key: feature0, value: flow.
class SelfAttnPropagationImpl : public torch::nn::Module {
 public:
  explicit SelfAttnPropagationImpl(int64_t in_channels);
  // feature0: [B, C, H, W], flow: [B, 2, H, W] -> [B, 2, H, W]. radius > 0: attention over the
  // (2r+1)² neighbours (zero padded, as F.unfold), else over the whole image.
  torch::Tensor forward(const torch::Tensor& feature0, const torch::Tensor& flow, int64_t local_window_radius);

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr};

 private:
  torch::Tensor forward_local_window_attn(const torch::Tensor& feature0, const torch::Tensor& flow, int64_t radius);
};
TORCH_MODULE(SelfAttnPropagation);

}  // namespace s2v::unimatch
