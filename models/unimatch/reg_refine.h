#pragma once
// UniMatch's local regression refinement (unimatch/reg_refine.py), RAFT's update block: a motion
// encoder of the local correlation and the flow, a separable ConvGRU, a flow head predicting the
// residual flow and a head predicting the convex-upsampling mask.
// Names: refine.encoder.{convc1, convc2, convf1, convf2, conv}, refine.gru.{convz1, convr1, convq1,
// convz2, convr2, convq2}, refine.flow_head.{conv1, conv2}, refine.mask.{0, 2}.

#include <cstdint>
#include <tuple>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace s2v::unimatch {

class FlowHeadImpl : public torch::nn::Module {
 public:
  FlowHeadImpl(int64_t input_dim, int64_t hidden_dim, int64_t out_dim);
  torch::Tensor forward(const torch::Tensor& x);  // conv2(relu(conv1(x)))
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(FlowHead);

class SepConvGRUImpl : public torch::nn::Module {
 public:
  SepConvGRUImpl(int64_t hidden_dim, int64_t input_dim, int64_t kernel_size = 5);
  // h: [B, hidden, H, W], x: [B, input, H, W] -> new h (a 1×k GRU step, then a k×1 one)
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& x);
  torch::nn::Conv2d convz1{nullptr}, convr1{nullptr}, convq1{nullptr};
  torch::nn::Conv2d convz2{nullptr}, convr2{nullptr}, convq2{nullptr};
};
TORCH_MODULE(SepConvGRU);

class BasicMotionEncoderImpl : public torch::nn::Module {
 public:
  BasicMotionEncoderImpl(int64_t corr_channels, int64_t flow_channels);
  // flow: [B, 2, H, W], corr: [B, corr_channels, H, W] -> [B, 128, H, W] (features, then flow)
  torch::Tensor forward(const torch::Tensor& flow, const torch::Tensor& corr);
  torch::nn::Conv2d convc1{nullptr}, convc2{nullptr}, convf1{nullptr}, convf2{nullptr}, conv{nullptr};
};
TORCH_MODULE(BasicMotionEncoder);

class BasicUpdateBlockImpl : public torch::nn::Module {
 public:
  BasicUpdateBlockImpl(int64_t corr_channels, int64_t downsample_factor, int64_t flow_dim = 2,
                       int64_t hidden_dim = 128, int64_t context_dim = 128);
  // net, inp: [B, 128, H, W]; corr: [B, (2·4+1)², H, W]; flow: [B, 2, H, W] ->
  // (net, up_mask [B, 9·K², H, W] or undefined when !want_mask, delta_flow [B, 2, H, W]).
  // The official block always computes the mask; only the last refinement step uses it.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> forward(const torch::Tensor& net, const torch::Tensor& inp,
                                                                  const torch::Tensor& corr, const torch::Tensor& flow,
                                                                  bool want_mask = true);
  BasicMotionEncoder encoder{nullptr};
  SepConvGRU gru{nullptr};
  FlowHead flow_head{nullptr};
  torch::nn::Sequential mask{nullptr};
};
TORCH_MODULE(BasicUpdateBlock);

}  // namespace s2v::unimatch
