#include "models/wan/vae_blocks.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <variant>

#include <ATen/Parallel.h>

#include "models/base/error.h"

namespace s2v::wan::vae {

namespace {

constexpr int64_t kCacheT = 2;  // frames a causal 3x3x3 conv keeps from the previous chunk

// The last min(n, T) frames of x along time. x: [B, C, T, H, W]
torch::Tensor last_frames(const torch::Tensor& x, int64_t n) {
  const int64_t t = x.size(2);
  const int64_t k = std::min(n, t);
  return x.narrow(2, t - k, k);
}

// [B, C, T, H, W] <-> [(B T), C, H, W], as rearrange 'b c t h w -> (b t) c h w'
torch::Tensor to_frames(const torch::Tensor& x) {
  return x.permute({0, 2, 1, 3, 4}).reshape({x.size(0) * x.size(2), x.size(1), x.size(3), x.size(4)});
}
torch::Tensor from_frames(const torch::Tensor& x, int64_t b) {
  const int64_t t = x.size(0) / b;
  return x.reshape({b, t, x.size(1), x.size(2), x.size(3)}).permute({0, 2, 1, 3, 4});
}

// A child module that only groups parameters under a name ("residual", "resample", "head", ...).
std::shared_ptr<torch::nn::Module> group(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

// Whether a float32 CPU convolution goes straight to oneDNN. LibTorch 1.13's convolution picks
// oneDNN only when batch * C * D * H > 20480 (a heuristic for 2-D images); a causal chunk has
// batch 1 and a few frames, so the VAE's narrow layers fell to slow_conv3d (vol2col + GEMM),
// 20-40x slower here for 8-16 channels at 256x256 (bench/vae). Shapes above the threshold
// already ran this very kernel.
bool onednn_conv(const torch::Tensor& x, const torch::Tensor& weight) {
  return x.is_cpu() && x.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat &&
         at::hasMKLDNN() && at::globalContext().userEnabledMkldnn();
}

// x: [B, C, T, H, W], time padding already applied; spatial padding symmetric (ph, pw).
torch::Tensor conv3d_forward(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                             std::array<int64_t, 3> stride, int64_t ph, int64_t pw) {
  const bool pointwise = weight.size(2) == 1 && weight.size(3) == 1 && weight.size(4) == 1 &&
                         stride == std::array<int64_t, 3>{1, 1, 1} && ph == 0 && pw == 0;
  if (pointwise && x.is_cpu() && x.size(0) == 1) {
    // a 1x1x1 convolution is one GEMM, [O, C] x [C, T*H*W]: what slow_conv3d computes for it,
    // without its vol2col copy (oneDNN is slower than OpenBLAS for this shape on one thread)
    const int64_t o = weight.size(0), c = weight.size(1);
    auto out = torch::addmm(bias.unsqueeze(1), weight.reshape({o, c}), x.reshape({c, -1}));
    return out.view({1, o, x.size(2), x.size(3), x.size(4)});
  }
  if (onednn_conv(x, weight))
    return at::mkldnn_convolution(x.contiguous(), weight.contiguous(), bias, {0, ph, pw},
                                  {stride[0], stride[1], stride[2]}, {1, 1, 1}, 1);
  return torch::conv3d(x, weight, bias, {stride[0], stride[1], stride[2]}, {0, ph, pw});
}

// x: [N, C, H, W]
torch::Tensor conv2d_forward(const torch::Tensor& x, torch::nn::Conv2dImpl& conv) {
  const auto& o = conv.options;
  const std::array<int64_t, 2> stride = {(*o.stride())[0], (*o.stride())[1]};
  // padding_t is c10::variant up to LibTorch 2.0 and std::variant after: unqualified get_if finds
  // the right one by argument-dependent lookup (C++20 allows it with explicit template arguments).
  using std::get_if;
  const auto* pad = get_if<torch::ExpandingArray<2>>(&o.padding());
  if (pad == nullptr || o.groups() != 1 || (*o.dilation())[0] != 1 || (*o.dilation())[1] != 1)
    return conv.forward(x);
  const std::array<int64_t, 2> padding = {(**pad)[0], (**pad)[1]};
  if (onednn_conv(x, conv.weight))
    return at::mkldnn_convolution(x.contiguous(), conv.weight.contiguous(), conv.bias, padding, stride,
                                  {1, 1}, 1);
  return torch::conv2d(x, conv.weight, conv.bias, stride, padding);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
CausalConv3dImpl::CausalConv3dImpl(int64_t in, int64_t out, std::array<int64_t, 3> kernel,
                                   std::array<int64_t, 3> stride, std::array<int64_t, 3> padding)
    : stride_(stride), padding_(padding) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in * kernel[0] * kernel[1] * kernel[2]));
  weight = register_parameter(
      "weight", torch::empty({out, in, kernel[0], kernel[1], kernel[2]}).uniform_(-bound, bound));
  bias = register_parameter("bias", torch::empty({out}).uniform_(-bound, bound));
}

torch::Tensor CausalConv3dImpl::forward(const torch::Tensor& x_in, const torch::Tensor& cache) {
  // as CausalConv3d.forward: padding (w, w, h, h, 2*t, 0), cached frames replace time padding
  torch::Tensor x = x_in;
  int64_t pad_t = 2 * padding_[0];
  if (cache.defined() && pad_t > 0) {
    x = torch::cat({cache.to(x.device(), x.scalar_type()), x}, 2);
    pad_t -= cache.size(2);
  }
  // the time padding is explicit (causal: before only); the convolution zero-pads H and W itself
  if (pad_t != 0) x = torch::constant_pad_nd(x, {0, 0, 0, 0, pad_t, 0});
  return conv3d_forward(x, weight, bias, stride_, padding_[1], padding_[2]);
}

// ---------------------------------------------------------------------------------------------
RMSNormImpl::RMSNormImpl(int64_t dim, bool images) : scale_(std::sqrt(static_cast<double>(dim))) {
  gamma = register_parameter("gamma", images ? torch::ones({dim, 1, 1}) : torch::ones({dim, 1, 1, 1}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  // F.normalize(x, dim=1) * scale * gamma
  if (x.is_cpu() && gamma.is_cpu() && x.scalar_type() == torch::kFloat && gamma.scalar_type() == torch::kFloat)
    return rms_norm_cpu(x);
  const auto norm = x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
  return x / norm * scale_ * gamma;
}

torch::Tensor RMSNormImpl::rms_norm_cpu(const torch::Tensor& x_in) const {
  // One pass for the channel norms and one for the output, where ATen's norm over the strided
  // channel dimension, the clamp, the division and the two products make six (the norm alone cost
  // as much as a oneDNN 3x3x3 convolution of the demo model's 8-channel layers). The arithmetic
  // per element is the reference's: x / max(||x||, 1e-12) * scale * gamma.
  const torch::Tensor x = x_in.contiguous();
  const int64_t n = x.size(0), c = x.size(1);
  const int64_t s = c == 0 || n == 0 ? 0 : x.numel() / (n * c);  // positions per sample
  torch::Tensor out = torch::empty_like(x);
  const torch::Tensor g = gamma.contiguous();
  const float* px = x.data_ptr<float>();
  const float* pg = g.data_ptr<float>();
  float* po = out.data_ptr<float>();
  const float scale = static_cast<float>(scale_);
  constexpr int64_t kBlock = 512;  // positions per task: c rows of 2 KiB, in L2 up to c = 384
  const int64_t blocks = (s + kBlock - 1) / kBlock;
  at::parallel_for(0, n * blocks, 1, [&](int64_t begin, int64_t end) {
    std::array<float, kBlock> denom;
    for (int64_t job = begin; job < end; ++job) {
      const int64_t b = job / blocks, s0 = (job % blocks) * kBlock, len = std::min(kBlock, s - s0);
      const float* xb = px + b * c * s + s0;
      float* ob = po + b * c * s + s0;
      std::fill_n(denom.begin(), len, 0.0f);
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* row = xb + ch * s;
        for (int64_t i = 0; i < len; ++i) denom[i] += row[i] * row[i];
      }
      for (int64_t i = 0; i < len; ++i) denom[i] = std::max(std::sqrt(denom[i]), 1e-12f);
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* row = xb + ch * s;
        float* orow = ob + ch * s;
        const float gc = pg[ch];
        for (int64_t i = 0; i < len; ++i) orow[i] = row[i] / denom[i] * scale * gc;
      }
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
torch::Tensor cached_conv(CausalConv3dImpl& conv, const torch::Tensor& x, FeatCache* cache) {
  if (cache == nullptr) return conv.forward(x);
  auto& entry = cache->current();
  torch::Tensor cache_x = last_frames(x, kCacheT).clone();
  if (cache_x.size(2) < 2 && entry.frames.defined())
    // cache the last frame of the last two chunks
    cache_x = torch::cat({last_frames(entry.frames, 1), cache_x}, 2);
  torch::Tensor out = conv.forward(x, entry.frames);
  entry.frames = cache_x;
  ++cache->index;
  return out;
}

// ---------------------------------------------------------------------------------------------
ResidualBlock::ResidualBlock(int64_t in_dim, int64_t out_dim) {
  auto residual = group(*this, "residual");
  norm1_ = residual->register_module("0", RMSNorm(in_dim, false));
  conv1_ = residual->register_module("2", CausalConv3d(in_dim, out_dim, std::array<int64_t, 3>{3, 3, 3},
                                                       std::array<int64_t, 3>{1, 1, 1},
                                                       std::array<int64_t, 3>{1, 1, 1}));
  norm2_ = residual->register_module("3", RMSNorm(out_dim, false));
  conv2_ = residual->register_module("6", CausalConv3d(out_dim, out_dim, std::array<int64_t, 3>{3, 3, 3},
                                                       std::array<int64_t, 3>{1, 1, 1},
                                                       std::array<int64_t, 3>{1, 1, 1}));
  if (in_dim != out_dim)
    shortcut_ = register_module("shortcut",
                                CausalConv3d(in_dim, out_dim, std::array<int64_t, 3>{1, 1, 1}));
}

torch::Tensor ResidualBlock::forward(const torch::Tensor& x_in, FeatCache* cache) {
  const torch::Tensor h = shortcut_ ? shortcut_->forward(x_in) : x_in;
  torch::Tensor x = torch::silu(norm1_->forward(x_in));
  x = cached_conv(*conv1_, x, cache);
  x = torch::silu(norm2_->forward(x));  // dropout: identity at inference
  x = cached_conv(*conv2_, x, cache);
  return x + h;
}

// ---------------------------------------------------------------------------------------------
AttentionBlock::AttentionBlock(int64_t dim) {
  norm_ = register_module("norm", RMSNorm(dim, true));
  to_qkv_ = register_module("to_qkv", torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, dim * 3, 1)));
  proj_ = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, dim, 1)));
}

torch::Tensor AttentionBlock::forward(const torch::Tensor& x_in, FeatCache* /*cache*/) {
  // x: [B, C, T, H, W]; attention over the H*W positions of each frame, one head of width C
  const int64_t b = x_in.size(0), c = x_in.size(1), h = x_in.size(3), w = x_in.size(4);
  torch::Tensor x = norm_->forward(to_frames(x_in));  // [(B T), C, H, W]
  const int64_t bt = x.size(0);
  auto qkv = to_qkv_->forward(x).reshape({bt, 1, c * 3, h * w}).permute({0, 1, 3, 2}).contiguous();
  auto parts = qkv.chunk(3, -1);  // q, k, v: [(B T), 1, H*W, C]
  auto attn = torch::matmul(parts[0], parts[1].transpose(-2, -1)) * (1.0 / std::sqrt(double(c)));
  x = torch::matmul(attn.softmax(-1), parts[2]);
  x = x.squeeze(1).permute({0, 2, 1}).reshape({bt, c, h, w});
  x = proj_->forward(x);
  return from_frames(x, b) + x_in;
}

// ---------------------------------------------------------------------------------------------
Resample::Resample(int64_t dim, Mode mode) : mode_(mode) {
  auto resample = group(*this, "resample");
  const bool up = mode == Mode::Upsample2d || mode == Mode::Upsample3d;
  if (up)
    conv_ = resample->register_module(
        "1", torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, dim / 2, 3).padding(1)));
  else
    conv_ = resample->register_module(
        "1", torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, dim, 3).stride(2)));
  if (mode == Mode::Upsample3d)
    time_conv_ = register_module(
        "time_conv", CausalConv3d(dim, dim * 2, std::array<int64_t, 3>{3, 1, 1},
                                  std::array<int64_t, 3>{1, 1, 1}, std::array<int64_t, 3>{1, 0, 0}));
  if (mode == Mode::Downsample3d)
    time_conv_ = register_module(
        "time_conv", CausalConv3d(dim, dim, std::array<int64_t, 3>{3, 1, 1},
                                  std::array<int64_t, 3>{2, 1, 1}, std::array<int64_t, 3>{0, 0, 0}));
}

torch::Tensor Resample::forward(const torch::Tensor& x_in, FeatCache* cache) {
  // as Resample.forward; x: [B, C, T, H, W]
  torch::Tensor x = x_in;
  const int64_t b = x.size(0), c = x.size(1);
  if (mode_ == Mode::Upsample3d && cache != nullptr) {
    auto& entry = cache->current();
    if (entry.empty()) {
      // first chunk: keep the single frame, mark the cache ('Rep')
      entry.rep = true;
      ++cache->index;
    } else {
      torch::Tensor cache_x = last_frames(x, kCacheT).clone();
      if (cache_x.size(2) < 2 && !entry.rep)
        cache_x = torch::cat({last_frames(entry.frames, 1), cache_x}, 2);
      if (cache_x.size(2) < 2 && entry.rep)
        cache_x = torch::cat({torch::zeros_like(cache_x), cache_x}, 2);
      x = entry.rep ? time_conv_->forward(x) : time_conv_->forward(x, entry.frames);
      entry.frames = cache_x;
      entry.rep = false;
      ++cache->index;
      // [B, 2C, T, H, W] -> [B, C, 2T, H, W], the two halves interleaved in time
      const int64_t t = x.size(2), h = x.size(3), w = x.size(4);
      x = x.reshape({b, 2, c, t, h, w});
      x = torch::stack({x.select(1, 0), x.select(1, 1)}, 3);
      x = x.reshape({b, c, t * 2, h, w});
    }
  }

  torch::Tensor f = to_frames(x);
  if (mode_ == Mode::Upsample2d || mode_ == Mode::Upsample3d) {
    // nearest-exact with an integer factor 2 is pixel repetition
    const int64_t n = f.size(0), ch = f.size(1), h = f.size(2), w = f.size(3);
    f = f.view({n, ch, h, 1, w, 1}).expand({n, ch, h, 2, w, 2}).reshape({n, ch, h * 2, w * 2});
  } else {
    f = torch::constant_pad_nd(f, {0, 1, 0, 1});  // ZeroPad2d((0, 1, 0, 1))
  }
  x = from_frames(conv2d_forward(f, *conv_), b);

  if (mode_ == Mode::Downsample3d && cache != nullptr) {
    auto& entry = cache->current();
    if (entry.empty()) {
      entry.frames = x.clone();  // first chunk: no time reduction
      ++cache->index;
    } else {
      torch::Tensor cache_x = last_frames(x, 1).clone();
      x = time_conv_->forward(torch::cat({last_frames(entry.frames, 1), x}, 2));
      entry.frames = cache_x;
      ++cache->index;
    }
  }
  return x;
}

// ---------------------------------------------------------------------------------------------
namespace {

std::vector<int64_t> dims_of(int64_t dim, const std::vector<int64_t>& mults) {
  std::vector<int64_t> out;
  for (int64_t m : mults) out.push_back(dim * m);
  return out;
}

bool contains(const std::vector<double>& v, double x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

template <typename B>
std::shared_ptr<B> add_block(torch::nn::Module& parent, std::vector<std::shared_ptr<Block>>& list,
                             std::shared_ptr<B> block) {
  parent.register_module(std::to_string(list.size()), block);
  list.push_back(block);
  return block;
}

void check_config(const WanVaeConfig& c) {
  if (c.dim <= 0 || c.z_dim <= 0 || c.num_res_blocks <= 0 || c.dim_mult.size() < 2 ||
      c.temperal_downsample.size() + 1 != c.dim_mult.size())
    throw Error("invalid Wan VAE config: dim, z_dim and num_res_blocks must be positive and "
                "temperal_downsample must have one entry fewer than dim_mult",
                ErrorKind::InvalidArgument);
}

}  // namespace

Encoder3dImpl::Encoder3dImpl(const WanVaeConfig& cfg, int64_t z_dim) {
  check_config(cfg);
  std::vector<int64_t> mults = {1};
  mults.insert(mults.end(), cfg.dim_mult.begin(), cfg.dim_mult.end());
  const auto dims = dims_of(cfg.dim, mults);
  double scale = 1.0;

  conv1_ = register_module("conv1", CausalConv3d(3, dims[0], std::array<int64_t, 3>{3, 3, 3},
                                                 std::array<int64_t, 3>{1, 1, 1},
                                                 std::array<int64_t, 3>{1, 1, 1}));
  auto downsamples = group(*this, "downsamples");
  int64_t out_dim = dims[0];
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    int64_t in_dim = dims[i];
    out_dim = dims[i + 1];
    for (int64_t r = 0; r < cfg.num_res_blocks; ++r) {
      add_block(*downsamples, downsamples_, std::make_shared<ResidualBlock>(in_dim, out_dim));
      if (contains(cfg.attn_scales, scale))
        add_block(*downsamples, downsamples_, std::make_shared<AttentionBlock>(out_dim));
      in_dim = out_dim;
    }
    if (i != cfg.dim_mult.size() - 1) {
      const auto mode =
          cfg.temperal_downsample[i] ? Resample::Mode::Downsample3d : Resample::Mode::Downsample2d;
      add_block(*downsamples, downsamples_, std::make_shared<Resample>(out_dim, mode));
      scale /= 2.0;
    }
  }
  auto middle = group(*this, "middle");
  add_block(*middle, middle_, std::make_shared<ResidualBlock>(out_dim, out_dim));
  add_block(*middle, middle_, std::make_shared<AttentionBlock>(out_dim));
  add_block(*middle, middle_, std::make_shared<ResidualBlock>(out_dim, out_dim));
  auto head = group(*this, "head");
  head_norm_ = head->register_module("0", RMSNorm(out_dim, false));
  head_conv_ = head->register_module("2", CausalConv3d(out_dim, z_dim, std::array<int64_t, 3>{3, 3, 3},
                                                       std::array<int64_t, 3>{1, 1, 1},
                                                       std::array<int64_t, 3>{1, 1, 1}));
}

torch::Tensor Encoder3dImpl::forward(const torch::Tensor& x_in, FeatCache* cache) {
  // x: [B, 3, T, H, W] -> [B, z, T', H/8, W/8]
  torch::Tensor x = cached_conv(*conv1_, x_in, cache);
  for (auto& block : downsamples_) x = block->forward(x, cache);
  for (auto& block : middle_) x = block->forward(x, cache);
  x = torch::silu(head_norm_->forward(x));
  return cached_conv(*head_conv_, x, cache);
}

Decoder3dImpl::Decoder3dImpl(const WanVaeConfig& cfg) {
  check_config(cfg);
  std::vector<int64_t> mults = {cfg.dim_mult.back()};
  mults.insert(mults.end(), cfg.dim_mult.rbegin(), cfg.dim_mult.rend());
  const auto dims = dims_of(cfg.dim, mults);
  const std::vector<bool> temperal_upsample(cfg.temperal_downsample.rbegin(),
                                            cfg.temperal_downsample.rend());
  double scale = 1.0 / std::pow(2.0, static_cast<double>(cfg.dim_mult.size()) - 2.0);

  conv1_ = register_module("conv1", CausalConv3d(cfg.z_dim, dims[0], std::array<int64_t, 3>{3, 3, 3},
                                                 std::array<int64_t, 3>{1, 1, 1},
                                                 std::array<int64_t, 3>{1, 1, 1}));
  auto middle = group(*this, "middle");
  add_block(*middle, middle_, std::make_shared<ResidualBlock>(dims[0], dims[0]));
  add_block(*middle, middle_, std::make_shared<AttentionBlock>(dims[0]));
  add_block(*middle, middle_, std::make_shared<ResidualBlock>(dims[0], dims[0]));

  auto upsamples = group(*this, "upsamples");
  int64_t out_dim = dims[0];
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    int64_t in_dim = dims[i];
    out_dim = dims[i + 1];
    if (i == 1 || i == 2 || i == 3) in_dim /= 2;  // the previous Resample halved the width
    for (int64_t r = 0; r < cfg.num_res_blocks + 1; ++r) {
      add_block(*upsamples, upsamples_, std::make_shared<ResidualBlock>(in_dim, out_dim));
      if (contains(cfg.attn_scales, scale))
        add_block(*upsamples, upsamples_, std::make_shared<AttentionBlock>(out_dim));
      in_dim = out_dim;
    }
    if (i != cfg.dim_mult.size() - 1) {
      const auto mode =
          temperal_upsample[i] ? Resample::Mode::Upsample3d : Resample::Mode::Upsample2d;
      add_block(*upsamples, upsamples_, std::make_shared<Resample>(out_dim, mode));
      scale *= 2.0;
    }
  }
  auto head = group(*this, "head");
  head_norm_ = head->register_module("0", RMSNorm(out_dim, false));
  head_conv_ = head->register_module("2", CausalConv3d(out_dim, 3, std::array<int64_t, 3>{3, 3, 3},
                                                       std::array<int64_t, 3>{1, 1, 1},
                                                       std::array<int64_t, 3>{1, 1, 1}));
}

torch::Tensor Decoder3dImpl::forward(const torch::Tensor& x_in, FeatCache* cache) {
  // x: [B, z, T', H', W'] -> [B, 3, T, 8H', 8W']
  torch::Tensor x = cached_conv(*conv1_, x_in, cache);
  for (auto& block : middle_) x = block->forward(x, cache);
  for (auto& block : upsamples_) x = block->forward(x, cache);
  x = torch::silu(head_norm_->forward(x));
  return cached_conv(*head_conv_, x, cache);
}

// ---------------------------------------------------------------------------------------------
WanVAEImpl::WanVAEImpl(const WanVaeConfig& config) : config_(config) {
  const int64_t z = config.z_dim;
  encoder_ = register_module("encoder", Encoder3d(config, z * 2));
  conv1_ = register_module("conv1", CausalConv3d(z * 2, z * 2, std::array<int64_t, 3>{1, 1, 1}));
  conv2_ = register_module("conv2", CausalConv3d(z, z, std::array<int64_t, 3>{1, 1, 1}));
  decoder_ = register_module("decoder", Decoder3d(config));
}

torch::Tensor WanVAEImpl::encode(const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& inv_std,
                                 const CancelToken& cancel) {
  // x: [B, 3, T, H, W]; chunks of 1, 4, 4, ... frames through one feature cache
  FeatCache cache;
  const int64_t t = x.size(2);
  const int64_t iters = 1 + (t - 1) / 4;
  std::vector<torch::Tensor> outs;
  for (int64_t i = 0; i < iters; ++i) {
    cancel.throw_if_requested();
    cache.index = 0;
    const int64_t begin = i == 0 ? 0 : 1 + 4 * (i - 1);
    const int64_t len = i == 0 ? 1 : std::min<int64_t>(4, t - begin);
    outs.push_back(encoder_->forward(x.narrow(2, begin, len), &cache));
  }
  const torch::Tensor out = outs.size() == 1 ? outs[0] : torch::cat(outs, 2);
  torch::Tensor mu = conv1_->forward(out).chunk(2, 1)[0];  // (mu, log_var)
  const int64_t z = config_.z_dim;
  return (mu - mean.view({1, z, 1, 1, 1})) * inv_std.view({1, z, 1, 1, 1});
}

torch::Tensor WanVAEImpl::decode(const torch::Tensor& z_in, const torch::Tensor& mean, const torch::Tensor& inv_std,
                                 const CancelToken& cancel) {
  // z: [B, z, T', H', W']; one latent frame at a time through one feature cache
  const int64_t zd = config_.z_dim;
  const torch::Tensor z = z_in / inv_std.view({1, zd, 1, 1, 1}) + mean.view({1, zd, 1, 1, 1});
  const torch::Tensor x = conv2_->forward(z);
  FeatCache cache;
  std::vector<torch::Tensor> outs;
  for (int64_t i = 0; i < x.size(2); ++i) {
    cancel.throw_if_requested();
    cache.index = 0;
    outs.push_back(decoder_->forward(x.narrow(2, i, 1), &cache));
  }
  return outs.size() == 1 ? outs[0] : torch::cat(outs, 2);
}

}  // namespace s2v::wan::vae
