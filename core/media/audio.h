#pragma once
// Audio in: any file with an audio track (WAV, MP3, FLAC, OGG/Opus, M4A/AAC, the audio of a
// video) decoded to mono float32 at 16 kHz (the rate wav2vec2 wants) through libswresample;
// duration, peak and RMS loudness, a min/max waveform summary, trimming, and a WAV writer.
// No Qt, no LibTorch.

#include <cstdint>
#include <filesystem>
#include <limits>
#include <vector>

namespace s2v::media {

struct AudioBuffer {
  int sample_rate = 16000;
  std::vector<float> samples;  // mono, nominally in [-1, 1]
  double duration_s() const {
    return sample_rate > 0 ? double(samples.size()) / sample_rate : 0.0;
  }
};

struct AudioReadOptions {
  int sample_rate = 16000;  // output rate
  double start_s = 0.0;     // trim: first second kept
  double end_s = -1.0;      // trim: end (exclusive); < 0 means the end of the file
};

// Decodes the best audio stream, downmixes to mono as the mean of the channels (as
// librosa.load(mono=True)), resamples (SoX resampler when FFmpeg has it, else swresample's).
// Throws s2v::Error: NotFound, PermissionDenied, Unsupported (no audio stream, no decoder),
// Corrupt (undecodable, or no samples at all: a zero-length file).
AudioBuffer read_audio(const std::filesystem::path& path, const AudioReadOptions& options = {});

struct AudioStats {
  double duration_s = 0.0;
  double peak = 0.0;       // max |x|
  double peak_dbfs = -std::numeric_limits<double>::infinity();
  double rms = 0.0;
  double rms_dbfs = -std::numeric_limits<double>::infinity();  // 20 log10(rms): a full-scale sine is -3.01
};
AudioStats audio_stats(const AudioBuffer& audio);

// min/max per bucket over `buckets` equal slices of the samples (fewer when there are fewer
// samples than buckets).
struct Waveform {
  std::vector<float> min, max;
  double seconds_per_bucket = 0.0;
};
Waveform waveform_summary(const AudioBuffer& audio, int buckets);
// Straight from a file, decoding at a low rate (4 kHz) so a 10-minute file takes about a second.
Waveform waveform_summary(const std::filesystem::path& path, int buckets);

// Samples in [start_s, end_s) (end_s < 0: to the end), clamped to the buffer.
AudioBuffer trim(const AudioBuffer& audio, double start_s, double end_s);

// 16-bit PCM mono WAV, written to "<path>.part" then renamed. Throws s2v::Error (Io, NotFound).
void write_wav(const std::filesystem::path& path, const AudioBuffer& audio);

}  // namespace s2v::media
