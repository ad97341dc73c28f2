#pragma once
// The Wan 2.1 causal video VAE (wan/modules/vae2_1.py, used by Wan2.2-S2V): stride (4, 8, 8),
// 16 latent channels, latents normalised with the published per-channel mean/std.
//
//   s2v::wan::WanVae vae;                                   // real Wan2.1 config
//   vae.load(*weights::open_checkpoint(file));              // {"encoder.conv1.weight": ...}
//   auto z = vae.encode(video);     // [B, 3, T, H, W] in [-1, 1] -> [B, 16, 1 + (T-1)/4, H/8, W/8]
//   auto v = vae.decode(z);         // -> [B, 3, 1 + 4(T'-1), 8H', 8W'] clamped to [-1, 1]
//
// No <torch/torch.h> here: the blocks live in models/wan/vae_blocks.h.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "models/base/cancel.h"

namespace torch::nn {
class Module;
}
namespace s2v::weights {
class TensorSource;
}

namespace s2v::wan {

// Constructor arguments of WanVAE_; the defaults are the real Wan 2.1 VAE (_video_vae).
struct WanVaeConfig {
  int64_t dim = 96;
  int64_t z_dim = 16;
  std::vector<int64_t> dim_mult = {1, 2, 4, 4};
  int64_t num_res_blocks = 2;
  std::vector<double> attn_scales = {};
  std::vector<bool> temperal_downsample = {false, true, true};  // the official spelling
  double dropout = 0.0;                                         // inference: unused

  // Reads the JSON object of a parity file's `config` metadata (missing keys keep defaults);
  // throws s2v::Error on malformed input.
  static WanVaeConfig from_json(const std::string& json_text);
};

// The published Wan 2.1 latent statistics (Wan2_1_VAE.mean / .std), 16 channels.
const std::array<float, 16>& wan21_latent_mean();
const std::array<float, 16>& wan21_latent_std();

namespace vae {
class WanVAEImpl;
}

// Spatial tiling for decode: tiles of tile_latent x tile_latent latent pixels overlapping by
// overlap_latent, blended linearly across the overlap in pixel space.
struct VaeTiling {
  int64_t tile_latent = 32;
  int64_t overlap_latent = 8;
};

class WanVae {
 public:
  // mean/std default to the real Wan 2.1 statistics (z_dim 16); pass others for other z_dims.
  explicit WanVae(WanVaeConfig config = {}, std::vector<float> mean = {},
                  std::vector<float> std = {});
  ~WanVae();
  WanVae(WanVae&&) noexcept;
  WanVae& operator=(WanVae&&) noexcept;

  const WanVaeConfig& config() const { return config_; }

  // Copies every parameter from the source under its official state_dict name (e.g.
  // "decoder.head.2.weight") with weights::load_module, the loader of every module: one
  // s2v::ValidationError lists every missing, unexpected and mis-shaped tensor by name first.
  void load(const weights::TensorSource& source);

  // Moves the weights (and the statistics) to a device / dtype; inputs are cast to match.
  void to(torch::Device device, torch::ScalarType dtype = torch::kFloat32);

  // `cancel` is checked before every chunk (one or four frames, one latent frame) and tile: a
  // generation job's cancel stops a long encode or decode there (s2v::Cancelled).
  // video: [B, 3, T, H, W] in [-1, 1], H and W multiples of 8 -> normalised latent mean
  // [B, z_dim, 1 + (T-1)/4, H/8, W/8] float32.
  torch::Tensor encode(const torch::Tensor& video, const CancelToken& cancel = CancelToken::none()) const;
  // latents: [B, z_dim, T', H', W'] -> video [B, 3, 1 + 4(T'-1), 8H', 8W'] float32 in [-1, 1].
  torch::Tensor decode(const torch::Tensor& latents, const CancelToken& cancel = CancelToken::none()) const;
  // The same without the final clamp (what WanVAE_.decode returns; for parity checks).
  torch::Tensor decode_unclamped(const torch::Tensor& latents) const;
  // decode() in overlapping spatial tiles (bounded memory for large frames), clamped.
  torch::Tensor decode_tiled(const torch::Tensor& latents, const VaeTiling& tiling = {},
                             const CancelToken& cancel = CancelToken::none()) const;

  // The WanVAE_ module: named_parameters() are the official checkpoint keys.
  torch::nn::Module& module();
  std::vector<std::string> parameter_names() const;

 private:
  torch::Tensor decode_raw(const torch::Tensor& latents, const CancelToken& cancel) const;

  WanVaeConfig config_;
  std::shared_ptr<vae::WanVAEImpl> model_;
  torch::Tensor mean_, inv_std_;  // scale = [mean, 1/std]
};

}  // namespace s2v::wan
