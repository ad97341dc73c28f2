#pragma once
// Decoding pictures to packed RGB (uint8, H x W x 3): still images (PNG, JPEG, WebP, BMP, TIFF,
// EXIF orientation applied) and videos (MP4, MOV, MKV, AVI, WebM; rotation metadata applied),
// with exact presentation timestamps, seeking, and the frame sampling of the official
// read_last_n_frames. No Qt, no LibTorch (see tensor.h for float CHW).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "core/media/probe.h"

namespace s2v::media {

struct RgbFrame {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // height * width * 3, rows packed (stride = 3 * width)
  int64_t index = -1;        // presentation-order index from the start of the stream
  int64_t pts = 0;           // in the stream time base (exact, as stored)
  double time_s = 0.0;       // pts in seconds from the stream start
  int stride() const { return 3 * width; }
  const uint8_t* pixel(int x, int y) const { return &rgb[(size_t(y) * width + x) * 3]; }
};

struct VideoReaderOptions {
  bool apply_rotation = true;  // turn frames upright by the display matrix / EXIF orientation
  int threads = 0;             // decoder threads, 0 = automatic
};

class VideoReader {
 public:
  // Opens a video (or a still image, read as a one-frame video). Throws s2v::Error like probe().
  explicit VideoReader(const std::filesystem::path& path, const VideoReaderOptions& options = {});
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const MediaInfo& info() const;
  int width() const;   // as returned (after rotation when applied)
  int height() const;

  // The next frame in presentation order; false at the end of the stream. Throws Corrupt when the
  // data cannot be decoded (a truncated tail ends the stream instead when frames were returned).
  bool read(RgbFrame& out);
  // Like read() but without colour conversion: advances past one frame, reporting its pts.
  bool skip(int64_t* pts = nullptr);
  // Positions so that the next read() returns the first frame whose time is >= t_seconds
  // (frame-exact: seeks to the key frame before and decodes forward). Indices of later frames
  // come from their timestamps and the average rate.
  void seek(double t_seconds);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One still image (or the first frame of a video), upright.
RgbFrame read_image(const std::filesystem::path& path);

// Exact number of video frames by reading packets (no decoding); fast even for long files.
int64_t count_frames(const std::filesystem::path& path);

// Frame indices as the official read_last_n_frames: interval = max(1, round(src_fps/target_fps))
// (round half to even, as Python), the last (n-1)*interval+1 frames of the video, or the first
// ones when from_start; indices past the end are dropped (so fewer than n may come back).
std::vector<int64_t> sample_indices_interval(double src_fps, int64_t total_frames,
                                             double target_fps, int64_t n, bool from_start);
// The time-based rule of wan/utils/frame_sampling.py (sample_video_frame_indices): n times
// k/target_fps (shifted to end at the last frame unless from_start), those inside the source
// duration, rounded half to even to source frames.
std::vector<int64_t> sample_indices_timed(double src_fps, int64_t total_frames, double target_fps,
                                          int64_t n, bool from_start);

// Decodes the frames at the given (ascending or not, possibly repeated) indices, returned in the
// order asked for. Throws InvalidArgument for an index past the end.
std::vector<RgbFrame> read_frames(const std::filesystem::path& path,
                                  const std::vector<int64_t>& indices,
                                  const VideoReaderOptions& options = {});

// As read_last_n_frames(video, n_frames, target_fps, reverse=from_start) in the official
// speech2video.py (interval rule, average fps and frame count of the file).
std::vector<RgbFrame> read_last_n_frames(const std::filesystem::path& path, int64_t n_frames,
                                         double target_fps = 16.0, bool from_start = false);

// Clockwise quarter turns and horizontal mirror of a packed RGB frame.
RgbFrame orient(const RgbFrame& in, int rotation_cw, bool mirror);

}  // namespace s2v::media
