#include "core/media/mux.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

#include "core/media/ffmpeg_util.h"
#include "core/media/video_reader.h"
#include "models/base/atomic_file.h"

extern "C" {
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

namespace s2v::media {

namespace fs = std::filesystem;
using namespace detail;

namespace {

struct FifoDeleter {
  void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
};

// The output file: "<out>.part" until commit(); removed when abandoned.
struct Output {
  fs::path path;
  std::unique_ptr<AtomicFile> file;  // removes the .part unless committed
  AVFormatContext* fmt = nullptr;

  ~Output() {
    if (fmt) {
      if (fmt->pb) avio_closep(&fmt->pb);
      avformat_free_context(fmt);
    }
  }
  void check_io(const char* what) {
    if (fmt->pb && fmt->pb->error < 0) throw_av(fmt->pb->error, what, path);
  }
  void write(AVPacket* pkt) {
    const int err = av_interleaved_write_frame(fmt, pkt);
    if (err < 0) throw_av(err, "write", path);
    check_io("write");
  }
};

// Decodes an audio file, resamples to the AAC encoder's format, trims/pads to a sample count,
// encodes, and writes packets to the output as time advances.
class AudioTrack {
 public:
  AudioTrack(const fs::path& file, double start_s, int bitrate, Output& out) : file_(file), out_(out) {
    in_ = open_input(file, "read audio from");
    idx_ = av_find_best_stream(in_.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (idx_ < 0)
      throw Error("cannot use the audio of " + quoted(file) + ": the file holds no audio stream",
                  ErrorKind::Unsupported, file.string());
    for (unsigned i = 0; i < in_->nb_streams; ++i)
      if (int(i) != idx_) in_->streams[i]->discard = AVDISCARD_ALL;
    AVStream* st = in_->streams[idx_];
    dec_ = open_decoder(st, file, 1);

    // MP4/MOV: AAC. Matroska: FLAC, because Matroska cannot mark AAC's encoder delay and padding
    // (the sound would start ~64 ms late) and a lossless export wants lossless sound anyway.
    const std::string oname = out.fmt->oformat->name;
    const AVCodecID codec_id = oname == "matroska" ? AV_CODEC_ID_FLAC : AV_CODEC_ID_AAC;
    const AVCodec* codec = avcodec_find_encoder(codec_id);
    if (!codec)
      throw Error("cannot write " + quoted(out.path) + ": no " + avcodec_get_name(codec_id) +
                      " encoder in this FFmpeg build",
                  ErrorKind::Unsupported, out.path.string());
    enc_.reset(avcodec_alloc_context3(codec));
    int rate = st->codecpar->sample_rate > 0 ? st->codecpar->sample_rate : 48000;
    if (codec->supported_samplerates) {
      bool supported = false;
      for (const int* r = codec->supported_samplerates; *r; ++r) supported |= *r == rate;
      if (!supported) rate = 48000;
    }
    enc_->sample_rate = rate;
    enc_->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
    if (st->codecpar->ch_layout.nb_channels == 1)
      enc_->ch_layout = AV_CHANNEL_LAYOUT_MONO;
    else
      enc_->ch_layout = AV_CHANNEL_LAYOUT_STEREO;
    if (codec_id == AV_CODEC_ID_AAC) enc_->bit_rate = bitrate;
    enc_->time_base = AVRational{1, rate};
    if (out.fmt->oformat->flags & AVFMT_GLOBALHEADER) enc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int err = avcodec_open2(enc_.get(), codec, nullptr);
    if (err < 0) throw_av(err, "open the audio encoder for", out.path);
    stream_ = avformat_new_stream(out.fmt, nullptr);
    if (!stream_) throw_av(AVERROR(ENOMEM), "create", out.path);
    avcodec_parameters_from_context(stream_->codecpar, enc_.get());
    stream_->time_base = enc_->time_base;
    fifo_.reset(av_audio_fifo_alloc(enc_->sample_fmt, enc_->ch_layout.nb_channels, 4096));
    frame_ = make_frame();
    in_frame_ = make_frame();
    pkt_ = make_packet();
    enc_pkt_ = make_packet();
    skip_ = std::llround(std::max(0.0, start_s) * rate);
  }

  int rate() const { return enc_->sample_rate; }
  void set_needed(int64_t samples) { needed_ = samples; }
  int64_t produced() const { return produced_; }

  // Encodes and writes audio until it reaches t seconds (or the needed length).
  void pump(double t) {
    while (produced_ < needed_ && double(produced_) / rate() < t) {
      const int frame_size = enc_->frame_size > 0 ? enc_->frame_size : 1024;
      const int64_t want = std::min<int64_t>(frame_size, needed_ - produced_);
      while (av_audio_fifo_size(fifo_.get()) < want && !in_done_) decode_more();
      if (av_audio_fifo_size(fifo_.get()) < want) pad_silence(int(want) - av_audio_fifo_size(fifo_.get()));
      encode_frame(int(want));
    }
  }

  void finish() {
    pump(std::numeric_limits<double>::infinity());
    send(nullptr);
  }

 private:
  void decode_more() {
    int err = avcodec_receive_frame(dec_.get(), in_frame_.get());
    if (err >= 0) {
      push(in_frame_.get());
      av_frame_unref(in_frame_.get());
      return;
    }
    if (err == AVERROR_EOF || (err != AVERROR(EAGAIN) && any_)) {
      flush_resampler();
      in_done_ = true;
      return;
    }
    if (err != AVERROR(EAGAIN)) throw_av(err, "decode audio of", file_);
    if (eof_sent_) {
      flush_resampler();
      in_done_ = true;
      return;
    }
    err = av_read_frame(in_.get(), pkt_.get());
    if (err < 0) {
      if (err != AVERROR_EOF && !any_) throw_av(err, "read audio from", file_);
      avcodec_send_packet(dec_.get(), nullptr);
      eof_sent_ = true;
      return;
    }
    if (pkt_->stream_index == idx_) avcodec_send_packet(dec_.get(), pkt_.get());
    av_packet_unref(pkt_.get());
  }

  void push(AVFrame* f) {
    any_ = true;
    if (!swr_ || f->sample_rate != swr_rate_ || f->format != swr_fmt_ ||
        f->ch_layout.nb_channels != swr_ch_) {
      flush_resampler();
      AVChannelLayout in_layout{};
      if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&in_layout, f->ch_layout.nb_channels);
      else
        av_channel_layout_copy(&in_layout, &f->ch_layout);
      SwrContext* raw = nullptr;
      int err = swr_alloc_set_opts2(&raw, &enc_->ch_layout, enc_->sample_fmt, rate(), &in_layout,
                                    AVSampleFormat(f->format), f->sample_rate, 0, nullptr);
      av_channel_layout_uninit(&in_layout);
      swr_.reset(raw);
      if (err < 0 || swr_init(swr_.get()) < 0)
        throw Error("cannot resample the audio of " + quoted(file_), ErrorKind::Unsupported,
                    file_.string());
      swr_rate_ = f->sample_rate;
      swr_fmt_ = f->format;
      swr_ch_ = f->ch_layout.nb_channels;
    }
    convert(const_cast<const uint8_t**>(f->extended_data), f->nb_samples);
  }

  void flush_resampler() {
    if (swr_) convert(nullptr, 0);
  }

  // Buffers for n samples in the encoder's format: one plane per channel when planar.
  struct Planes {
    std::vector<std::vector<uint8_t>> data;
    std::vector<uint8_t*> ptrs;
  };
  Planes planes(int n) const {
    const int ch = enc_->ch_layout.nb_channels;
    const bool planar = av_sample_fmt_is_planar(enc_->sample_fmt);
    const size_t bytes = size_t(n) * av_get_bytes_per_sample(enc_->sample_fmt) * (planar ? 1 : ch);
    Planes p;
    p.data.assign(planar ? size_t(ch) : 1, std::vector<uint8_t>(bytes, 0));  // zero = silence
    for (auto& d : p.data) p.ptrs.push_back(d.data());
    return p;
  }
  size_t bytes_per_frame_in_plane() const {
    const bool planar = av_sample_fmt_is_planar(enc_->sample_fmt);
    return size_t(av_get_bytes_per_sample(enc_->sample_fmt)) *
           (planar ? 1 : enc_->ch_layout.nb_channels);
  }

  void convert(const uint8_t** in, int n) {
    const int cap = swr_get_out_samples(swr_.get(), n) + 64;
    Planes p = planes(cap);
    int got = swr_convert(swr_.get(), p.ptrs.data(), cap, in, n);
    if (got < 0) throw_av(got, "resample audio of", file_);
    int offset = 0;
    if (skip_ > 0) {  // audio_start_s: drop what lies before it
      offset = int(std::min<int64_t>(skip_, got));
      skip_ -= offset;
    }
    if (got - offset <= 0) return;
    for (auto& d : p.ptrs) d += size_t(offset) * bytes_per_frame_in_plane();
    av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(p.ptrs.data()), got - offset);
  }

  void pad_silence(int n) {
    Planes p = planes(n);
    av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(p.ptrs.data()), n);
  }

  void encode_frame(int n) {
    frame_->nb_samples = n;
    frame_->format = enc_->sample_fmt;
    frame_->sample_rate = rate();
    av_channel_layout_copy(&frame_->ch_layout, &enc_->ch_layout);
    int err = av_frame_get_buffer(frame_.get(), 0);
    if (err < 0) throw_av(err, "encode audio for", out_.path);
    av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(frame_->data), n);
    frame_->pts = produced_;
    produced_ += n;
    send(frame_.get());
    av_frame_unref(frame_.get());
  }

  void send(AVFrame* f) {
    int err = avcodec_send_frame(enc_.get(), f);
    if (err < 0 && err != AVERROR_EOF) throw_av(err, "encode audio for", out_.path);
    for (;;) {
      err = avcodec_receive_packet(enc_.get(), enc_pkt_.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) break;
      if (err < 0) throw_av(err, "encode audio for", out_.path);
      av_packet_rescale_ts(enc_pkt_.get(), enc_->time_base, stream_->time_base);
      enc_pkt_->stream_index = stream_->index;
      out_.write(enc_pkt_.get());
    }
  }

  fs::path file_;
  Output& out_;
  InputPtr in_;
  int idx_ = -1;
  CodecPtr dec_, enc_;
  SwrPtr swr_;
  int swr_rate_ = 0, swr_fmt_ = -1, swr_ch_ = 0;
  std::unique_ptr<AVAudioFifo, FifoDeleter> fifo_;
  FramePtr frame_, in_frame_;
  PacketPtr pkt_, enc_pkt_;
  AVStream* stream_ = nullptr;
  int64_t skip_ = 0, needed_ = 0, produced_ = 0;
  bool in_done_ = false, eof_sent_ = false, any_ = false;
};

struct SegmentScan {
  int64_t start = 0, end = 0;  // pts range [start, end) in the segment's time base
  int64_t frames = 0;
  AVRational tb{1, 1};
};

bool same_extradata(const AVCodecParameters* a, const AVCodecParameters* b) {
  return a->extradata_size == b->extradata_size &&
         (a->extradata_size == 0 || std::memcmp(a->extradata, b->extradata, size_t(a->extradata_size)) == 0);
}

int video_stream_of(AVFormatContext* fmt, const fs::path& file) {
  const int idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (idx < 0)
    throw Error("cannot join " + quoted(file) + ": the segment holds no video stream",
                ErrorKind::InvalidArgument, file.string());
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (int(i) != idx) fmt->streams[i]->discard = AVDISCARD_ALL;
  return idx;
}

}  // namespace

ExportResult concat_segments(const std::vector<fs::path>& segments, const fs::path& out_path,
                             const ExportOptions& options) {
  init_ffmpeg();
  if (segments.empty())
    throw Error("cannot write " + quoted(out_path) + ": no video segment was given",
                ErrorKind::InvalidArgument, out_path.string());

  // Pass 1: check every segment against the first and measure its exact length.
  std::vector<SegmentScan> scans;
  AVCodecParameters* ref = avcodec_parameters_alloc();
  std::unique_ptr<AVCodecParameters, void (*)(AVCodecParameters*)> ref_owner(
      ref, [](AVCodecParameters* p) { avcodec_parameters_free(&p); });
  AVRational frame_rate{0, 1};
  for (const auto& seg : segments) {
    InputPtr in = open_input(seg, "join");
    const int idx = video_stream_of(in.get(), seg);
    AVStream* st = in->streams[idx];
    if (scans.empty()) {
      avcodec_parameters_copy(ref, st->codecpar);
      frame_rate = st->avg_frame_rate;
    } else {
      const AVCodecParameters* p = st->codecpar;
      if (p->codec_id != ref->codec_id || p->width != ref->width || p->height != ref->height ||
          p->format != ref->format || !same_extradata(p, ref))
        throw Error("cannot join " + quoted(seg) + " after " + quoted(segments.front()) +
                        ": the segments were encoded differently (codec, size or encoder "
                        "settings), so they cannot be joined without re-encoding",
                    ErrorKind::InvalidArgument, seg.string());
    }
    SegmentScan s;
    s.tb = st->time_base;
    const int64_t frame_dur =
        st->avg_frame_rate.num > 0 ? av_rescale_q(1, av_inv_q(st->avg_frame_rate), st->time_base) : 0;
    PacketPtr pkt = make_packet();
    bool first = true;
    while (av_read_frame(in.get(), pkt.get()) >= 0) {
      if (pkt->stream_index == idx && pkt->pts != AV_NOPTS_VALUE) {
        const int64_t dur = pkt->duration > 0 ? pkt->duration : frame_dur;
        if (first || pkt->pts < s.start) s.start = pkt->pts;
        if (first || pkt->pts + dur > s.end) s.end = pkt->pts + dur;
        first = false;
        ++s.frames;
      }
      av_packet_unref(pkt.get());
    }
    if (s.frames == 0)
      throw Error("cannot join " + quoted(seg) + ": the segment holds no video frame",
                  ErrorKind::Corrupt, seg.string());
    scans.push_back(s);
  }

  // The output.
  Output out;
  out.path = out_path;
  // never a device, a folder, or one of the files it is made from
  std::vector<fs::path> inputs = segments;
  if (!options.audio.empty()) inputs.push_back(options.audio);
  out.file = std::make_unique<AtomicFile>(out_path, inputs);
  const AVOutputFormat* ofmt = av_guess_format(nullptr, out_path.c_str(), nullptr);
  if (!ofmt) ofmt = av_guess_format("mp4", nullptr, nullptr);
  int err = avformat_alloc_output_context2(&out.fmt, ofmt, nullptr, out.file->part().c_str());
  if (err < 0) throw_av(err, "create", out_path);
  AVStream* vst = avformat_new_stream(out.fmt, nullptr);
  if (!vst) throw_av(AVERROR(ENOMEM), "create", out_path);
  avcodec_parameters_copy(vst->codecpar, ref);
  vst->codecpar->codec_tag = 0;
  vst->time_base = scans.front().tb;
  vst->avg_frame_rate = frame_rate;
  vst->r_frame_rate = frame_rate;

  std::unique_ptr<AudioTrack> audio;
  if (!options.audio.empty())
    audio = std::make_unique<AudioTrack>(options.audio, options.audio_start_s, options.audio_bitrate, out);

  err = avio_open(&out.fmt->pb, out.file->part().c_str(), AVIO_FLAG_WRITE);
  if (err < 0) throw_av(err, "create", out_path);
  AVDictionary* mux_opts = nullptr;
  const std::string oname = out.fmt->oformat->name;
  if (options.faststart && (oname == "mp4" || oname == "mov"))
    av_dict_set(&mux_opts, "movflags", "+faststart", 0);
  err = avformat_write_header(out.fmt, &mux_opts);
  av_dict_free(&mux_opts);
  if (err < 0) throw_av(err, "write the header of", out_path);

  // Total length, in seconds, decides how much audio is needed.
  double total_s = 0;
  for (const auto& s : scans) total_s += double(s.end - s.start) * av_q2d(s.tb);
  if (audio) audio->set_needed(std::llround(total_s * audio->rate()));

  // Pass 2: copy packets, shifting each segment to start where the previous one ended.
  ExportResult result;
  int64_t offset = 0;  // in vst->time_base
  PacketPtr pkt = make_packet();
  for (size_t k = 0; k < segments.size(); ++k) {
    InputPtr in = open_input(segments[k], "join");
    const int idx = video_stream_of(in.get(), segments[k]);
    const SegmentScan& s = scans[k];
    while ((err = av_read_frame(in.get(), pkt.get())) >= 0) {
      if (pkt->stream_index != idx) {
        av_packet_unref(pkt.get());
        continue;
      }
      auto shift = [&](int64_t ts) {
        return ts == AV_NOPTS_VALUE ? ts : av_rescale_q(ts - s.start, s.tb, vst->time_base) + offset;
      };
      pkt->pts = shift(pkt->pts);
      pkt->dts = shift(pkt->dts);
      pkt->duration = av_rescale_q(pkt->duration, s.tb, vst->time_base);
      pkt->stream_index = vst->index;
      pkt->pos = -1;
      if (audio && pkt->dts != AV_NOPTS_VALUE)
        audio->pump(double(pkt->dts) * av_q2d(vst->time_base) + 0.5);
      out.write(pkt.get());
      ++result.video_frames;
    }
    if (err != AVERROR_EOF)
      throw_av(err, "join", segments[k]);
    offset += av_rescale_q(s.end - s.start, s.tb, vst->time_base);
  }
  if (audio) audio->finish();
  // Read the stream's time base before the context (and vst with it) is freed.
  result.video_duration_s = double(offset) * av_q2d(vst->time_base);
  err = av_write_trailer(out.fmt);
  if (err < 0) throw_av(err, "finish", out_path);
  out.check_io("finish");
  err = avio_closep(&out.fmt->pb);
  if (err < 0) throw_av(err, "finish", out_path);
  avformat_free_context(out.fmt);
  out.fmt = nullptr;
  out.file->commit();

  if (audio) {
    result.audio_sample_rate = audio->rate();
    result.audio_duration_s = double(audio->produced()) / audio->rate();
  }
  return result;
}

void write_png(const fs::path& path, const uint8_t* rgb, int width, int height, int stride_bytes) {
  init_ffmpeg();
  if (width <= 0 || height <= 0 || width > kMaxSide || height > kMaxSide || !rgb ||
      stride_bytes < 3 * width)
    throw Error("cannot write " + quoted(path) + ": the picture size " + std::to_string(width) +
                    "x" + std::to_string(height) + " or its stride is not valid",
                ErrorKind::InvalidArgument, path.string());
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  if (!codec)
    throw Error("cannot write " + quoted(path) + ": no PNG encoder in this FFmpeg build",
                ErrorKind::Unsupported, path.string());
  CodecPtr enc(avcodec_alloc_context3(codec));
  enc->width = width;
  enc->height = height;
  enc->pix_fmt = AV_PIX_FMT_RGB24;
  enc->time_base = AVRational{1, 25};
  int err = avcodec_open2(enc.get(), codec, nullptr);
  if (err < 0) throw_av(err, "open the PNG encoder for", path);
  FramePtr frame = make_frame();
  frame->format = AV_PIX_FMT_RGB24;
  frame->width = width;
  frame->height = height;
  err = av_frame_get_buffer(frame.get(), 0);
  if (err < 0) throw_av(err, "write", path);
  for (int y = 0; y < height; ++y)
    std::memcpy(frame->data[0] + size_t(y) * frame->linesize[0], rgb + size_t(y) * stride_bytes,
                size_t(width) * 3);
  frame->pts = 0;
  PacketPtr pkt = make_packet();
  err = avcodec_send_frame(enc.get(), frame.get());
  if (err >= 0) err = avcodec_send_frame(enc.get(), nullptr);
  if (err < 0) throw_av(err, "encode", path);
  err = avcodec_receive_packet(enc.get(), pkt.get());
  if (err < 0) throw_av(err, "encode", path);

  AtomicFile file(path);
  file.write(pkt->data, size_t(pkt->size));
  file.commit();
}

int64_t export_png_sequence(const fs::path& video, const fs::path& folder) {
  std::error_code ec;
  if (fs::exists(folder, ec))
    throw Error("cannot export frames to " + quoted(folder) + ": it already exists",
                ErrorKind::InvalidArgument, folder.string());
  fs::path part = folder;  // a folder: renamed into place whole, like a file
  part += ".part";
  VideoReader reader(video);
  fs::remove_all(part, ec);
  fs::create_directories(part, ec);
  if (ec)
    throw Error("cannot export frames to " + quoted(folder) + ": " + ec.message(),
                ec == std::errc::permission_denied ? ErrorKind::PermissionDenied : ErrorKind::Io,
                folder.string());
  int64_t n = 0;
  try {
    RgbFrame f;
    char name[32];
    while (reader.read(f)) {
      std::snprintf(name, sizeof name, "frame_%06lld.png", static_cast<long long>(n));
      write_png(part / name, f.rgb.data(), f.width, f.height, f.stride());
      ++n;
    }
    fs::rename(part, folder);
  } catch (...) {
    fs::remove_all(part, ec);
    throw;
  }
  return n;
}

}  // namespace s2v::media
