#pragma once
// Helpers the generation suites share: a file's bytes, every frame of a video, and synthetic
// inputs (a face-like portrait, a speech-like tone).

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/media/audio.h"
#include "core/media/mux.h"
#include "core/media/video_reader.h"

namespace s2v::test {

inline std::string file_bytes(const std::filesystem::path& f) {
  std::ifstream in(f, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every frame of `video`, decoded in order.
inline std::vector<media::RgbFrame> all_frames(const std::filesystem::path& video) {
  std::vector<int64_t> idx(static_cast<size_t>(media::count_frames(video)));
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
  return media::read_frames(video, idx);
}

// A 96x96 picture with a face-like pattern (skin disc, eyes, mouth) on a gradient.
inline void write_portrait(const std::filesystem::path& path, int w = 96, int h = 96) {
  std::vector<uint8_t> rgb(static_cast<size_t>(w * h * 3));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[static_cast<size_t>((y * w + x) * 3)];
      const double dx = x - w / 2.0, dy = y - h / 2.0;
      const bool face = dx * dx + dy * dy < (w / 3.0) * (w / 3.0);
      p[0] = face ? 225 : static_cast<uint8_t>(40 + y);
      p[1] = face ? 180 : static_cast<uint8_t>(60 + x);
      p[2] = face ? 150 : 120;
      const bool eye = (std::abs(dy + h / 10.0) < 3) && (std::abs(std::abs(dx) - w / 8.0) < 3);
      const bool mouth = std::abs(dy - h / 7.0) < 2 && std::abs(dx) < w / 8.0;
      if (eye || mouth) p[0] = p[1] = p[2] = 20;
    }
  media::write_png(path, rgb.data(), w, h, w * 3);
}

// seconds of a syllable-like tone (amplitude-modulated 220 Hz) at 16 kHz
inline void write_speech_like(const std::filesystem::path& path, double seconds, double amplitude = 0.5) {
  media::AudioBuffer a;
  a.sample_rate = 16000;
  const auto n = static_cast<size_t>(seconds * a.sample_rate);
  a.samples.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / a.sample_rate;
    a.samples[i] = static_cast<float>(amplitude * std::sin(2 * M_PI * 220 * t) * (0.5 + 0.5 * std::sin(2 * M_PI * 4 * t)));
  }
  media::write_wav(path, a);
}

}  // namespace s2v::test
