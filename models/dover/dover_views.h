#pragma once
// The two views DOVER judges, as dover/datasets/dover_datasets.py builds them for dover.yml:
// - technical: get_spatial_fragments: a 7×7 grid of 32×32 patches taken at source resolution
//   (upsampled first when the frame is smaller than the 224×224 canvas), the same positions in
//   every frame of the clip, spliced into a 224×224 clip. The official code draws each patch's
//   offset inside its grid cell at random; here it is the centre of that range (deterministic).
// - aesthetic: get_resized_video: the whole frame resized to 224×224 (torchvision Resize on uint8
//   tensors: bilinear, no antialias, rounded back to uint8), aspect ratio not kept.
// Both are normalised with the ImageNet mean/std on the 0..255 scale (RGB).
//
// Videos here are [C, T, H, W] tensors in RGB order, like the official code's decord clips;
// frames from OpenCV are BGR cv::Mat and are converted.

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>
#include <torch/types.h>

namespace s2v::dover {

struct FragmentOptions {
  int64_t fragments_h = 7, fragments_w = 7;  // grid
  int64_t fsize_h = 32, fsize_w = 32;        // patch size
  int64_t canvas_h() const { return fragments_h * fsize_h; }
  int64_t canvas_w() const { return fragments_w * fsize_w; }
};

// Where the patches of an H×W frame are taken from. As the official code, the grid is laid on the
// frame's own size even when the frame is upsampled first (then only its top-left part is used).
struct FragmentLayout {
  double upscale = 0.0;        // > 0: bilinear scale factor applied first (frame smaller than canvas)
  std::vector<int64_t> top;    // per grid row: first row of the patch
  std::vector<int64_t> left;   // per grid column: first column of the patch
};
FragmentLayout fragment_layout(int64_t height, int64_t width, const FragmentOptions& options = {});

// video: uint8 [C, T, H, W] -> float32 [C, T, canvas_h, canvas_w] (values 0..255).
torch::Tensor technical_fragments(const torch::Tensor& video, const FragmentOptions& options = {});
// BGR CV_8UC3 frames of one size -> float32 [3, T, canvas_h, canvas_w] RGB; crops the patches
// straight from the frames (no full-frame tensor) unless the frames must be upsampled.
torch::Tensor technical_fragments(const std::vector<cv::Mat>& bgr, const FragmentOptions& options = {});

// video: uint8 [C, T, H, W] -> uint8 [C, T, size_h, size_w].
torch::Tensor aesthetic_resize(const torch::Tensor& video, int64_t size_h = 224, int64_t size_w = 224);
// BGR CV_8UC3 frames (any sizes) -> uint8 [3, T, size_h, size_w] RGB.
torch::Tensor aesthetic_resize(const std::vector<cv::Mat>& bgr, int64_t size_h = 224, int64_t size_w = 224);

// BGR CV_8UC3 frames of one size -> uint8 [3, T, H, W] RGB.
torch::Tensor frames_to_video(const std::vector<cv::Mat>& bgr);

// view: [3, T, H, W] RGB 0..255 (any dtype) -> float32 (view - mean) / std with mean
// (123.675, 116.28, 103.53) and std (58.395, 57.12, 57.375), as evaluate_one_video.py.
torch::Tensor normalise_view(const torch::Tensor& view);

// `count` indices spread evenly over n items (the centre of each of count equal segments), in
// order; with n < count items repeat.
std::vector<int64_t> spread_indices(int64_t n, int64_t count);

}  // namespace s2v::dover
