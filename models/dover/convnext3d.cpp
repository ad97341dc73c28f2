#include "models/dover/convnext3d.h"

#include <torch/torch.h>

#include "models/base/error.h"

namespace s2v::dover {

namespace nn = torch::nn;

ChannelsFirstLayerNormImpl::ChannelsFirstLayerNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
  bias = register_parameter("bias", torch::zeros({dim}));
}

// x: [B, C, D, H, W]; as LayerNorm.forward with channels_first (mean/variance over C, by hand)
torch::Tensor ChannelsFirstLayerNormImpl::forward(const torch::Tensor& x) {
  auto u = x.mean(1, true);
  auto s = (x - u).pow(2).mean(1, true);
  auto y = (x - u) / torch::sqrt(s + eps);
  return weight.view({-1, 1, 1, 1}) * y + bias.view({-1, 1, 1, 1});
}

ConvNeXtDownsampleImpl::ConvNeXtDownsampleImpl(int64_t in, int64_t out, bool stem_) : stem(stem_) {
  if (stem) {
    conv = register_module("0", nn::Conv3d(nn::Conv3dOptions(in, out, {2, 4, 4}).stride({2, 4, 4})));
    norm = register_module("1", ChannelsFirstLayerNorm(out));
  } else {
    norm = register_module("0", ChannelsFirstLayerNorm(in));
    conv = register_module("1", nn::Conv3d(nn::Conv3dOptions(in, out, {1, 2, 2}).stride({1, 2, 2})));
  }
}

torch::Tensor ConvNeXtDownsampleImpl::forward(const torch::Tensor& x) {
  return stem ? norm(conv(x)) : conv(norm(x));
}

Block3DImpl::Block3DImpl(int64_t dim, int64_t k, double layer_scale_init) {
  dwconv = register_module("dwconv", nn::Conv3d(nn::Conv3dOptions(dim, dim, {k, 7, 7})
                                                    .padding({k / 2, 3, 3})
                                                    .groups(dim)));
  norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-6)));
  pwconv1 = register_module("pwconv1", nn::Linear(dim, 4 * dim));
  pwconv2 = register_module("pwconv2", nn::Linear(4 * dim, dim));
  if (layer_scale_init > 0) gamma = register_parameter("gamma", torch::full({dim}, layer_scale_init));
}

// x: [B, C, D, H, W]
torch::Tensor Block3DImpl::forward(const torch::Tensor& x) {
  auto y = dwconv(x).permute({0, 2, 3, 4, 1});  // [B, D, H, W, C]
  y = pwconv2(torch::gelu(pwconv1(norm(y))));
  if (gamma.defined()) y = gamma * y;
  return x + y.permute({0, 4, 1, 2, 3});
}

ConvNeXt3DImpl::ConvNeXt3DImpl(const ConvNeXt3DConfig& c) : config_(c) {
  if (c.depths.size() != 4 || c.dims.size() != 4 || c.inflate_strategy.empty())
    throw Error("ConvNeXt3D needs 4 depths, 4 dims and an inflate strategy", ErrorKind::InvalidArgument);
  downsample_layers = register_module("downsample_layers", nn::ModuleList());
  downsample_layers->push_back(ConvNeXtDownsample(c.in_chans, c.dims[0], true));
  for (size_t i = 0; i < 3; ++i) downsample_layers->push_back(ConvNeXtDownsample(c.dims[i], c.dims[i + 1], false));
  stages = register_module("stages", nn::ModuleList());
  for (size_t i = 0; i < 4; ++i) {
    nn::ModuleList stage;
    for (int64_t j = 0; j < c.depths[i]; ++j) {
      const char ch = c.inflate_strategy[static_cast<size_t>(j) % c.inflate_strategy.size()];
      stage->push_back(Block3D(c.dims[i], ch - '0', c.layer_scale_init));
    }
    stages->push_back(stage);
  }
  norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({c.dims[3]}).eps(1e-6)));
}

// x: [B, 3, T, H, W]; as ConvNeXt3D.forward -> forward_features(x, return_spatial=True)
torch::Tensor ConvNeXt3DImpl::forward(const torch::Tensor& x) {
  auto h = x;
  for (size_t i = 0; i < 4; ++i) {
    h = downsample_layers[i]->as<ConvNeXtDownsampleImpl>()->forward(h);
    for (const auto& blk : *stages[i]->as<nn::ModuleListImpl>()) h = blk->as<Block3DImpl>()->forward(h);
  }
  return norm(h.permute({0, 2, 3, 4, 1})).permute({0, 4, 1, 2, 3});
}

}  // namespace s2v::dover
