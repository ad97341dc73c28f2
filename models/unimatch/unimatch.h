#pragma once
// UniMatch optical flow (unimatch/unimatch.py, task 'flow'; GMFlow with the optional local
// regression refinement) in LibTorch, registered under the official checkpoint names (backbone.*,
// transformer.layers.N.*, feature_flow_attn.*, upsampler.* or refine_proj.* + refine.*), so that
// named_parameters() equals the official state_dict keys.
//
//   UniMatch model(UniMatchConfig{});                      // gmflow-scale2-regrefine6
//   load_unimatch(*model, weights::open_checkpoint("gmflow-scale2-regrefine6-mixdata-train320x576-4e7b215d.pth"));
//   auto flow = model->forward(img0, img1, UniMatchRun::defaults(model->config()));
//
// Inputs are RGB in 0..255 (normalised inside, as the official forward does for flow).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "models/unimatch/attention.h"
#include "models/unimatch/backbone.h"
#include "models/unimatch/reg_refine.h"
#include "models/unimatch/transformer.h"

namespace s2v::weights {
class TensorSource;
}

namespace s2v::unimatch {

// The UniMatch constructor arguments (task 'flow'). Defaults: gmflow-scale2-regrefine6, the model
// of Open-Sora's motion scoring.
struct UniMatchConfig {
  int64_t feature_channels = 128;
  int64_t num_scales = 2;
  int64_t upsample_factor = 4;
  int64_t num_head = 1;  // only 1: the official swin attention has no multi-head path
  int64_t ffn_dim_expansion = 4;
  int64_t num_transformer_layers = 6;
  bool reg_refine = true;

  static UniMatchConfig gmflow_scale1();                // 1 scale, ×8, no refinement
  static UniMatchConfig gmflow_scale2();                // 2 scales, ×4, no refinement
  static UniMatchConfig gmflow_scale2_regrefine6();     // the defaults
  // "UniMatch GMFlow scale-2 refine-6" style name (num_reg_refine from the run)
  std::string name(int64_t num_reg_refine) const;
};

// The forward arguments of UniMatch (attn_type 'swin', pred_bidir_flow false).
struct UniMatchRun {
  std::vector<int64_t> attn_splits_list;
  std::vector<int64_t> corr_radius_list;  // -1 = global matching
  std::vector<int64_t> prop_radius_list;  // -1 = global propagation
  int64_t num_reg_refine = 1;
  // The official demo/evaluation arguments for the config: scale 1: [2], [-1], [-1];
  // scale 2: [2, 8], [-1, 4], [-1, 1]; num_reg_refine 6 with refinement, else 1.
  static UniMatchRun defaults(const UniMatchConfig& config);
  // The input multiple the official scripts pad/resize to: 8 for one scale, 32 for two or more.
  static int64_t padding_factor(const UniMatchConfig& config);
};

class UniMatchImpl : public torch::nn::Module {
 public:
  explicit UniMatchImpl(const UniMatchConfig& config = {});

  // img0, img1: [B, 3, H, W] RGB 0..255, H and W multiples of padding_factor -> flow
  // [B, 2, H, W] from img0 to img1 in pixels (the last of the official flow_preds, eval mode).
  torch::Tensor forward(const torch::Tensor& img0, const torch::Tensor& img1, const UniMatchRun& run);
  // The resizing of the official inference (evaluate_flow.inference_flow): a portrait pair is
  // transposed, resized (bilinear, align_corners) to the nearest multiple of padding_factor, the
  // flow resized back and rescaled, and transposed back. Any size.
  torch::Tensor estimate_flow(const torch::Tensor& img0, const torch::Tensor& img1, const UniMatchRun& run,
                              int64_t padding_factor);
  // Backbone features of both images (normalised inside), lowest resolution first.
  std::pair<std::vector<torch::Tensor>, std::vector<torch::Tensor>> extract_feature(const torch::Tensor& img0,
                                                                                    const torch::Tensor& img1);

  const UniMatchConfig& config() const { return config_; }

  CNNEncoder backbone{nullptr};
  FeatureTransformer transformer{nullptr};
  SelfAttnPropagation feature_flow_attn{nullptr};
  torch::nn::Sequential upsampler{nullptr};  // without reg_refine
  torch::nn::Conv2d refine_proj{nullptr};    // with reg_refine
  BasicUpdateBlock refine{nullptr};

 private:
  torch::Tensor upsample_flow(const torch::Tensor& flow, const torch::Tensor& feature);
  UniMatchConfig config_;
};
TORCH_MODULE(UniMatch);

// as normalize_img: (img / 255 - ImageNet mean) / std, img [B, 3, H, W] RGB.
torch::Tensor normalize_img(const torch::Tensor& img);

// The configuration of a checkpoint from its tensor shapes (names already native): feature
// channels from backbone.conv2, layers from transformer.layers.N, the FFN expansion from
// cross_attn_ffn.mlp.0, reg_refine from refine_proj, the upsample factor from the mask/upsampler
// output (9·K² channels), two scales when backbone.trident_conv is present (the released models
// have one or two; more scales share the same tensors and cannot be told apart). Throws s2v::Error
// naming the missing tensor when the source is not a UniMatch flow model.
UniMatchConfig infer_unimatch_config(const weights::TensorSource& source);

// The view of a checkpoint under the native names: the official .pth nests the state_dict under
// "model" (read as "model.<name>"), DataParallel saves add "module."; other entries of the file
// (optimizer, step, epoch) are hidden.
std::shared_ptr<weights::TensorSource> unimatch_view(std::shared_ptr<weights::TensorSource> source);

// Fills model from source (any layout unimatch_view reads). Throws s2v::ValidationError listing
// every missing and mis-shaped tensor.
void load_unimatch(UniMatchImpl& model, std::shared_ptr<weights::TensorSource> source);

}  // namespace s2v::unimatch
