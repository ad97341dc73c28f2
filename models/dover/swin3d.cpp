#include "models/dover/swin3d.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "models/base/error.h"

namespace s2v::dover {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

bool any_positive(const Dims3& d) { return d[0] > 0 || d[1] > 0 || d[2] > 0; }

int64_t volume(const Dims3& d) { return d[0] * d[1] * d[2]; }

// [begin, end) of Python's a[start:stop] on an axis of length n (nullopt: omitted).
std::pair<int64_t, int64_t> py_slice(int64_t n, std::optional<int64_t> start, std::optional<int64_t> stop) {
  auto norm = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  const int64_t b = start ? norm(*start) : 0;
  const int64_t e = stop ? norm(*stop) : n;
  return {b, std::max(b, e)};
}

// x: [B, D, H, W, C] -> [B*nW, Wd*Wh*Ww, C]; as window_partition
torch::Tensor window_partition(const torch::Tensor& x, const Dims3& w) {
  const int64_t b = x.size(0), d = x.size(1), h = x.size(2), wd = x.size(3), c = x.size(4);
  return x.view({b, d / w[0], w[0], h / w[1], w[1], wd / w[2], w[2], c})
      .permute({0, 1, 3, 5, 2, 4, 6, 7})
      .contiguous()
      .view({-1, volume(w), c});
}

// windows: [B*nW, Wd, Wh, Ww, C] -> [B, D, H, W, C]; as window_reverse
torch::Tensor window_reverse(const torch::Tensor& windows, const Dims3& w, int64_t b, int64_t d,
                             int64_t h, int64_t wd) {
  return windows.view({b, d / w[0], h / w[1], wd / w[2], w[0], w[1], w[2], -1})
      .permute({0, 1, 4, 2, 5, 3, 6, 7})
      .contiguous()
      .view({b, d, h, wd, -1});
}

Dims3 padded_to(const Dims3& size, const Dims3& window) {
  Dims3 p;
  for (int i = 0; i < 3; ++i) p[i] = (size[i] + window[i] - 1) / window[i] * window[i];
  return p;
}

}  // namespace

int64_t Swin3DConfig::num_features() const {
  return embed_dim << static_cast<int64_t>(depths.size() - 1);
}

WindowGeometry clamp_window(const Dims3& size, const Dims3& window, const Dims3& shift) {
  WindowGeometry g{window, shift};
  for (int i = 0; i < 3; ++i) {
    if (size[i] <= window[i]) {
      g.window[i] = size[i];
      g.shift[i] = 0;
    }
  }
  return g;
}

// as compute_mask in swin_backbone.py, Python slice semantics included (a zero shift makes the
// last slice the whole axis)
torch::Tensor shifted_window_mask(const Dims3& padded, const Dims3& window, const Dims3& shift) {
  auto img = torch::zeros({1, padded[0], padded[1], padded[2], 1});
  auto slices = [&](int axis) {
    const int64_t n = padded[axis], w = window[axis], s = shift[axis];
    return std::array<std::pair<int64_t, int64_t>, 3>{
        py_slice(n, std::nullopt, -w), py_slice(n, -w, -s), py_slice(n, -s, std::nullopt)};
  };
  const auto sd = slices(0), sh = slices(1), sw = slices(2);
  double cnt = 0;
  for (const auto& d : sd)
    for (const auto& h : sh)
      for (const auto& w : sw) {
        img.slice(1, d.first, d.second).slice(2, h.first, h.second).slice(3, w.first, w.second).fill_(cnt);
        cnt += 1;
      }
  auto mw = window_partition(img, window).squeeze(-1);  // [nW, N]
  auto m = mw.unsqueeze(1) - mw.unsqueeze(2);
  return torch::where(m != 0, torch::full({}, -100.0f), torch::zeros({}));
}

// as global_position_index(D, H, W, fragments=(1, Wh, Ww), window, shift) followed by
// fmask.abs().sum(-1) in WindowAttention3D.forward, without the [nW, N, N, 3] int64 tensor
torch::Tensor fragment_gate(const Dims3& padded, const Dims3& window, const Dims3& shift) {
  auto fd = torch::arange(1), fh = torch::arange(window[1]), fw = torch::arange(window[2]);
  auto grids = torch::meshgrid({fd, fh, fw}, "ij");
  auto frags = torch::stack(grids).to(torch::kFloat32).unsqueeze(0);  // [1, 3, 1, Wh, Ww]
  auto coords = F::interpolate(frags, F::InterpolateFuncOptions()
                                          .size(std::vector<int64_t>{padded[0], padded[1], padded[2]})
                                          .mode(torch::kNearest))
                    .to(torch::kLong)
                    .permute({0, 2, 3, 4, 1});  // [1, D, H, W, 3]
  coords = torch::roll(coords, {-shift[0], -shift[1], -shift[2]}, {1, 2, 3});
  auto wc = window_partition(coords.contiguous(), window).to(torch::kFloat32);  // [nW, N, 3]
  torch::Tensor gate;
  for (int64_t c = 0; c < 3; ++c) {
    auto a = wc.select(2, c);
    auto diff = (a.unsqueeze(1) - a.unsqueeze(2)).abs_();
    gate = gate.defined() ? gate.add_(diff) : diff;
  }
  return gate;
}

// ---- modules ----

PatchEmbed3DImpl::PatchEmbed3DImpl(const Swin3DConfig& c) : patch(c.patch_size) {
  proj = register_module("proj", nn::Conv3d(nn::Conv3dOptions(c.in_chans, c.embed_dim,
                                                              {patch[0], patch[1], patch[2]})
                                                .stride({patch[0], patch[1], patch[2]})));
  if (c.patch_norm) norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({c.embed_dim})));
}

// x: [B, 3, T, H, W] -> [B, C, D, Wh, Ww]; as PatchEmbed3D.forward (zero padding to whole patches)
torch::Tensor PatchEmbed3DImpl::forward(torch::Tensor x) {
  const int64_t d = x.size(2), h = x.size(3), w = x.size(4);
  if (w % patch[2] != 0) x = F::pad(x, F::PadFuncOptions({0, patch[2] - w % patch[2]}));
  if (h % patch[1] != 0) x = F::pad(x, F::PadFuncOptions({0, 0, 0, patch[1] - h % patch[1]}));
  if (d % patch[0] != 0) x = F::pad(x, F::PadFuncOptions({0, 0, 0, 0, 0, patch[0] - d % patch[0]}));
  x = proj(x);
  if (norm) {
    const int64_t c = x.size(1), dd = x.size(2), wh = x.size(3), ww = x.size(4);
    x = norm(x.flatten(2).transpose(1, 2)).transpose(1, 2).reshape({-1, c, dd, wh, ww});
  }
  return x;
}

WindowAttention3DImpl::WindowAttention3DImpl(int64_t dim, const Dims3& w, int64_t heads_, bool qkv_bias,
                                             bool frag_bias)
    : heads(heads_), scale(1.0 / std::sqrt(static_cast<double>(dim / heads_))) {
  const int64_t table = (2 * w[0] - 1) * (2 * w[1] - 1) * (2 * w[2] - 1);
  relative_position_bias_table =
      register_parameter("relative_position_bias_table", torch::randn({table, heads}) * 0.02);
  if (frag_bias)
    fragment_position_bias_table =
        register_parameter("fragment_position_bias_table", torch::zeros({table, heads}));
  // pair-wise relative position index of the tokens of a window, as in WindowAttention3D.__init__
  auto grids = torch::meshgrid({torch::arange(w[0]), torch::arange(w[1]), torch::arange(w[2])}, "ij");
  auto flat = torch::stack(grids).flatten(1);                          // [3, N]
  auto rel = (flat.unsqueeze(2) - flat.unsqueeze(1)).permute({1, 2, 0}).contiguous();  // [N, N, 3]
  auto idx = (rel.select(2, 0) + (w[0] - 1)) * ((2 * w[1] - 1) * (2 * w[2] - 1)) +
             (rel.select(2, 1) + (w[1] - 1)) * (2 * w[2] - 1) + (rel.select(2, 2) + (w[2] - 1));
  relative_position_index = register_buffer("relative_position_index", idx.to(torch::kLong));
  qkv = register_module("qkv", nn::Linear(nn::LinearOptions(dim, dim * 3).bias(qkv_bias)));
  proj = register_module("proj", nn::Linear(dim, dim));
}

// x: [B_, N, C], B_ = B * nW; mask, gate: [nW, N, N]
torch::Tensor WindowAttention3DImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                             const torch::Tensor& gate) {
  const int64_t b_ = x.size(0), n = x.size(1), c = x.size(2);
  auto qkv_ = qkv(x).reshape({b_, n, 3, heads, c / heads}).permute({2, 0, 3, 1, 4});
  auto q = qkv_[0] * scale;
  auto attn = torch::matmul(q, qkv_[1].transpose(-2, -1));  // [B_, nH, N, N]
  // a window clamped to a small map takes the top-left N×N of the full window's index
  auto rpi = relative_position_index.slice(0, 0, n).slice(1, 0, n).reshape(-1);
  auto bias = relative_position_bias_table.index_select(0, rpi).reshape({n, n, -1}).permute({2, 0, 1});
  const int64_t nw = gate.size(0);
  bias = bias.unsqueeze(0);  // [1, nH, N, N]
  if (fragment_position_bias_table.defined()) {
    auto fbias = fragment_position_bias_table.index_select(0, rpi).reshape({n, n, -1}).permute({2, 0, 1});
    auto g = gate.unsqueeze(1);  // [nW, 1, N, N]
    bias = bias * g + fbias * (1 - g);  // 0 = same fragment: the fragment table
  }
  attn = (attn.view({b_ / nw, nw, heads, n, n}) + bias.unsqueeze(0)).view({-1, heads, n, n});
  if (mask.defined()) {
    const int64_t nm = mask.size(0);
    attn = (attn.view({b_ / nm, nm, heads, n, n}) + mask.unsqueeze(1).unsqueeze(0)).view({-1, heads, n, n});
  }
  attn = torch::softmax(attn, -1);
  return proj(torch::matmul(attn, qkv_[2]).transpose(1, 2).reshape({b_, n, c}));
}

Mlp3DImpl::Mlp3DImpl(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", nn::Linear(dim, hidden));
  fc2 = register_module("fc2", nn::Linear(hidden, dim));
}

torch::Tensor Mlp3DImpl::forward(const torch::Tensor& x) { return fc2(torch::gelu(fc1(x))); }

SwinBlock3DImpl::SwinBlock3DImpl(int64_t dim, int64_t heads, const Dims3& window, double mlp_ratio,
                                 bool qkv_bias, bool frag_bias) {
  norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({dim})));
  attn = register_module("attn", WindowAttention3D(dim, window, heads, qkv_bias, frag_bias));
  norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({dim})));
  mlp = register_module("mlp", Mlp3D(dim, static_cast<int64_t>(dim * mlp_ratio)));
}

// x: [B, D, H, W, C]; as SwinTransformerBlock3D.forward (forward_part1 + forward_part2)
torch::Tensor SwinBlock3DImpl::forward(const torch::Tensor& x, const WindowGeometry& g,
                                       const torch::Tensor& mask, const torch::Tensor& gate) {
  const int64_t b = x.size(0), d = x.size(1), h = x.size(2), w = x.size(3), c = x.size(4);
  const auto& ws = g.window;
  const auto& sh = g.shift;
  auto y = norm1(x);
  const int64_t pad_d = (ws[0] - d % ws[0]) % ws[0];
  const int64_t pad_b = (ws[1] - h % ws[1]) % ws[1];
  const int64_t pad_r = (ws[2] - w % ws[2]) % ws[2];
  if (pad_d > 0 || pad_b > 0 || pad_r > 0)
    y = F::pad(y, F::PadFuncOptions({0, 0, 0, pad_r, 0, pad_b, 0, pad_d}));
  const int64_t dp = y.size(1), hp = y.size(2), wp = y.size(3);
  const bool shifted = any_positive(sh);
  if (shifted) y = torch::roll(y, {-sh[0], -sh[1], -sh[2]}, {1, 2, 3});
  auto windows = attn(window_partition(y, ws), shifted ? mask : torch::Tensor(), gate);
  y = window_reverse(windows.view({-1, ws[0], ws[1], ws[2], c}), ws, b, dp, hp, wp);
  if (shifted) y = torch::roll(y, {sh[0], sh[1], sh[2]}, {1, 2, 3});
  if (pad_d > 0 || pad_b > 0 || pad_r > 0) y = y.slice(1, 0, d).slice(2, 0, h).slice(3, 0, w).contiguous();
  auto out = x + y;
  return out + mlp(norm2(out));
}

PatchMergingImpl::PatchMergingImpl(int64_t dim) {
  reduction = register_module("reduction", nn::Linear(nn::LinearOptions(4 * dim, 2 * dim).bias(false)));
  norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({4 * dim})));
}

// x: [B, D, H, W, C]; as PatchMerging.forward
torch::Tensor PatchMergingImpl::forward(torch::Tensor x) {
  const int64_t h = x.size(2), w = x.size(3);
  if (h % 2 == 1 || w % 2 == 1) x = F::pad(x, F::PadFuncOptions({0, 0, 0, w % 2, 0, h % 2}));
  using torch::indexing::None;
  using torch::indexing::Slice;
  auto x0 = x.index({Slice(), Slice(), Slice(0, None, 2), Slice(0, None, 2)});
  auto x1 = x.index({Slice(), Slice(), Slice(1, None, 2), Slice(0, None, 2)});
  auto x2 = x.index({Slice(), Slice(), Slice(0, None, 2), Slice(1, None, 2)});
  auto x3 = x.index({Slice(), Slice(), Slice(1, None, 2), Slice(1, None, 2)});
  return reduction(norm(torch::cat({x0, x1, x2, x3}, -1)));
}

BasicLayerImpl::BasicLayerImpl(int64_t dim, int64_t depth, int64_t heads, const Dims3& window_,
                               double mlp_ratio, bool qkv_bias, bool frag_bias, bool with_downsample)
    : window(window_) {
  blocks = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < depth; ++i)
    blocks->push_back(SwinBlock3D(dim, heads, window, mlp_ratio, qkv_bias, frag_bias));
  if (with_downsample) downsample = register_module("downsample", PatchMerging(dim));
}

// x: [B, C, D, H, W]; as BasicLayer.forward
torch::Tensor BasicLayerImpl::forward(const torch::Tensor& x_in) {
  const int64_t b = x_in.size(0), d = x_in.size(2), h = x_in.size(3), w = x_in.size(4);
  const Dims3 half{window[0] / 2, window[1] / 2, window[2] / 2};
  const auto g = clamp_window({d, h, w}, window, half);
  const Dims3 padded = padded_to({d, h, w}, g.window);
  auto x = x_in.permute({0, 2, 3, 4, 1}).contiguous();
  const auto mask = shifted_window_mask(padded, g.window, g.shift).to(x.device(), x.scalar_type());
  torch::Tensor gates[2];
  const WindowGeometry plain{g.window, {0, 0, 0}};
  for (size_t i = 0; i < blocks->size(); ++i) {
    const bool odd = i % 2 == 1;
    auto& gate = gates[odd ? 1 : 0];
    if (!gate.defined())
      gate = fragment_gate(padded, g.window, odd ? g.shift : Dims3{0, 0, 0}).to(x.device(), x.scalar_type());
    x = blocks[i]->as<SwinBlock3DImpl>()->forward(x, odd ? g : plain, mask, gate);
  }
  x = x.view({b, d, h, w, -1});
  if (downsample) x = downsample(x);
  return x.permute({0, 4, 1, 2, 3});
}

SwinTransformer3DImpl::SwinTransformer3DImpl(const Swin3DConfig& c) : config_(c) {
  const size_t stages = c.depths.size();
  if (stages == 0 || c.num_heads.size() != stages || c.frag_biases.size() != stages)
    throw Error("SwinTransformer3D: depths, num_heads and frag_biases must have one entry per stage",
                ErrorKind::InvalidArgument);
  patch_embed = register_module("patch_embed", PatchEmbed3D(c));
  layers = register_module("layers", nn::ModuleList());
  for (size_t i = 0; i < stages; ++i)
    layers->push_back(BasicLayer(c.embed_dim << i, c.depths[i], c.num_heads[i], c.window_size,
                                 c.mlp_ratio, c.qkv_bias, c.frag_biases[i], i + 1 < stages));
  norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({c.num_features()})));
}

// x: [B, 3, T, H, W] -> [B, C, D, H', W']; as SwinTransformer3D.forward (multi=False, layer=-1)
torch::Tensor SwinTransformer3DImpl::forward(const torch::Tensor& x) {
  auto h = patch_embed(x);
  for (const auto& layer : *layers) h = layer->as<BasicLayerImpl>()->forward(h.contiguous());
  return norm(h.permute({0, 2, 3, 4, 1})).permute({0, 4, 1, 2, 3});
}

}  // namespace s2v::dover
