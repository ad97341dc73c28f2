#include "models/t5/umt5.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/checkpoint.h"

namespace s2v::t5 {

UMT5Config UMT5Config::from_json(const std::string& json_text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const std::exception& e) {
    throw Error(std::string("cannot read the umT5 configuration: ") + e.what(),
                ErrorKind::InvalidArgument);
  }
  UMT5Config c;
  auto get = [&](const char* key, auto& field) {
    if (j.contains(key) && !j[key].is_null()) field = j[key].get<std::decay_t<decltype(field)>>();
  };
  get("vocab_size", c.vocab);
  get("vocab", c.vocab);
  get("dim", c.dim);
  get("dim_attn", c.dim_attn);
  get("dim_ffn", c.dim_ffn);
  get("num_heads", c.num_heads);
  get("encoder_layers", c.num_layers);
  get("num_layers", c.num_layers);
  get("num_buckets", c.num_buckets);
  get("shared_pos", c.shared_pos);
  if (c.num_heads <= 0 || c.dim_attn % c.num_heads != 0)
    throw Error("invalid umT5 configuration: dim_attn " + std::to_string(c.dim_attn) +
                    " is not a multiple of num_heads " + std::to_string(c.num_heads),
                ErrorKind::InvalidArgument);
  return c;
}

// ---- T5LayerNorm ----

T5LayerNormImpl::T5LayerNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

// x: [..., C]
torch::Tensor T5LayerNormImpl::forward(const torch::Tensor& x) {
  // as T5LayerNorm.forward: statistics in float32, back to the weight dtype for half types
  auto y = x * torch::rsqrt(x.to(torch::kFloat).pow(2).mean(-1, true) + eps);
  if (weight.scalar_type() == torch::kHalf || weight.scalar_type() == torch::kBFloat16)
    y = y.to(weight.scalar_type());
  return weight * y;
}

// ---- T5Attention ----

T5AttentionImpl::T5AttentionImpl(int64_t dim, int64_t dim_attn, int64_t heads)
    : num_heads(heads), head_dim(dim_attn / heads) {
  auto lin = [](int64_t i, int64_t o) { return torch::nn::Linear(torch::nn::LinearOptions(i, o).bias(false)); };
  q = register_module("q", lin(dim, dim_attn));
  k = register_module("k", lin(dim, dim_attn));
  v = register_module("v", lin(dim, dim_attn));
  o = register_module("o", lin(dim_attn, dim));
}

// x: [B, L, C]; mask: [B, L]; pos_bias: [1, N, L, L]
torch::Tensor T5AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                       const torch::Tensor& pos_bias) {
  const int64_t b = x.size(0), n = num_heads, c = head_dim;
  // [B, L, N, c] -> [B, N, L, c]
  auto qh = q(x).view({b, -1, n, c}).transpose(1, 2);
  auto kh = k(x).view({b, -1, n, c}).transpose(1, 2);
  auto vh = v(x).view({b, -1, n, c}).transpose(1, 2);
  const int64_t lq = qh.size(2), lk = kh.size(2);

  // as T5Attention.forward: bias = pos_bias, then masked positions set to the dtype's minimum
  auto bias = torch::zeros({b, n, lq, lk}, x.options());
  if (pos_bias.defined()) bias += pos_bias;
  if (mask.defined()) {
    auto m = mask.dim() == 2 ? mask.view({b, 1, 1, -1}) : mask.unsqueeze(1);
    double lowest = x.scalar_type() == torch::kHalf ? -65504.0
                    : x.scalar_type() == torch::kBFloat16 ? -3.3895313892515355e38
                    : x.scalar_type() == torch::kDouble ? std::numeric_limits<double>::lowest()
                                                        : std::numeric_limits<float>::lowest();
    bias.masked_fill_(m == 0, lowest);
  }
  // T5 does not scale q·k
  auto attn = torch::matmul(qh, kh.transpose(-1, -2)) + bias;
  attn = torch::softmax(attn.to(torch::kFloat), -1).to(attn.scalar_type());
  auto out = torch::matmul(attn, vh);                 // [B, N, L, c]
  out = out.transpose(1, 2).reshape({b, -1, n * c});  // [B, L, N*c]
  return o(out);
}

// ---- T5FeedForward ----

T5FeedForwardImpl::T5FeedForwardImpl(int64_t dim, int64_t dim_ffn) {
  auto lin = [](int64_t i, int64_t o) { return torch::nn::Linear(torch::nn::LinearOptions(i, o).bias(false)); };
  gate = register_module("gate", torch::nn::Sequential(lin(dim, dim_ffn)));
  fc1 = register_module("fc1", lin(dim, dim_ffn));
  fc2 = register_module("fc2", lin(dim_ffn, dim));
}

// x: [B, L, C]
torch::Tensor T5FeedForwardImpl::forward(const torch::Tensor& x) {
  // GELU in t5.py is the tanh approximation
  auto g = torch::gelu(gate->forward(x), "tanh");
  return fc2(fc1(x) * g);
}

// ---- T5RelativeEmbedding ----

T5RelativeEmbeddingImpl::T5RelativeEmbeddingImpl(int64_t buckets, int64_t heads, bool bidir,
                                                 int64_t max_dist_)
    : num_buckets(buckets), num_heads(heads), max_dist(max_dist_), bidirectional(bidir) {
  embedding = register_module("embedding", torch::nn::Embedding(buckets, heads));
}

// rel_pos: [Lq, Lk] int64 (key position - query position)
torch::Tensor T5RelativeEmbeddingImpl::relative_position_bucket(torch::Tensor rel_pos) const {
  // as T5RelativeEmbedding._relative_position_bucket
  int64_t nb = num_buckets;
  torch::Tensor buckets;
  if (bidirectional) {
    nb = num_buckets / 2;
    buckets = (rel_pos > 0).to(torch::kLong) * nb;
    rel_pos = rel_pos.abs();
  } else {
    buckets = torch::zeros_like(rel_pos);
    rel_pos = -torch::min(rel_pos, torch::zeros_like(rel_pos));
  }
  const int64_t max_exact = nb / 2;
  // float32 arithmetic as in the reference; log(0) = -inf is masked out by the where below
  auto large = max_exact + (torch::log(rel_pos.to(torch::kFloat) / static_cast<double>(max_exact)) /
                            std::log(static_cast<double>(max_dist) / max_exact) *
                            static_cast<double>(nb - max_exact))
                               .to(torch::kLong);
  large = torch::min(large, torch::full_like(large, nb - 1));
  return buckets + torch::where(rel_pos < max_exact, rel_pos, large);
}

// -> [1, N, Lq, Lk]
torch::Tensor T5RelativeEmbeddingImpl::forward(int64_t lq, int64_t lk) {
  const auto dev = embedding->weight.device();
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(dev);
  auto rel = torch::arange(lk, opts).unsqueeze(0) - torch::arange(lq, opts).unsqueeze(1);
  auto e = embedding(relative_position_bucket(rel));  // [Lq, Lk, N]
  return e.permute({2, 0, 1}).unsqueeze(0).contiguous();
}

// ---- T5SelfAttention ----

T5SelfAttentionImpl::T5SelfAttentionImpl(const UMT5Config& c) {
  norm1 = register_module("norm1", T5LayerNorm(c.dim, c.eps));
  attn = register_module("attn", T5Attention(c.dim, c.dim_attn, c.num_heads));
  norm2 = register_module("norm2", T5LayerNorm(c.dim, c.eps));
  ffn = register_module("ffn", T5FeedForward(c.dim, c.dim_ffn));
  if (!c.shared_pos)
    pos_embedding = register_module("pos_embedding",
                                    T5RelativeEmbedding(c.num_buckets, c.num_heads, true));
}

// x: [B, L, C]
torch::Tensor T5SelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                           const torch::Tensor& pos_bias) {
  auto e = pos_embedding ? pos_embedding->forward(x.size(1), x.size(1)) : pos_bias;
  auto h = x + attn(norm1(x), mask, e);
  // fp16_clamp of the reference only matters for float16 overflow
  if (h.scalar_type() == torch::kHalf) h = torch::clamp(h, -64504.0, 64504.0);
  h = h + ffn(norm2(h));
  if (h.scalar_type() == torch::kHalf) h = torch::clamp(h, -64504.0, 64504.0);
  return h;
}

// ---- UMT5Encoder ----

UMT5EncoderImpl::UMT5EncoderImpl(const UMT5Config& config, torch::Dtype dtype) : config_(config) {
  token_embedding = register_module("token_embedding", torch::nn::Embedding(config.vocab, config.dim));
  token_embedding->to(dtype);
  if (config.shared_pos)
    pos_embedding = register_module(
        "pos_embedding", T5RelativeEmbedding(config.num_buckets, config.num_heads, true));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_layers; ++i) {
    T5SelfAttention block(config);
    block->to(dtype);
    blocks->push_back(block);
  }
  norm = register_module("norm", T5LayerNorm(config.dim, config.eps));
  norm->to(dtype);
  if (pos_embedding) pos_embedding->to(dtype);
}

// ids: [B, L]; mask: [B, L] -> [B, L, dim]
torch::Tensor UMT5EncoderImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask, const CancelToken& cancel) {
  auto x = token_embedding(ids);
  torch::Tensor e;
  if (pos_embedding) e = pos_embedding->forward(x.size(1), x.size(1));
  for (const auto& block : *blocks) {
    cancel.throw_if_requested();
    x = block->as<T5SelfAttentionImpl>()->forward(x, mask, e);
  }
  return norm(x);
}

void load_umt5(UMT5EncoderImpl& model, const weights::TensorSource& source, const CancelToken& cancel) {
  weights::load_module(model, source, "the umT5 encoder", /*allow_unexpected=*/false, cancel);
}

}  // namespace s2v::t5
