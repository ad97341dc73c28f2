#pragma once
// RGB frames <-> LibTorch tensors, with the official value conventions:
//   in : x / 255 * 2 - 1 in float32 (ToTensor() * 2 - 1 in speech2video.py), layout [3, H, W] or
//        [3, T, H, W] (the C, F, H, W of the reference's video tensors);
//   out: clamp to [-1, 1], (x + 1) / 2 * 255, truncated to uint8 (save_video in wan/utils/utils.py).
// Engine-only: the UI includes video_reader.h / video_writer.h, never this header.

#include <filesystem>
#include <vector>

#include <torch/types.h>

#include "core/media/video_reader.h"
#include "core/media/video_writer.h"

namespace s2v::media {

// frame: H x W x 3 uint8 -> [3, H, W] float32 in [-1, 1].
torch::Tensor frame_to_tensor(const RgbFrame& frame);
// frames (same size) -> [3, T, H, W] float32 in [-1, 1].
torch::Tensor frames_to_tensor(const std::vector<RgbFrame>& frames);

// chw: [3, H, W] (any float dtype, any device) -> RgbFrame, as save_video's conversion.
RgbFrame tensor_to_frame(const torch::Tensor& chw);

// video: [3, T, H, W] or [1, 3, T, H, W] in [-1, 1] -> an encoded file through VideoWriter
// (width/height in options are taken from the tensor). Returns the number of frames written.
int64_t write_video_tensor(const torch::Tensor& video, const std::filesystem::path& path,
                           VideoWriterOptions options);

// The portrait preprocessing of speech2video.py on a picture: Resize(min(H, W)) +
// CenterCrop((H, W)) (bit-exact PIL bilinear, see resize.h), then to [3, H, W] in [-1, 1].
torch::Tensor preprocess_reference(const RgbFrame& picture, int height, int width);

}  // namespace s2v::media
