#include "models/wan/vae.h"

#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/base/error.h"
#include "models/wan/vae_alloc.h"
#include "models/wan/vae_blocks.h"
#include "models/weights/checkpoint.h"

namespace s2v::wan {

namespace {

std::string shape_string(at::IntArrayRef s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

torch::Tensor stats_tensor(std::vector<float> v, const std::array<float, 16>& fallback,
                           int64_t z_dim, const char* what) {
  if (v.empty()) {
    if (z_dim != 16)
      throw Error(std::string("Wan VAE: z_dim ") + std::to_string(z_dim) +
                      " has no published latent " + what + "; pass one",
                  ErrorKind::InvalidArgument);
    v.assign(fallback.begin(), fallback.end());
  }
  if (static_cast<int64_t>(v.size()) != z_dim)
    throw Error(std::string("Wan VAE: the latent ") + what + " has " + std::to_string(v.size()) +
                    " values but z_dim is " + std::to_string(z_dim),
                ErrorKind::InvalidArgument);
  return torch::tensor(v, torch::kFloat32);
}

void check_video(const torch::Tensor& v, const char* what, int64_t channels) {
  if (!v.defined() || v.dim() != 5 || v.size(1) != channels || v.size(2) < 1)
    throw Error(std::string("Wan VAE ") + what + ": expected a [B, " + std::to_string(channels) +
                    ", T, H, W] tensor, got " + (v.defined() ? shape_string(v.sizes()) : "none"),
                ErrorKind::InvalidArgument);
}

}  // namespace

WanVaeConfig WanVaeConfig::from_json(const std::string& text) {
  WanVaeConfig c;
  try {
    const auto j = nlohmann::json::parse(text);
    if (j.contains("dim")) c.dim = j.at("dim").get<int64_t>();
    if (j.contains("z_dim")) c.z_dim = j.at("z_dim").get<int64_t>();
    if (j.contains("dim_mult")) c.dim_mult = j.at("dim_mult").get<std::vector<int64_t>>();
    if (j.contains("num_res_blocks")) c.num_res_blocks = j.at("num_res_blocks").get<int64_t>();
    if (j.contains("attn_scales")) c.attn_scales = j.at("attn_scales").get<std::vector<double>>();
    if (j.contains("temperal_downsample"))
      c.temperal_downsample = j.at("temperal_downsample").get<std::vector<bool>>();
    if (j.contains("dropout")) c.dropout = j.at("dropout").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("cannot read the Wan VAE config: ") + e.what(),
                ErrorKind::InvalidArgument);
  }
  return c;
}

const std::array<float, 16>& wan21_latent_mean() {
  static const std::array<float, 16> mean = {-0.7571f, -0.7089f, -0.9113f, 0.1075f,
                                             -0.1745f, 0.9653f,  -0.1517f, 1.5508f,
                                             0.4134f,  -0.0715f, 0.5517f,  -0.3632f,
                                             -0.1922f, -0.9497f, 0.2503f,  -0.2921f};
  return mean;
}

const std::array<float, 16>& wan21_latent_std() {
  static const std::array<float, 16> std = {2.8184f, 1.4541f, 2.3275f, 2.6558f, 1.2196f, 1.7708f,
                                            2.6052f, 2.0743f, 3.2687f, 2.1526f, 2.8652f, 1.5579f,
                                            1.6382f, 1.1253f, 2.8251f, 1.9160f};
  return std;
}

WanVae::WanVae(WanVaeConfig config, std::vector<float> mean, std::vector<float> std)
    : config_(std::move(config)) {
  model_ = std::make_shared<vae::WanVAEImpl>(config_);
  model_->eval();
  mean_ = stats_tensor(std::move(mean), wan21_latent_mean(), config_.z_dim, "mean");
  // scale = [mean, 1 / std], as Wan2_1_VAE
  inv_std_ = 1.0f / stats_tensor(std::move(std), wan21_latent_std(), config_.z_dim, "std");
}

WanVae::~WanVae() = default;
WanVae::WanVae(WanVae&&) noexcept = default;
WanVae& WanVae::operator=(WanVae&&) noexcept = default;

torch::nn::Module& WanVae::module() { return *model_; }

std::vector<std::string> WanVae::parameter_names() const {
  std::vector<std::string> out;
  for (const auto& p : model_->named_parameters()) out.push_back(p.key());
  return out;
}

void WanVae::load(const weights::TensorSource& source) {
  torch::NoGradGuard no_grad;
  weights::load_module(*model_, source, "the Wan VAE");
}

void WanVae::to(torch::Device device, torch::ScalarType dtype) {
  model_->to(device, dtype);
  mean_ = mean_.to(device, dtype);
  inv_std_ = inv_std_.to(device, dtype);
}

torch::Tensor WanVae::encode(const torch::Tensor& video, const CancelToken& cancel) const {
  check_video(video, "encode", 3);
  torch::NoGradGuard no_grad;
  vae::CpuBlockReuse reuse;
  const auto& ref = mean_;
  auto z = model_->encode(video.to(ref.device(), ref.scalar_type()), mean_, inv_std_, cancel);
  return z.to(torch::kFloat32);
}

torch::Tensor WanVae::decode_raw(const torch::Tensor& latents, const CancelToken& cancel) const {
  check_video(latents, "decode", config_.z_dim);
  torch::NoGradGuard no_grad;
  vae::CpuBlockReuse reuse;
  const auto& ref = mean_;
  auto v = model_->decode(latents.to(ref.device(), ref.scalar_type()), mean_, inv_std_, cancel);
  return v.to(torch::kFloat32);
}

torch::Tensor WanVae::decode_unclamped(const torch::Tensor& latents) const {
  return decode_raw(latents, CancelToken::none());
}

torch::Tensor WanVae::decode(const torch::Tensor& latents, const CancelToken& cancel) const {
  return decode_raw(latents, cancel).clamp_(-1.0, 1.0);
}

torch::Tensor WanVae::decode_tiled(const torch::Tensor& latents, const VaeTiling& tiling,
                                   const CancelToken& cancel) const {
  check_video(latents, "decode", config_.z_dim);
  const int64_t tile = tiling.tile_latent, overlap = tiling.overlap_latent;
  if (tile <= 0 || overlap < 0 || overlap >= tile)
    throw Error("Wan VAE tiled decode: need 0 <= overlap < tile, got tile " + std::to_string(tile) +
                    " and overlap " + std::to_string(overlap),
                ErrorKind::InvalidArgument);
  const int64_t lh = latents.size(3), lw = latents.size(4);
  if (lh <= tile && lw <= tile) return decode(latents, cancel);

  // Tile origins along one axis: stride tile - overlap, the last tile flush with the edge.
  auto origins = [&](int64_t size) {
    std::vector<int64_t> o;
    if (size <= tile) return std::vector<int64_t>{0};
    for (int64_t p = 0;; p += tile - overlap) {
      if (p + tile >= size) {
        o.push_back(size - tile);
        break;
      }
      o.push_back(p);
    }
    return o;
  };
  // Blend weight along one axis of a tile: a linear ramp over the overlap on inner edges.
  const int64_t s = 8;  // spatial stride of the VAE
  auto ramp = [&](int64_t len_px, bool ramp_start, bool ramp_end, int64_t ov_px) {
    auto w = torch::ones({len_px});
    if (ov_px > 0) {
      auto up = (torch::arange(ov_px, torch::kFloat32) + 0.5f) / static_cast<float>(ov_px);
      if (ramp_start) w.narrow(0, 0, ov_px).copy_(up);
      if (ramp_end) w.narrow(0, len_px - ov_px, ov_px).mul_(up.flip(0));
    }
    return w;
  };

  const auto oy = origins(lh), ox = origins(lw);
  vae::CpuBlockReuse reuse;  // the tiles reuse each other's blocks
  torch::Tensor out, weight;
  for (size_t iy = 0; iy < oy.size(); ++iy) {
    for (size_t ix = 0; ix < ox.size(); ++ix) {
      const int64_t th = std::min(tile, lh), tw = std::min(tile, lw);
      auto piece = decode_raw(latents.narrow(3, oy[iy], th).narrow(4, ox[ix], tw), cancel);
      if (!out.defined()) {
        out = torch::zeros({piece.size(0), piece.size(1), piece.size(2), lh * s, lw * s});
        weight = torch::zeros({lh * s, lw * s});
      }
      // overlap with the neighbour (the last tile may overlap more, being flush with the edge)
      const int64_t ov_top = iy > 0 ? (oy[iy - 1] + th - oy[iy]) * s : 0;
      const int64_t ov_left = ix > 0 ? (ox[ix - 1] + tw - ox[ix]) * s : 0;
      const int64_t ov_bottom = iy + 1 < oy.size() ? (oy[iy] + th - oy[iy + 1]) * s : 0;
      const int64_t ov_right = ix + 1 < ox.size() ? (ox[ix] + tw - ox[ix + 1]) * s : 0;
      auto wy = ramp(th * s, ov_top > 0, false, ov_top) * ramp(th * s, false, ov_bottom > 0, ov_bottom);
      auto wx = ramp(tw * s, ov_left > 0, false, ov_left) * ramp(tw * s, false, ov_right > 0, ov_right);
      auto w2 = wy.unsqueeze(1) * wx.unsqueeze(0);  // [th*s, tw*s]
      out.narrow(3, oy[iy] * s, th * s).narrow(4, ox[ix] * s, tw * s).add_(piece * w2);
      weight.narrow(0, oy[iy] * s, th * s).narrow(1, ox[ix] * s, tw * s).add_(w2);
    }
  }
  return (out / weight).clamp_(-1.0, 1.0);
}

}  // namespace s2v::wan
