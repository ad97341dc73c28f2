#pragma once
// Test-only decoding for the curation suites: cv::VideoCapture for frames and the ffmpeg CLI for
// audio and for making variants of Debian's sample clips. The library itself never decodes.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <QProcess>
#include <QStringList>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "common/programs.h"
#include "core/curation/clip_frames.h"

namespace s2v::curation::test {

inline std::filesystem::path sample_dir() {
  if (const char* env = std::getenv("S2V_OPENCV_SAMPLES")) return env;
  return "/usr/share/doc/opencv-doc/examples/data";
}

using s2v::test::ffmpeg;  // tests/common/programs.h

// Mono 16 kHz float audio of a file (empty when it has no audio stream).
inline std::vector<float> read_audio(const std::string& path, double max_s = 0) {
  QProcess p;
  QStringList args = {"-hide_banner", "-loglevel", "error", "-i", QString::fromStdString(path)};
  if (max_s > 0) args << "-t" << QString::number(max_s);
  args << "-vn" << "-ac" << "1" << "-ar" << "16000" << "-f" << "f32le" << "-";
  p.start("ffmpeg", args);
  p.waitForFinished(300000);
  const QByteArray raw = p.readAllStandardOutput();
  std::vector<float> out(raw.size() / sizeof(float));
  std::memcpy(out.data(), raw.constData(), out.size() * sizeof(float));
  return out;
}

// Decodes `path`: frames sampled at `fps` resized to the working resolution, dense grey frames
// at 288 px for sync, audio through ffmpeg. `draw` may paint on each sampled working frame.
template <typename Draw>
ClipFrames decode_clip(const std::string& path, double max_s, bool with_audio, Draw draw,
                       double fps = kDefaultSampleFps) {
  ClipFrames c;
  c.path = path;
  c.fps = fps;
  cv::VideoCapture cap(path);
  if (!cap.isOpened()) return c;
  c.source_fps = cap.get(cv::CAP_PROP_FPS);
  if (!(c.source_fps > 0)) c.source_fps = 25;
  c.width = int(cap.get(cv::CAP_PROP_FRAME_WIDTH));
  c.height = int(cap.get(cv::CAP_PROP_FRAME_HEIGHT));
  c.sync_fps = c.source_fps;
  cv::Mat f;
  double next_t = 0.0;
  int i = 0;
  for (; cap.read(f); ++i) {
    const double t = i / c.source_fps;
    if (max_s > 0 && t >= max_s) break;
    cv::Mat g, small;
    cv::cvtColor(resize_long_side(f, 288), g, cv::COLOR_BGR2GRAY);
    c.sync_frames.push_back(g);
    if (t + 1e-6 >= next_t) {
      cv::Mat w = resize_long_side(f).clone();
      draw(w, int(c.frames.size()));
      c.frames.push_back(w);
      c.timestamps.push_back(t);
      next_t += 1.0 / fps;
    }
  }
  c.duration_s = i / c.source_fps;
  if (with_audio) c.audio = read_audio(path, max_s);
  return c;
}

inline ClipFrames decode_clip(const std::string& path, double max_s = 0, bool with_audio = true) {
  return decode_clip(path, max_s, with_audio, [](cv::Mat&, int) {});
}

}  // namespace s2v::curation::test
