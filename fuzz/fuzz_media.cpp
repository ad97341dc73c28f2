// libFuzzer target: arbitrary bytes as a media file through probe(), VideoReader (a few frames)
// and read_audio(). Every failure must be an s2v::Error; anything else (a crash, a sanitizer
// report, another exception, a hang caught by -timeout) is a bug.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/media/audio.h"
#include "core/media/probe.h"
#include "core/media/video_reader.h"
#include "models/base/error.h"

namespace {

std::filesystem::path scratch_file() {
  const char* shm = "/dev/shm";
  const std::filesystem::path dir = std::filesystem::exists(shm) ? shm : std::filesystem::temp_directory_path();
  return dir / ("s2v_fuzz_" + std::to_string(::getpid()) + ".bin");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path path = scratch_file();
  if (size > (1u << 20)) return 0;
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  using namespace s2v::media;
  try {
    const MediaInfo info = probe(path);
    if (info.has_video) {
      VideoReader reader(path);
      RgbFrame frame;
      for (int i = 0; i < 8 && reader.read(frame); ++i) {
        if (frame.rgb.size() != size_t(frame.width) * frame.height * 3) __builtin_trap();
      }
    }
    if (info.has_audio) {
      AudioReadOptions o;
      o.end_s = 2.0;
      (void)read_audio(path, o);
    }
  } catch (const s2v::Error&) {
    // expected: a typed error for a bad file
  }
  return 0;
}
