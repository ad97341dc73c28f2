#include "models/unimatch/unimatch.h"

#include <cmath>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/unimatch/matching.h"
#include "models/weights/checkpoint.h"
#include "models/weights/key_map.h"

namespace s2v::unimatch {

namespace F = torch::nn::functional;

UniMatchConfig UniMatchConfig::gmflow_scale1() {
  UniMatchConfig c;
  c.num_scales = 1;
  c.upsample_factor = 8;
  c.reg_refine = false;
  return c;
}

UniMatchConfig UniMatchConfig::gmflow_scale2() {
  UniMatchConfig c;
  c.reg_refine = false;
  return c;
}

UniMatchConfig UniMatchConfig::gmflow_scale2_regrefine6() { return UniMatchConfig{}; }

std::string UniMatchConfig::name(int64_t num_reg_refine) const {
  std::string s = "UniMatch GMFlow scale-" + std::to_string(num_scales);
  if (reg_refine) s += " refine-" + std::to_string(num_reg_refine);
  if (feature_channels != 128 || num_transformer_layers != 6 || ffn_dim_expansion != 4)
    s += " (" + std::to_string(feature_channels) + " channels, " + std::to_string(num_transformer_layers) +
         " layers)";
  return s;
}

UniMatchRun UniMatchRun::defaults(const UniMatchConfig& c) {
  UniMatchRun r;
  // as the official scripts (scripts/gmflow_*.sh) and Open-Sora's scoring for 1-3 scales
  static const std::vector<int64_t> splits = {2, 8, 16}, corr = {-1, 4, 4}, prop = {-1, 1, 1};
  for (int64_t i = 0; i < c.num_scales; ++i) {
    r.attn_splits_list.push_back(splits.at(size_t(std::min<int64_t>(i, 2))));
    r.corr_radius_list.push_back(corr.at(size_t(std::min<int64_t>(i, 2))));
    r.prop_radius_list.push_back(prop.at(size_t(std::min<int64_t>(i, 2))));
  }
  r.num_reg_refine = c.reg_refine ? 6 : 1;
  return r;
}

int64_t UniMatchRun::padding_factor(const UniMatchConfig& c) { return c.num_scales > 1 ? 32 : 8; }

UniMatchImpl::UniMatchImpl(const UniMatchConfig& c) : config_(c) {
  if (c.num_head != 1)
    throw Error("UniMatch: only single-head attention exists for the swin transformer (num_head " +
                    std::to_string(c.num_head) + ")",
                ErrorKind::Unsupported);
  if (c.reg_refine && c.feature_channels != 128)
    throw Error("UniMatch: the refinement head takes 128 feature channels (refine_proj), not " +
                    std::to_string(c.feature_channels),
                ErrorKind::InvalidArgument);
  backbone = register_module("backbone", CNNEncoder(c.feature_channels, c.num_scales));
  transformer = register_module("transformer",
                                FeatureTransformer(c.num_transformer_layers, c.feature_channels, c.ffn_dim_expansion));
  feature_flow_attn = register_module("feature_flow_attn", SelfAttnPropagation(c.feature_channels));
  const int64_t k = c.upsample_factor;
  if (!c.reg_refine) {
    upsampler = register_module(
        "upsampler", torch::nn::Sequential(
                         torch::nn::Conv2d(torch::nn::Conv2dOptions(2 + c.feature_channels, 256, 3).padding(1)),
                         torch::nn::ReLU(), torch::nn::Conv2d(torch::nn::Conv2dOptions(256, k * k * 9, 1))));
  } else {
    refine_proj = register_module("refine_proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(128, 256, 1)));
    refine = register_module("refine", BasicUpdateBlock((2 * 4 + 1) * (2 * 4 + 1), k));
  }
  eval();
}

torch::Tensor normalize_img(const torch::Tensor& img) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(img.device());
  const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}, opts).view({1, 3, 1, 1});
  const auto std = torch::tensor({0.229f, 0.224f, 0.225f}, opts).view({1, 3, 1, 1});
  return (img / 255. - mean) / std;
}

std::pair<std::vector<torch::Tensor>, std::vector<torch::Tensor>> UniMatchImpl::extract_feature(
    const torch::Tensor& img0, const torch::Tensor& img1) {
  auto features = backbone->forward(torch::cat({normalize_img(img0), normalize_img(img1)}, 0));
  std::vector<torch::Tensor> f0, f1;
  for (auto it = features.rbegin(); it != features.rend(); ++it) {  // low to high resolution
    auto halves = it->chunk(2, 0);
    f0.push_back(halves[0]);
    f1.push_back(halves[1]);
  }
  return {f0, f1};
}

torch::Tensor UniMatchImpl::upsample_flow(const torch::Tensor& flow, const torch::Tensor& feature) {
  const auto mask = upsampler->forward(torch::cat({flow, feature}, 1));
  return upsample_flow_with_mask(flow, mask, config_.upsample_factor);
}

// as UniMatch.forward(task='flow', attn_type='swin', pred_bidir_flow=False) in eval mode
torch::Tensor UniMatchImpl::forward(const torch::Tensor& img0, const torch::Tensor& img1, const UniMatchRun& run) {
  const auto n = size_t(config_.num_scales);
  if (run.attn_splits_list.size() != n || run.corr_radius_list.size() != n || run.prop_radius_list.size() != n)
    throw Error("UniMatch: attn_splits_list, corr_radius_list and prop_radius_list need " + std::to_string(n) +
                    " entries, one per scale",
                ErrorKind::InvalidArgument);
  const int64_t pf = UniMatchRun::padding_factor(config_);
  if (img0.dim() != 4 || img0.size(1) != 3 || img0.sizes() != img1.sizes() || img0.size(2) % pf != 0 ||
      img0.size(3) % pf != 0)
    throw Error("UniMatch: inputs must be two [B, 3, H, W] images of one size with H and W multiples of " +
                    std::to_string(pf),
                ErrorKind::InvalidArgument);
  if (config_.reg_refine && run.num_reg_refine < 1)
    throw Error("UniMatch: num_reg_refine must be at least 1", ErrorKind::InvalidArgument);

  auto [feature0_list, feature1_list] = extract_feature(img0, img1);
  torch::Tensor flow;
  for (size_t s = 0; s < n; ++s) {
    auto feature0 = feature0_list[s], feature1 = feature1_list[s];
    const auto feature0_ori = feature0, feature1_ori = feature1;
    if (s > 0) {
      flow = F::interpolate(flow, F::InterpolateFuncOptions()
                                      .size(std::vector<int64_t>{flow.size(2) * 2, flow.size(3) * 2})
                                      .mode(torch::kBilinear)
                                      .align_corners(true)) *
             2;
    }
    if (flow.defined()) feature1 = flow_warp(feature1, flow);
    const int64_t splits = run.attn_splits_list[s];
    std::tie(feature0, feature1) = feature_add_position(feature0, feature1, splits);
    std::tie(feature0, feature1) = transformer->forward(feature0, feature1, splits);
    const int64_t corr_radius = run.corr_radius_list[s];
    const auto flow_pred = corr_radius == -1 ? global_correlation_softmax(feature0, feature1)
                                             : local_correlation_softmax(feature0, feature1, corr_radius);
    flow = flow.defined() ? flow + flow_pred : flow_pred;
    flow = feature_flow_attn->forward(feature0, flow, std::max<int64_t>(run.prop_radius_list[s], 0));

    if (s + 1 < n) continue;
    if (!config_.reg_refine) return upsample_flow(flow, feature0);
    // the refine_proj input is the same at every step (the GRU state restarts from it each time)
    const auto proj = refine_proj(feature0).chunk(2, 1);
    const auto net = torch::tanh(proj[0]), inp = torch::relu(proj[1]);
    for (int64_t it = 0; it < run.num_reg_refine; ++it) {
      const bool last = it + 1 == run.num_reg_refine;
      const auto correlation = local_correlation_with_flow(feature0_ori, feature1_ori, flow, 4);
      auto [net_out, up_mask, residual] = refine->forward(net, inp, correlation, flow, last);
      flow = flow + residual;
      if (last) return upsample_flow_with_mask(flow, up_mask, config_.upsample_factor);
    }
  }
  throw Error("UniMatch: no scale was run", ErrorKind::InvalidArgument);
}

// as the resizing in evaluate_flow.inference_flow
torch::Tensor UniMatchImpl::estimate_flow(const torch::Tensor& img0_in, const torch::Tensor& img1_in,
                                          const UniMatchRun& run, int64_t padding_factor) {
  auto img0 = img0_in, img1 = img1_in;
  const bool transpose = img0.size(-2) > img0.size(-1);
  if (transpose) {
    img0 = img0.transpose(-2, -1);
    img1 = img1.transpose(-2, -1);
  }
  const int64_t oh = img0.size(-2), ow = img0.size(-1);
  const int64_t ih = (oh + padding_factor - 1) / padding_factor * padding_factor;
  const int64_t iw = (ow + padding_factor - 1) / padding_factor * padding_factor;
  const bool resize = ih != oh || iw != ow;
  const auto bilinear = [](const torch::Tensor& x, int64_t h, int64_t w) {
    return F::interpolate(x, F::InterpolateFuncOptions()
                                 .size(std::vector<int64_t>{h, w})
                                 .mode(torch::kBilinear)
                                 .align_corners(true));
  };
  if (resize) {
    img0 = bilinear(img0, ih, iw);
    img1 = bilinear(img1, ih, iw);
  }
  auto flow = forward(img0.contiguous(), img1.contiguous(), run);
  if (resize) {
    flow = bilinear(flow, oh, ow);
    flow = torch::stack({flow.select(1, 0) * double(ow) / double(iw), flow.select(1, 1) * double(oh) / double(ih)}, 1);
  }
  if (transpose) flow = flow.transpose(-2, -1);
  return flow;
}

namespace {

const char* const kAnchor = "backbone.conv2.weight";

int64_t dim_of(const weights::TensorSource& s, const std::string& name, size_t d) {
  const auto meta = s.meta(name);
  if (meta.shape.size() <= d)
    throw Error("UniMatch checkpoint " + s.describe() + ": '" + name + "' has too few dimensions",
                ErrorKind::Corrupt, name);
  return meta.shape[d];
}

}  // namespace

std::shared_ptr<weights::TensorSource> unimatch_view(std::shared_ptr<weights::TensorSource> source) {
  // the official files: {'model': state_dict, ...}; DataParallel adds 'module.'
  for (const char* prefix : {"", "model.", "module.", "model.module.", "state_dict.", "state_dict.module."}) {
    if (source->contains(std::string(prefix) + kAnchor))
      return weights::apply_key_map(source, weights::KeyMap{prefix});
  }
  throw Error("not a UniMatch flow checkpoint: " + source->describe() + " has no '" + kAnchor +
                  "' (also looked under 'model.', 'module.', 'model.module.', 'state_dict.')",
              ErrorKind::NotFound, kAnchor);
}

UniMatchConfig infer_unimatch_config(const weights::TensorSource& s) {
  UniMatchConfig c;
  c.feature_channels = dim_of(s, kAnchor, 0);
  c.num_scales = s.contains("backbone.trident_conv.weight") ? 2 : 1;
  int64_t layers = 0;
  while (s.contains("transformer.layers." + std::to_string(layers) + ".self_attn.q_proj.weight")) ++layers;
  if (layers == 0)
    throw Error("not a UniMatch flow checkpoint: " + s.describe() + " has no 'transformer.layers.0.self_attn.q_proj.weight'",
                ErrorKind::NotFound, "transformer.layers.0.self_attn.q_proj.weight");
  c.num_transformer_layers = layers;
  c.ffn_dim_expansion = dim_of(s, "transformer.layers.0.cross_attn_ffn.mlp.0.weight", 0) / (2 * c.feature_channels);
  c.reg_refine = s.contains("refine_proj.weight");
  const std::string up = c.reg_refine ? "refine.mask.2.weight" : "upsampler.2.weight";
  if (!s.contains(up))
    throw Error("UniMatch checkpoint " + s.describe() + " has no '" + up + "'", ErrorKind::NotFound, up);
  const int64_t out = dim_of(s, up, 0);
  c.upsample_factor = std::llround(std::sqrt(double(out) / 9.0));
  if (c.upsample_factor * c.upsample_factor * 9 != out)
    throw Error("UniMatch checkpoint " + s.describe() + ": '" + up + "' has " + std::to_string(out) +
                    " outputs, not 9·K² for an upsampling factor K",
                ErrorKind::Corrupt, up);
  return c;
}

void load_unimatch(UniMatchImpl& model, std::shared_ptr<weights::TensorSource> source) {
  const auto view = unimatch_view(std::move(source));
  weights::load_module(model, *view, model.config().name(UniMatchRun::defaults(model.config()).num_reg_refine));
  model.eval();
}

}  // namespace s2v::unimatch
