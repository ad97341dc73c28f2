#pragma once
// VideoWriter: RGB frames in, an H.264 (libx264, yuv420p, MP4/MOV) or FFV1 (lossless, MKV) file
// out, with an exact frame count and frame rate. The file is written under "<path>.part" and
// renamed in finish(), so the final name never holds a half-written file. No Qt, no LibTorch.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace s2v::media {

enum class VideoCodec { H264, FFV1 };

struct VideoWriterOptions {
  int width = 0, height = 0;            // even sizes for H.264 (yuv420p)
  double fps = 16.0;
  VideoCodec codec = VideoCodec::H264;  // FFV1 -> use a .mkv path
  int crf = 18;
  std::string preset = "medium";
  bool faststart = true;
  int threads = 0;                      // encoder threads, 0 = automatic
};

class VideoWriter {
 public:
  // Writes to "<path>.part" and renames to path in finish(); the destructor without finish()
  // removes the partial file (nothing half-written under the final name). Throws s2v::Error:
  // InvalidArgument (sizes, fps, odd H.264 size), NotFound (missing folder), PermissionDenied,
  // Unsupported (encoder missing), Io (disk full).
  VideoWriter(const std::filesystem::path& path, const VideoWriterOptions& options);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // One H x W x 3 uint8 RGB frame; stride_bytes is the distance between rows (>= 3 * width).
  void write_rgb(const uint8_t* rgb, int stride_bytes);
  // Flushes the encoder, writes the trailer (and the faststart move), renames into place.
  void finish();
  int64_t frames_written() const;

  const std::filesystem::path& path() const;
  const VideoWriterOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace s2v::media
