#include "models/dover/dover_views.h"

#include <algorithm>
#include <string>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "models/base/error.h"

namespace s2v::dover {

namespace F = torch::nn::functional;

namespace {

void check_frames(const std::vector<cv::Mat>& bgr, bool same_size) {
  if (bgr.empty()) throw Error("DOVER views: no frames", ErrorKind::InvalidArgument);
  for (const auto& f : bgr) {
    if (f.type() != CV_8UC3)
      throw Error("DOVER views: frames must be 8-bit BGR", ErrorKind::InvalidArgument);
    if (same_size && f.size() != bgr.front().size())
      throw Error("DOVER views: frames of one clip must have one size", ErrorKind::InvalidArgument);
  }
}

// BGR Mat -> uint8 [3, H, W] RGB
torch::Tensor mat_to_chw(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).permute({2, 0, 1}).clone();
}

// [C, T, H, W] with the strides of decord frames stacked and permuted as the official
// spatial_temporal_view_decomposition does: torch.stack([H, W, C] frames).permute(3, 0, 1, 2)
torch::Tensor decord_layout(const torch::Tensor& video) {
  return video.permute({1, 2, 3, 0}).contiguous().permute({3, 0, 1, 2});
}

}  // namespace

// as the grid of get_spatial_fragments (hgrids, hlength, the random offset in [0, hlength - fsize)
// taken at its centre)
FragmentLayout fragment_layout(int64_t res_h, int64_t res_w, const FragmentOptions& o) {
  if (res_h < o.fsize_h || res_w < o.fsize_w)
    throw Error("DOVER fragments: a " + std::to_string(res_w) + "x" + std::to_string(res_h) +
                    " frame is smaller than one " + std::to_string(o.fsize_w) + "x" +
                    std::to_string(o.fsize_h) + " patch",
                ErrorKind::InvalidArgument);
  FragmentLayout l;
  const double ratio = std::min(double(res_h) / double(o.canvas_h()), double(res_w) / double(o.canvas_w()));
  if (ratio < 1.0) l.upscale = 1.0 / ratio;
  auto axis = [](int64_t res, int64_t n, int64_t fsize) {
    const int64_t length = res / n;
    const int64_t offset = length > fsize ? (length - fsize) / 2 : 0;
    std::vector<int64_t> starts;
    for (int64_t i = 0; i < n; ++i) starts.push_back(std::min(length * i, res - fsize) + offset);
    return starts;
  };
  l.top = axis(res_h, o.fragments_h, o.fsize_h);
  l.left = axis(res_w, o.fragments_w, o.fsize_w);
  return l;
}

// video: uint8 [C, T, H, W] -> float32 [C, T, canvas_h, canvas_w]; as get_spatial_fragments
torch::Tensor technical_fragments(const torch::Tensor& video_in, const FragmentOptions& o) {
  if (video_in.dim() != 4) throw Error("DOVER fragments: video must be [C, T, H, W]", ErrorKind::InvalidArgument);
  const auto l = fragment_layout(video_in.size(2), video_in.size(3), o);
  auto video = video_in;
  if (l.upscale > 0) {
    // (video / 255, bilinear by the scale factor, × 255, truncated back to uint8), on the memory
    // layout of decord's frames (the layout picks PyTorch's interpolation kernel)
    auto up = F::interpolate(decord_layout(video).to(torch::kFloat32) / 255.0,
                             F::InterpolateFuncOptions()
                                 .scale_factor(std::vector<double>{l.upscale, l.upscale})
                                 .mode(torch::kBilinear)
                                 .align_corners(false));
    video = (up * 255.0).to(video_in.scalar_type());
  }
  auto out = torch::zeros({video.size(0), video.size(1), o.canvas_h(), o.canvas_w()});
  for (int64_t i = 0; i < o.fragments_h; ++i)
    for (int64_t j = 0; j < o.fragments_w; ++j)
      out.slice(2, i * o.fsize_h, (i + 1) * o.fsize_h)
          .slice(3, j * o.fsize_w, (j + 1) * o.fsize_w)
          .copy_(video.slice(2, l.top[i], l.top[i] + o.fsize_h).slice(3, l.left[j], l.left[j] + o.fsize_w));
  return out;
}

torch::Tensor technical_fragments(const std::vector<cv::Mat>& bgr, const FragmentOptions& o) {
  check_frames(bgr, true);
  const auto l = fragment_layout(bgr.front().rows, bgr.front().cols, o);
  if (l.upscale > 0) return technical_fragments(frames_to_video(bgr), o);
  const auto t = static_cast<int64_t>(bgr.size());
  auto out = torch::empty({t, 3, o.canvas_h(), o.canvas_w()}, torch::kUInt8);
  cv::Mat canvas(static_cast<int>(o.canvas_h()), static_cast<int>(o.canvas_w()), CV_8UC3);
  for (int64_t f = 0; f < t; ++f) {
    for (int64_t i = 0; i < o.fragments_h; ++i)
      for (int64_t j = 0; j < o.fragments_w; ++j) {
        const cv::Rect src(int(l.left[j]), int(l.top[i]), int(o.fsize_w), int(o.fsize_h));
        const cv::Rect dst(int(j * o.fsize_w), int(i * o.fsize_h), int(o.fsize_w), int(o.fsize_h));
        bgr[f](src).copyTo(canvas(dst));
      }
    out[f].copy_(mat_to_chw(canvas));
  }
  return out.permute({1, 0, 2, 3}).to(torch::kFloat32);
}

// video: uint8 [C, T, H, W] -> uint8 [C, T, h, w]; as get_resized_video with torchvision's Resize
// on tensors (float, bilinear without antialias, round, cast back)
torch::Tensor aesthetic_resize(const torch::Tensor& video, int64_t size_h, int64_t size_w) {
  if (video.dim() != 4) throw Error("DOVER resize: video must be [C, T, H, W]", ErrorKind::InvalidArgument);
  // [T, C, H, W] in decord's layout is channels-last: the official resize runs PyTorch's
  // channels-last bilinear kernel, whose rounding differs from the contiguous one
  auto x = decord_layout(video).permute({1, 0, 2, 3}).to(torch::kFloat32);
  x = F::interpolate(x, F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{size_h, size_w})
                            .mode(torch::kBilinear)
                            .align_corners(false));
  if (video.scalar_type() == torch::kUInt8) x = x.clamp(0, 255).round().to(torch::kUInt8);
  return x.permute({1, 0, 2, 3}).contiguous();
}

torch::Tensor aesthetic_resize(const std::vector<cv::Mat>& bgr, int64_t size_h, int64_t size_w) {
  check_frames(bgr, false);
  std::vector<torch::Tensor> frames;
  for (const auto& f : bgr) frames.push_back(aesthetic_resize(mat_to_chw(f).unsqueeze(1), size_h, size_w));
  return torch::cat(frames, 1);
}

torch::Tensor frames_to_video(const std::vector<cv::Mat>& bgr) {
  check_frames(bgr, true);
  std::vector<torch::Tensor> frames;
  for (const auto& f : bgr) frames.push_back(mat_to_chw(f));
  return torch::stack(frames, 1);
}

torch::Tensor normalise_view(const torch::Tensor& view) {
  const auto mean = torch::tensor({123.675f, 116.28f, 103.53f}).view({3, 1, 1, 1});
  const auto std = torch::tensor({58.395f, 57.12f, 57.375f}).view({3, 1, 1, 1});
  return (view.to(torch::kFloat32) - mean) / std;
}

std::vector<int64_t> spread_indices(int64_t n, int64_t count) {
  std::vector<int64_t> out;
  if (n <= 0) return out;
  for (int64_t i = 0; i < count; ++i)
    out.push_back(std::min<int64_t>(n - 1, static_cast<int64_t>((double(i) + 0.5) * double(n) / double(count))));
  return out;
}

}  // namespace s2v::dover
