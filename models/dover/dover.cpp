#include "models/dover/dover.h"

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/checkpoint.h"
#include "models/weights/key_map.h"

namespace s2v::dover {

namespace nn = torch::nn;

DoverConfig infer_dover_config(const weights::TensorSource& raw, const DoverConfig& base) {
  // names may sit under a prefix ("state_dict.", "module.")
  const std::string anchor = "technical_backbone.patch_embed.proj.weight";
  std::string prefix;
  bool found = false;
  for (const auto& n : raw.names()) {
    if (n.size() >= anchor.size() && n.compare(n.size() - anchor.size(), anchor.size(), anchor) == 0) {
      prefix = n.substr(0, n.size() - anchor.size());
      found = true;
      break;
    }
  }
  auto has = [&](const std::string& name) { return raw.contains(prefix + name); };
  auto need = [&](const std::string& name) {
    if (!found || !has(name))
      throw Error(raw.describe() + " is not a DOVER checkpoint: it has no tensor '" + name + "'",
                  ErrorKind::NotFound, name);
    return raw.meta(prefix + name).shape;
  };
  DoverConfig c = base;
  auto& t = c.technical;
  const auto proj = need("technical_backbone.patch_embed.proj.weight");  // [C, 3, pd, ph, pw]
  t.embed_dim = proj.at(0);
  t.in_chans = proj.at(1);
  t.patch_size = {proj.at(2), proj.at(3), proj.at(4)};
  t.patch_norm = has("technical_backbone.patch_embed.norm.weight");
  t.depths.clear();
  t.num_heads.clear();
  t.frag_biases.clear();
  for (int i = 0;; ++i) {
    const std::string layer = "technical_backbone.layers." + std::to_string(i) + ".blocks.";
    int64_t depth = 0;
    while (has(layer + std::to_string(depth) + ".norm1.weight")) ++depth;
    if (depth == 0) break;
    t.depths.push_back(depth);
    t.num_heads.push_back(need(layer + "0.attn.relative_position_bias_table").at(1));
    t.frag_biases.push_back(has(layer + "0.attn.fragment_position_bias_table"));
  }
  if (t.depths.empty()) need("technical_backbone.layers.0.blocks.0.norm1.weight");
  // window (Wd, Wh = Ww) from the index [N, N], N = Wd·Wh·Ww, and the bias table
  // (2Wd-1)(2Wh-1)(2Ww-1) rows; kept from base when the two do not determine it
  {
    const std::string attn = "technical_backbone.layers.0.blocks.0.attn.";
    const int64_t rows = need(attn + "relative_position_bias_table").at(0);
    const int64_t n = has(attn + "relative_position_index") ? raw.meta(prefix + attn + "relative_position_index").shape.at(0) : 0;
    for (int64_t wd = 1; wd <= n; ++wd) {
      if (n % wd != 0) continue;
      const auto wh = static_cast<int64_t>(std::llround(std::sqrt(double(n / wd))));
      if (wh * wh * wd == n && (2 * wd - 1) * (2 * wh - 1) * (2 * wh - 1) == rows) {
        t.window_size = {wd, wh, wh};
        break;
      }
    }
  }
  t.qkv_bias = has("technical_backbone.layers.0.blocks.0.attn.qkv.bias");
  t.mlp_ratio = double(need("technical_backbone.layers.0.blocks.0.mlp.fc1.weight").at(0)) / double(t.embed_dim);

  auto& a = c.aesthetic;
  for (size_t i = 0; i < 4; ++i) {
    const std::string conv = "aesthetic_backbone.downsample_layers." + std::to_string(i) + (i == 0 ? ".0" : ".1");
    const auto w = need(conv + ".weight");  // [out, in, kd, kh, kw]
    a.dims.at(i) = w.at(0);
    if (i == 0) a.in_chans = w.at(1);
    int64_t depth = 0;
    while (has("aesthetic_backbone.stages." + std::to_string(i) + "." + std::to_string(depth) + ".dwconv.weight"))
      ++depth;
    a.depths.at(i) = depth;
  }
  a.layer_scale_init = has("aesthetic_backbone.stages.0.0.gamma") ? 1e-6 : 0.0;
  const auto hid = need("technical_head.fc_hid.weight");  // [hidden, in, 1, 1, 1]
  c.head_hidden = hid.at(0);
  c.head_in = hid.at(1);
  return c;
}

VQAHeadImpl::VQAHeadImpl(int64_t in, int64_t hidden) {
  fc_hid = register_module("fc_hid", nn::Conv3d(nn::Conv3dOptions(in, hidden, 1)));
  fc_last = register_module("fc_last", nn::Conv3d(nn::Conv3dOptions(hidden, 1, 1)));
}

// x: [B, C, D, H, W] -> [B, 1, D, H, W]
torch::Tensor VQAHeadImpl::forward(const torch::Tensor& x) { return fc_last(torch::gelu(fc_hid(x))); }

DoverImpl::DoverImpl(const DoverConfig& c) : config_(c) {
  if (c.technical.num_features() != c.head_in || c.aesthetic.dims.back() != c.head_in)
    throw Error("DOVER: both backbones must end with head_in = " + std::to_string(c.head_in) + " channels",
                ErrorKind::InvalidArgument);
  technical_backbone = register_module("technical_backbone", SwinTransformer3D(c.technical));
  aesthetic_backbone = register_module("aesthetic_backbone", ConvNeXt3D(c.aesthetic));
  technical_head = register_module("technical_head", VQAHead(c.head_in, c.head_hidden));
  aesthetic_head = register_module("aesthetic_head", VQAHead(c.head_in, c.head_hidden));
  eval();
}

DoverScores DoverImpl::forward(const torch::Tensor& technical, const torch::Tensor& aesthetic) {
  DoverScores s;
  if (technical.defined()) s.technical = technical_head(technical_backbone(technical));
  if (aesthetic.defined()) s.aesthetic = aesthetic_head(aesthetic_backbone(aesthetic));
  return s;
}

// as fuse_results in evaluate_one_video.py (results[0] technical, results[1] aesthetic)
double fuse_scores(double technical, double aesthetic) {
  const double x = (technical - 0.1107) / 0.07355 * 0.6104 + (aesthetic + 0.08285) / 0.03774 * 0.3896;
  return 1.0 / (1.0 + std::exp(-x));
}

void load_dover(DoverImpl& model, const std::shared_ptr<weights::TensorSource>& source) {
  std::vector<std::string> expected;
  for (const auto& p : model.named_parameters(true)) expected.push_back(p.key());
  for (const auto& b : model.named_buffers(true)) expected.push_back(b.key());
  auto view = weights::apply_key_map(source, weights::detect_key_map(source->names(), expected));
  weights::load_module(model, *view, "DOVER");
  model.eval();
}

}  // namespace s2v::dover
