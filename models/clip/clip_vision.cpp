#include "models/clip/clip_vision.h"

#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/checkpoint.h"
#include "models/weights/key_map.h"
#include "models/weights/validate.h"

namespace s2v::clip {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
nn::LayerNorm layer_norm(int64_t dim) {
  return nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-5));
}
}  // namespace

namespace {

constexpr const char* kHfPatch = "vision_model.embeddings.patch_embedding.weight";

// The prefix under which `key` is stored ("" when at the top), or nullopt when it is not.
std::optional<std::string> prefix_of(const weights::TensorSource& s, const std::string& key) {
  for (const auto& n : s.names())
    if (n.size() >= key.size() && n.compare(n.size() - key.size(), key.size(), key) == 0)
      return n.substr(0, n.size() - key.size());
  return std::nullopt;
}

}  // namespace

ClipVisionConfig infer_clip_vision_config(const weights::TensorSource& raw) {
  if (const auto hf = prefix_of(raw, kHfPatch)) {
    // Hugging Face CLIPModel / CLIPVisionModelWithProjection names
    const std::string& p = *hf;
    auto need = [&](const std::string& name) {
      if (!raw.contains(p + name))
        throw Error(raw.describe() + " is not a CLIP image tower with a projection: it has no "
                        "tensor '" + name + "'",
                    ErrorKind::NotFound, name);
      return raw.meta(p + name).shape;
    };
    ClipVisionConfig c;
    const auto conv = need(kHfPatch);
    c.width = conv.at(0);
    c.patch_size = conv.at(2);
    const auto pos = need("vision_model.embeddings.position_embedding.weight");
    c.image_size = static_cast<int64_t>(std::llround(std::sqrt(double(pos.at(0) - 1)))) * c.patch_size;
    c.layers = 0;
    while (raw.contains(p + "vision_model.encoder.layers." + std::to_string(c.layers) + ".layer_norm1.weight"))
      ++c.layers;
    c.heads = std::max<int64_t>(1, c.width / 64);
    c.output_dim = need("visual_projection.weight").at(0);  // Linear [out, D]
    return c;
  }
  const std::string prefix = prefix_of(raw, "visual.conv1.weight").value_or("");
  auto need = [&](const std::string& name) {
    if (!raw.contains(prefix + name))
      throw Error(raw.describe() + " is not a CLIP image tower: it has no tensor '" + name + "'",
                  ErrorKind::NotFound, name);
    return raw.meta(prefix + name).shape;
  };
  ClipVisionConfig c;
  const auto conv = need("visual.conv1.weight");  // [D, 3, p, p]
  c.width = conv.at(0);
  c.patch_size = conv.at(2);
  const auto pos = need("visual.positional_embedding");  // [g² + 1, D]
  const auto grid = static_cast<int64_t>(std::llround(std::sqrt(double(pos.at(0) - 1))));
  c.image_size = grid * c.patch_size;
  c.layers = 0;
  while (raw.contains(prefix + "visual.transformer.resblocks." + std::to_string(c.layers) + ".ln_1.weight"))
    ++c.layers;
  c.heads = std::max<int64_t>(1, c.width / 64);
  c.output_dim = need("visual.proj").at(1);  // [D, out]
  return c;
}

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t dim, int64_t heads_) : heads(heads_) {
  in_proj_weight = register_parameter("in_proj_weight", torch::randn({3 * dim, dim}) * 0.02);
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * dim}));
  out_proj = register_module("out_proj", nn::Linear(dim, dim));
}

// x: [B, L, D]; nn.MultiheadAttention(x, x, x, need_weights=False) without a mask
torch::Tensor MultiheadAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), l = x.size(1), d = x.size(2), hd = d / heads;
  auto qkv = F::linear(x, in_proj_weight, in_proj_bias);  // [B, L, 3D]
  // [B, L, 3, H, hd] -> [3, B, H, L, hd]
  qkv = qkv.view({b, l, 3, heads, hd}).permute({2, 0, 3, 1, 4});
  auto q = qkv[0] * (1.0 / std::sqrt(static_cast<double>(hd)));
  auto attn = torch::softmax(torch::matmul(q, qkv[1].transpose(-2, -1)), -1);
  auto out = torch::matmul(attn, qkv[2]).transpose(1, 2).reshape({b, l, d});
  return out_proj(out);
}

ClipMlpImpl::ClipMlpImpl(int64_t dim, int64_t hidden) {
  c_fc = register_module("c_fc", nn::Linear(dim, hidden));
  c_proj = register_module("c_proj", nn::Linear(hidden, dim));
}

// QuickGELU: x * sigmoid(1.702 x)
torch::Tensor ClipMlpImpl::forward(const torch::Tensor& x) {
  auto h = c_fc(x);
  return c_proj(h * torch::sigmoid(1.702 * h));
}

ResidualAttentionBlockImpl::ResidualAttentionBlockImpl(int64_t dim, int64_t heads) {
  attn = register_module("attn", MultiheadAttention(dim, heads));
  ln_1 = register_module("ln_1", layer_norm(dim));
  mlp = register_module("mlp", ClipMlp(dim, dim * 4));
  ln_2 = register_module("ln_2", layer_norm(dim));
}

// x: [B, L, D]
torch::Tensor ResidualAttentionBlockImpl::forward(const torch::Tensor& x) {
  auto h = x + attn(ln_1(x));
  return h + mlp(ln_2(h));
}

TransformerImpl::TransformerImpl(int64_t width, int64_t layers, int64_t heads) {
  resblocks = register_module("resblocks", nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i) resblocks->push_back(ResidualAttentionBlock(width, heads));
}

torch::Tensor TransformerImpl::forward(const torch::Tensor& x) {
  auto h = x;
  for (const auto& blk : *resblocks) h = blk->as<ResidualAttentionBlockImpl>()->forward(h);
  return h;
}

VisionTransformerImpl::VisionTransformerImpl(const ClipVisionConfig& c) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.width));
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, c.width, c.patch_size)
                                                  .stride(c.patch_size)
                                                  .bias(false)));
  class_embedding = register_parameter("class_embedding", torch::randn({c.width}) * scale);
  positional_embedding = register_parameter(
      "positional_embedding", torch::randn({c.grid() * c.grid() + 1, c.width}) * scale);
  ln_pre = register_module("ln_pre", layer_norm(c.width));
  transformer = register_module("transformer", Transformer(c.width, c.layers, c.heads));
  ln_post = register_module("ln_post", layer_norm(c.width));
  proj = register_parameter("proj", torch::randn({c.width, c.output_dim}) * scale);
}

// images: [B, 3, S, S] -> [B, output_dim]; as VisionTransformer.forward in clip/model.py
torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images) {
  auto x = conv1(images);                                   // [B, D, g, g]
  x = x.flatten(2).transpose(1, 2);                         // [B, g², D]
  auto cls = class_embedding.to(x.dtype()).view({1, 1, -1}).expand({x.size(0), 1, x.size(2)});
  x = torch::cat({cls, x}, 1) + positional_embedding.to(x.dtype());  // [B, g² + 1, D]
  x = ln_pre(x);
  x = transformer(x);
  x = ln_post(x.select(1, 0));  // the class token, [B, D]
  return torch::matmul(x, proj);
}

ClipVisionImpl::ClipVisionImpl(const ClipVisionConfig& config) : config_(config) {
  visual = register_module("visual", VisionTransformer(config));
  eval();
}

torch::Tensor ClipVisionImpl::forward(const torch::Tensor& images) { return visual(images); }

torch::Tensor ClipVisionImpl::embed(const torch::Tensor& images) {
  auto f = forward(images);
  return f / f.norm(2, -1, true);
}

namespace {

weights::ValidationError load_error(const weights::TensorSource& source,
                                    const std::vector<weights::ValidationIssue>& issues) {
  std::string msg = "cannot load the CLIP image tower from " + source.describe() + ":";
  for (const auto& i : issues) {
    msg += std::string(" ") + weights::to_string(i.kind) + " '" + i.name + "'";
    if (!i.expected.empty() || !i.found.empty())
      msg += " (expected " + i.expected + ", found " + i.found + ")";
    msg += ";";
  }
  msg.pop_back();
  return weights::ValidationError(msg, source.describe(), issues);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Hugging Face names -> ours: q/k/v projections concatenated into in_proj, visual_projection
// (a Linear [out, D]) transposed into proj [D, out]. Issues name the Hugging Face tensors.
void load_clip_vision_hf(ClipVisionImpl& model, const weights::TensorSource& source,
                         const std::string& p) {
  std::vector<weights::ValidationIssue> issues;
  auto get = [&](const std::string& name) -> torch::Tensor {
    if (!source.contains(p + name)) {
      issues.push_back({weights::ValidationIssue::Kind::Missing, p + name, {}, {}});
      return {};
    }
    return source.tensor_as(p + name, torch::kFloat32);
  };
  std::map<std::string, torch::Tensor> state;
  const std::string e = "vision_model.embeddings.";
  state["visual.conv1.weight"] = get(e + "patch_embedding.weight");
  state["visual.class_embedding"] = get(e + "class_embedding");
  state["visual.positional_embedding"] = get(e + "position_embedding.weight");
  for (const char* wb : {"weight", "bias"}) {
    state[std::string("visual.ln_pre.") + wb] = get(std::string("vision_model.pre_layrnorm.") + wb);
    state[std::string("visual.ln_post.") + wb] = get(std::string("vision_model.post_layernorm.") + wb);
  }
  if (auto proj = get("visual_projection.weight"); proj.defined()) state["visual.proj"] = proj.t();
  const int64_t layers = model.config().layers;
  for (int64_t i = 0; i < layers; ++i) {
    const std::string hf = "vision_model.encoder.layers." + std::to_string(i) + ".";
    const std::string ours = "visual.transformer.resblocks." + std::to_string(i) + ".";
    for (const char* wb : {"weight", "bias"}) {
      const std::string w = wb;
      auto q = get(hf + "self_attn.q_proj." + w), k = get(hf + "self_attn.k_proj." + w),
           v = get(hf + "self_attn.v_proj." + w);
      if (q.defined() && k.defined() && v.defined())
        state[ours + (w == "weight" ? "attn.in_proj_weight" : "attn.in_proj_bias")] = torch::cat({q, k, v}, 0);
      state[ours + "attn.out_proj." + w] = get(hf + "self_attn.out_proj." + w);
      state[ours + "ln_1." + w] = get(hf + "layer_norm1." + w);
      state[ours + "ln_2." + w] = get(hf + "layer_norm2." + w);
      state[ours + "mlp.c_fc." + w] = get(hf + "mlp.fc1." + w);
      state[ours + "mlp.c_proj." + w] = get(hf + "mlp.fc2." + w);
    }
  }
  auto params = model.named_parameters(true);
  for (const auto& kv : params) {
    auto it = state.find(kv.key());
    if (it == state.end() || !it->second.defined()) continue;  // reported as missing above
    if (it->second.sizes() != kv.value().sizes())
      issues.push_back({weights::ValidationIssue::Kind::WrongShape, kv.key(),
                        shape_text(kv.value().sizes().vec()), shape_text(it->second.sizes().vec())});
  }
  if (!issues.empty()) throw load_error(source, issues);
  torch::NoGradGuard no_grad;
  for (auto& kv : params) kv.value().copy_(state.at(kv.key()));
}

}  // namespace

void load_clip_vision(ClipVisionImpl& model, const std::shared_ptr<weights::TensorSource>& source) {
  if (const auto hf = prefix_of(*source, kHfPatch)) {
    load_clip_vision_hf(model, *source, *hf);
    model.eval();
    return;
  }
  std::vector<std::string> expected;
  for (const auto& p : model.named_parameters(true)) expected.push_back(p.key());
  auto view = weights::apply_key_map(source, weights::detect_key_map(source->names(), expected));
  // the text tower (transformer.*, token_embedding, ...) is not ours: only visual.* must match
  std::vector<weights::ValidationIssue> extra;
  const std::set<std::string> known(expected.begin(), expected.end());
  for (const auto& n : view->names())
    if (n.rfind("visual.", 0) == 0 && !known.count(n))
      extra.push_back({weights::ValidationIssue::Kind::Unexpected, n, {}, {}});
  auto issues = weights::validate(weights::expected_from_module(model), *view,
                                  weights::ShapeCheck::Exact, /*allow_unexpected=*/true);
  issues.insert(issues.end(), extra.begin(), extra.end());
  if (!issues.empty()) throw load_error(*source, issues);
  weights::load_module(model, *view, "CLIP image tower", /*allow_unexpected=*/true);
  model.eval();
}

// bgr: [H, W, 3] -> [3, S, S]
torch::Tensor preprocess_clip(const cv::Mat& bgr, int64_t size) {
  if (bgr.empty() || bgr.type() != CV_8UC3)
    throw Error("CLIP needs a BGR 8-bit frame", ErrorKind::InvalidArgument);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  const int64_t h = rgb.rows, w = rgb.cols;
  // torchvision Resize(size): the shorter side becomes size, the longer int(size * long / short)
  int64_t nh = size, nw = size;
  if (w < h)
    nh = static_cast<int64_t>(double(size) * double(h) / double(w));
  else if (h < w)
    nw = static_cast<int64_t>(double(size) * double(w) / double(h));
  auto img = torch::from_blob(rgb.data, {1, h, w, 3}, torch::kUInt8)
                 .permute({0, 3, 1, 2})
                 .to(torch::kFloat32);
  if (nh != h || nw != w) {
    img = F::interpolate(img, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{nh, nw})
                                  .mode(torch::kBicubic)
                                  .align_corners(false)
                                  .antialias(true));
    img = img.round().clamp(0, 255);  // PIL returns 8-bit pixels
  }
  // CenterCrop: top = int(round((h - size) / 2)), Python rounding half to even
  const auto top = static_cast<int64_t>(std::nearbyint(double(nh - size) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint(double(nw - size) / 2.0));
  img = img.slice(2, top, top + size).slice(3, left, left + size)[0] / 255.0;
  const auto mean = torch::tensor({0.48145466f, 0.4578275f, 0.40821073f}).view({3, 1, 1});
  const auto std = torch::tensor({0.26862954f, 0.26130258f, 0.27577711f}).view({3, 1, 1});
  return ((img - mean) / std).contiguous();
}

}  // namespace s2v::clip
