#include "core/curate_job/clip_decoder.h"

#include <opencv2/imgproc.hpp>

#include "core/media/audio.h"
#include "core/media/video_reader.h"
#include "models/base/error.h"

namespace s2v::curation {

ClipFrames decode_clip(const std::string& path, const DecodeOptions& o, const std::atomic<bool>* cancel) {
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
  c.sync_fps = o.sync_long_side > 0 ? c.source_fps : 0.0;
  media::RgbFrame f;
  double next_t = 0.0;
  double first_t = -1.0;
  while (reader.read(f)) {
    if (cancel && cancel->load()) throw Cancelled();
    if (first_t < 0) first_t = f.time_s;
    const double t = f.time_s - first_t;
    if (o.max_seconds > 0 && t >= o.max_seconds) break;
    const bool sample = t + 1e-6 >= next_t;
    if (!sample && o.sync_long_side <= 0) continue;
    cv::Mat rgb(f.height, f.width, CV_8UC3, f.rgb.data(), f.stride());
    if (o.sync_long_side > 0) {
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
