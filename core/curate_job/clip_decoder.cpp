#include "core/curate_job/clip_decoder.h"

#include <algorithm>
#include <cstdio>

#include <opencv2/imgproc.hpp>

#include "core/media/audio.h"
#include "core/media/video_reader.h"
#include "models/base/error.h"

namespace s2v::curation {

ClipFrames decode_clip(const std::string& path, const DecodeOptions& o, const CancelToken& cancel) {
  media::VideoReader reader(path);
  const media::MediaInfo& info = reader.info();
  if (!info.has_video || info.kind != media::MediaKind::Video)
    throw Error("'" + path + "' has no video stream to score", ErrorKind::Unsupported, path);
  ClipFrames c;
  c.path = path;
  c.width = reader.width();
  c.height = reader.height();
  c.source_fps = info.fps > 0 ? info.fps : 25.0;
  c.duration_s = info.duration_s;
  c.fps = o.sample_fps;
  // Dense frames serve audio-visual sync only: a clip without audio needs none.
  const bool dense = o.sync_long_side > 0 && info.has_audio;
  c.sync_fps = dense ? c.source_fps : 0.0;
  c.native_stride = std::max(1, o.native_stride);
  // The native window: centred on the clip as far as its length is known from the container.
  int64_t native_begin = 0;
  const int64_t native_span = o.native_frames > 0 ? int64_t(o.native_frames - 1) * c.native_stride + 1 : 0;
  if (native_span > 0) {
    double seconds = info.duration_s;
    if (o.max_seconds > 0 && (seconds <= 0 || o.max_seconds < seconds)) seconds = o.max_seconds;
    const int64_t total = seconds > 0 ? int64_t(seconds * c.source_fps) : 0;
    native_begin = std::max<int64_t>(0, (total - native_span) / 2);
  }
  media::RgbFrame f;
  double next_t = 0.0;
  double first_t = -1.0, last_t = 0.0;
  int64_t decoded = 0;
  bool limit_reached = false;
  for (int64_t index = 0; reader.read(f); ++index) {
    cancel.throw_if_requested();
    if (first_t < 0) first_t = f.time_s;
    const double t = f.time_s - first_t;
    if (o.max_seconds > 0 && t >= o.max_seconds) {
      limit_reached = true;
      break;
    }
    last_t = t;
    ++decoded;
    const bool sample = t + 1e-6 >= next_t;
    const int64_t into_window = index - native_begin;
    const bool native = native_span > 0 && into_window >= 0 && into_window < native_span &&
                        into_window % c.native_stride == 0;
    if (!sample && !native && !dense) continue;
    cv::Mat rgb(f.height, f.width, CV_8UC3, f.rgb.data(), f.stride());
    if (native) {
      cv::Mat bgr;
      cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
      c.native_frames.push_back(bgr);
    }
    if (dense) {
      cv::Mat g;
      cv::cvtColor(resize_long_side(rgb, o.sync_long_side), g, cv::COLOR_RGB2GRAY);
      c.sync_frames.push_back(g);
    }
    if (sample) {
      cv::Mat bgr;
      cv::cvtColor(resize_long_side(rgb), bgr, cv::COLOR_RGB2BGR);
      c.frames.push_back(bgr);
      c.timestamps.push_back(t);
      next_t += 1.0 / o.sample_fps;
    }
  }
  if (c.frames.empty()) throw Error("'" + path + "' has no decodable video frames", ErrorKind::Corrupt, path);
  // A truncated file decodes "fine" up to where its data ends; scoring that part as the whole clip
  // gave verdicts from a fraction of it. The container states the length and frame count: a clip
  // that stops short of both (by more than two frames and 5 %) is flagged.
  if (!limit_reached && info.duration_s > 0) {
    const double stated = o.max_seconds > 0 ? std::min(o.max_seconds, info.duration_s) : info.duration_s;
    const double covered = last_t + 1.0 / c.source_fps;
    const double slack = std::max(2.0 / c.source_fps, 0.05 * stated);
    const int64_t frames_stated =
        o.max_seconds > 0 ? std::min<int64_t>(info.frame_count, int64_t(o.max_seconds * c.source_fps)) : info.frame_count;
    const bool short_in_frames = info.frame_count <= 0 || decoded + 2 < frames_stated;
    if (covered + slack < stated && short_in_frames) {
      char what[160];
      std::snprintf(what, sizeof what, "its video data ends at %.2f s (%lld frames) of the %.2f s (%lld frames) its container states",
                    covered, static_cast<long long>(decoded), stated, static_cast<long long>(frames_stated));
      throw Error("'" + path + "' is truncated: " + what, ErrorKind::Corrupt, path);
    }
  }
  if (c.duration_s <= 0) c.duration_s = c.timestamps.back() + 1.0 / c.source_fps;
  if (info.has_audio) {
    media::AudioReadOptions ao;
    if (o.max_seconds > 0) ao.end_s = o.max_seconds;
    try {
      c.audio = media::read_audio(path, ao).samples;
      c.audio_rate = 16000;
    } catch (const Error&) {
      c.audio.clear();  // an undecodable audio track makes sync n/a, not the clip an error
    }
  }
  return c;
}

}  // namespace s2v::curation
