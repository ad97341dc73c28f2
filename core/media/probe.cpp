#include "core/media/probe.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>

#include "core/media/ffmpeg_util.h"

namespace s2v::media {

namespace fs = std::filesystem;
using namespace detail;

const char* to_string(MediaKind kind) {
  switch (kind) {
    case MediaKind::Image: return "image";
    case MediaKind::Video: return "video";
    case MediaKind::Audio: return "audio";
    case MediaKind::Unknown: return "unknown";
  }
  return "unknown";
}

namespace {

// Single-picture demuxers ("png_pipe", "jpeg_pipe", "webp_pipe", "image2", ...).
bool is_image_demuxer(const AVInputFormat* f) {
  const std::string n = f ? f->name : "";
  return n == "image2" || (n.size() > 5 && n.compare(n.size() - 5, 5, "_pipe") == 0);
}

// Width and height from a PNG's IHDR chunk ({0, 0} when the file is not a PNG).
std::pair<int64_t, int64_t> png_header_size(const fs::path& path) {
  unsigned char b[24] = {0};
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(b), sizeof b)) return {0, 0};
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (std::memcmp(b, sig, 8) != 0 || std::memcmp(b + 12, "IHDR", 4) != 0) return {0, 0};
  auto be32 = [&](int o) { return int64_t(b[o]) << 24 | int64_t(b[o + 1]) << 16 | int64_t(b[o + 2]) << 8 | b[o + 3]; };
  return {be32(16), be32(20)};
}

double to_seconds(int64_t ts, AVRational tb) {
  return ts == AV_NOPTS_VALUE ? 0.0 : static_cast<double>(ts) * av_q2d(tb);
}

// A stream's own length: its duration field, else the DURATION tag Matroska keeps per track
// ("HH:MM:SS.nnnnnnnnn"). Without it an MKV's video took the container's length, which is the
// longest stream's: a clip whose audio runs 1.5 s past its picture was called truncated.
double stream_seconds(const AVStream* st) {
  const double d = to_seconds(st->duration, st->time_base);
  if (d > 0) return d;
  const AVDictionaryEntry* tag = av_dict_get(st->metadata, "DURATION", nullptr, 0);
  int h = 0, m = 0;
  double sec = 0;
  if (tag && std::sscanf(tag->value, "%d:%d:%lf", &h, &m, &sec) == 3 && h >= 0 && m >= 0 && sec >= 0)
    return h * 3600.0 + m * 60.0 + sec;
  return 0.0;
}

}  // namespace

MediaInfo probe(const fs::path& path) {
  InputPtr in = open_input(path, "read");
  AVFormatContext* fmt = in.get();
  MediaInfo info;
  info.container = fmt->iformat ? fmt->iformat->name : "";
  info.bit_rate = fmt->bit_rate;
  const std::string name = quoted(path);

  const int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  const int a = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  const AVStream* vs = v >= 0 ? fmt->streams[v] : nullptr;
  const AVStream* as = a >= 0 ? fmt->streams[a] : nullptr;
  // Cover art inside an audio file is a picture attached to the audio, not a video.
  if (vs && (vs->disposition & AV_DISPOSITION_ATTACHED_PIC) && as) vs = nullptr;

  if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
    info.duration_s = static_cast<double>(fmt->duration) / AV_TIME_BASE;

  if (as) {
    info.has_audio = true;
    info.audio_codec = avcodec_get_name(as->codecpar->codec_id);
    info.sample_rate = as->codecpar->sample_rate;
    info.channels = as->codecpar->ch_layout.nb_channels;
    info.audio_duration_s = stream_seconds(as);
    if (info.audio_duration_s <= 0) info.audio_duration_s = info.duration_s;
    if (!avcodec_find_decoder(as->codecpar->codec_id) && !vs)
      throw Error("cannot read " + name + ": no decoder is available for its audio codec '" +
                      info.audio_codec + "'",
                  ErrorKind::Unsupported, path.string());
  }

  if (vs) {
    info.has_video = true;
    const AVCodecParameters* par = vs->codecpar;
    info.video_codec = avcodec_get_name(par->codec_id);
    info.coded_width = par->width;
    info.coded_height = par->height;
    if (par->width <= 0 || par->height <= 0) {
      // FFmpeg leaves 0x0 when it refuses a picture too large to allocate: say what the header says
      const auto [w, h] = png_header_size(path);
      if (w > kMaxSide || h > kMaxSide)
        throw Error("cannot read " + name + ": its frame size " + std::to_string(w) + "x" + std::to_string(h) +
                        " is above the " + std::to_string(kMaxSide) + " px limit",
                    ErrorKind::Unsupported, path.string());
      if (w > 0 && h > 0)  // a sound header over picture data that ends early or is damaged
        throw Error("cannot read " + name + ": its " + std::to_string(w) + "x" + std::to_string(h) +
                        " picture cannot be decoded: the data is truncated or damaged",
                    ErrorKind::Corrupt, path.string());
      throw Error("cannot read " + name + ": its video stream has no frame size FFmpeg could read (" +
                      std::to_string(par->width) + "x" + std::to_string(par->height) +
                      "): the header is damaged or the picture is larger than FFmpeg decodes",
                  ErrorKind::Corrupt, path.string());
    }
    if (par->width > kMaxSide || par->height > kMaxSide)
      throw Error("cannot read " + name + ": its frame size " + std::to_string(par->width) + "x" +
                      std::to_string(par->height) + " is above the " + std::to_string(kMaxSide) +
                      " px limit",
                  ErrorKind::Unsupported, path.string());
    if (!avcodec_find_decoder(par->codec_id))
      throw Error("cannot read " + name + ": " +
                      (par->codec_id == AV_CODEC_ID_NONE
                           ? std::string("its video codec is unknown to FFmpeg")
                           : "no decoder is available for its video codec '" + info.video_codec + "'"),
                  ErrorKind::Unsupported, path.string());

    AVRational rate = vs->avg_frame_rate;
    if (rate.num <= 0 || rate.den <= 0) rate = vs->r_frame_rate;
    if (rate.num > 0 && rate.den > 0) info.fps = av_q2d(rate);

    const bool image = is_image_demuxer(fmt->iformat) && !as;
    if (image) {
      info.kind = MediaKind::Image;
      info.duration_s = 0.0;
      info.fps = 0.0;
      info.frame_count = 1;
      const ImageOrientation o = decode_image_orientation(fmt, vs, path);
      info.rotation = o.rotation;
      info.mirrored = o.mirrored;
    } else {
      info.kind = MediaKind::Video;
      info.rotation = stream_rotation(vs);
      const double vdur = stream_seconds(vs);
      if (vdur > 0) info.duration_s = vdur;  // the stream's time base is finer than the file's
      if (vs->nb_frames > 0) {
        info.frame_count = vs->nb_frames;
      } else if (info.fps > 0) {
        info.frame_count = std::llround((vdur > 0 ? vdur : info.duration_s) * info.fps);
      }
    }
    const bool swap = info.rotation == 90 || info.rotation == 270;
    info.width = swap ? par->height : par->width;
    info.height = swap ? par->width : par->height;
  } else if (as) {
    info.kind = MediaKind::Audio;
    if (info.duration_s <= 0) info.duration_s = info.audio_duration_s;
  } else {
    throw Error("cannot read " + name + ": the file holds no audio or video stream",
                ErrorKind::Unsupported, path.string());
  }
  return info;
}

}  // namespace s2v::media
