#include "models/pose/vitpose.h"

#include <cmath>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/checkpoint.h"
#include "models/weights/key_map.h"

namespace s2v::pose {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
// PatchEmbed's padding: 4 + 2 * (ratio // 2 - 1) with ratio 1.
constexpr int64_t kPatchPadding = 2;

int64_t patch_count(int64_t size, int64_t patch) {
  return (size + 2 * kPatchPadding - patch) / patch + 1;
}

// as TopdownHeatmapBaseHead._get_deconv_cfg: kernel -> (padding, output_padding)
std::pair<int64_t, int64_t> deconv_padding(int64_t kernel) {
  if (kernel == 4) return {1, 0};
  if (kernel == 3) return {1, 1};
  if (kernel == 2) return {0, 0};
  throw Error("unsupported ViTPose deconv kernel " + std::to_string(kernel) + " (2, 3 or 4)",
              ErrorKind::Unsupported);
}
}  // namespace

ViTPoseConfig ViTPoseConfig::base_wholebody() { return {}; }

ViTPoseConfig ViTPoseConfig::large_wholebody() {
  ViTPoseConfig c;
  c.embed_dim = 1024;
  c.depth = 24;
  c.num_heads = 16;
  return c;
}

ViTPoseConfig ViTPoseConfig::huge_wholebody() {
  ViTPoseConfig c;
  c.embed_dim = 1280;
  c.depth = 32;
  c.num_heads = 16;
  return c;
}

int64_t ViTPoseConfig::grid_h() const { return patch_count(img_h, patch_size); }
int64_t ViTPoseConfig::grid_w() const { return patch_count(img_w, patch_size); }

int64_t ViTPoseConfig::heatmap_h() const {
  int64_t h = grid_h() << deconv_filters.size();
  return upsample > 0 ? h * upsample : h;
}

int64_t ViTPoseConfig::heatmap_w() const {
  int64_t w = grid_w() << deconv_filters.size();
  return upsample > 0 ? w * upsample : w;
}

ViTPoseConfig infer_vitpose_config(const weights::TensorSource& raw) {
  // names may sit under a prefix ("state_dict." in mmpose .pth files)
  std::string prefix;
  for (const auto& n : raw.names()) {
    const auto at = n.find("backbone.patch_embed.proj.weight");
    if (at != std::string::npos && at + 32 == n.size()) {
      prefix = n.substr(0, at);
      break;
    }
  }
  auto need = [&](const std::string& name) {
    if (!raw.contains(prefix + name))
      throw Error(raw.describe() + " is not a ViTPose checkpoint: it has no tensor '" + name + "'",
                  ErrorKind::NotFound, name);
    return raw.meta(prefix + name).shape;
  };
  ViTPoseConfig c;
  const auto proj = need("backbone.patch_embed.proj.weight");  // [D, 3, p, p]
  c.embed_dim = proj.at(0);
  c.patch_size = proj.at(2);
  c.depth = 0;
  while (raw.contains(prefix + "backbone.blocks." + std::to_string(c.depth) + ".norm1.weight")) ++c.depth;
  c.num_heads = (c.embed_dim == 384 || c.embed_dim == 768) ? 12
                : (c.embed_dim == 1024 || c.embed_dim == 1280) ? 16
                                                               : std::max<int64_t>(1, c.embed_dim / 64);
  const auto fc1 = need("backbone.blocks.0.mlp.fc1.weight");
  c.mlp_ratio = double(fc1.at(0)) / double(c.embed_dim);
  c.qkv_bias = raw.contains(prefix + "backbone.blocks.0.attn.qkv.bias");
  c.last_norm = raw.contains(prefix + "backbone.last_norm.weight");
  // pos_embed [1, Hp*Wp + 1, D]: a 4:3 grid (16×12 for 256×192) or else a square one (16×16)
  const auto pos = need("backbone.pos_embed");
  const int64_t patches = pos.at(1) - 1;
  const auto root = [](int64_t n) {
    auto r = static_cast<int64_t>(std::llround(std::sqrt(double(n))));
    return r * r == n ? r : int64_t(0);
  };
  if (const int64_t k = patches % 12 == 0 ? root(patches / 12) : 0; k > 0) {
    c.img_h = 4 * k * c.patch_size;
    c.img_w = 3 * k * c.patch_size;
  } else if (const int64_t s = root(patches); s > 0) {
    c.img_h = c.img_w = s * c.patch_size;
  } else {
    throw Error(raw.describe() + " has a ViTPose pos_embed of " + std::to_string(patches) +
                    " patches, neither a 4:3 nor a square grid",
                ErrorKind::Unsupported, "backbone.pos_embed");
  }
  c.deconv_filters.clear();
  c.deconv_kernels.clear();
  for (int i = 0;; i += 3) {
    const std::string name = "keypoint_head.deconv_layers." + std::to_string(i) + ".weight";
    if (!raw.contains(prefix + name)) break;
    const auto w = raw.meta(prefix + name).shape;  // [in, out, k, k]
    c.deconv_filters.push_back(w.at(1));
    c.deconv_kernels.push_back(w.at(2));
  }
  const auto final_w = need("keypoint_head.final_layer.weight");  // [K, C, k, k]
  c.out_channels = final_w.at(0);
  c.final_conv_kernel = final_w.at(2);
  c.upsample = c.deconv_filters.empty() ? 4 : 0;
  return c;
}

// ---- backbone ----

PatchEmbedImpl::PatchEmbedImpl(const ViTPoseConfig& c) {
  proj = register_module("proj", nn::Conv2d(nn::Conv2dOptions(3, c.embed_dim, c.patch_size)
                                                .stride(c.patch_size)
                                                .padding(kPatchPadding)));
}

// x: [B, 3, H, W] -> [B, Hp*Wp, D]
torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) {
  return proj(x).flatten(2).transpose(1, 2);
}

AttentionImpl::AttentionImpl(int64_t dim, int64_t heads_, bool qkv_bias) : heads(heads_) {
  qkv = register_module("qkv", nn::Linear(nn::LinearOptions(dim, dim * 3).bias(qkv_bias)));
  proj = register_module("proj", nn::Linear(dim, dim));
}

// x: [B, N, C]; as Attention.forward in vit.py
torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2), hd = c / heads;
  // [B, N, 3C] -> [3, B, H, N, hd]
  auto qkv_ = qkv(x).reshape({b, n, 3, heads, hd}).permute({2, 0, 3, 1, 4});
  auto q = qkv_[0] * (1.0 / std::sqrt(static_cast<double>(hd)));
  auto attn = torch::softmax(torch::matmul(q, qkv_[1].transpose(-2, -1)), -1);
  auto out = torch::matmul(attn, qkv_[2]).transpose(1, 2).reshape({b, n, c});
  return proj(out);
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", nn::Linear(dim, hidden));
  fc2 = register_module("fc2", nn::Linear(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) { return fc2(torch::gelu(fc1(x))); }

BlockImpl::BlockImpl(const ViTPoseConfig& c) {
  auto ln = [&] { return nn::LayerNorm(nn::LayerNormOptions({c.embed_dim}).eps(c.norm_eps)); };
  norm1 = register_module("norm1", ln());
  attn = register_module("attn", Attention(c.embed_dim, c.num_heads, c.qkv_bias));
  norm2 = register_module("norm2", ln());
  mlp = register_module("mlp", Mlp(c.embed_dim, static_cast<int64_t>(c.embed_dim * c.mlp_ratio)));
}

// x: [B, N, C]
torch::Tensor BlockImpl::forward(const torch::Tensor& x) {
  auto h = x + attn(norm1(x));
  return h + mlp(norm2(h));
}

ViTImpl::ViTImpl(const ViTPoseConfig& c) {
  patch_embed = register_module("patch_embed", PatchEmbed(c));
  // vit.py sizes pos_embed from img_size // patch_size (equal to the padded grid for the
  // official sizes)
  const int64_t patches = (c.img_h / c.patch_size) * (c.img_w / c.patch_size);
  pos_embed = register_parameter("pos_embed", torch::randn({1, patches + 1, c.embed_dim}) * 0.02);
  blocks = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) blocks->push_back(Block(c));
  if (c.last_norm)
    last_norm = register_module(
        "last_norm", nn::LayerNorm(nn::LayerNormOptions({c.embed_dim}).eps(c.norm_eps)));
}

// x: [B, 3, H, W] -> [B, D, Hp, Wp]; as ViT.forward_features
torch::Tensor ViTImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0);
  auto feat = patch_embed->proj(x);  // [B, D, Hp, Wp]
  const int64_t hp = feat.size(2), wp = feat.size(3);
  auto h = feat.flatten(2).transpose(1, 2);  // [B, Hp*Wp, D]
  h = h + pos_embed.slice(1, 1) + pos_embed.slice(1, 0, 1);
  for (const auto& blk : *blocks) h = blk->as<BlockImpl>()->forward(h);
  if (last_norm) h = last_norm(h);
  return h.permute({0, 2, 1}).reshape({b, -1, hp, wp}).contiguous();
}

// ---- head ----

TopdownHeatmapSimpleHeadImpl::TopdownHeatmapSimpleHeadImpl(const ViTPoseConfig& c)
    : upsample(c.upsample) {
  if (c.deconv_filters.size() != c.deconv_kernels.size())
    throw Error("invalid ViTPose head: deconv filters and kernels differ in length",
                ErrorKind::InvalidArgument);
  int64_t in = c.embed_dim;
  if (!c.deconv_filters.empty()) {
    deconv_layers = register_module("deconv_layers", nn::Sequential());
    for (size_t i = 0; i < c.deconv_filters.size(); ++i) {
      const auto [padding, output_padding] = deconv_padding(c.deconv_kernels[i]);
      const int64_t planes = c.deconv_filters[i];
      deconv_layers->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, planes, c.deconv_kernels[i])
                                                       .stride(2)
                                                       .padding(padding)
                                                       .output_padding(output_padding)
                                                       .bias(false)));
      deconv_layers->push_back(nn::BatchNorm2d(planes));
      deconv_layers->push_back(nn::ReLU());
      in = planes;
    }
  }
  if (c.final_conv_kernel != 1 && c.final_conv_kernel != 3)
    throw Error("unsupported ViTPose final_conv_kernel " + std::to_string(c.final_conv_kernel),
                ErrorKind::Unsupported);
  final_layer = register_module(
      "final_layer", nn::Conv2d(nn::Conv2dOptions(in, c.out_channels, c.final_conv_kernel)
                                    .padding(c.final_conv_kernel == 3 ? 1 : 0)));
}

// x: [B, D, Hp, Wp] -> [B, K, Hh, Wh]; as TopdownHeatmapSimpleHead.forward
torch::Tensor TopdownHeatmapSimpleHeadImpl::forward(const torch::Tensor& x) {
  auto h = x;
  if (upsample > 0)
    h = F::interpolate(torch::relu(h), F::InterpolateFuncOptions()
                                           .scale_factor(std::vector<double>{double(upsample), double(upsample)})
                                           .mode(torch::kBilinear)
                                           .align_corners(false));
  if (deconv_layers) h = deconv_layers->forward(h);
  return final_layer(h);
}

ViTPoseImpl::ViTPoseImpl(const ViTPoseConfig& config) : config_(config) {
  backbone = register_module("backbone", ViT(config));
  keypoint_head = register_module("keypoint_head", TopdownHeatmapSimpleHead(config));
  eval();
}

// images: [N, 3, H, W] -> [N, K, Hh, Wh]
torch::Tensor ViTPoseImpl::forward(const torch::Tensor& images) {
  return keypoint_head(backbone(images));
}

void load_vitpose(ViTPoseImpl& model, const std::shared_ptr<weights::TensorSource>& source) {
  std::vector<std::string> expected;
  for (const auto& p : model.named_parameters(true)) expected.push_back(p.key());
  for (const auto& b : model.named_buffers(true)) expected.push_back(b.key());
  auto view = weights::apply_key_map(source, weights::detect_key_map(source->names(), expected));
  // mmpose .pth files also hold meta/optimizer entries outside state_dict; the key map hides them
  weights::load_module(model, *view, "ViTPose");
  model.eval();
}

}  // namespace s2v::pose
