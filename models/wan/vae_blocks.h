#pragma once
// The blocks of the Wan 2.1 causal video VAE (wan/modules/vae2_1.py), registered under the
// official state_dict names so that WanVAE_::named_parameters() equals the checkpoint keys
// (encoder.downsamples.3.residual.2.weight, decoder.middle.1.to_qkv.bias, conv1.weight, ...).
// Engine-internal: includes LibTorch; the UI includes models/wan/vae.h only.
//
// Chunked causal inference: the encoder sees 1 frame, then 4 at a time; the decoder 1 latent frame
// at a time. A FeatCache carries, for every causal 3D convolution in call order, the last (up to
// 2) input frames of the previous chunk, as feat_cache/feat_idx do in the reference.

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "models/base/cancel.h"
#include "models/wan/vae.h"

namespace s2v::wan::vae {

// The per-convolution cache of one encode or decode pass (feat_cache + feat_idx).
struct FeatCache {
  struct Entry {
    torch::Tensor frames;  // cached input frames of the previous chunk
    bool rep = false;      // the reference's 'Rep' marker of upsample3d after the first chunk
    bool empty() const { return !rep && !frames.defined(); }
  };
  std::vector<Entry> entries;
  size_t index = 0;  // reset to 0 before every chunk

  Entry& current() {
    if (index >= entries.size()) entries.resize(index + 1);
    return entries[index];
  }
};

// nn.Conv3d with causal time padding: 2*pad_t frames before, none after (or the cached frames of
// the previous chunk in their place); spatial padding symmetric. Parameters: weight, bias.
class CausalConv3dImpl : public torch::nn::Module {
 public:
  CausalConv3dImpl(int64_t in, int64_t out, std::array<int64_t, 3> kernel,
                   std::array<int64_t, 3> stride = {1, 1, 1},
                   std::array<int64_t, 3> padding = {0, 0, 0});
  // x: [B, C, T, H, W]; cache: [B, C, <=2, H, W] or undefined
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cache = {});

  torch::Tensor weight, bias;

 private:
  std::array<int64_t, 3> stride_, padding_;
};
TORCH_MODULE(CausalConv3d);

// RMS_norm: F.normalize over channels * sqrt(dim) * gamma. gamma: [dim, 1, 1, 1] for video
// (images=false) or [dim, 1, 1] for images.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, bool images);
  torch::Tensor forward(const torch::Tensor& x);  // x: [N, C, ...]
  torch::Tensor gamma;

 private:
  torch::Tensor rms_norm_cpu(const torch::Tensor& x) const;  // float32 on the CPU, fused
  double scale_;
};
TORCH_MODULE(RMSNorm);

// A block of Encoder3d.downsamples / Decoder3d.upsamples / .middle.
class Block : public torch::nn::Module {
 public:
  // x: [B, C, T, H, W]; cache may be null (no chunking)
  virtual torch::Tensor forward(const torch::Tensor& x, FeatCache* cache) = 0;
};

// Runs a causal conv on x, updating its cache entry (the reference's cache_x bookkeeping).
torch::Tensor cached_conv(CausalConv3dImpl& conv, const torch::Tensor& x, FeatCache* cache);

// ResidualBlock: residual = [RMS_norm, SiLU, CausalConv3d 3x3x3, RMS_norm, SiLU, Dropout,
// CausalConv3d 3x3x3] (parameters at indices 0, 2, 3, 6), shortcut 1x1x1 when widths differ.
class ResidualBlock : public Block {
 public:
  ResidualBlock(int64_t in_dim, int64_t out_dim);
  torch::Tensor forward(const torch::Tensor& x, FeatCache* cache) override;

 private:
  RMSNorm norm1_{nullptr}, norm2_{nullptr};
  CausalConv3d conv1_{nullptr}, conv2_{nullptr}, shortcut_{nullptr};
};

// AttentionBlock: single-head self-attention over the H*W positions of each frame.
class AttentionBlock : public Block {
 public:
  explicit AttentionBlock(int64_t dim);
  torch::Tensor forward(const torch::Tensor& x, FeatCache* cache) override;

 private:
  RMSNorm norm_{nullptr};
  torch::nn::Conv2d to_qkv_{nullptr}, proj_{nullptr};
};

// Resample: 2x spatial up (nearest + Conv2d to dim/2) or down (pad right/bottom + strided Conv2d),
// with a time_conv that doubles (upsample3d) or halves (downsample3d) the frame rate.
class Resample : public Block {
 public:
  enum class Mode { Upsample2d, Upsample3d, Downsample2d, Downsample3d };
  Resample(int64_t dim, Mode mode);
  torch::Tensor forward(const torch::Tensor& x, FeatCache* cache) override;

 private:
  Mode mode_;
  torch::nn::Conv2d conv_{nullptr};  // resample.1
  CausalConv3d time_conv_{nullptr};
};

// Encoder3d: conv1, downsamples, middle [res, attn, res], head [RMS_norm, SiLU, conv].
class Encoder3dImpl : public torch::nn::Module {
 public:
  Encoder3dImpl(const WanVaeConfig& config, int64_t z_dim);
  torch::Tensor forward(const torch::Tensor& x, FeatCache* cache);

 private:
  CausalConv3d conv1_{nullptr}, head_conv_{nullptr};
  RMSNorm head_norm_{nullptr};
  std::vector<std::shared_ptr<Block>> downsamples_, middle_;
};
TORCH_MODULE(Encoder3d);

// Decoder3d: conv1, middle, upsamples, head.
class Decoder3dImpl : public torch::nn::Module {
 public:
  explicit Decoder3dImpl(const WanVaeConfig& config);
  torch::Tensor forward(const torch::Tensor& x, FeatCache* cache);

 private:
  CausalConv3d conv1_{nullptr}, head_conv_{nullptr};
  RMSNorm head_norm_{nullptr};
  std::vector<std::shared_ptr<Block>> middle_, upsamples_;
};
TORCH_MODULE(Decoder3d);

// WanVAE_: encoder (to 2*z_dim), conv1 (2z -> 2z, 1x1x1), conv2 (z -> z, 1x1x1), decoder.
class WanVAEImpl : public torch::nn::Module {
 public:
  explicit WanVAEImpl(const WanVaeConfig& config);

  // `cancel` is checked before each chunk (s2v::Cancelled).
  // as WanVAE_.encode(x, scale): x [B, 3, T, H, W] -> normalised mean [B, z, 1 + (T-1)/4, H/8, W/8]
  torch::Tensor encode(const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& inv_std,
                       const CancelToken& cancel = CancelToken::none());
  // as WanVAE_.decode(z, scale): z [B, z, T', H', W'] -> video [B, 3, 1 + 4(T'-1), 8H', 8W'],
  // not clamped
  torch::Tensor decode(const torch::Tensor& z, const torch::Tensor& mean, const torch::Tensor& inv_std,
                       const CancelToken& cancel = CancelToken::none());

  const WanVaeConfig& config() const { return config_; }

 private:
  WanVaeConfig config_;
  Encoder3d encoder_{nullptr};
  Decoder3d decoder_{nullptr};
  CausalConv3d conv1_{nullptr}, conv2_{nullptr};
};
TORCH_MODULE(WanVAE);

}  // namespace s2v::wan::vae
