#pragma once
// wav2vec2 with the xlsr-53 structure (Hugging Face Wav2Vec2ForCTC with feat_extract_norm
// "layer" and do_stable_layer_norm): a 7-layer conv feature extractor with layer norm, the feature
// projection, a grouped positional convolution with weight norm, and the stable-layer-norm
// (pre-norm) transformer encoder. Modules are registered under the HF checkpoint names
// (wav2vec2.feature_extractor.conv_layers.N.{conv,layer_norm}, wav2vec2.feature_projection.*,
// wav2vec2.encoder.{pos_conv_embed.conv.{weight_g,weight_v,bias},layers.N.*,layer_norm}); the CTC
// head (lm_head) is not used by S2V and is ignored when loading.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "models/base/cancel.h"
#include "models/wav2vec2/wav2vec2_config.h"

namespace s2v::weights {
class TensorSource;
}

namespace s2v::wav2vec2 {

class ConvLayerImpl : public torch::nn::Module {  // Wav2Vec2LayerNormConvLayer
 public:
  ConvLayerImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool bias);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, C_in, T] -> [B, C_out, T']
  torch::nn::Conv1d conv{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
};
TORCH_MODULE(ConvLayer);

class FeatureExtractorImpl : public torch::nn::Module {
 public:
  explicit FeatureExtractorImpl(const Wav2Vec2Config& c);
  torch::Tensor forward(const torch::Tensor& wave);  // wave: [B, T] -> [B, C, F]
  torch::nn::ModuleList conv_layers{nullptr};
};
TORCH_MODULE(FeatureExtractor);

class FeatureProjectionImpl : public torch::nn::Module {
 public:
  explicit FeatureProjectionImpl(const Wav2Vec2Config& c);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, F, C_conv] -> [B, F, D]
  torch::nn::LayerNorm layer_norm{nullptr};
  torch::nn::Linear projection{nullptr};
};
TORCH_MODULE(FeatureProjection);

// The grouped positional conv's parameters (weight norm over dim 2: weight = g * v / |v|).
class WeightNormConvImpl : public torch::nn::Module {
 public:
  WeightNormConvImpl(int64_t channels, int64_t kernel, int64_t groups);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, D, F] -> [B, D, F + 1 - kernel%2... ]
  torch::Tensor weight_g, weight_v, bias;
  int64_t kernel, groups;
};
TORCH_MODULE(WeightNormConv);

class PositionalConvEmbeddingImpl : public torch::nn::Module {
 public:
  explicit PositionalConvEmbeddingImpl(const Wav2Vec2Config& c);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, F, D] -> [B, F, D]
  WeightNormConv conv{nullptr};
};
TORCH_MODULE(PositionalConvEmbedding);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, F, D]
  int64_t heads;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
};
TORCH_MODULE(Attention);

class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(int64_t dim, int64_t inner);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear intermediate_dense{nullptr}, output_dense{nullptr};
};
TORCH_MODULE(FeedForward);

// Wav2Vec2EncoderLayerStableLayerNorm
class EncoderLayerImpl : public torch::nn::Module {
 public:
  explicit EncoderLayerImpl(const Wav2Vec2Config& c);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, F, D]
  Attention attention{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr}, final_layer_norm{nullptr};
  FeedForward feed_forward{nullptr};
};
TORCH_MODULE(EncoderLayer);

// Wav2Vec2EncoderStableLayerNorm
class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const Wav2Vec2Config& c);
  // x: [B, F, D] -> hidden states [layers + 1, B, F, D] as HF output_hidden_states. `cancel` is
  // checked before each layer (s2v::Cancelled).
  torch::Tensor forward(const torch::Tensor& x, const CancelToken& cancel = CancelToken::none());
  PositionalConvEmbedding pos_conv_embed{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(Encoder);

// Wav2Vec2Model
class Wav2Vec2ModelImpl : public torch::nn::Module {
 public:
  explicit Wav2Vec2ModelImpl(const Wav2Vec2Config& c);
  // [B, T] -> [layers + 1, B, F, D]
  torch::Tensor forward(const torch::Tensor& normalized, const CancelToken& cancel = CancelToken::none());
  FeatureExtractor feature_extractor{nullptr};
  FeatureProjection feature_projection{nullptr};
  Encoder encoder{nullptr};
};
TORCH_MODULE(Wav2Vec2Model);

// The top level of Wav2Vec2ForCTC without lm_head: parameter names start with "wav2vec2.".
class Wav2Vec2EncoderImpl : public torch::nn::Module {
 public:
  explicit Wav2Vec2EncoderImpl(const Wav2Vec2Config& config = {});
  // normalized: [B, T] (or [T]) 16 kHz samples already normalised ->
  // all hidden states [layers + 1, B, F, D] (F at 50 Hz): [input to layer 1 (features +
  // positional conv, no norm), outputs of layers 1..N-1, final layer_norm(output of layer N)].
  // `cancel` is checked before each encoder layer (s2v::Cancelled).
  torch::Tensor forward(const torch::Tensor& normalized, const CancelToken& cancel = CancelToken::none());
  // waveform: [T] 16 kHz mono -> [layers + 1, F, D], normalising first (as Wav2Vec2Processor)
  torch::Tensor hidden_states(const torch::Tensor& waveform, const CancelToken& cancel = CancelToken::none());
  const Wav2Vec2Config& config() const { return config_; }
  Wav2Vec2Model wav2vec2{nullptr};

 private:
  Wav2Vec2Config config_;
};
TORCH_MODULE(Wav2Vec2Encoder);

// As Wav2Vec2FeatureExtractor(do_normalize=True): (x - mean) / sqrt(var + 1e-7), population
// variance, per row of [B, T] (or over a [T] waveform). Computed in float64, returned as float32.
torch::Tensor normalize_waveform(const torch::Tensor& waveform);

// Loads HF Wav2Vec2ForCTC / Wav2Vec2Model weights. Accepts names with or without the "wav2vec2."
// prefix, the old weight-norm names (weight_g, weight_v) and the newer parametrization names
// (parametrizations.weight.original0 / original1); ignores lm_head.* and masked_spec_embed.
// Throws s2v::Error listing every missing/unexpected/mis-shaped tensor.
// `cancel` is checked before each tensor.
void load_wav2vec2(Wav2Vec2EncoderImpl& model, std::shared_ptr<weights::TensorSource> source,
                   const CancelToken& cancel = CancelToken::none());

}  // namespace s2v::wav2vec2
