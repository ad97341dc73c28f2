#pragma once
// CausalAudioEncoder of Wan2.2-S2V (wan/modules/s2v/audio_utils.py) with its MotionEncoder_tc
// (auxi_blocks.py): a learnt softmax-free weighted average over the wav2vec2 hidden states of all
// layers, then causal Conv1d stacks that compress time 4x into `num_token` local tokens per latent
// frame (plus one learnt padding token) and, for AdaIN, one global token per latent frame.

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace s2v::wan {

// as CausalConv1d: replicate-pad (kernel-1) frames on the left, then Conv1d (child "conv").
class CausalConv1dImpl : public torch::nn::Module {
 public:
  CausalConv1dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, C, T]
  int64_t kernel;
  torch::nn::Conv1d conv{nullptr};
};
TORCH_MODULE(CausalConv1d);

// as MotionEncoder_tc (registered as casual_audio_encoder.encoder).
class MotionEncoderTCImpl : public torch::nn::Module {
 public:
  MotionEncoderTCImpl(int64_t in_dim, int64_t hidden_dim, int64_t num_heads, bool need_global);

  struct Output {
    torch::Tensor global;  // [B, T', 1, hidden] (undefined without need_global)
    torch::Tensor local;   // [B, T', num_heads + 1, hidden]
  };
  Output forward(const torch::Tensor& x);  // x: [B, T, C_a]

  int64_t num_heads;
  bool need_global;
  torch::Tensor padding_tokens;  // [1, 1, 1, hidden]
  CausalConv1d conv1_local{nullptr}, conv1_global{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::Linear final_linear{nullptr};

 private:
  // norm/act/conv2/norm/act/conv3/norm/act shared by both branches; x: [B', C, T] -> [B', T', hidden]
  torch::Tensor tail(torch::Tensor x);
};
TORCH_MODULE(MotionEncoderTC);

class CausalAudioEncoderImpl : public torch::nn::Module {
 public:
  CausalAudioEncoderImpl(int64_t audio_dim, int64_t num_layers, int64_t out_dim, int64_t num_token,
                         bool need_global);
  // features: [B, layers, C_a, frames] -> global [B, T', 1, out_dim], local [B, T', n+1, out_dim]
  MotionEncoderTCImpl::Output forward(const torch::Tensor& features);

  torch::Tensor weights;  // [1, layers, 1, 1]
  MotionEncoderTC encoder{nullptr};
};
TORCH_MODULE(CausalAudioEncoder);

}  // namespace s2v::wan
