#include "core/media/video_writer.h"

#include <cmath>
#include <system_error>

#include "core/media/ffmpeg_util.h"
#include "models/base/atomic_file.h"

extern "C" {
#include <libavutil/opt.h>
}

namespace s2v::media {

namespace fs = std::filesystem;
using namespace detail;

struct VideoWriter::Impl {
  fs::path path;
  std::unique_ptr<AtomicFile> file;  // "<path>.part" until finish()
  VideoWriterOptions opt;
  AVFormatContext* fmt = nullptr;  // owned; freed in close()
  CodecPtr enc;
  AVStream* stream = nullptr;
  SwsPtr sws;
  FramePtr frame;
  PacketPtr pkt;
  int64_t frames = 0;
  bool header_written = false;
  bool finished = false;

  ~Impl() {
    if (!finished) close(true);
  }

  [[noreturn]] void fail(int err, const std::string& what) { throw_av(err, what, path); }

  // Releases FFmpeg objects; with remove_part, deletes the unfinished "<path>.part".
  void close(bool remove_part) {
    if (fmt) {
      if (fmt->pb) avio_closep(&fmt->pb);
      avformat_free_context(fmt);
      fmt = nullptr;
    }
    enc.reset();
    sws.reset();
    if (remove_part) file.reset();
  }

  // Sends frame (or nullptr to flush) and writes every packet the encoder hands back.
  void encode(AVFrame* f) {
    int err = avcodec_send_frame(enc.get(), f);
    if (err < 0) fail(err, "encode a frame into");
    for (;;) {
      err = avcodec_receive_packet(enc.get(), pkt.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) break;
      if (err < 0) fail(err, "encode a frame into");
      if (pkt->duration <= 0) pkt->duration = 1;  // one frame in the encoder time base
      av_packet_rescale_ts(pkt.get(), enc->time_base, stream->time_base);
      pkt->stream_index = stream->index;
      err = av_interleaved_write_frame(fmt, pkt.get());  // takes the packet's reference
      if (err < 0) fail(err, "write");
      if (fmt->pb && fmt->pb->error < 0) fail(fmt->pb->error, "write");
    }
  }
};

VideoWriter::VideoWriter(const fs::path& path, const VideoWriterOptions& options)
    : impl_(std::make_unique<Impl>()) {
  init_ffmpeg();
  Impl& d = *impl_;
  d.path = path;
  d.opt = options;
  const auto& o = options;
  const std::string name = quoted(path);

  if (o.width <= 0 || o.height <= 0 || o.width > kMaxSide || o.height > kMaxSide)
    throw Error("cannot write " + name + ": the frame size " + std::to_string(o.width) + "x" +
                    std::to_string(o.height) + " is outside 1.." + std::to_string(kMaxSide),
                ErrorKind::InvalidArgument, path.string());
  if (o.codec == VideoCodec::H264 && (o.width % 2 != 0 || o.height % 2 != 0))
    throw Error("cannot write " + name + ": H.264 (yuv420p) needs an even frame size, got " +
                    std::to_string(o.width) + "x" + std::to_string(o.height),
                ErrorKind::InvalidArgument, path.string());
  if (!(o.fps > 0.0) || o.fps > 1000.0 || !std::isfinite(o.fps))
    throw Error("cannot write " + name + ": the frame rate " + std::to_string(o.fps) +
                    " is not in (0, 1000]",
                ErrorKind::InvalidArgument, path.string());
  if (o.crf < 0 || o.crf > 51)
    throw Error("cannot write " + name + ": CRF " + std::to_string(o.crf) + " is not in 0..51",
                ErrorKind::InvalidArgument, path.string());

  // The container follows the final name's extension; no extension -> MP4 (H.264) / MKV (FFV1).
  const AVOutputFormat* ofmt = av_guess_format(nullptr, path.c_str(), nullptr);
  if (!ofmt || path.extension().empty())
    ofmt = av_guess_format(o.codec == VideoCodec::FFV1 ? "matroska" : "mp4", nullptr, nullptr);
  const std::string fmt_name = ofmt ? ofmt->name : "";
  const bool is_mp4 = fmt_name == "mp4" || fmt_name == "mov";
  if (o.codec == VideoCodec::FFV1 && fmt_name != "matroska" && fmt_name != "avi")
    throw Error("cannot write " + name + ": FFV1 needs a .mkv file name", ErrorKind::InvalidArgument,
                path.string());
  if (!is_mp4 && fmt_name != "matroska" && fmt_name != "avi")
    throw Error("cannot write " + name + ": use a .mp4, .mov or .mkv file name",
                ErrorKind::InvalidArgument, path.string());

  // refuses a device, FIFO or folder as the target; a missing folder is NotFound
  d.file = std::make_unique<AtomicFile>(path);
  int err = avformat_alloc_output_context2(&d.fmt, ofmt, nullptr, d.file->part().c_str());
  if (err < 0 || !d.fmt) d.fail(err < 0 ? err : AVERROR(ENOMEM), "create");

  const char* enc_name = o.codec == VideoCodec::H264 ? "libx264" : "ffv1";
  const AVCodec* codec = avcodec_find_encoder_by_name(enc_name);
  if (!codec)
    throw Error("cannot write " + name + ": the " + std::string(enc_name) +
                    " encoder is not available in this FFmpeg build",
                ErrorKind::Unsupported, path.string());
  d.enc.reset(avcodec_alloc_context3(codec));
  if (!d.enc) d.fail(AVERROR(ENOMEM), "create");

  const AVRational rate = av_d2q(o.fps, 1001000);
  AVCodecContext* c = d.enc.get();
  c->width = o.width;
  c->height = o.height;
  c->time_base = av_inv_q(rate);
  c->framerate = rate;
  c->sample_aspect_ratio = AVRational{1, 1};
  c->thread_count = o.threads;
  if (o.codec == VideoCodec::H264) {
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->color_range = AVCOL_RANGE_MPEG;
    c->colorspace = AVCOL_SPC_BT709;
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_BT709;
    av_opt_set(c->priv_data, "preset", o.preset.c_str(), 0);
    av_opt_set_double(c->priv_data, "crf", o.crf, 0);
    // No macroblock-tree rate control: in a long-running process x264's mbtree made a few frames
    // (one B-frame of a clip in several renders, ~44 dB) differ between runs fed bit-identical
    // RGB (checked by hashing the input), so a resumed job's clips did not decode like an
    // uninterrupted one's. Without it the same frames give the same bytes, run after run.
    av_opt_set_int(c->priv_data, "mbtree", 0, 0);
  } else {
    c->pix_fmt = AV_PIX_FMT_0RGB32;  // 8-bit RGB in 32 bits: bit-exact round trip of the input
    c->level = 3;
    av_opt_set_int(c->priv_data, "slicecrc", 1, 0);
  }
  if (d.fmt->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  err = avcodec_open2(c, codec, nullptr);
  if (err < 0) {
    if (err == AVERROR(EINVAL) || err == AVERROR_EXTERNAL)
      throw Error("cannot write " + name + ": the " + std::string(enc_name) +
                      " encoder rejected the settings (preset '" + o.preset + "', " +
                      std::to_string(o.width) + "x" + std::to_string(o.height) + ")",
                  ErrorKind::InvalidArgument, path.string());
    d.fail(err, "open the encoder for");
  }

  d.stream = avformat_new_stream(d.fmt, nullptr);
  if (!d.stream) d.fail(AVERROR(ENOMEM), "create");
  err = avcodec_parameters_from_context(d.stream->codecpar, c);
  if (err < 0) d.fail(err, "create");
  d.stream->time_base = c->time_base;
  d.stream->avg_frame_rate = rate;
  d.stream->r_frame_rate = rate;
  d.stream->sample_aspect_ratio = c->sample_aspect_ratio;

  err = avio_open(&d.fmt->pb, d.file->part().c_str(), AVIO_FLAG_WRITE);
  if (err < 0) d.fail(err, "create");

  AVDictionary* mux_opts = nullptr;
  if (is_mp4 && o.faststart) av_dict_set(&mux_opts, "movflags", "+faststart", 0);
  err = avformat_write_header(d.fmt, &mux_opts);
  av_dict_free(&mux_opts);
  if (err < 0) {
    d.close(true);
    throw_av(err, "write the header of", path);
  }
  d.header_written = true;

  d.frame = make_frame();
  d.frame->format = c->pix_fmt;
  d.frame->width = o.width;
  d.frame->height = o.height;
  d.frame->color_range = c->color_range;
  d.frame->colorspace = c->colorspace;
  err = av_frame_get_buffer(d.frame.get(), 0);
  if (err < 0) d.fail(err, "allocate frames for");
  d.pkt = make_packet();

  d.sws.reset(sws_getContext(o.width, o.height, AV_PIX_FMT_RGB24, o.width, o.height, c->pix_fmt,
                             SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr,
                             nullptr));
  if (!d.sws) d.fail(AVERROR(ENOMEM), "set up colour conversion for");
  if (o.codec == VideoCodec::H264) {
    // RGB (full range) -> BT.709 limited-range YUV, matching the stream's colour tags.
    const int* src = sws_getCoefficients(SWS_CS_DEFAULT);
    const int* dst = sws_getCoefficients(SWS_CS_ITU709);
    sws_setColorspaceDetails(d.sws.get(), src, 1, dst, 0, 0, 1 << 16, 1 << 16);
  }
}

VideoWriter::~VideoWriter() = default;  // Impl's destructor removes an unfinished .part file

void VideoWriter::write_rgb(const uint8_t* rgb, int stride_bytes) {
  Impl& d = *impl_;
  if (d.finished)
    throw Error("cannot write to " + quoted(d.path) + ": finish() was already called",
                ErrorKind::InvalidArgument, d.path.string());
  if (!d.fmt)
    throw Error("cannot write to " + quoted(d.path) + ": an earlier error closed it",
                ErrorKind::InvalidArgument, d.path.string());
  if (!rgb || stride_bytes < 3 * d.opt.width)
    throw Error("cannot write to " + quoted(d.path) + ": the RGB frame stride " +
                    std::to_string(stride_bytes) + " is less than 3 x width",
                ErrorKind::InvalidArgument, d.path.string());
  try {
    int err = av_frame_make_writable(d.frame.get());
    if (err < 0) d.fail(err, "write");
    const uint8_t* src[1] = {rgb};
    const int src_stride[1] = {stride_bytes};
    sws_scale(d.sws.get(), src, src_stride, 0, d.opt.height, d.frame->data, d.frame->linesize);
    d.frame->pts = d.frames;
    d.encode(d.frame.get());
    ++d.frames;
  } catch (...) {
    d.close(true);
    throw;
  }
}

void VideoWriter::finish() {
  Impl& d = *impl_;
  if (d.finished) return;
  if (!d.fmt)
    throw Error("cannot finish " + quoted(d.path) + ": an earlier error closed it",
                ErrorKind::InvalidArgument, d.path.string());
  try {
    if (d.frames == 0)
      throw Error("cannot finish " + quoted(d.path) + ": no frame was written",
                  ErrorKind::InvalidArgument, d.path.string());
    d.encode(nullptr);
    int err = av_write_trailer(d.fmt);
    if (err < 0) d.fail(err, "finish");
    if (d.fmt->pb->error < 0) d.fail(d.fmt->pb->error, "finish");
    avio_flush(d.fmt->pb);
    if (d.fmt->pb->error < 0) d.fail(d.fmt->pb->error, "finish");
    err = avio_closep(&d.fmt->pb);
    if (err < 0) d.fail(err, "finish");
    d.close(false);
    d.file->commit();
    d.finished = true;
  } catch (...) {
    d.close(true);
    throw;
  }
}

int64_t VideoWriter::frames_written() const { return impl_->frames; }
const fs::path& VideoWriter::path() const { return impl_->path; }
const VideoWriterOptions& VideoWriter::options() const { return impl_->opt; }

}  // namespace s2v::media
