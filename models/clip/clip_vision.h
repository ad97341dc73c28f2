#pragma once
// The image tower of OpenAI CLIP (clip/model.py VisionTransformer) in LibTorch, registered under
// the checkpoint names: visual.conv1, visual.class_embedding, visual.positional_embedding,
// visual.ln_pre, visual.transformer.resblocks.N.{ln_1, attn.in_proj_weight, attn.in_proj_bias,
// attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}, visual.ln_post, visual.proj. QuickGELU MLPs,
// LayerNorm eps 1e-5, pre-norm residual blocks.
//
//   ClipVision clip(ClipVisionConfig::vit_l14());
//   load_clip_vision(*clip, open_checkpoint("open_clip_pytorch_model.bin"));
//   auto emb = clip->embed(preprocess_clip(frame));  // [1, 3, 224, 224] -> [1, 768], unit norm

#include <cstdint>
#include <memory>

#include <opencv2/core.hpp>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace s2v::weights {
class TensorSource;
}

namespace s2v::clip {

// Defaults: ViT-L/14 at 224 px (width 1024, 24 layers, 16 heads, 768-d output).
struct ClipVisionConfig {
  int64_t image_size = 224;
  int64_t patch_size = 14;
  int64_t width = 1024;
  int64_t layers = 24;
  int64_t heads = 16;  // width / 64 in every OpenAI model
  int64_t output_dim = 768;

  static ClipVisionConfig vit_l14() { return {}; }
  int64_t grid() const { return image_size / patch_size; }
};

// From the tensor shapes of a checkpoint with visual.* (or Hugging Face) names (conv1 -> width/patch,
// positional_embedding -> grid, resblocks -> layers, proj -> output_dim; heads = width / 64).
// Throws s2v::Error naming the missing tensor when the file is not a CLIP image tower.
ClipVisionConfig infer_clip_vision_config(const weights::TensorSource& source);

// nn.MultiheadAttention's parameters (in_proj_weight/in_proj_bias + out_proj), self-attention.
class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  MultiheadAttentionImpl(int64_t dim, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, L, D]
  int64_t heads;
  torch::Tensor in_proj_weight, in_proj_bias;  // [3D, D], [3D]
  torch::nn::Linear out_proj{nullptr};
};
TORCH_MODULE(MultiheadAttention);

class ClipMlpImpl : public torch::nn::Module {
 public:
  ClipMlpImpl(int64_t dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);  // c_fc -> QuickGELU -> c_proj
  torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(ClipMlp);

class ResidualAttentionBlockImpl : public torch::nn::Module {
 public:
  ResidualAttentionBlockImpl(int64_t dim, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, L, D]
  MultiheadAttention attn{nullptr};
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  ClipMlp mlp{nullptr};
};
TORCH_MODULE(ResidualAttentionBlock);

class TransformerImpl : public torch::nn::Module {
 public:
  TransformerImpl(int64_t width, int64_t layers, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, L, D]
  torch::nn::ModuleList resblocks{nullptr};
};
TORCH_MODULE(Transformer);

// VisionTransformer of clip/model.py.
class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const ClipVisionConfig& c);
  torch::Tensor forward(const torch::Tensor& images);  // [B, 3, S, S] -> [B, output_dim]
  torch::nn::Conv2d conv1{nullptr};
  torch::Tensor class_embedding;       // [D]
  torch::Tensor positional_embedding;  // [grid² + 1, D]
  torch::nn::LayerNorm ln_pre{nullptr}, ln_post{nullptr};
  Transformer transformer{nullptr};
  torch::Tensor proj;  // [D, output_dim]
};
TORCH_MODULE(VisionTransformer);

// The image half of CLIP: parameters named "visual.*" as in the full CLIP state_dict.
class ClipVisionImpl : public torch::nn::Module {
 public:
  explicit ClipVisionImpl(const ClipVisionConfig& config = {});
  // images: [B, 3, S, S] preprocessed -> image features [B, output_dim] (encode_image)
  torch::Tensor forward(const torch::Tensor& images);
  // The same, L2-normalised along the feature dimension.
  torch::Tensor embed(const torch::Tensor& images);
  const ClipVisionConfig& config() const { return config_; }
  VisionTransformer visual{nullptr};

 private:
  ClipVisionConfig config_;
};
TORCH_MODULE(ClipVision);

// Loads visual.* from a full CLIP state_dict (OpenAI names, e.g. open_clip's
// open_clip_pytorch_model.bin for ViT-L-14 'openai', or a safetensors file); the text tower's
// tensors are ignored, every missing/mis-shaped/unknown visual.* tensor is reported in one
// s2v::ValidationError. A common prefix ("state_dict.", "module.") is stripped. Hugging Face
// CLIPModel / CLIPVisionModelWithProjection files (vision_model.*, visual_projection.weight, e.g.
// openai/clip-vit-large-patch14's model.safetensors) are read too: q/k/v are concatenated into
// in_proj and visual_projection is transposed into proj.
void load_clip_vision(ClipVisionImpl& model, const std::shared_ptr<weights::TensorSource>& source);

// CLIP's preprocessing of one BGR CV_8UC3 frame: resize the shorter side to image_size (bicubic
// with antialiasing, as PIL's BICUBIC resize in torchvision's Resize, rounded to 8 bits), center
// crop, RGB / 255, normalise with the CLIP mean (0.48145466, 0.4578275, 0.40821073) and std
// (0.26862954, 0.26130258, 0.27577711). -> [3, S, S] float.
torch::Tensor preprocess_clip(const cv::Mat& bgr, int64_t image_size = 224);

}  // namespace s2v::clip
