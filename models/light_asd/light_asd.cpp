#include "models/light_asd/light_asd.h"

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/checkpoint.h"
#include "models/weights/key_map.h"

namespace s2v::light_asd {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
// Every BatchNorm of Encoder.py: momentum 0.01, eps 0.001.
constexpr double kBnEps = 1e-3;
constexpr double kBnMomentum = 0.01;

nn::BatchNorm2d bn2d(int64_t c) {
  return nn::BatchNorm2d(nn::BatchNorm2dOptions(c).eps(kBnEps).momentum(kBnMomentum));
}
nn::BatchNorm3d bn3d(int64_t c) {
  return nn::BatchNorm3d(nn::BatchNorm3dOptions(c).eps(kBnEps).momentum(kBnMomentum));
}
nn::Conv2d conv2d(int64_t in, int64_t out, torch::ExpandingArray<2> k, torch::ExpandingArray<2> pad) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(pad).bias(false));
}
nn::Conv3d conv3d(int64_t in, int64_t out, torch::ExpandingArray<3> k, torch::ExpandingArray<3> stride,
                  torch::ExpandingArray<3> pad) {
  return nn::Conv3d(nn::Conv3dOptions(in, out, k).stride(stride).padding(pad).bias(false));
}
}  // namespace

// ---- Audio_Block ----------------------------------------------------------------------------

AudioBlockImpl::AudioBlockImpl(int64_t in, int64_t out) {
  m_3 = register_module("m_3", conv2d(in, out, {3, 1}, {1, 0}));
  bn_m_3 = register_module("bn_m_3", bn2d(out));
  t_3 = register_module("t_3", conv2d(out, out, {1, 3}, {0, 1}));
  bn_t_3 = register_module("bn_t_3", bn2d(out));
  m_5 = register_module("m_5", conv2d(in, out, {5, 1}, {2, 0}));
  bn_m_5 = register_module("bn_m_5", bn2d(out));
  t_5 = register_module("t_5", conv2d(out, out, {1, 5}, {0, 2}));
  bn_t_5 = register_module("bn_t_5", bn2d(out));
  last = register_module("last", conv2d(out, out, {1, 1}, {0, 0}));
  bn_last = register_module("bn_last", bn2d(out));
}

torch::Tensor AudioBlockImpl::forward(const torch::Tensor& x) {
  // x: [B, C_in, 13, T_a]
  auto x3 = torch::relu(bn_m_3(m_3(x)));
  x3 = torch::relu(bn_t_3(t_3(x3)));
  auto x5 = torch::relu(bn_m_5(m_5(x)));
  x5 = torch::relu(bn_t_5(t_5(x5)));
  return torch::relu(bn_last(last(x3 + x5)));
}

// ---- Visual_Block ---------------------------------------------------------------------------

VisualBlockImpl::VisualBlockImpl(int64_t in, int64_t out, bool is_down) {
  const int64_t s = is_down ? 2 : 1;
  s_3 = register_module("s_3", conv3d(in, out, {1, 3, 3}, {1, s, s}, {0, 1, 1}));
  bn_s_3 = register_module("bn_s_3", bn3d(out));
  t_3 = register_module("t_3", conv3d(out, out, {3, 1, 1}, {1, 1, 1}, {1, 0, 0}));
  bn_t_3 = register_module("bn_t_3", bn3d(out));
  s_5 = register_module("s_5", conv3d(in, out, {1, 5, 5}, {1, s, s}, {0, 2, 2}));
  bn_s_5 = register_module("bn_s_5", bn3d(out));
  t_5 = register_module("t_5", conv3d(out, out, {5, 1, 1}, {1, 1, 1}, {2, 0, 0}));
  bn_t_5 = register_module("bn_t_5", bn3d(out));
  last = register_module("last", conv3d(out, out, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}));
  bn_last = register_module("bn_last", bn3d(out));
}

torch::Tensor VisualBlockImpl::forward(const torch::Tensor& x) {
  // x: [B, C_in, T, H, W]
  auto x3 = torch::relu(bn_s_3(s_3(x)));
  x3 = torch::relu(bn_t_3(t_3(x3)));
  auto x5 = torch::relu(bn_s_5(s_5(x)));
  x5 = torch::relu(bn_t_5(t_5(x5)));
  return torch::relu(bn_last(last(x3 + x5)));
}

// ---- encoders -------------------------------------------------------------------------------

VisualEncoderImpl::VisualEncoderImpl() {
  block1 = register_module("block1", VisualBlock(1, 32, true));
  block2 = register_module("block2", VisualBlock(32, 64));
  block3 = register_module("block3", VisualBlock(64, 128));
}

torch::Tensor VisualEncoderImpl::forward(const torch::Tensor& x) {
  // x: [B, 1, T, 112, 112]; pool1/pool2: MaxPool3d (1, 3, 3), stride (1, 2, 2), padding (0, 1, 1)
  auto y = block1(x);
  y = F::max_pool3d(y, F::MaxPool3dFuncOptions({1, 3, 3}).stride({1, 2, 2}).padding({0, 1, 1}));
  y = block2(y);
  y = F::max_pool3d(y, F::MaxPool3dFuncOptions({1, 3, 3}).stride({1, 2, 2}).padding({0, 1, 1}));
  y = block3(y);  // [B, C, T, 14, 14]
  // AdaptiveMaxPool2d((1, 1)) per frame = the spatial max
  return y.amax({3, 4}).transpose(1, 2).contiguous();  // [B, T, C]
}

AudioEncoderImpl::AudioEncoderImpl() {
  block1 = register_module("block1", AudioBlock(1, 32));
  block2 = register_module("block2", AudioBlock(32, 64));
  block3 = register_module("block3", AudioBlock(64, 128));
}

torch::Tensor AudioEncoderImpl::forward(const torch::Tensor& x) {
  // x: [B, 1, 13, T_a]. The official MaxPool3d (1, 1, 3) / (1, 1, 2) / (0, 0, 1) on this 4-D
  // tensor pools the last (time) axis only: the same as a 2-D (1, 3) pool.
  auto y = block1(x);
  y = F::max_pool2d(y, F::MaxPool2dFuncOptions({1, 3}).stride({1, 2}).padding({0, 1}));
  y = block2(y);
  y = F::max_pool2d(y, F::MaxPool2dFuncOptions({1, 3}).stride({1, 2}).padding({0, 1}));
  y = block3(y);                             // [B, C, 13, T_a / 4]
  return y.mean(2).transpose(1, 2).contiguous();  // mean over cepstra -> [B, T, C]
}

// ---- BGRU -----------------------------------------------------------------------------------

BGruImpl::BGruImpl(int64_t c) {
  const auto opts = nn::GRUOptions(c, c).num_layers(1).bias(true).batch_first(true).bidirectional(false);
  gru_forward = register_module("gru_forward", nn::GRU(opts));
  gru_backward = register_module("gru_backward", nn::GRU(opts));
}

torch::Tensor BGruImpl::forward(const torch::Tensor& x) {
  // x: [B, T, C]; GELU is the exact (erf) form of nn.GELU()
  auto y = torch::gelu(std::get<0>(gru_forward(x)));
  y = std::get<0>(gru_backward(y.flip({1}))).flip({1});
  return torch::gelu(y);
}

// ---- ASD_Model ------------------------------------------------------------------------------

AsdModelImpl::AsdModelImpl() {
  visualEncoder = register_module("visualEncoder", VisualEncoder());
  audioEncoder = register_module("audioEncoder", AudioEncoder());
  GRU = register_module("GRU", BGru(kEmbedDim));
}

torch::Tensor AsdModelImpl::forward_visual_frontend(const torch::Tensor& frames) {
  // frames: [B, T, H, W] -> [B, 1, T, H, W], normalised with the official grey mean/std
  auto x = frames.unsqueeze(1);
  x = (x / 255 - 0.4161) / 0.1688;
  return visualEncoder(x);
}

torch::Tensor AsdModelImpl::forward_audio_frontend(const torch::Tensor& mfcc) {
  // mfcc: [B, T_a, 13] -> [B, 1, 13, T_a]
  return audioEncoder(mfcc.unsqueeze(1).transpose(2, 3));
}

torch::Tensor AsdModelImpl::forward_audio_visual_backend(const torch::Tensor& audio,
                                                         const torch::Tensor& visual) {
  return GRU(audio + visual).reshape({-1, kEmbedDim});
}

torch::Tensor AsdModelImpl::forward_visual_backend(const torch::Tensor& visual) {
  return visual.reshape({-1, kEmbedDim});
}

// ---- heads and the whole --------------------------------------------------------------------

HeadImpl::HeadImpl() { FC = register_module("FC", nn::Linear(kEmbedDim, 2)); }

torch::Tensor HeadImpl::forward(const torch::Tensor& x) { return FC(x); }

LightAsdImpl::LightAsdImpl(bool with_visual_head) {
  model = register_module("model", AsdModel());
  lossAV = register_module("lossAV", Head());
  if (with_visual_head) lossV = register_module("lossV", Head());
}

torch::Tensor LightAsdImpl::logits_of_embeddings(const torch::Tensor& audio, const torch::Tensor& visual) {
  return lossAV(model->forward_audio_visual_backend(audio, visual));
}

torch::Tensor LightAsdImpl::forward(const torch::Tensor& mfcc, const torch::Tensor& frames) {
  return logits_of_embeddings(model->forward_audio_frontend(mfcc),
                              model->forward_visual_frontend(frames));
}

torch::Tensor LightAsdImpl::speaking_probability(const torch::Tensor& mfcc, const torch::Tensor& frames) {
  return torch::softmax(forward(mfcc, frames), -1).select(1, 1);
}

// ---- loading --------------------------------------------------------------------------------

namespace {
std::vector<std::string> native_names(bool with_visual_head) {
  LightAsdImpl m(with_visual_head);
  std::vector<std::string> names;
  for (const auto& p : m.named_parameters(true)) names.push_back(p.key());
  for (const auto& b : m.named_buffers(true)) names.push_back(b.key());
  return names;
}

// The official layout, or the layout under a stripped prefix ("module." of DataParallel, a
// repackaging's own prefix): weights::detect_key_map picks the prefix that yields most native
// names.
std::shared_ptr<weights::TensorSource> native_view(const std::shared_ptr<weights::TensorSource>& source) {
  const auto map = weights::detect_key_map(source->names(), native_names(true));
  return weights::apply_key_map(source, map);
}

bool has_visual_head(const weights::TensorSource& view) {
  for (const auto& n : view.names())
    if (n.rfind("lossV.", 0) == 0) return true;
  return false;
}
}  // namespace

std::string detect_light_asd_prefix(const weights::TensorSource& source) {
  return weights::detect_key_map(source.names(), native_names(true)).prefix;
}

void load_light_asd(LightAsdImpl& model, const std::shared_ptr<weights::TensorSource>& source) {
  weights::load_module(model, *native_view(source), "Light-ASD");
  model.eval();
}

LightAsd load_light_asd(const std::shared_ptr<weights::TensorSource>& source) {
  auto view = native_view(source);
  LightAsd model(has_visual_head(*view));
  weights::load_module(*model, *view, "Light-ASD");
  model->eval();
  return model;
}

}  // namespace s2v::light_asd
