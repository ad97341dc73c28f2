#pragma once
// The aesthetic branch of DOVER: ConvNeXt3D of dover/models/conv_backbone.py ("conv_tiny" in
// dover.yml: ConvNeXt-T inflated to 3D with the '131' strategy, so blocks 0, 2 of each stage have
// 1×7×7 depthwise kernels and block 1 a 3×7×7 one), returning the normalised feature map (the
// forward of the official class asks forward_features for return_spatial). Module names are those
// of DOVER.pth under `aesthetic_backbone.`: downsample_layers.N.{0,1}, stages.N.M.{dwconv, norm,
// pwconv1, pwconv2, gamma}, norm.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace s2v::dover {

// The constructor arguments of ConvNeXt3D. Defaults: convnext_3d_tiny.
struct ConvNeXt3DConfig {
  int64_t in_chans = 3;
  std::vector<int64_t> depths{3, 3, 9, 3};
  std::vector<int64_t> dims{96, 192, 384, 768};
  std::string inflate_strategy = "131";  // temporal kernel of block j: inflate_strategy[j % len]
  double layer_scale_init = 1e-6;        // > 0: blocks have `gamma`
};

// conv_backbone.py's LayerNorm with data_format="channels_first" (normalises dim 1 by hand).
class ChannelsFirstLayerNormImpl : public torch::nn::Module {
 public:
  explicit ChannelsFirstLayerNormImpl(int64_t dim, double eps = 1e-6);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, C, D, H, W]
  torch::Tensor weight, bias;
  double eps;
};
TORCH_MODULE(ChannelsFirstLayerNorm);

// downsample_layers.0 = (Conv3d 2×4×4 stride 2×4×4, LayerNorm); downsample_layers.i = (LayerNorm,
// Conv3d 1×2×2 stride 1×2×2). Registered as children "0" and "1" like the official nn.Sequential.
class ConvNeXtDownsampleImpl : public torch::nn::Module {
 public:
  ConvNeXtDownsampleImpl(int64_t in, int64_t out, bool stem);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, C, D, H, W]
  torch::nn::Conv3d conv{nullptr};
  ChannelsFirstLayerNorm norm{nullptr};
  bool stem;
};
TORCH_MODULE(ConvNeXtDownsample);

class Block3DImpl : public torch::nn::Module {
 public:
  Block3DImpl(int64_t dim, int64_t inflate_len, double layer_scale_init);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, C, D, H, W], as Block3D.forward
  torch::nn::Conv3d dwconv{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear pwconv1{nullptr}, pwconv2{nullptr};
  torch::Tensor gamma;  // undefined without layer scale
};
TORCH_MODULE(Block3D);

class ConvNeXt3DImpl : public torch::nn::Module {
 public:
  explicit ConvNeXt3DImpl(const ConvNeXt3DConfig& config = {});
  // x: [B, 3, T, H, W] normalised -> [B, dims[-1], T/2, H/32, W/32]
  torch::Tensor forward(const torch::Tensor& x);
  const ConvNeXt3DConfig& config() const { return config_; }
  torch::nn::ModuleList downsample_layers{nullptr};
  torch::nn::ModuleList stages{nullptr};  // of ModuleLists of Block3D
  torch::nn::LayerNorm norm{nullptr};

 private:
  ConvNeXt3DConfig config_;
};
TORCH_MODULE(ConvNeXt3D);

}  // namespace s2v::dover
