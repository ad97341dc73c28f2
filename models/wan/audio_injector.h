#pragma once
// AudioInjector_WAN of Wan2.2-S2V (wan/modules/s2v/audio_utils.py, used by
// WanModel_S2V.after_transformer_block): after configured DiT blocks, the tokens of each latent
// frame attend to that frame's audio tokens only (cross-attention with q/k RMSNorm), and the result
// is added to the hidden states. With AdaIN in 'attn_norm' mode the attention input is the hidden
// state normalised by a diffusers AdaLayerNorm driven by the frame's global audio token.

#include <cstdint>
#include <map>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "models/wan/attention.h"

namespace s2v::wan {

// as diffusers AdaLayerNorm(output_dim=2*dim, embedding_dim=dim, chunk_dim=1): LayerNorm (eps 1e-5,
// no affine) modulated by shift, scale = linear(silu(temb)).chunk(2).
class AdaLayerNormImpl : public torch::nn::Module {
 public:
  AdaLayerNormImpl(int64_t embedding_dim, int64_t output_dim);
  // x: [B, L, C], temb: [B, E] -> [B, L, C]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb);
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(AdaLayerNorm);

class AudioInjectorImpl : public torch::nn::Module {
 public:
  // num_layers / inject_layers: which blocks get an injector, see audio_injector_map().
  AudioInjectorImpl(int64_t dim, int64_t num_heads, int64_t num_layers,
                    const std::vector<int64_t>& inject_layers, bool enable_adain,
                    bool attn_norm_mode);

  // The injector that runs after `block`, or -1.
  int64_t injector_after(int64_t block) const;

  // as after_transformer_block: hidden: [B, L, C] (the first original_len tokens are the noisy
  // latent tokens, T frames of equal size); audio_local: [B, T, n, C]; audio_global: [B, T, 1, C]
  // (needed with AdaIN). Adds the injector's residual to those tokens of hidden in place and
  // returns it.
  torch::Tensor forward(int64_t injector, torch::Tensor hidden, int64_t original_len,
                        const torch::Tensor& audio_local, const torch::Tensor& audio_global,
                        const AttentionOptions& options);

  bool enable_adain, attn_norm_mode;
  std::map<int64_t, int64_t> after_block;
  torch::nn::ModuleList injector{nullptr};                     // WanAttention (cross)
  torch::nn::ModuleList injector_adain_layers{nullptr};        // AdaLayerNorm
  torch::nn::ModuleList injector_adain_output_layers{nullptr}; // Linear (non attn_norm modes)
};
TORCH_MODULE(AudioInjector);

}  // namespace s2v::wan
