#include "models/unimatch/backbone.h"

#include <torch/torch.h>

#include "models/base/error.h"

namespace s2v::unimatch {

namespace F = torch::nn::functional;

torch::Tensor instance_norm(const torch::Tensor& x) {
  return torch::instance_norm(x, {}, {}, {}, {}, /*use_input_stats=*/true, 0.1, 1e-5,
                              /*cudnn_enabled=*/false);
}

ResidualBlockImpl::ResidualBlockImpl(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1 = register_module(
      "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_planes, planes, 3).stride(stride).padding(1).bias(false)));
  conv2 = register_module("conv2",
                          torch::nn::Conv2d(torch::nn::Conv2dOptions(planes, planes, 3).padding(1).bias(false)));
  if (stride != 1 || in_planes != planes) {
    downsample = register_module(
        "downsample", torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(in_planes, planes, 1).stride(stride))));
  }
}

// as ResidualBlock.forward: relu(x' + relu(norm2(conv2(relu(norm1(conv1(x)))))))
torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  auto y = torch::relu(instance_norm(conv1(x)));
  y = torch::relu(instance_norm(conv2(y)));
  const auto skip = downsample ? instance_norm(downsample->forward(x)) : x;
  return torch::relu(skip + y);
}

MultiScaleTridentConvImpl::MultiScaleTridentConvImpl(int64_t channels, std::vector<int64_t> s)
    : strides(std::move(s)) {
  weight = register_parameter("weight", torch::empty({channels, channels, 3, 3}));
  torch::nn::init::kaiming_uniform_(weight, 0.0, torch::kFanIn, torch::kReLU);
}

std::vector<torch::Tensor> MultiScaleTridentConvImpl::forward(const std::vector<torch::Tensor>& inputs) {
  std::vector<torch::Tensor> out;
  for (size_t i = 0; i < inputs.size(); ++i)
    out.push_back(F::conv2d(inputs[i], weight, F::Conv2dFuncOptions().stride(strides.at(i)).padding(1)));
  return out;
}

namespace {

torch::nn::Sequential make_layer(int64_t in_planes, int64_t dim, int64_t stride) {
  return torch::nn::Sequential(ResidualBlock(in_planes, dim, stride), ResidualBlock(dim, dim, 1));
}

}  // namespace

CNNEncoderImpl::CNNEncoderImpl(int64_t output_dim, int64_t num_output_scales) : num_branch(num_output_scales) {
  if (num_output_scales < 1 || num_output_scales > 4)
    throw Error("UniMatch supports 1 to 4 feature scales, not " + std::to_string(num_output_scales),
                ErrorKind::InvalidArgument);
  const int64_t dims[3] = {64, 96, 128};
  conv1 = register_module("conv1",
                          torch::nn::Conv2d(torch::nn::Conv2dOptions(3, dims[0], 7).stride(2).padding(3).bias(false)));
  layer1 = register_module("layer1", make_layer(dims[0], dims[0], 1));  // 1/2
  layer2 = register_module("layer2", make_layer(dims[0], dims[1], 2));  // 1/4
  layer3 = register_module("layer3", make_layer(dims[1], dims[2], num_output_scales == 1 ? 2 : 1));
  conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(dims[2], output_dim, 1)));
  if (num_output_scales > 1) {
    std::vector<int64_t> strides;
    for (int64_t i = 0; i < num_output_scales; ++i) strides.push_back(int64_t(1) << i);
    trident_conv = register_module("trident_conv", MultiScaleTridentConv(output_dim, strides));
  }
}

std::vector<torch::Tensor> CNNEncoderImpl::forward(const torch::Tensor& x) {
  auto h = torch::relu(instance_norm(conv1(x)));
  h = layer1->forward(h);
  h = layer2->forward(h);
  h = layer3->forward(h);
  h = conv2(h);
  if (num_branch > 1) return trident_conv->forward(std::vector<torch::Tensor>(size_t(num_branch), h));
  return {h};
}

}  // namespace s2v::unimatch
