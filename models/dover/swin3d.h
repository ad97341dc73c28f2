#pragma once
// The technical branch of DOVER: the video Swin Transformer of dover/models/swin_backbone.py
// (SwinTransformer3D, "swin_tiny_grpb" in dover.yml) with its gated relative position bias: in the
// first three stages each window attention has a second bias table, `fragment_position_bias_table`,
// used between tokens of the same fragment (the fragments of the technical view are a 7×7 grid,
// and the window size is 7 in h and w, so stage 1 sees 7×7 fragment cells of 8×8 tokens).
// Module names are those of DOVER.pth under `technical_backbone.`:
//   patch_embed.{proj,norm}, layers.N.blocks.M.{norm1, attn.{relative_position_bias_table,
//   fragment_position_bias_table, relative_position_index, qkv, proj}, norm2, mlp.{fc1,fc2}},
//   layers.N.downsample.{norm,reduction}, norm.

#include <array>
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace s2v::dover {

using Dims3 = std::array<int64_t, 3>;  // (D, H, W)

// The constructor arguments of SwinTransformer3D. Defaults: DOVER's technical backbone.
struct Swin3DConfig {
  Dims3 patch_size{2, 4, 4};
  int64_t in_chans = 3;
  int64_t embed_dim = 96;
  std::vector<int64_t> depths{2, 2, 6, 2};
  std::vector<int64_t> num_heads{3, 6, 12, 24};
  Dims3 window_size{8, 7, 7};
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  bool patch_norm = true;
  std::vector<bool> frag_biases{true, true, true, false};

  int64_t num_features() const;  // embed_dim * 2^(stages-1)
};

// Window shape and shift after clamping to a feature map (as get_window_size: a window at least
// as large as the map becomes the map, and its shift 0).
struct WindowGeometry {
  Dims3 window;
  Dims3 shift;
};
WindowGeometry clamp_window(const Dims3& size, const Dims3& window, const Dims3& shift);

// The (0 / -100) attention mask of shifted windows, as compute_mask: [nW, N, N] for a padded map
// Dp×Hp×Wp with the (clamped) window and shift of the stage.
torch::Tensor shifted_window_mask(const Dims3& padded, const Dims3& window, const Dims3& shift);

// The fragment gate of global_position_index, summed: for each window of the (rolled) map, the sum
// over d, h, w of |fragment index of token j - fragment index of token i|, where the fragment index
// is a (1, Wh, Ww) grid stretched over the map by nearest interpolation. [nW, N, N] float32;
// 0 = same fragment.
torch::Tensor fragment_gate(const Dims3& padded, const Dims3& window, const Dims3& shift);

class PatchEmbed3DImpl : public torch::nn::Module {
 public:
  explicit PatchEmbed3DImpl(const Swin3DConfig& c);
  torch::Tensor forward(torch::Tensor x);  // x: [B, 3, T, H, W] -> [B, C, D, Wh, Ww]
  torch::nn::Conv3d proj{nullptr};
  torch::nn::LayerNorm norm{nullptr};  // null without patch_norm
  Dims3 patch;
};
TORCH_MODULE(PatchEmbed3D);

class WindowAttention3DImpl : public torch::nn::Module {
 public:
  WindowAttention3DImpl(int64_t dim, const Dims3& window, int64_t heads, bool qkv_bias, bool frag_bias);
  // x: [B*nW, N, C]; mask: [nW, N, N] (0/-100) or undefined; gate: [nW, N, N] (fragment_gate).
  // As WindowAttention3D.forward with fmask given (the block always passes it).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& gate);

  torch::Tensor relative_position_bias_table;    // [(2Wd-1)(2Wh-1)(2Ww-1), heads]
  torch::Tensor fragment_position_bias_table;    // same; undefined without frag_bias
  torch::Tensor relative_position_index;         // [Wd*Wh*Ww, Wd*Wh*Ww] int64 buffer
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  int64_t heads;
  double scale;
};
TORCH_MODULE(WindowAttention3D);

class Mlp3DImpl : public torch::nn::Module {
 public:
  Mlp3DImpl(int64_t dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);  // fc1 -> GELU (erf) -> fc2
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp3D);

class SwinBlock3DImpl : public torch::nn::Module {
 public:
  SwinBlock3DImpl(int64_t dim, int64_t heads, const Dims3& window, double mlp_ratio, bool qkv_bias,
                  bool frag_bias);
  // x: [B, D, H, W, C]; geometry: the clamped window and this block's shift (0 for even blocks);
  // mask/gate as WindowAttention3D (mask used only when shifted). As SwinTransformerBlock3D.
  torch::Tensor forward(const torch::Tensor& x, const WindowGeometry& geometry,
                        const torch::Tensor& mask, const torch::Tensor& gate);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  WindowAttention3D attn{nullptr};
  Mlp3D mlp{nullptr};
};
TORCH_MODULE(SwinBlock3D);

class PatchMergingImpl : public torch::nn::Module {
 public:
  explicit PatchMergingImpl(int64_t dim);
  torch::Tensor forward(torch::Tensor x);  // x: [B, D, H, W, C] -> [B, D, ceil(H/2), ceil(W/2), 2C]
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear reduction{nullptr};
};
TORCH_MODULE(PatchMerging);

// One stage (BasicLayer): blocks alternating plain and shifted windows, then patch merging.
class BasicLayerImpl : public torch::nn::Module {
 public:
  BasicLayerImpl(int64_t dim, int64_t depth, int64_t heads, const Dims3& window, double mlp_ratio,
                 bool qkv_bias, bool frag_bias, bool downsample);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, C, D, H, W] -> [B, C', D, H', W']
  torch::nn::ModuleList blocks{nullptr};
  PatchMerging downsample{nullptr};  // null in the last stage
  Dims3 window;
};
TORCH_MODULE(BasicLayer);

class SwinTransformer3DImpl : public torch::nn::Module {
 public:
  explicit SwinTransformer3DImpl(const Swin3DConfig& config = {});
  // x: [B, 3, T, H, W] normalised -> [B, num_features, T/2, H/32, W/32] (after the final norm)
  torch::Tensor forward(const torch::Tensor& x);
  const Swin3DConfig& config() const { return config_; }
  PatchEmbed3D patch_embed{nullptr};
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm norm{nullptr};

 private:
  Swin3DConfig config_;
};
TORCH_MODULE(SwinTransformer3D);

}  // namespace s2v::dover
