#pragma once
// Test helpers for core/media: make real media files with the ffmpeg / espeak-ng programs, and
// read raw frames back through the ffmpeg program (an independent decoder to compare against).

#include <QProcess>
#include <QStandardPaths>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/programs.h"
#include "models/base/error.h"

namespace s2v::test {

// Decodes every frame of a file to packed RGB24 with the ffmpeg program (autorotate on).
inline std::vector<uint8_t> ffmpeg_decode_rgb(const std::string& file) {
  QByteArray out;
  const int rc = run_program("ffmpeg",
                             {"-hide_banner", "-loglevel", "error", "-nostdin", "-i",
                              QString::fromStdString(file), "-fps_mode", "passthrough", "-f",
                              "rawvideo", "-pix_fmt", "rgb24",
                              "-"},
                             &out);
  if (rc != 0) return {};
  return std::vector<uint8_t>(out.begin(), out.end());
}

inline void write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// A synthetic RGB frame whose pixels depend on (x, y, index): smooth enough for H.264 to keep.
inline std::vector<uint8_t> pattern_frame(int w, int h, int index) {
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>((x * 255) / std::max(1, w - 1));
      p[1] = static_cast<uint8_t>((y * 255) / std::max(1, h - 1));
      p[2] = static_cast<uint8_t>((index * 37) % 256);
    }
  return rgb;
}

// Runs fn and checks it throws s2v::Error of the given kind whose message names needle.
template <typename Fn>
bool throws_kind(Fn&& fn, s2v::ErrorKind kind, const std::string& needle, std::string* msg = nullptr) {
  try {
    fn();
  } catch (const s2v::Error& e) {
    if (msg) *msg = e.what();
    if (e.kind() != kind) {
      qWarning("wrong kind '%s' for: %s", s2v::to_string(e.kind()), e.what());
      return false;
    }
    if (std::string(e.what()).find(needle) == std::string::npos) {
      qWarning("message does not name '%s': %s", needle.c_str(), e.what());
      return false;
    }
    qInfo("%s error: %s", s2v::to_string(e.kind()), e.what());
    return true;
  } catch (const std::exception& e) {
    qWarning("not an s2v::Error: %s", e.what());
    return false;
  }
  qWarning("no exception thrown");
  return false;
}

}  // namespace s2v::test
