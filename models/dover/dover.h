#pragma once
// DOVER (Disentangled Objective Video Quality Evaluator, VQAssessment/DOVER) in LibTorch: the
// technical branch (SwinTransformer3D on fragments, swin3d.h) and the aesthetic branch
// (ConvNeXt3D on the resized clip, convnext3d.h), each with its VQAHead, as the class DOVER of
// dover/models/evaluator.py builds them from dover.yml (divide_head: true). Module names equal the
// state_dict of that class, which is what DOVER.pth holds:
//   technical_backbone.*, aesthetic_backbone.*, technical_head.{fc_hid,fc_last},
//   aesthetic_head.{fc_hid,fc_last}.
//
//   Dover model;                                  // the dover.yml configuration
//   load_dover(*model, open_checkpoint("DOVER.pth"));
//   auto s = model->forward(technical_view, aesthetic_view);
//   double q = fuse_scores(s.technical.mean(), s.aesthetic.mean());  // 0..1

#include <cstdint>
#include <memory>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "models/dover/convnext3d.h"
#include "models/dover/swin3d.h"

namespace s2v::weights {
class TensorSource;
}

namespace s2v::dover {

struct DoverConfig {
  Swin3DConfig technical;       // swin_tiny_grpb
  ConvNeXt3DConfig aesthetic;   // conv_tiny
  int64_t head_in = 768;        // vqa_head.in_channels
  int64_t head_hidden = 64;     // vqa_head.hidden_channels
};

// The configuration of a DOVER checkpoint from its tensor shapes: widths, depths and heads of both
// branches and the heads' sizes (window size, patch size and inflate strategy stay those of
// `base`). Throws s2v::Error naming the missing tensor when the source is not a DOVER model.
DoverConfig infer_dover_config(const weights::TensorSource& source, const DoverConfig& base = {});

// head.py VQAHead with pre_pool=False (dropout is inactive at inference): a per-position MLP of
// 1×1×1 convolutions.
class VQAHeadImpl : public torch::nn::Module {
 public:
  VQAHeadImpl(int64_t in_channels, int64_t hidden_channels);
  torch::Tensor forward(const torch::Tensor& x);  // x: [B, C, D, H, W] -> [B, 1, D, H, W]
  torch::nn::Conv3d fc_hid{nullptr}, fc_last{nullptr};
};
TORCH_MODULE(VQAHead);

struct DoverScores {
  torch::Tensor technical;  // [B, 1, D, H, W] head map of the technical branch
  torch::Tensor aesthetic;  // [B, 1, D, H, W] head map of the aesthetic branch
};

class DoverImpl : public torch::nn::Module {
 public:
  explicit DoverImpl(const DoverConfig& config = {});
  // technical: [B, 3, T, H, W] normalised fragments; aesthetic: [B, 3, T, H, W] normalised resized
  // clip (either may be undefined to skip its branch). As DOVER.forward(inference=True).
  DoverScores forward(const torch::Tensor& technical, const torch::Tensor& aesthetic);
  const DoverConfig& config() const { return config_; }
  SwinTransformer3D technical_backbone{nullptr};
  ConvNeXt3D aesthetic_backbone{nullptr};
  VQAHead technical_head{nullptr};
  VQAHead aesthetic_head{nullptr};

 private:
  DoverConfig config_;
};
TORCH_MODULE(Dover);

// fuse_results of evaluate_one_video.py: sigmoid of the two branch scores (the means of the head
// maps) standardised with DOVER's statistics and weighted 0.6104 technical / 0.3896 aesthetic.
// 0..1, higher is better.
double fuse_scores(double technical, double aesthetic);

// Loads DOVER.pth (the flat state_dict) or a safetensors file with the same names; a common
// prefix or nesting ("state_dict.", "module.", "model.") is stripped by the key map. Every
// missing, unexpected or mis-shaped tensor is reported in one s2v::weights::ValidationError.
void load_dover(DoverImpl& model, const std::shared_ptr<weights::TensorSource>& source);

}  // namespace s2v::dover
