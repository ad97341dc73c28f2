#pragma once
// ViTPose (top-down, heatmap) in LibTorch: the plain ViT backbone of ViTPose's
// mmpose/models/backbones/vit.py and mmpose's TopdownHeatmapSimpleHead, registered under the mmpose
// checkpoint names (backbone.patch_embed.proj, backbone.pos_embed, backbone.blocks.N.{norm1,
// attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, backbone.last_norm, keypoint_head.deconv_layers.
// {0,1,3,4}, keypoint_head.final_layer), so named_parameters() equals the checkpoint's keys.
//
//   ViTPose model(ViTPoseConfig::huge_wholebody());
//   load_vitpose(*model, *open_checkpoint("vitpose_h_wholebody.pth"));
//   auto heatmaps = model->forward(images);  // [N, 3, 256, 192] -> [N, 133, 64, 48]

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace s2v::weights {
class TensorSource;
}

namespace s2v::pose {

// The backbone/head arguments of a ViTPose mmpose config. Defaults: ViTPose-B whole-body 256×192.
struct ViTPoseConfig {
  int64_t img_h = 256, img_w = 192;  // input size (mmpose img_size=(256, 192))
  int64_t patch_size = 16;
  int64_t embed_dim = 768;
  int64_t depth = 12;
  int64_t num_heads = 12;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double norm_eps = 1e-6;  // partial(nn.LayerNorm, eps=1e-6)
  bool last_norm = true;
  // TopdownHeatmapSimpleHead. Classic: 2 deconv layers (256, 256, kernel 4) + 1×1 final conv.
  // Simple (ViTPose's "simple decoder"): no deconv, upsample ×4 bilinear after ReLU, 3×3 conv.
  std::vector<int64_t> deconv_filters = {256, 256};
  std::vector<int64_t> deconv_kernels = {4, 4};
  int64_t upsample = 0;
  int64_t final_conv_kernel = 1;  // 1 or 3
  int64_t out_channels = 133;     // COCO-WholeBody

  static ViTPoseConfig base_wholebody();   // 768 wide, 12 blocks, 12 heads
  static ViTPoseConfig large_wholebody();  // 1024, 24, 16
  static ViTPoseConfig huge_wholebody();   // 1280, 32, 16
  // Number of patches along height and width (the patch conv pads by 2 on each side).
  int64_t grid_h() const;
  int64_t grid_w() const;
  int64_t heatmap_h() const;
  int64_t heatmap_w() const;
};

// The configuration of a checkpoint from its tensor shapes: embed_dim from the patch conv, depth
// from the blocks present, the head from the deconv/final layers, num_heads from the official
// configs (384/768 → 12, 1024/1280 → 16, else embed_dim / 64), the input size from pos_embed for
// a 4:3 grid. Throws s2v::Error naming the missing tensor when the file is not a ViTPose model.
ViTPoseConfig infer_vitpose_config(const weights::TensorSource& source);

class PatchEmbedImpl : public torch::nn::Module {
 public:
  explicit PatchEmbedImpl(const ViTPoseConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, 3, H, W] -> [B, Hp*Wp, D]
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t heads, bool qkv_bias);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, N, C]
  int64_t heads;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);  // fc1 → GELU (erf) → fc2
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const ViTPoseConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, N, C], pre-norm residual
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Attention attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

// ViT in vit.py (no class token at run time: pos_embed[:, 1:] + pos_embed[:, :1] is added).
class ViTImpl : public torch::nn::Module {
 public:
  explicit ViTImpl(const ViTPoseConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, 3, H, W] -> [B, D, Hp, Wp]
  PatchEmbed patch_embed{nullptr};
  torch::Tensor pos_embed;  // [1, Hp*Wp + 1, D]
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm last_norm{nullptr};
};
TORCH_MODULE(ViT);

class TopdownHeatmapSimpleHeadImpl : public torch::nn::Module {
 public:
  explicit TopdownHeatmapSimpleHeadImpl(const ViTPoseConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, D, Hp, Wp] -> [B, K, Hh, Wh]
  torch::nn::Sequential deconv_layers{nullptr};   // empty when there are no deconv layers
  torch::nn::Conv2d final_layer{nullptr};
  int64_t upsample = 0;
};
TORCH_MODULE(TopdownHeatmapSimpleHead);

class ViTPoseImpl : public torch::nn::Module {
 public:
  explicit ViTPoseImpl(const ViTPoseConfig& config = {});
  // images: [N, 3, img_h, img_w] RGB normalised with the ImageNet mean/std -> heatmaps
  // [N, out_channels, heatmap_h, heatmap_w]. The module is in eval mode (BatchNorm statistics).
  torch::Tensor forward(const torch::Tensor& images);
  const ViTPoseConfig& config() const { return config_; }
  ViT backbone{nullptr};
  TopdownHeatmapSimpleHead keypoint_head{nullptr};

 private:
  ViTPoseConfig config_;
};
TORCH_MODULE(ViTPose);

// Loads an mmpose ViTPose checkpoint (a .pth whose tensors sit under "state_dict.", or a
// safetensors file with the bare names; a common prefix is stripped). Every missing,
// unexpected or mis-shaped tensor is reported in one s2v::ValidationError.
void load_vitpose(ViTPoseImpl& model, const std::shared_ptr<weights::TensorSource>& source);

}  // namespace s2v::pose
