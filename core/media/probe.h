#pragma once
// probe(): what a media file holds, decided by its content through libavformat (never by the
// extension). No Qt, no LibTorch.

#include <cstdint>
#include <filesystem>
#include <string>

namespace s2v::media {

enum class MediaKind { Unknown, Image, Video, Audio };
const char* to_string(MediaKind kind);

struct MediaInfo {
  MediaKind kind = MediaKind::Unknown;
  std::string container;       // libavformat demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  // Video / image: the size as displayed, i.e. after rotation (what the decoders return).
  int width = 0, height = 0;
  int coded_width = 0, coded_height = 0;  // as stored, before rotation
  int rotation = 0;            // clockwise degrees (0/90/180/270) applied for display; for images
                               // the EXIF orientation's rotation
  bool mirrored = false;       // EXIF orientations 2, 4, 5, 7 also flip horizontally
  double duration_s = 0.0;     // video: the video stream's length; audio: the file's; 0 for images
  double fps = 0.0;            // average frame rate of the video stream
  int64_t frame_count = 0;     // from the container when stored, else round(duration * fps)
  bool has_video = false;
  bool has_audio = false;
  std::string video_codec;     // "h264", "png", ...
  std::string audio_codec;     // "aac", "pcm_s16le", ...
  int sample_rate = 0;
  int channels = 0;
  double audio_duration_s = 0.0;
  int64_t bit_rate = 0;
};

// Throws s2v::Error naming the file: NotFound, PermissionDenied, Corrupt (truncated, random
// bytes, no streams, zero-size video), Unsupported (no decoder, sides above 8192 px).
MediaInfo probe(const std::filesystem::path& path);

}  // namespace s2v::media
