#pragma once
// MFCC exactly as python_speech_features.mfcc computes it (base.py, sigproc.py), with the
// arguments Light-ASD's Columbia_test.py passes: 16 kHz, 25 ms windows every 10 ms (100 frames per
// second), 13 cepstra. The steps: pre-emphasis (0.97), framing (the last frame zero-padded,
// rectangular window), power spectrum |rfft(frame, 512)|² / 512, 26 triangular mel filters on the
// FFT bins floor((nfft + 1) · mel2hz(m) / rate), log, DCT-II (orthonormal), first 13, the
// sinusoidal lifter 1 + 11·sin(πn/22), and c0 replaced by the log of the frame's total power.
// Zero energies are floored at DBL_EPSILON before the log, as there. Computed in float64.
//
// Scale: the official code feeds the int16 samples of a wav file (±32768); `sample_scale`
// multiplies float samples to that range. Only c0 depends on the scale (log of a constant factor).

#include <vector>

#include <torch/types.h>

namespace s2v::light_asd {

struct MfccOptions {
  int sample_rate = 16000;
  double winlen_s = 0.025;
  double winstep_s = 0.010;
  int numcep = 13;
  int nfilt = 26;
  int nfft = 0;  // 0: the smallest power of two ≥ the window (512 at 16 kHz), as calculate_nfft
  double lowfreq = 0.0;
  double highfreq = 0.0;  // 0: sample_rate / 2
  double preemph = 0.97;
  int ceplifter = 22;
  bool append_energy = true;
  double sample_scale = 32768.0;  // float [-1, 1] -> int16 range of the official wav input
};

// The frame count python_speech_features gives for n samples: 1 when n ≤ the window, else
// 1 + ceil((n − window) / step).
int64_t mfcc_frame_count(int64_t samples, const MfccOptions& options = {});

// samples: mono audio (float) -> [frames, numcep] float64.
torch::Tensor mfcc(const std::vector<float>& samples, const MfccOptions& options = {});
// signal: [n] any floating or integer dtype, already in the wanted scale (sample_scale is not
// applied) -> [frames, numcep] float64.
torch::Tensor mfcc(const torch::Tensor& signal, const MfccOptions& options = {});

// The [nfilt, nfft / 2 + 1] mel filterbank of get_filterbanks, float64.
torch::Tensor mel_filterbank(int nfilt, int nfft, int sample_rate, double lowfreq, double highfreq);

}  // namespace s2v::light_asd
