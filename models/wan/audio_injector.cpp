#include "models/wan/audio_injector.h"

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/wan/dit_config.h"

namespace s2v::wan {

AdaLayerNormImpl::AdaLayerNormImpl(int64_t embedding_dim, int64_t output_dim) {
  linear = register_module("linear", make_linear(embedding_dim, output_dim));
}

torch::Tensor AdaLayerNormImpl::forward(const torch::Tensor& x, const torch::Tensor& temb) {
  // x: [B, L, C], temb: [B, E]
  auto e = linear_in_weight_dtype(linear, torch::silu(temb));  // [B, 2C]
  auto chunks = e.chunk(2, 1);
  auto shift = chunks[0].unsqueeze(1), scale = chunks[1].unsqueeze(1);
  return torch::layer_norm(x, {x.size(-1)}, {}, {}, 1e-5) * (1 + scale) + shift;
}

AudioInjectorImpl::AudioInjectorImpl(int64_t dim, int64_t num_heads, int64_t num_layers,
                                     const std::vector<int64_t>& inject_layers, bool enable_adain_,
                                     bool attn_norm_mode_)
    : enable_adain(enable_adain_), attn_norm_mode(attn_norm_mode_) {
  const auto map = audio_injector_map(num_layers, inject_layers);
  after_block = map.after_block;
  injector = register_module("injector", torch::nn::ModuleList());
  for (int64_t i = 0; i < map.count; ++i) injector->push_back(WanAttention(dim, num_heads, true, 1e-6));
  if (enable_adain) {
    injector_adain_layers = register_module("injector_adain_layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < map.count; ++i) injector_adain_layers->push_back(AdaLayerNorm(dim, 2 * dim));
    if (!attn_norm_mode) {
      injector_adain_output_layers =
          register_module("injector_adain_output_layers", torch::nn::ModuleList());
      for (int64_t i = 0; i < map.count; ++i)
        injector_adain_output_layers->push_back(make_linear(dim, dim));
    }
  }
}

int64_t AudioInjectorImpl::injector_after(int64_t block) const {
  auto it = after_block.find(block);
  return it == after_block.end() ? -1 : it->second;
}

torch::Tensor AudioInjectorImpl::forward(int64_t id, torch::Tensor hidden, int64_t original_len,
                                         const torch::Tensor& audio_local,
                                         const torch::Tensor& audio_global,
                                         const AttentionOptions& options) {
  // hidden: [B, L, C]; audio_local: [B, T, n, C]; audio_global: [B, T, 1, C]
  const int64_t b = hidden.size(0), c = hidden.size(2), frames = audio_local.size(1);
  if (original_len % frames != 0)
    throw Error("audio injection: " + std::to_string(original_len) + " latent tokens do not split into " +
                    std::to_string(frames) + " audio frames",
                ErrorKind::InvalidArgument);
  // b (t n) c -> (b t) n c
  auto input = hidden.narrow(1, 0, original_len).reshape({b * frames, original_len / frames, c});
  torch::Tensor attn_in;
  if (enable_adain && attn_norm_mode) {
    auto temb = audio_global.reshape({b * frames, -1, c}).select(1, 0);  // [(b t), C]
    attn_in = injector_adain_layers[id]->as<AdaLayerNormImpl>()->forward(input, temb);
  } else {
    attn_in = torch::layer_norm(input.to(torch::kFloat32), {c}, {}, {}, 1e-6).to(input.scalar_type());
  }
  auto context = audio_local.reshape({b * frames, -1, c});  // [(b t), n, C]
  auto residual = injector[id]->as<WanAttentionImpl>()->cross_attention(attn_in, context, options);
  hidden.narrow(1, 0, original_len).add_(residual.reshape({b, original_len, c}).to(hidden.scalar_type()));
  return hidden;
}

}  // namespace s2v::wan
