#include "core/media/tensor.h"

#include <torch/torch.h>

#include "core/media/resize.h"
#include "models/base/error.h"

namespace s2v::media {

torch::Tensor frame_to_tensor(const RgbFrame& f) {
  // f: [H, W, 3] uint8 -> [3, H, W]
  if (f.width <= 0 || f.height <= 0 || f.rgb.size() != size_t(f.width) * f.height * 3)
    throw Error("cannot make a tensor of a " + std::to_string(f.width) + "x" +
                    std::to_string(f.height) + " frame holding " + std::to_string(f.rgb.size()) +
                    " bytes",
                ErrorKind::InvalidArgument);
  auto hwc = torch::from_blob(const_cast<uint8_t*>(f.rgb.data()), {f.height, f.width, 3},
                              torch::kUInt8);
  // as ToTensor() (float32 / 255) then * 2 - 1.0
  return hwc.permute({2, 0, 1}).to(torch::kFloat32).div(255.0).mul(2.0).sub(1.0).contiguous();
}

torch::Tensor frames_to_tensor(const std::vector<RgbFrame>& frames) {
  if (frames.empty())
    throw Error("cannot make a video tensor of no frames", ErrorKind::InvalidArgument);
  std::vector<torch::Tensor> chw;
  chw.reserve(frames.size());
  for (const auto& f : frames) {
    if (f.width != frames.front().width || f.height != frames.front().height)
      throw Error("cannot stack frames of different sizes (" + std::to_string(f.width) + "x" +
                      std::to_string(f.height) + " after " + std::to_string(frames.front().width) +
                      "x" + std::to_string(frames.front().height) + ")",
                  ErrorKind::InvalidArgument);
    chw.push_back(frame_to_tensor(f));
  }
  return torch::stack(chw, 1);  // [3, T, H, W]
}

RgbFrame tensor_to_frame(const torch::Tensor& chw) {
  if (chw.dim() != 3 || chw.size(0) != 3)
    throw Error("cannot make a frame of a tensor of shape " + std::string(c10::str(chw.sizes())) +
                    ": expected [3, H, W]",
                ErrorKind::InvalidArgument);
  // as save_video: clamp(-1, 1), normalize to [0, 1], * 255, truncate to uint8
  auto x = chw.detach().to(torch::kCPU, torch::kFloat32).clamp(-1.0, 1.0);
  x = x.add(1.0).div(2.0).mul(255.0).to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  RgbFrame f;
  f.height = int(x.size(0));
  f.width = int(x.size(1));
  f.rgb.assign(x.data_ptr<uint8_t>(), x.data_ptr<uint8_t>() + x.numel());
  return f;
}

int64_t write_video_tensor(const torch::Tensor& video_in, const std::filesystem::path& path,
                           VideoWriterOptions options) {
  auto video = video_in.dim() == 5 && video_in.size(0) == 1 ? video_in.squeeze(0) : video_in;
  if (video.dim() != 4 || video.size(0) != 3)
    throw Error("cannot write '" + path.string() + "': expected a [3, T, H, W] video tensor, got " +
                    std::string(c10::str(video_in.sizes())),
                ErrorKind::InvalidArgument, path.string());
  options.height = int(video.size(2));
  options.width = int(video.size(3));
  VideoWriter writer(path, options);
  // One buffer owned here for every frame, with zeroed slack after the last row: swscale's SIMD
  // input readers load past the end of a row, and without the slack they read whatever the heap
  // holds there.
  const size_t packed = static_cast<size_t>(options.width) * options.height * 3;
  std::vector<uint8_t> rgb(packed + static_cast<size_t>(3 * options.width) + 64, 0);
  for (int64_t t = 0; t < video.size(1); ++t) {
    const RgbFrame f = tensor_to_frame(video.select(1, t));
    std::copy(f.rgb.begin(), f.rgb.end(), rgb.begin());
    writer.write_rgb(rgb.data(), f.stride());
  }
  writer.finish();
  return writer.frames_written();
}

torch::Tensor preprocess_reference(const RgbFrame& picture, int height, int width) {
  return frame_to_tensor(resize_shorter_and_crop(picture, width, height));
}

}  // namespace s2v::media
