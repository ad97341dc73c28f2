#include "models/unimatch/reg_refine.h"

#include <torch/torch.h>

namespace s2v::unimatch {

namespace {

torch::nn::Conv2d make_conv(int64_t in, int64_t out, int64_t kh, int64_t kw, int64_t ph, int64_t pw) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, {kh, kw}).padding({ph, pw}));
}
torch::nn::Conv2d make_conv(int64_t in, int64_t out, int64_t k) { return make_conv(in, out, k, k, k / 2, k / 2); }

}  // namespace

FlowHeadImpl::FlowHeadImpl(int64_t input_dim, int64_t hidden_dim, int64_t out_dim) {
  conv1 = register_module("conv1", make_conv(input_dim, hidden_dim, 3));
  conv2 = register_module("conv2", make_conv(hidden_dim, out_dim, 3));
}

torch::Tensor FlowHeadImpl::forward(const torch::Tensor& x) { return conv2(torch::relu(conv1(x))); }

SepConvGRUImpl::SepConvGRUImpl(int64_t hidden, int64_t input, int64_t k) {
  const int64_t p = (k - 1) / 2, in = hidden + input;
  convz1 = register_module("convz1", make_conv(in, hidden, 1, k, 0, p));
  convr1 = register_module("convr1", make_conv(in, hidden, 1, k, 0, p));
  convq1 = register_module("convq1", make_conv(in, hidden, 1, k, 0, p));
  convz2 = register_module("convz2", make_conv(in, hidden, k, 1, p, 0));
  convr2 = register_module("convr2", make_conv(in, hidden, k, 1, p, 0));
  convq2 = register_module("convq2", make_conv(in, hidden, k, 1, p, 0));
}

// as SepConvGRU.forward
torch::Tensor SepConvGRUImpl::forward(const torch::Tensor& h_in, const torch::Tensor& x) {
  auto h = h_in;
  auto hx = torch::cat({h, x}, 1);
  auto z = torch::sigmoid(convz1(hx));
  auto r = torch::sigmoid(convr1(hx));
  auto q = torch::tanh(convq1(torch::cat({r * h, x}, 1)));
  h = (1 - z) * h + z * q;
  hx = torch::cat({h, x}, 1);
  z = torch::sigmoid(convz2(hx));
  r = torch::sigmoid(convr2(hx));
  q = torch::tanh(convq2(torch::cat({r * h, x}, 1)));
  return (1 - z) * h + z * q;
}

BasicMotionEncoderImpl::BasicMotionEncoderImpl(int64_t corr_channels, int64_t flow_channels) {
  convc1 = register_module("convc1", make_conv(corr_channels, 256, 1));
  convc2 = register_module("convc2", make_conv(256, 192, 3));
  convf1 = register_module("convf1", make_conv(flow_channels, 128, 7));
  convf2 = register_module("convf2", make_conv(128, 64, 3));
  this->conv = register_module("conv", make_conv(64 + 192, 128 - flow_channels, 3));
}

torch::Tensor BasicMotionEncoderImpl::forward(const torch::Tensor& flow, const torch::Tensor& corr) {
  auto cor = torch::relu(convc2(torch::relu(convc1(corr))));
  auto flo = torch::relu(convf2(torch::relu(convf1(flow))));
  auto out = torch::relu(conv(torch::cat({cor, flo}, 1)));
  return torch::cat({out, flow}, 1);
}

BasicUpdateBlockImpl::BasicUpdateBlockImpl(int64_t corr_channels, int64_t factor, int64_t flow_dim, int64_t hidden,
                                           int64_t context) {
  encoder = register_module("encoder", BasicMotionEncoder(corr_channels, flow_dim));
  gru = register_module("gru", SepConvGRU(hidden, context + hidden));
  flow_head = register_module("flow_head", FlowHead(hidden, 256, flow_dim));
  mask = register_module("mask", torch::nn::Sequential(make_conv(hidden, 256, 3), torch::nn::ReLU(),
                                                       make_conv(256, factor * factor * 9, 1)));
}

// as BasicUpdateBlock.forward
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> BasicUpdateBlockImpl::forward(
    const torch::Tensor& net_in, const torch::Tensor& inp_in, const torch::Tensor& corr, const torch::Tensor& flow,
    bool want_mask) {
  const auto motion = encoder(flow, corr);
  const auto inp = torch::cat({inp_in, motion}, 1);
  const auto net = gru(net_in, inp);
  const auto delta = flow_head(net);
  return {net, want_mask ? mask->forward(net) : torch::Tensor(), delta};
}

}  // namespace s2v::unimatch
