#pragma once
// UniMatch's CNNEncoder (unimatch/backbone.py): a ResNet-like trunk at 1/2, 1/4 and 1/8 (or 1/4)
// resolution with parameter-free instance norms, a 1×1 projection to the feature width and, for
// several scales, detectron2's MultiScaleTridentConv (one 3×3 weight applied with strides 1, 2, ...).
// Names as the official state_dict: backbone.conv1, backbone.layer{1,2,3}.{0,1}.{conv1,conv2,
// downsample.0}, backbone.conv2, backbone.trident_conv.weight.

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace s2v::unimatch {

// nn.InstanceNorm2d with its defaults (no affine, no running stats, eps 1e-5).
torch::Tensor instance_norm(const torch::Tensor& x);

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t in_planes, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, Cin, H, W] -> [B, C, H/s, W/s]

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  // 1×1 strided conv at "0" (the official norm3 at "1" has no parameters and is applied here)
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(ResidualBlock);

// One 3×3 weight (no bias) convolved with each input at its own stride (padding 1).
class MultiScaleTridentConvImpl : public torch::nn::Module {
 public:
  MultiScaleTridentConvImpl(int64_t channels, std::vector<int64_t> strides);
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs);

  torch::Tensor weight;
  std::vector<int64_t> strides;
};
TORCH_MODULE(MultiScaleTridentConv);

class CNNEncoderImpl : public torch::nn::Module {
 public:
  CNNEncoderImpl(int64_t output_dim, int64_t num_output_scales);
  // x: [B, 3, H, W] -> num_output_scales features [B, C, H/s, W/s], high to low resolution
  // (s = 8 for one scale; 4, 8, ... for several).
  std::vector<torch::Tensor> forward(const torch::Tensor& x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr};
  MultiScaleTridentConv trident_conv{nullptr};
  int64_t num_branch = 1;
};
TORCH_MODULE(CNNEncoder);

}  // namespace s2v::unimatch
