#pragma once
// Whole-file helpers the generation suites share: a file's bytes, and every frame of a video.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

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

}  // namespace s2v::test
