#include "models/wav2vec2/wav2vec2.h"

#include <cmath>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/weights/checkpoint.h"
#include "models/weights/source_views.h"

#include "models/base/error.h"

namespace s2v::wav2vec2 {

namespace nn = torch::nn;

// ---- feature extractor ----

ConvLayerImpl::ConvLayerImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool bias) {
  conv = register_module("conv", nn::Conv1d(nn::Conv1dOptions(in, out, kernel).stride(stride).bias(bias)));
  layer_norm = register_module("layer_norm", nn::LayerNorm(nn::LayerNormOptions({out})));  // eps 1e-5
}

// x: [B, C_in, T] -> [B, C_out, T']
torch::Tensor ConvLayerImpl::forward(const torch::Tensor& x) {
  auto h = conv(x).transpose(-2, -1);
  h = layer_norm(h).transpose(-2, -1);
  return torch::gelu(h);
}

FeatureExtractorImpl::FeatureExtractorImpl(const Wav2Vec2Config& c) {
  conv_layers = register_module("conv_layers", nn::ModuleList());
  int64_t in = 1;
  for (size_t i = 0; i < c.conv_dim.size(); ++i) {
    conv_layers->push_back(ConvLayer(in, c.conv_dim[i], c.conv_kernel[i], c.conv_stride[i], c.conv_bias));
    in = c.conv_dim[i];
  }
}

// wave: [B, T] -> [B, C, F]
torch::Tensor FeatureExtractorImpl::forward(const torch::Tensor& wave) {
  auto h = wave.unsqueeze(1);
  for (const auto& layer : *conv_layers) h = layer->as<ConvLayerImpl>()->forward(h);
  return h;
}

FeatureProjectionImpl::FeatureProjectionImpl(const Wav2Vec2Config& c) {
  layer_norm = register_module("layer_norm", nn::LayerNorm(nn::LayerNormOptions({c.conv_dim.back()}).eps(c.layer_norm_eps)));
  projection = register_module("projection", nn::Linear(c.conv_dim.back(), c.hidden_size));
}

// x: [B, F, C_conv] -> [B, F, D]
torch::Tensor FeatureProjectionImpl::forward(const torch::Tensor& x) {
  return projection(layer_norm(x));
}

// ---- positional conv ----

WeightNormConvImpl::WeightNormConvImpl(int64_t channels, int64_t kernel_, int64_t groups_)
    : kernel(kernel_), groups(groups_) {
  // registered in the order HF's state_dict lists them
  bias = register_parameter("bias", torch::zeros({channels}));
  weight_g = register_parameter("weight_g", torch::ones({1, 1, kernel}));
  weight_v = register_parameter("weight_v", torch::randn({channels, channels / groups, kernel}) * 0.02);
}

// x: [B, D, F] -> [B, D, F] (after the same-pad trim for even kernels)
torch::Tensor WeightNormConvImpl::forward(const torch::Tensor& x) {
  // weight_norm(dim=2): the norm of v over every dim but 2
  auto weight = torch::_weight_norm(weight_v, weight_g, 2);
  auto y = torch::conv1d(x, weight, bias, 1, kernel / 2, 1, groups);
  if (kernel % 2 == 0) y = y.slice(2, 0, y.size(2) - 1);  // Wav2Vec2SamePadLayer
  return y;
}

PositionalConvEmbeddingImpl::PositionalConvEmbeddingImpl(const Wav2Vec2Config& c) {
  conv = register_module("conv", WeightNormConv(c.hidden_size, c.num_conv_pos_embeddings,
                                                c.num_conv_pos_embedding_groups));
}

// x: [B, F, D]
torch::Tensor PositionalConvEmbeddingImpl::forward(const torch::Tensor& x) {
  return torch::gelu(conv(x.transpose(1, 2))).transpose(1, 2);
}

// ---- transformer ----

AttentionImpl::AttentionImpl(int64_t dim, int64_t heads_) : heads(heads_) {
  q_proj = register_module("q_proj", nn::Linear(dim, dim));
  k_proj = register_module("k_proj", nn::Linear(dim, dim));
  v_proj = register_module("v_proj", nn::Linear(dim, dim));
  out_proj = register_module("out_proj", nn::Linear(dim, dim));
}

// x: [B, F, D]
torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), f = x.size(1), d = x.size(2), hd = d / heads;
  const double scaling = 1.0 / std::sqrt(static_cast<double>(hd));
  // [B, F, D] -> [B, H, F, hd]
  auto split = [&](const torch::Tensor& t) { return t.view({b, f, heads, hd}).transpose(1, 2); };
  auto q = split(q_proj(x) * scaling), k = split(k_proj(x)), v = split(v_proj(x));
  auto attn = torch::softmax(torch::matmul(q, k.transpose(-1, -2)), -1);
  auto out = torch::matmul(attn, v).transpose(1, 2).reshape({b, f, d});
  return out_proj(out);
}

FeedForwardImpl::FeedForwardImpl(int64_t dim, int64_t inner) {
  intermediate_dense = register_module("intermediate_dense", nn::Linear(dim, inner));
  output_dense = register_module("output_dense", nn::Linear(inner, dim));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  return output_dense(torch::gelu(intermediate_dense(x)));
}

EncoderLayerImpl::EncoderLayerImpl(const Wav2Vec2Config& c) {
  auto ln = [&] { return nn::LayerNorm(nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)); };
  attention = register_module("attention", Attention(c.hidden_size, c.num_attention_heads));
  layer_norm = register_module("layer_norm", ln());
  feed_forward = register_module("feed_forward", FeedForward(c.hidden_size, c.intermediate_size));
  final_layer_norm = register_module("final_layer_norm", ln());
}

// x: [B, F, D]; pre-norm residual blocks
torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x) {
  auto h = x + attention(layer_norm(x));
  return h + feed_forward(final_layer_norm(h));
}

EncoderImpl::EncoderImpl(const Wav2Vec2Config& c) {
  pos_conv_embed = register_module("pos_conv_embed", PositionalConvEmbedding(c));
  layer_norm = register_module("layer_norm", nn::LayerNorm(nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  layers = register_module("layers", nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(EncoderLayer(c));
}

// x: [B, F, D] -> [layers + 1, B, F, D]
torch::Tensor EncoderImpl::forward(const torch::Tensor& x, const CancelToken& cancel) {
  // as Wav2Vec2EncoderStableLayerNorm.forward with output_hidden_states=True
  std::vector<torch::Tensor> states;
  auto h = x + pos_conv_embed(x);
  for (const auto& layer : *layers) {
    cancel.throw_if_requested();
    states.push_back(h);
    h = layer->as<EncoderLayerImpl>()->forward(h);
  }
  states.push_back(layer_norm(h));
  return torch::stack(states);
}

Wav2Vec2ModelImpl::Wav2Vec2ModelImpl(const Wav2Vec2Config& c) {
  feature_extractor = register_module("feature_extractor", FeatureExtractor(c));
  feature_projection = register_module("feature_projection", FeatureProjection(c));
  encoder = register_module("encoder", Encoder(c));
}

// normalized: [B, T] -> [layers + 1, B, F, D]
torch::Tensor Wav2Vec2ModelImpl::forward(const torch::Tensor& normalized, const CancelToken& cancel) {
  auto features = feature_extractor(normalized).transpose(1, 2);  // [B, F, C]
  return encoder->forward(feature_projection(features), cancel);
}

Wav2Vec2EncoderImpl::Wav2Vec2EncoderImpl(const Wav2Vec2Config& config) : config_(config) {
  wav2vec2 = register_module("wav2vec2", Wav2Vec2Model(config));
}

torch::Tensor Wav2Vec2EncoderImpl::forward(const torch::Tensor& normalized, const CancelToken& cancel) {
  const auto& w = wav2vec2->feature_projection->projection->weight;
  auto x = normalized.dim() == 1 ? normalized.unsqueeze(0) : normalized;
  if (x.size(-1) < config_.conv_kernel.front() || config_.num_frames(x.size(-1)) < 1)
    throw Error("the audio is too short for wav2vec2: " + std::to_string(x.size(-1)) +
                    " samples give no feature frame",
                ErrorKind::InvalidArgument);
  return wav2vec2->forward(x.to(w.device(), w.scalar_type()), cancel);
}

torch::Tensor Wav2Vec2EncoderImpl::hidden_states(const torch::Tensor& waveform, const CancelToken& cancel) {
  torch::NoGradGuard no_grad;
  return forward(normalize_waveform(waveform.reshape({1, -1})), cancel).squeeze(1);
}

torch::Tensor normalize_waveform(const torch::Tensor& waveform) {
  auto x = waveform.to(torch::kDouble);
  auto mean = x.mean(-1, true);
  auto var = (x - mean).pow(2).mean(-1, true);  // population variance
  return ((x - mean) / torch::sqrt(var + 1e-7)).to(torch::kFloat);
}

void load_wav2vec2(Wav2Vec2EncoderImpl& model, std::shared_ptr<weights::TensorSource> source,
                   const CancelToken& cancel) {
  // The HF spellings onto the module's names; the CTC head and the masking embedding are hidden.
  auto to_native = [](const std::string& name) -> std::string {
    for (const char* unused : {"lm_head.", "wav2vec2.masked_spec_embed", "masked_spec_embed"})
      if (name.rfind(unused, 0) == 0) return "";
    std::string n = name.rfind("wav2vec2.", 0) == 0 ? name : "wav2vec2." + name;
    // torch.nn.utils.parametrizations.weight_norm (newer HF) names the same two tensors
    static const std::pair<const char*, const char*> renames[] = {
        {"parametrizations.weight.original0", "weight_g"},
        {"parametrizations.weight.original1", "weight_v"}};
    for (const auto& [from, to] : renames) {
      const auto pos = n.find(from);
      if (pos != std::string::npos) n.replace(pos, std::string(from).size(), to);
    }
    return n;
  };
  const auto view = weights::apply_rename(std::move(source), to_native, "wav2vec2 names");
  weights::load_module(model, *view, "wav2vec2", /*allow_unexpected=*/false, cancel);
}

}  // namespace s2v::wav2vec2
