#include "core/media/audio.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/media/ffmpeg_util.h"
#include "models/base/atomic_file.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

namespace s2v::media {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// Mono float output of one input format; averages the channels (librosa's to_mono).
SwrPtr make_resampler(const AVChannelLayout& in_layout_given, AVSampleFormat in_fmt, int in_rate,
                      int out_rate, const fs::path& file) {
  AVChannelLayout in_layout{};
  if (in_layout_given.order == AV_CHANNEL_ORDER_UNSPEC || in_layout_given.nb_channels <= 0)
    av_channel_layout_default(&in_layout, std::max(1, in_layout_given.nb_channels));
  else
    av_channel_layout_copy(&in_layout, &in_layout_given);
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  const int n = in_layout.nb_channels;
  for (int engine : {int(SWR_ENGINE_SOXR), int(SWR_ENGINE_SWR)}) {
    SwrContext* raw = nullptr;
    int err = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_FLT, out_rate, &in_layout, in_fmt,
                                  in_rate, 0, nullptr);
    SwrPtr swr(raw);
    if (err < 0 || !swr) continue;
    av_opt_set_int(swr.get(), "resampler", engine, 0);
    std::vector<double> matrix(size_t(n), 1.0 / n);
    if (swr_set_matrix(swr.get(), matrix.data(), n) < 0) continue;
    if (swr_init(swr.get()) < 0) continue;
    av_channel_layout_uninit(&in_layout);
    return swr;
  }
  av_channel_layout_uninit(&in_layout);
  throw Error("cannot decode audio of " + quoted(file) + ": cannot resample " +
                  std::to_string(n) + " channels at " + std::to_string(in_rate) + " Hz",
              ErrorKind::Unsupported, file.string());
}

}  // namespace

AudioBuffer read_audio(const fs::path& path, const AudioReadOptions& options) {
  if (options.sample_rate <= 0 || options.sample_rate > 384000)
    throw Error("cannot read audio from " + quoted(path) + ": the sample rate " +
                    std::to_string(options.sample_rate) + " is not valid",
                ErrorKind::InvalidArgument, path.string());
  InputPtr fmt = open_input(path, "read audio from");
  const int idx = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (idx < 0)
    throw Error("cannot read audio from " + quoted(path) + ": the file holds no audio stream",
                ErrorKind::Unsupported, path.string());
  AVStream* st = fmt->streams[idx];
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (int(i) != idx) fmt->streams[i]->discard = AVDISCARD_ALL;
  if (st->codecpar->sample_rate <= 0)
    throw Error("cannot read audio from " + quoted(path) + ": its audio stream has no sample rate",
                ErrorKind::Corrupt, path.string());
  CodecPtr dec = open_decoder(st, path, 1);

  AudioBuffer out;
  out.sample_rate = options.sample_rate;
  PacketPtr pkt = make_packet();
  FramePtr frame = make_frame();
  SwrPtr swr;
  int swr_rate = 0, swr_fmt = -1, swr_channels = 0;
  std::vector<float> chunk;
  bool eof_sent = false, any_frame = false;
  int bad_packets = 0;

  auto drain_swr = [&] {
    if (!swr) return;
    for (;;) {
      chunk.resize(4096);
      uint8_t* dst[1] = {reinterpret_cast<uint8_t*>(chunk.data())};
      const int got = swr_convert(swr.get(), dst, 4096, nullptr, 0);
      if (got <= 0) break;
      out.samples.insert(out.samples.end(), chunk.begin(), chunk.begin() + got);
    }
  };

  for (;;) {
    int err = avcodec_receive_frame(dec.get(), frame.get());
    if (err >= 0) {
      any_frame = true;
      if (!swr || frame->sample_rate != swr_rate || frame->format != swr_fmt ||
          frame->ch_layout.nb_channels != swr_channels) {
        drain_swr();  // the stream changed format: finish the old one first
        swr = make_resampler(frame->ch_layout, AVSampleFormat(frame->format), frame->sample_rate,
                             options.sample_rate, path);
        swr_rate = frame->sample_rate;
        swr_fmt = frame->format;
        swr_channels = frame->ch_layout.nb_channels;
      }
      const int cap = swr_get_out_samples(swr.get(), frame->nb_samples) + 16;
      chunk.resize(size_t(std::max(cap, 16)));
      uint8_t* dst[1] = {reinterpret_cast<uint8_t*>(chunk.data())};
      const int got = swr_convert(swr.get(), dst, cap, const_cast<const uint8_t**>(frame->extended_data),
                                  frame->nb_samples);
      if (got < 0) throw_av(got, "resample audio of", path);
      out.samples.insert(out.samples.end(), chunk.begin(), chunk.begin() + got);
      av_frame_unref(frame.get());
      continue;
    }
    if (err == AVERROR_EOF) break;
    if (err != AVERROR(EAGAIN)) {
      if (any_frame) break;
      throw_av(err == AVERROR(EINVAL) ? AVERROR_INVALIDDATA : err, "decode audio of", path);
    }
    if (eof_sent) break;
    err = av_read_frame(fmt.get(), pkt.get());
    if (err < 0 && err != AVERROR_EOF && !any_frame && err != AVERROR_INVALIDDATA)
      throw_av(err, "read audio from", path);
    if (err < 0) {
      avcodec_send_packet(dec.get(), nullptr);
      eof_sent = true;
      continue;
    }
    if (pkt->stream_index == idx) {
      err = avcodec_send_packet(dec.get(), pkt.get());
      if (err < 0 && err != AVERROR(EAGAIN) && ++bad_packets > 256 && !any_frame) {
        av_packet_unref(pkt.get());
        throw_av(AVERROR_INVALIDDATA, "decode audio of", path);
      }
    }
    av_packet_unref(pkt.get());
  }
  drain_swr();

  if (out.samples.empty())
    throw Error("cannot read audio from " + quoted(path) + ": it holds no audio samples "
                "(zero-length or undecodable)",
                ErrorKind::Corrupt, path.string());
  // a float WAV may store NaN or infinity: no later stage (peak, silence, wav2vec2) means anything then
  const auto bad = std::find_if(out.samples.begin(), out.samples.end(), [](float v) { return !std::isfinite(v); });
  if (bad != out.samples.end()) {
    char at[32];
    std::snprintf(at, sizeof at, "%.2f s", double(bad - out.samples.begin()) / out.sample_rate);
    throw Error("cannot read audio from " + quoted(path) + ": it holds samples that are not numbers (NaN or "
                "infinity), the first at " + at,
                ErrorKind::Corrupt, path.string());
  }
  if (options.start_s > 0 || options.end_s >= 0) {
    if (options.end_s >= 0 && options.end_s <= options.start_s)
      throw Error("cannot read audio from " + quoted(path) + ": the trim range ends before it starts",
                  ErrorKind::InvalidArgument, path.string());
    out = trim(out, options.start_s, options.end_s);
  }
  return out;
}

AudioStats audio_stats(const AudioBuffer& a) {
  AudioStats s;
  s.duration_s = a.duration_s();
  double sum = 0, peak = 0;
  for (float v : a.samples) {
    sum += double(v) * v;
    peak = std::max(peak, double(std::abs(v)));
  }
  s.peak = peak;
  s.rms = a.samples.empty() ? 0.0 : std::sqrt(sum / double(a.samples.size()));
  if (s.peak > 0) s.peak_dbfs = 20.0 * std::log10(s.peak);
  if (s.rms > 0) s.rms_dbfs = 20.0 * std::log10(s.rms);
  return s;
}

Waveform waveform_summary(const AudioBuffer& a, int buckets) {
  Waveform w;
  const size_t n = a.samples.size();
  if (buckets <= 0 || n == 0) return w;
  const size_t b = std::min<size_t>(size_t(buckets), n);
  w.min.resize(b);
  w.max.resize(b);
  w.seconds_per_bucket = a.duration_s() / double(b);
  for (size_t i = 0; i < b; ++i) {
    const size_t lo = i * n / b, hi = (i + 1) * n / b;
    const auto [mn, mx] = std::minmax_element(a.samples.begin() + lo, a.samples.begin() + hi);
    w.min[i] = *mn;
    w.max[i] = *mx;
  }
  return w;
}

Waveform waveform_summary(const fs::path& path, int buckets) {
  AudioReadOptions o;
  o.sample_rate = 4000;
  return waveform_summary(read_audio(path, o), buckets);
}

AudioBuffer trim(const AudioBuffer& a, double start_s, double end_s) {
  AudioBuffer out;
  out.sample_rate = a.sample_rate;
  const auto n = int64_t(a.samples.size());
  int64_t lo = std::clamp<int64_t>(std::llround(std::max(0.0, start_s) * a.sample_rate), 0, n);
  int64_t hi = end_s < 0 ? n : std::clamp<int64_t>(std::llround(end_s * a.sample_rate), 0, n);
  if (hi > lo) out.samples.assign(a.samples.begin() + lo, a.samples.begin() + hi);
  return out;
}

void write_wav(const fs::path& path, const AudioBuffer& a) {
  const uint32_t data_bytes = uint32_t(a.samples.size() * 2);
  std::vector<uint8_t> bytes;
  bytes.reserve(44 + data_bytes);
  auto put = [&](uint32_t v, int size) {
    for (int i = 0; i < size; ++i) bytes.push_back(uint8_t(v >> (8 * i)));
  };
  auto tag = [&](const char* t) { bytes.insert(bytes.end(), t, t + 4); };
  tag("RIFF");
  put(36 + data_bytes, 4);
  tag("WAVE");
  tag("fmt ");
  put(16, 4);
  put(1, 2);  // PCM
  put(1, 2);  // mono
  put(uint32_t(a.sample_rate), 4);
  put(uint32_t(a.sample_rate) * 2, 4);
  put(2, 2);
  put(16, 2);
  tag("data");
  put(data_bytes, 4);
  for (float v : a.samples) {
    const long s = std::lround(std::clamp(double(v), -1.0, 1.0) * 32767.0);
    put(uint32_t(int16_t(s)) & 0xFFFF, 2);
  }
  AtomicFile file(path);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

}  // namespace s2v::media
