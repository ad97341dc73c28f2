#include "core/media/ffmpeg_util.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>
#include <unistd.h>

extern "C" {
#include <libavutil/display.h>
}

namespace s2v::media::detail {

namespace fs = std::filesystem;

void init_ffmpeg() {
  static std::once_flag once;
  std::call_once(once, [] {
    int level = AV_LOG_QUIET;
    if (const char* env = std::getenv("S2V_FFMPEG_LOG")) {
      const std::string v = env;
      if (v == "debug") level = AV_LOG_DEBUG;
      else if (v == "info") level = AV_LOG_INFO;
      else if (v == "warning") level = AV_LOG_WARNING;
      else if (v == "error") level = AV_LOG_ERROR;
    }
    av_log_set_level(level);
  });
}

std::string av_error_string(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

ErrorKind kind_of(int err) {
  switch (err) {
    case AVERROR(ENOENT): return ErrorKind::NotFound;
    case AVERROR(EACCES):
    case AVERROR(EPERM): return ErrorKind::PermissionDenied;
    case AVERROR(ENOSPC):
    case AVERROR(EIO):
    case AVERROR(EFBIG):
    case AVERROR(EDQUOT): return ErrorKind::Io;
    case AVERROR(ENOMEM): return ErrorKind::OutOfMemory;
    case AVERROR(EINVAL): return ErrorKind::InvalidArgument;
    case AVERROR_INVALIDDATA:
    case AVERROR_EOF: return ErrorKind::Corrupt;
    case AVERROR_DECODER_NOT_FOUND:
    case AVERROR_DEMUXER_NOT_FOUND:
    case AVERROR_ENCODER_NOT_FOUND:
    case AVERROR_MUXER_NOT_FOUND:
    case AVERROR_PROTOCOL_NOT_FOUND:
    case AVERROR_PATCHWELCOME: return ErrorKind::Unsupported;
    case AVERROR_EXIT: return ErrorKind::Cancelled;
    default: return ErrorKind::Generic;
  }
}

[[noreturn]] void throw_av(int err, const std::string& what, const fs::path& file) {
  std::string reason;
  switch (err) {
    case AVERROR(ENOENT): reason = "the file does not exist"; break;
    case AVERROR(EACCES):
    case AVERROR(EPERM): reason = "permission denied"; break;
    case AVERROR(ENOSPC): reason = "the disk is full"; break;
    case AVERROR_INVALIDDATA: reason = "the data is corrupt or not a recognised media format"; break;
    case AVERROR_EOF: reason = "the file is truncated"; break;
    case AVERROR_DECODER_NOT_FOUND: reason = "no decoder is available for its codec"; break;
    case AVERROR_DEMUXER_NOT_FOUND: reason = "its container format is not supported"; break;
    case AVERROR_ENCODER_NOT_FOUND: reason = "the encoder is not available in this FFmpeg"; break;
    case AVERROR_MUXER_NOT_FOUND: reason = "the output container is not supported"; break;
    default: reason = av_error_string(err); break;
  }
  throw Error("cannot " + what + " " + quoted(file) + ": " + reason, kind_of(err), file.string());
}

void check_readable(const fs::path& file, const std::string& what) {
  std::error_code ec;
  const auto st = fs::status(file, ec);
  if (ec || !fs::exists(st)) {
    if (ec && ec.value() == EACCES)
      throw Error("cannot " + what + " " + quoted(file) + ": permission denied",
                  ErrorKind::PermissionDenied, file.string());
    if (ec && ec.value() == ELOOP)
      throw Error("cannot " + what + " " + quoted(file) + ": its path is a loop of symbolic links",
                  ErrorKind::InvalidArgument, file.string());
    if (ec && ec.value() == ENOTDIR)
      throw Error("cannot " + what + " " + quoted(file) + ": a part of its path is a file, not a folder",
                  ErrorKind::NotFound, file.string());
    throw Error("cannot " + what + " " + quoted(file) + ": the file does not exist",
                ErrorKind::NotFound, file.string());
  }
  if (fs::is_directory(st))
    throw Error("cannot " + what + " " + quoted(file) + ": it is a folder, not a file",
                ErrorKind::InvalidArgument, file.string());
  // A FIFO, a socket or a device blocks in open() or read() until someone writes to it (forever,
  // and a cancel cannot reach a thread stuck there): media inputs are regular files.
  if (!fs::is_regular_file(st))
    throw Error("cannot " + what + " " + quoted(file) + ": it is " +
                    (fs::is_fifo(st) ? "a FIFO (named pipe)" : fs::is_socket(st) ? "a socket" : "a device") +
                    ", not a regular file",
                ErrorKind::InvalidArgument, file.string());
  if (::access(file.c_str(), R_OK) != 0)
    throw Error("cannot " + what + " " + quoted(file) + ": permission denied",
                ErrorKind::PermissionDenied, file.string());
  if (fs::is_regular_file(st) && fs::file_size(file, ec) == 0 && !ec)
    throw Error("cannot " + what + " " + quoted(file) + ": the file is empty", ErrorKind::Corrupt,
                file.string());
}

FramePtr make_frame() {
  FramePtr f(av_frame_alloc());
  if (!f) throw Error("cannot allocate an FFmpeg frame: out of memory", ErrorKind::OutOfMemory);
  return f;
}

PacketPtr make_packet() {
  PacketPtr p(av_packet_alloc());
  if (!p) throw Error("cannot allocate an FFmpeg packet: out of memory", ErrorKind::OutOfMemory);
  return p;
}

InputPtr open_input(const fs::path& file, const std::string& what) {
  init_ffmpeg();
  check_readable(file, what);
  AVFormatContext* raw = nullptr;
  int err = avformat_open_input(&raw, file.c_str(), nullptr, nullptr);
  if (err < 0) throw_av(err, what, file);
  InputPtr ctx(raw);
  err = avformat_find_stream_info(ctx.get(), nullptr);
  if (err < 0) throw_av(err, what, file);
  if (ctx->nb_streams == 0)
    throw Error("cannot " + what + " " + quoted(file) + ": the file holds no audio or video stream",
                ErrorKind::Corrupt, file.string());
  return ctx;
}

CodecPtr open_decoder(const AVStream* stream, const fs::path& file, int threads) {
  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  if (!codec)
    throw Error("cannot decode " + quoted(file) + ": no decoder is available for its codec '" +
                    std::string(avcodec_get_name(stream->codecpar->codec_id)) + "'",
                ErrorKind::Unsupported, file.string());
  CodecPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) throw Error("cannot allocate a decoder: out of memory", ErrorKind::OutOfMemory);
  int err = avcodec_parameters_to_context(ctx.get(), stream->codecpar);
  if (err < 0) throw_av(err, "decode", file);
  ctx->pkt_timebase = stream->time_base;
  ctx->thread_count = threads;
  err = avcodec_open2(ctx.get(), codec, nullptr);
  if (err < 0) throw_av(err, "open the decoder for", file);
  return ctx;
}

int stream_rotation(const AVStream* stream) {
  const uint8_t* matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
  if (!matrix) return 0;
  const double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
  if (std::isnan(ccw)) return 0;
  // av_display_rotation_get gives the counter-clockwise angle the matrix applies; displaying
  // upright needs the opposite (clockwise) turn, as ffmpeg's own autorotate does.
  int cw = static_cast<int>(std::lround(-ccw)) % 360;
  if (cw < 0) cw += 360;
  return ((cw + 45) / 90 * 90) % 360;
}

ImageOrientation orientation_from_exif(int exif) {
  switch (exif) {
    case 2: return {0, true};
    case 3: return {180, false};
    case 4: return {180, true};
    case 5: return {270, true};
    case 6: return {90, false};
    case 7: return {90, true};
    case 8: return {270, false};
    default: return {0, false};
  }
}

ImageOrientation frame_orientation(const AVFrame* frame) {
  if (const AVDictionaryEntry* e = av_dict_get(frame->metadata, "Orientation", nullptr, 0)) {
    const int v = std::atoi(e->value);
    if (v >= 1 && v <= 8) return orientation_from_exif(v);
  }
  if (const AVFrameSideData* sd = av_frame_get_side_data(frame, AV_FRAME_DATA_DISPLAYMATRIX)) {
    const int32_t* m = reinterpret_cast<const int32_t*>(sd->data);
    const double ccw = av_display_rotation_get(m);
    if (!std::isnan(ccw)) {
      int cw = static_cast<int>(std::lround(-ccw)) % 360;
      if (cw < 0) cw += 360;
      // A negative determinant means a flip as well.
      const double det = static_cast<double>(m[0]) * m[4] - static_cast<double>(m[1]) * m[3];
      return {((cw + 45) / 90 * 90) % 360, det < 0};
    }
  }
  return {};
}

ImageOrientation decode_image_orientation(AVFormatContext* fmt, const AVStream* stream,
                                          const fs::path& file) {
  CodecPtr dec = open_decoder(stream, file, 1);
  PacketPtr pkt = make_packet();
  FramePtr frame = make_frame();
  bool sent_eof = false;
  for (int guard = 0; guard < 100000; ++guard) {
    int err = avcodec_receive_frame(dec.get(), frame.get());
    if (err >= 0) return frame_orientation(frame.get());
    if (err == AVERROR_EOF) break;
    if (err != AVERROR(EAGAIN)) throw_av(err == AVERROR(EINVAL) ? AVERROR_INVALIDDATA : err, "decode", file);
    if (sent_eof) break;
    err = av_read_frame(fmt, pkt.get());
    if (err == AVERROR_EOF) {
      avcodec_send_packet(dec.get(), nullptr);
      sent_eof = true;
      continue;
    }
    if (err < 0) throw_av(err, "read", file);
    if (pkt->stream_index == stream->index) {
      err = avcodec_send_packet(dec.get(), pkt.get());
      av_packet_unref(pkt.get());
      if (err < 0 && err != AVERROR(EAGAIN)) throw_av(err == AVERROR(EINVAL) ? AVERROR_INVALIDDATA : err, "decode", file);
    } else {
      av_packet_unref(pkt.get());
    }
  }
  throw Error("cannot decode " + quoted(file) + ": the picture data is truncated or corrupt",
              ErrorKind::Corrupt, file.string());
}

}  // namespace s2v::media::detail
