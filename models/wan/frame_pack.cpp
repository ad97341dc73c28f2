#include "models/wan/frame_pack.h"

#include <numeric>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/wan/rope.h"

namespace s2v::wan {

namespace {
torch::nn::Conv3d patchify(int64_t out, std::array<int64_t, 3> k) {
  return torch::nn::Conv3d(torch::nn::Conv3dOptions(16, out, {k[0], k[1], k[2]}).stride({k[0], k[1], k[2]}));
}
// [1, C, f, h, w] -> [1, f*h*w, C] in the weight's dtype
torch::Tensor embed(torch::nn::Conv3d& conv, const torch::Tensor& x) {
  return conv(x.to(conv->weight.scalar_type())).flatten(2).transpose(1, 2);
}
}  // namespace

FramePackMotionerImpl::FramePackMotionerImpl(int64_t inner_dim_, int64_t num_heads_,
                                             std::vector<int64_t> buckets, std::string drop_mode_)
    : inner_dim(inner_dim_), num_heads(num_heads_), zip_frame_buckets(std::move(buckets)),
      drop_mode(std::move(drop_mode_)) {
  if (zip_frame_buckets.size() != 3)
    throw Error("FramePackMotioner needs 3 zip frame buckets", ErrorKind::InvalidArgument);
  proj = register_module("proj", patchify(inner_dim, {1, 2, 2}));
  proj_2x = register_module("proj_2x", patchify(inner_dim, {2, 4, 4}));
  proj_4x = register_module("proj_4x", patchify(inner_dim, {4, 8, 8}));
  freqs = rope_freqs(inner_dim / num_heads);
}

FramePackMotionerImpl::Output FramePackMotionerImpl::forward(const torch::Tensor& m,
                                                            int64_t add_last_motion) {
  // m: [C, T_m, H, W]
  const auto& zb = zip_frame_buckets;
  const int64_t total = zb[0] + zb[1] + zb[2];
  const int64_t lat_h = m.size(2), lat_w = m.size(3);
  const bool drop = drop_mode == "drop";
  auto padd = torch::zeros({16, total, lat_h, lat_w}, m.options());
  const int64_t overlap = std::min<int64_t>(total, m.size(1));
  if (overlap > 0) padd.narrow(1, total - overlap, overlap).copy_(m.narrow(1, m.size(1) - overlap, overlap));
  if (add_last_motion < 2 && !drop) {
    // zero the buckets that are left out (the nearest ones); a sum of 0 zeroes all, as the
    // reference's `[:, -0:]` slice does
    int64_t zero_end = 0;
    for (int64_t i = 0; i < static_cast<int64_t>(zb.size()) - add_last_motion - 1; ++i) zero_end += zb[i];
    if (zero_end == 0) padd.zero_();
    else padd.narrow(1, total - zero_end, zero_end).zero_();
  }
  padd = padd.unsqueeze(0);
  // farthest first in time: [4x bucket | 2x bucket | post]
  auto lat_4x = padd.narrow(2, 0, zb[2]);
  auto lat_2x = padd.narrow(2, zb[2], zb[1]);
  auto lat_post = padd.narrow(2, zb[2] + zb[1], zb[0]);
  auto post = embed(proj, lat_post), x2 = embed(proj_2x, lat_2x), x4 = embed(proj_4x, lat_4x);
  if (add_last_motion < 2 && drop) {
    post = post.narrow(1, 0, 0);
    if (add_last_motion < 1) x2 = x2.narrow(1, 0, 0);
  }
  Output out;
  out.tokens = torch::cat({post, x2, x4}, 1);

  std::vector<RopeGrid> grids;
  if (!(add_last_motion < 2 && drop)) {
    const int64_t s = -zb[0];
    grids.push_back({{s, 0, 0}, {s + zb[0], lat_h / 2, lat_w / 2}, {zb[0], lat_h / 2, lat_w / 2}});
  }
  if (!(add_last_motion < 1 && drop)) {
    const int64_t s = -(zb[0] + zb[1]);
    grids.push_back({{s, 0, 0}, {s + zb[1] / 2, lat_h / 4, lat_w / 4}, {zb[1], lat_h / 2, lat_w / 2}});
  }
  {
    const int64_t s = -total;
    grids.push_back({{s, 0, 0}, {s + zb[2] / 4, lat_h / 8, lat_w / 8}, {zb[2], lat_h / 2, lat_w / 2}});
  }
  out.rope = rope_precompute(grids, freqs);
  if (out.rope.size(0) != out.tokens.size(1))
    throw Error("FramePackMotioner: " + std::to_string(out.tokens.size(1)) + " motion tokens but " +
                    std::to_string(out.rope.size(0)) + " RoPE positions (latent size " +
                    std::to_string(lat_h) + "x" + std::to_string(lat_w) + " must be a multiple of 8)",
                ErrorKind::InvalidArgument);
  return out;
}

}  // namespace s2v::wan
