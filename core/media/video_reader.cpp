#include "core/media/video_reader.h"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <map>

#include "core/media/ffmpeg_util.h"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace s2v::media {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// Python's round(): half to even (the default floating-point rounding mode).
double round_half_even(double v) {
  const double r = std::nearbyint(v);
  return r;
}

int sws_colorspace(AVColorSpace cs) {
  switch (cs) {
    case AVCOL_SPC_BT709: return SWS_CS_ITU709;
    case AVCOL_SPC_FCC: return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
    default: return SWS_CS_ITU601;
  }
}

bool is_full_range_format(AVPixelFormat f) {
  return f == AV_PIX_FMT_YUVJ420P || f == AV_PIX_FMT_YUVJ422P || f == AV_PIX_FMT_YUVJ444P ||
         f == AV_PIX_FMT_YUVJ440P || f == AV_PIX_FMT_YUVJ411P;
}

}  // namespace

RgbFrame orient(const RgbFrame& in, int rotation_cw, bool mirror) {
  rotation_cw = ((rotation_cw % 360) + 360) % 360;
  if (rotation_cw == 0 && !mirror) return in;
  const int W = in.width, H = in.height;
  RgbFrame out;
  out.index = in.index;
  out.pts = in.pts;
  out.time_s = in.time_s;
  const bool swap = rotation_cw == 90 || rotation_cw == 270;
  out.width = swap ? H : W;
  out.height = swap ? W : H;
  out.rgb.resize(in.rgb.size());
  for (int y = 0; y < H; ++y) {
    for (int x0 = 0; x0 < W; ++x0) {
      const int x = mirror ? W - 1 - x0 : x0;  // mirror first, then turn clockwise
      int ox = x, oy = y;
      switch (rotation_cw) {
        case 90: ox = H - 1 - y; oy = x; break;
        case 180: ox = W - 1 - x; oy = H - 1 - y; break;
        case 270: ox = y; oy = W - 1 - x; break;
        default: break;
      }
      const uint8_t* s = &in.rgb[(size_t(y) * W + x0) * 3];
      uint8_t* d = &out.rgb[(size_t(oy) * out.width + ox) * 3];
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  }
  return out;
}

struct VideoReader::Impl {
  fs::path path;
  VideoReaderOptions opt;
  MediaInfo info;
  InputPtr fmt;
  int stream_index = -1;
  AVStream* stream = nullptr;
  CodecPtr dec;
  PacketPtr pkt;
  FramePtr frame;
  SwsPtr sws;
  int sws_w = 0, sws_h = 0, sws_fmt = -1;
  int64_t start_pts = 0;
  int64_t next_index = 0;
  bool index_from_time = false;  // after a seek
  bool eof_sent = false;
  bool done = false;
  int64_t frames_out = 0;
  int bad_packets = 0;
  double seek_target = -1.0;
  int rotation = 0;
  bool mirror = false;
  bool orientation_known = false;
  bool any_decoded = false;

  // The stream ended: an error when not a single frame could be decoded from it.
  bool end_of_stream() {
    done = true;
    if (!any_decoded)
      throw Error("cannot decode " + quoted(path) + ": no frame could be decoded (the video data "
                  "is truncated or corrupt)",
                  ErrorKind::Corrupt, path.string());
    return false;
  }

  void open() {
    fmt = open_input(path, "read");
    stream_index = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (stream_index < 0)
      throw Error("cannot read video from " + quoted(path) + ": the file holds no video stream",
                  ErrorKind::Unsupported, path.string());
    stream = fmt->streams[stream_index];
    for (unsigned i = 0; i < fmt->nb_streams; ++i)
      if (int(i) != stream_index) fmt->streams[i]->discard = AVDISCARD_ALL;
    dec = open_decoder(stream, path, opt.threads);
    start_pts = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;
    eof_sent = false;
    done = false;
    next_index = 0;
    index_from_time = false;
  }

  // Decodes the next frame into `frame`; false at the end of the stream.
  bool decode_next() {
    if (done) return false;
    for (;;) {
      int err = avcodec_receive_frame(dec.get(), frame.get());
      if (err >= 0) {
        any_decoded = true;
        return true;
      }
      if (err == AVERROR_EOF) return end_of_stream();
      if (err != AVERROR(EAGAIN)) {
        if (any_decoded) return end_of_stream();  // a damaged tail ends the stream
        throw_av(err == AVERROR(EINVAL) ? AVERROR_INVALIDDATA : err, "decode", path);
      }
      if (eof_sent) return end_of_stream();
      err = av_read_frame(fmt.get(), pkt.get());
      if (err < 0 && err != AVERROR_EOF && !any_decoded) throw_av(err, "read", path);
      if (err < 0) {  // the end, or a damaged tail after good frames: drain the decoder
        avcodec_send_packet(dec.get(), nullptr);
        eof_sent = true;
        continue;
      }
      if (pkt->stream_index != stream_index) {
        av_packet_unref(pkt.get());
        continue;
      }
      err = avcodec_send_packet(dec.get(), pkt.get());
      av_packet_unref(pkt.get());
      if (err < 0 && err != AVERROR(EAGAIN)) {
        // A damaged packet: skip it, give up when nothing decodes at all.
        if (++bad_packets > 64 && !any_decoded) throw_av(AVERROR_INVALIDDATA, "decode", path);
      }
    }
  }

  // Fills the timing fields for the frame just decoded.
  void stamp(RgbFrame& out) {
    int64_t pts = frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) pts = frame->pts;
    if (pts == AV_NOPTS_VALUE) pts = start_pts;
    out.pts = pts;
    out.time_s = static_cast<double>(pts - start_pts) * av_q2d(stream->time_base);
    if (index_from_time && info.fps > 0) {
      out.index = std::llround(out.time_s * info.fps);
      next_index = out.index + 1;
      index_from_time = false;
    } else {
      out.index = next_index++;
    }
  }

  // Frames before a seek target are decoded and dropped.
  bool before_seek_target() {
    if (seek_target < 0) return false;
    int64_t pts = frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) pts = frame->pts;
    const double t = static_cast<double>(pts - start_pts) * av_q2d(stream->time_base);
    const double half = info.fps > 0 ? 0.5 / info.fps : 1e-6;
    if (pts != AV_NOPTS_VALUE && t < seek_target - std::min(half, 1e-3)) return true;
    seek_target = -1.0;
    return false;
  }

  void convert(RgbFrame& out) {
    const int w = frame->width, h = frame->height;
    if (w <= 0 || h <= 0 || w > kMaxSide || h > kMaxSide)
      throw Error("cannot decode " + quoted(path) + ": a frame has the size " + std::to_string(w) +
                      "x" + std::to_string(h),
                  ErrorKind::Corrupt, path.string());
    if (!sws || sws_w != w || sws_h != h || sws_fmt != frame->format) {
      const auto src_fmt = static_cast<AVPixelFormat>(frame->format);
      // Plain bicubic chroma upsampling, as the ffmpeg program (and decord) use: measured closer
      // to the source than SWS_FULL_CHR_H_INT / SWS_ACCURATE_RND on 4:2:0 test pictures.
      sws.reset(sws_getContext(w, h, src_fmt, w, h, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr,
                               nullptr, nullptr));
      if (!sws)
        throw Error("cannot decode " + quoted(path) + ": its pixel format '" +
                        std::string(av_get_pix_fmt_name(src_fmt) ? av_get_pix_fmt_name(src_fmt) : "?") +
                        "' cannot be converted to RGB",
                    ErrorKind::Unsupported, path.string());
      const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(src_fmt);
      if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3) {
        const int full = frame->color_range == AVCOL_RANGE_JPEG || is_full_range_format(src_fmt);
        sws_setColorspaceDetails(sws.get(), sws_getCoefficients(sws_colorspace(frame->colorspace)),
                                 full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
      }
      sws_w = w;
      sws_h = h;
      sws_fmt = frame->format;
    }
    RgbFrame raw;
    raw.width = w;
    raw.height = h;
    // swscale's SIMD paths may store past the end of the last output row; the slack keeps those
    // stores inside the allocation (the fuzzer found heap corruption without it). Shrinking back
    // keeps the capacity, so the packed rows stay where they were written.
    const size_t packed = size_t(w) * h * 3;
    raw.rgb.resize(packed + size_t(3 * w) + 64);
    uint8_t* dst[1] = {raw.rgb.data()};
    const int dst_stride[1] = {3 * w};
    sws_scale(sws.get(), frame->data, frame->linesize, 0, h, dst, dst_stride);
    raw.rgb.resize(packed);
    if (!orientation_known && info.kind == MediaKind::Image) {
      const ImageOrientation o = frame_orientation(frame.get());
      rotation = o.rotation;
      mirror = o.mirrored;
      orientation_known = true;
    }
    if (opt.apply_rotation && (rotation != 0 || mirror)) {
      raw = orient(raw, rotation, mirror);
    }
    out.width = raw.width;
    out.height = raw.height;
    out.rgb = std::move(raw.rgb);
  }
};

VideoReader::VideoReader(const fs::path& path, const VideoReaderOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.path = path;
  d.opt = options;
  d.info = probe(path);
  if (!d.info.has_video)
    throw Error("cannot read video from " + quoted(path) + ": the file holds only audio",
                ErrorKind::Unsupported, path.string());
  d.rotation = d.info.rotation;
  d.mirror = d.info.mirrored;
  d.orientation_known = true;
  d.pkt = make_packet();
  d.frame = make_frame();
  d.open();
}

VideoReader::~VideoReader() = default;

const MediaInfo& VideoReader::info() const { return impl_->info; }
int VideoReader::width() const {
  const auto& d = *impl_;
  return d.opt.apply_rotation ? d.info.width : d.info.coded_width;
}
int VideoReader::height() const {
  const auto& d = *impl_;
  return d.opt.apply_rotation ? d.info.height : d.info.coded_height;
}

bool VideoReader::read(RgbFrame& out) {
  Impl& d = *impl_;
  for (;;) {
    if (!d.decode_next()) return false;
    if (d.before_seek_target()) continue;
    d.stamp(out);
    d.convert(out);
    ++d.frames_out;
    return true;
  }
}

bool VideoReader::skip(int64_t* pts) {
  Impl& d = *impl_;
  for (;;) {
    if (!d.decode_next()) return false;
    if (d.before_seek_target()) continue;
    RgbFrame tmp;
    d.stamp(tmp);
    if (pts) *pts = tmp.pts;
    ++d.frames_out;
    return true;
  }
}

void VideoReader::seek(double t) {
  Impl& d = *impl_;
  if (!(t >= 0)) t = 0;
  const int64_t ts = d.start_pts + static_cast<int64_t>(std::floor(t / av_q2d(d.stream->time_base)));
  int err = av_seek_frame(d.fmt.get(), d.stream_index, ts, AVSEEK_FLAG_BACKWARD);
  if (err < 0) {
    d.open();  // not seekable (a still image, a pipe): start over and decode forward
  } else {
    avcodec_flush_buffers(d.dec.get());
    d.eof_sent = false;
    d.done = false;
  }
  d.seek_target = t;
  d.index_from_time = t > 0;
  if (t == 0) d.next_index = 0;
}

RgbFrame read_image(const fs::path& path) {
  VideoReader r(path);
  RgbFrame f;
  if (!r.read(f))
    throw Error("cannot decode " + quoted(path) + ": no picture could be decoded", ErrorKind::Corrupt,
                path.string());
  return f;
}

int64_t count_frames(const fs::path& path) {
  InputPtr fmt = open_input(path, "read");
  const int idx = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (idx < 0)
    throw Error("cannot count frames of " + quoted(path) + ": the file holds no video stream",
                ErrorKind::Unsupported, path.string());
  const std::string container = fmt->iformat->name;
  if (fmt->streams[idx]->nb_frames > 0 && container.find("mp4") != std::string::npos)
    return fmt->streams[idx]->nb_frames;  // the MP4 sample table is exact
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (int(i) != idx) fmt->streams[i]->discard = AVDISCARD_ALL;
  PacketPtr pkt = make_packet();
  int64_t n = 0;
  for (;;) {
    const int err = av_read_frame(fmt.get(), pkt.get());
    if (err < 0) break;
    if (pkt->stream_index == idx) ++n;
    av_packet_unref(pkt.get());
  }
  return n;
}

std::vector<int64_t> sample_indices_interval(double src_fps, int64_t total, double target_fps,
                                             int64_t n, bool from_start) {
  // as read_last_n_frames in speech2video.py
  std::vector<int64_t> out;
  if (total <= 0 || n <= 0 || !(src_fps > 0) || !(target_fps > 0)) return out;
  const int64_t interval = std::max<int64_t>(1, int64_t(round_half_even(src_fps / target_fps)));
  const int64_t span = (n - 1) * interval;
  const int64_t start = from_start ? 0 : std::max<int64_t>(0, total - span - 1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t idx = start + i * interval;
    if (idx >= total) break;
    out.push_back(idx);
  }
  return out;
}

std::vector<int64_t> sample_indices_timed(double src_fps, int64_t total, double target_fps,
                                          int64_t n, bool from_start) {
  // as sample_video_frame_indices in wan/utils/frame_sampling.py
  std::vector<int64_t> out;
  if (total <= 0 || n <= 0 || !(src_fps > 0) || !(target_fps > 0)) return out;
  const double step = (double(n) / target_fps) / double(n);  // linspace(0, n/fps, n, endpoint=False)
  double shift = 0.0;
  if (!from_start) {
    const double last_frame_time = double(total - 1) / src_fps;
    shift = std::max(0.0, last_frame_time - double(n - 1) * step);
  }
  const double duration = double(total) / src_fps;
  for (int64_t k = 0; k < n; ++k) {
    const double t = double(k) * step + shift;
    if (!(t < duration)) continue;
    const int64_t idx = int64_t(round_half_even(t * src_fps));
    out.push_back(std::clamp<int64_t>(idx, 0, total - 1));
  }
  return out;
}

std::vector<RgbFrame> read_frames(const fs::path& path, const std::vector<int64_t>& indices,
                                  const VideoReaderOptions& options) {
  std::vector<RgbFrame> out(indices.size());
  if (indices.empty()) return out;
  std::map<int64_t, std::vector<size_t>> wanted;  // index -> positions in the answer
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0)
      throw Error("cannot read frame " + std::to_string(indices[i]) + " of " + quoted(path) +
                      ": frame indices start at 0",
                  ErrorKind::InvalidArgument, path.string());
    wanted[indices[i]].push_back(i);
  }
  auto reader = std::make_unique<VideoReader>(path, options);
  int64_t index = 0;
  auto it = wanted.begin();
  // Far into a constant-rate video: seek instead of decoding everything before the first frame
  // asked for, and check that the frame found there carries the expected index.
  const MediaInfo& info = reader->info();
  // Constant rate: the frame count agrees with duration x rate (a gap or a rate change breaks it).
  if (info.kind == MediaKind::Video && info.fps > 0 && it->first > int64_t(4 * info.fps) &&
      std::abs(double(count_frames(path)) - info.duration_s * info.fps) < 1.0) {
    reader->seek(double(it->first) / info.fps);
    RgbFrame f;
    if (reader->read(f) && f.index == it->first && std::abs(f.time_s * info.fps - double(it->first)) < 0.01) {
      index = it->first + 1;
      for (size_t k = 1; k < it->second.size(); ++k) out[it->second[k]] = f;
      out[it->second[0]] = std::move(f);
      ++it;
    } else {
      reader = std::make_unique<VideoReader>(path, options);  // variable rate: decode from the start
    }
  }
  VideoReader& r = *reader;
  for (; it != wanted.end(); ++it) {
    while (index < it->first) {
      if (!r.skip())
        throw Error("cannot read frame " + std::to_string(it->first) + " of " + quoted(path) +
                        ": the video has only " + std::to_string(index) + " frames",
                    ErrorKind::InvalidArgument, path.string());
      ++index;
    }
    RgbFrame f;
    if (!r.read(f))
      throw Error("cannot read frame " + std::to_string(it->first) + " of " + quoted(path) +
                      ": the video has only " + std::to_string(index) + " frames",
                  ErrorKind::InvalidArgument, path.string());
    ++index;
    f.index = it->first;
    for (size_t k = 1; k < it->second.size(); ++k) out[it->second[k]] = f;
    out[it->second[0]] = std::move(f);
  }
  return out;
}

std::vector<RgbFrame> read_last_n_frames(const fs::path& path, int64_t n_frames,
                                         double target_fps, bool from_start) {
  const MediaInfo info = probe(path);
  const int64_t total = info.kind == MediaKind::Image ? 1 : count_frames(path);
  const double fps = info.fps > 0 ? info.fps : target_fps;
  return read_frames(path, sample_indices_interval(fps, total, target_fps, n_frames, from_start));
}

}  // namespace s2v::media
