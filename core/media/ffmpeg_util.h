#pragma once
// Internal to core/media: RAII owners for FFmpeg objects, and turning FFmpeg error codes into
// s2v::Error sentences that name the file. Not for the UI (includes FFmpeg headers).

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include "models/base/error.h"

namespace s2v::media::detail {

// Quiets FFmpeg's own logging once per process (env S2V_FFMPEG_LOG=debug|info|warning|error
// restores it). Our errors are reported as s2v::Error instead.
void init_ffmpeg();

std::string av_error_string(int err);

// The ErrorKind for an FFmpeg return code (ENOENT -> NotFound, EACCES -> PermissionDenied,
// ENOSPC/EIO -> Io, INVALIDDATA/EOF-in-header -> Corrupt, DECODER/DEMUXER_NOT_FOUND -> Unsupported).
ErrorKind kind_of(int err);

// "cannot <what> '<file>': <reason>" with the kind derived from err.
[[noreturn]] void throw_av(int err, const std::string& what, const std::filesystem::path& file);

// Checks that a path can be read before FFmpeg sees it so missing files and permissions get a
// precise sentence. Throws NotFound / PermissionDenied / InvalidArgument (a folder, a FIFO, a
// socket or a device, which would block in open(); a loop of symbolic links).
void check_readable(const std::filesystem::path& file, const std::string& what);

// A display name for messages: the file name with its folder, as given.
inline std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

struct FormatInputDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
using InputPtr = std::unique_ptr<AVFormatContext, FormatInputDeleter>;

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using CodecPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;

struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;

struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;

struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;

struct SwrDeleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;

FramePtr make_frame();
PacketPtr make_packet();

// Opens a file for demuxing and reads stream info. Throws s2v::Error naming the file.
InputPtr open_input(const std::filesystem::path& file, const std::string& what);

// An opened decoder for one stream (threads: 0 = automatic).
CodecPtr open_decoder(const AVStream* stream, const std::filesystem::path& file, int threads = 0);

// Clockwise rotation in degrees (0, 90, 180, 270) that makes the stream display upright, from its
// display matrix side data.
int stream_rotation(const AVStream* stream);

// EXIF orientation (1..8) as "mirror horizontally first, then turn clockwise".
struct ImageOrientation {
  int rotation = 0;       // clockwise degrees
  bool mirrored = false;  // horizontal flip applied before the rotation
};
ImageOrientation orientation_from_exif(int exif);
// From a decoded picture: its "Orientation" EXIF metadata, else a display matrix side data.
ImageOrientation frame_orientation(const AVFrame* frame);
// Decodes the first picture of stream and returns its orientation. Throws Corrupt when the
// picture cannot be decoded.
ImageOrientation decode_image_orientation(AVFormatContext* fmt, const AVStream* stream,
                                          const std::filesystem::path& file);

// Maximum image / video side we accept.
constexpr int kMaxSide = 8192;

}  // namespace s2v::media::detail
