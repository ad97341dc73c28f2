// bench_media [--decode-frames N] [--encode-frames N] [--preset P]
// Makes its own inputs with VideoWriter in a temporary folder, then times VideoReader and
// VideoWriter. Real-time factor: decode fps / source fps; encode fps / 16 (the S2V output rate).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/media/video_reader.h"
#include "core/media/video_writer.h"
#include "models/base/error.h"

namespace fs = std::filesystem;
using namespace s2v::media;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<uint8_t> moving_picture(int w, int h, int t) {
  std::vector<uint8_t> rgb(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[(size_t(y) * w + x) * 3];
      p[0] = uint8_t(x + 3 * t);
      p[1] = uint8_t(y * 2 - t);
      p[2] = uint8_t(((x / 32 + y / 32 + t / 4) & 1) ? 200 : 40);
    }
  return rgb;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Encodes n frames; returns frames per second.
double encode(const fs::path& p, int w, int h, double fps, int n, const std::string& preset) {
  VideoWriterOptions o;
  o.width = w;
  o.height = h;
  o.fps = fps;
  o.preset = preset;
  std::vector<std::vector<uint8_t>> frames;
  for (int i = 0; i < 8; ++i) frames.push_back(moving_picture(w, h, i));
  const auto t0 = Clock::now();
  VideoWriter writer(p, o);
  for (int i = 0; i < n; ++i) writer.write_rgb(frames[size_t(i) % frames.size()].data(), 3 * w);
  writer.finish();
  return n / seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  int decode_frames = 125, encode_frames = 80;
  std::string preset = "medium";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--decode-frames")) decode_frames = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--encode-frames")) encode_frames = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--preset")) preset = argv[i + 1];
  }
  const fs::path dir = fs::temp_directory_path() / ("bench_media_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  try {
    std::printf("%-44s %10s %10s\n", "case", "fps", "realtime");
    // Decode: 1080p H.264 at 25 fps (made with the ultrafast preset, then timed separately).
    const fs::path clip = dir / "clip1080.mp4";
    encode(clip, 1920, 1080, 25.0, decode_frames, "veryfast");
    {
      const auto t0 = Clock::now();
      VideoReader r(clip);
      RgbFrame f;
      int n = 0;
      while (r.read(f)) ++n;
      const double fps = n / seconds_since(t0);
      std::printf("%-44s %10.1f %9.2fx\n", "decode 1920x1080 H.264 -> RGB (25 fps src)", fps,
                  fps / 25.0);
    }
    {
      const auto t0 = Clock::now();
      VideoReader r(clip);
      int n = 0;
      while (r.skip()) ++n;
      const double fps = n / seconds_since(t0);
      std::printf("%-44s %10.1f %9.2fx\n", "decode 1920x1080 H.264, no RGB conversion", fps,
                  fps / 25.0);
    }
    // Encode: 832x480 (the S2V 480p size) at 16 fps.
    for (const std::string& p : {preset, std::string("veryfast")}) {
      const double fps = encode(dir / ("enc_" + p + ".mp4"), 832, 480, 16.0, encode_frames, p);
      const std::string name = "encode 832x480 H.264 crf 18, preset " + p;
      std::printf("%-44s %10.1f %9.2fx\n", name.c_str(), fps, fps / 16.0);
    }
  } catch (const s2v::Error& e) {
    std::fprintf(stderr, "bench_media: %s\n", e.what());
    fs::remove_all(dir);
    return 1;
  }
  fs::remove_all(dir);
  return 0;
}
