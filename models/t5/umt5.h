#pragma once
// umT5 encoder as in wan/modules/t5.py (T5Encoder with shared_pos=False, as umt5_xxl builds it):
// token embedding, N pre-norm blocks of relative-position self-attention (no 1/sqrt(d) scaling)
// and a gated-GELU (tanh) feed-forward, T5 RMS layer norm. Modules are registered under the
// official names of models_t5_umt5-xxl-enc-bf16.pth: token_embedding.weight,
// blocks.N.{norm1,attn.{q,k,v,o},norm2,ffn.{gate.0,fc1,fc2},pos_embedding.embedding}, norm.weight.

#include <cstdint>
#include <map>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "models/base/cancel.h"

namespace s2v::weights {
class TensorSource;
}

namespace s2v::t5 {

// Defaults are umT5-XXL (umt5_xxl in t5.py).
struct UMT5Config {
  int64_t vocab = 256384;
  int64_t dim = 4096;
  int64_t dim_attn = 4096;
  int64_t dim_ffn = 10240;
  int64_t num_heads = 64;
  int64_t num_layers = 24;
  int64_t num_buckets = 32;
  bool shared_pos = false;
  double eps = 1e-6;

  // From a JSON object with the T5Encoder constructor names (vocab or vocab_size, dim, dim_attn,
  // dim_ffn, num_heads, num_layers or encoder_layers, num_buckets, shared_pos); absent keys keep
  // their defaults. Throws s2v::Error(InvalidArgument) on malformed JSON.
  static UMT5Config from_json(const std::string& json_text);
};

// as T5LayerNorm: x * rsqrt(mean(x^2) + eps) * weight (no mean subtraction, no bias)
class T5LayerNormImpl : public torch::nn::Module {
 public:
  T5LayerNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(T5LayerNorm);

class T5AttentionImpl : public torch::nn::Module {
 public:
  T5AttentionImpl(int64_t dim, int64_t dim_attn, int64_t num_heads);
  // x: [B, L, C]; mask: [B, L] (0 = padding) or undefined; pos_bias: [1, N, L, L] or undefined
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask,
                        const torch::Tensor& pos_bias);
  int64_t num_heads, head_dim;
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
};
TORCH_MODULE(T5Attention);

class T5FeedForwardImpl : public torch::nn::Module {
 public:
  T5FeedForwardImpl(int64_t dim, int64_t dim_ffn);
  // x: [B, L, C] -> fc2(fc1(x) * gelu_tanh(gate(x)))
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential gate{nullptr};  // gate.0 = Linear (the GELU has no parameters)
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(T5FeedForward);

class T5RelativeEmbeddingImpl : public torch::nn::Module {
 public:
  T5RelativeEmbeddingImpl(int64_t num_buckets, int64_t num_heads, bool bidirectional,
                          int64_t max_dist = 128);
  // -> [1, N, Lq, Lk]
  torch::Tensor forward(int64_t lq, int64_t lk);
  // as _relative_position_bucket: rel_pos [Lq, Lk] int64 -> bucket ids
  torch::Tensor relative_position_bucket(torch::Tensor rel_pos) const;
  int64_t num_buckets, num_heads, max_dist;
  bool bidirectional;
  torch::nn::Embedding embedding{nullptr};
};
TORCH_MODULE(T5RelativeEmbedding);

// as T5SelfAttention (one encoder block)
class T5SelfAttentionImpl : public torch::nn::Module {
 public:
  explicit T5SelfAttentionImpl(const UMT5Config& c);
  // x: [B, L, C]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask,
                        const torch::Tensor& pos_bias);
  T5LayerNorm norm1{nullptr}, norm2{nullptr};
  T5Attention attn{nullptr};
  T5FeedForward ffn{nullptr};
  T5RelativeEmbedding pos_embedding{nullptr};  // null when shared_pos
};
TORCH_MODULE(T5SelfAttention);

class UMT5EncoderImpl : public torch::nn::Module {
 public:
  // Each block is converted to dtype as soon as it is built, so a bf16 XXL encoder never holds
  // more than one block in float32 while constructing.
  explicit UMT5EncoderImpl(const UMT5Config& config = {}, torch::Dtype dtype = torch::kFloat);
  // ids: [B, L] int64; mask: [B, L] (1 = token, 0 = padding) or undefined -> [B, L, dim].
  // Padded positions are computed too; callers keep out[b, :n_valid[b]] (T5EncoderModel).
  // `cancel` is checked before each block (s2v::Cancelled).
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask = {},
                        const CancelToken& cancel = CancelToken::none());

  const UMT5Config& config() const { return config_; }

  torch::nn::Embedding token_embedding{nullptr};
  T5RelativeEmbedding pos_embedding{nullptr};  // only when shared_pos
  torch::nn::ModuleList blocks{nullptr};
  T5LayerNorm norm{nullptr};

 private:
  UMT5Config config_;
};
TORCH_MODULE(UMT5Encoder);

// Loads models_t5_umt5-xxl-enc-bf16.pth-style weights (names as T5Encoder.state_dict()), converting
// to the module's dtype, through weights::load_module: one s2v::ValidationError lists every
// missing/unexpected/mis-shaped tensor. `cancel` is checked before each tensor.
void load_umt5(UMT5EncoderImpl& model, const weights::TensorSource& source,
               const CancelToken& cancel = CancelToken::none());

}  // namespace s2v::t5
