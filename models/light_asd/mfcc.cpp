#include "models/light_asd/mfcc.h"

#include <cfloat>
#include <cmath>

#include <torch/torch.h>

#include "models/base/error.h"

namespace s2v::light_asd {

namespace {
constexpr double kPi = 3.14159265358979323846;

// sigproc.round_half_up
int64_t round_half_up(double x) { return static_cast<int64_t>(std::floor(x + 0.5)); }

double hz2mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel2hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

int nfft_for(const MfccOptions& o) {
  if (o.nfft > 0) return o.nfft;
  // as calculate_nfft: the smallest power of two ≥ the window length in samples
  const double window = o.winlen_s * o.sample_rate;
  int n = 1;
  while (n < window) n *= 2;
  return n;
}

// The orthonormal DCT-II matrix [numcep, n] (scipy.fftpack.dct(type=2, norm='ortho') rows).
torch::Tensor dct_matrix(int numcep, int n) {
  auto m = torch::empty({numcep, n}, torch::kFloat64);
  auto a = m.accessor<double, 2>();
  for (int k = 0; k < numcep; ++k)
    for (int i = 0; i < n; ++i)
      a[k][i] = std::cos(kPi * k * (2 * i + 1) / (2.0 * n)) *
                (k == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n));
  return m;
}
}  // namespace

int64_t mfcc_frame_count(int64_t samples, const MfccOptions& o) {
  const int64_t len = round_half_up(o.winlen_s * o.sample_rate);
  const int64_t step = round_half_up(o.winstep_s * o.sample_rate);
  if (samples <= len) return 1;
  return 1 + static_cast<int64_t>(std::ceil(double(samples - len) / double(step)));
}

torch::Tensor mel_filterbank(int nfilt, int nfft, int rate, double lowfreq, double highfreq) {
  if (highfreq <= 0) highfreq = rate / 2.0;
  if (highfreq > rate / 2.0)
    throw Error("MFCC: highfreq " + std::to_string(highfreq) + " Hz is above half the sample rate",
                ErrorKind::InvalidArgument);
  // as get_filterbanks: nfilt + 2 points evenly spaced in mels, mapped to FFT bins
  const double lo = hz2mel(lowfreq), hi = hz2mel(highfreq);
  std::vector<double> bin(static_cast<size_t>(nfilt + 2));
  const double step = (hi - lo) / double(nfilt + 1);
  for (int i = 0; i < nfilt + 2; ++i) {
    const double mel = i == nfilt + 1 ? hi : i * step + lo;  // as numpy.linspace
    bin[size_t(i)] = std::floor((nfft + 1) * mel2hz(mel) / rate);
  }
  auto fb = torch::zeros({nfilt, nfft / 2 + 1}, torch::kFloat64);
  auto a = fb.accessor<double, 2>();
  for (int j = 0; j < nfilt; ++j) {
    const double b0 = bin[size_t(j)], b1 = bin[size_t(j) + 1], b2 = bin[size_t(j) + 2];
    for (int i = int(b0); i < int(b1); ++i) a[j][i] = (i - b0) / (b1 - b0);
    for (int i = int(b1); i < int(b2); ++i) a[j][i] = (b2 - i) / (b2 - b1);
  }
  return fb;
}

torch::Tensor mfcc(const torch::Tensor& signal_in, const MfccOptions& o) {
  if (signal_in.dim() != 1 || signal_in.numel() == 0)
    throw Error("MFCC needs a non-empty 1-D signal", ErrorKind::InvalidArgument);
  const auto sig = signal_in.to(torch::kCPU, torch::kFloat64).contiguous();
  const int nfft = nfft_for(o);
  // signal: [n] -> pre-emphasised [n] (sigproc.preemphasis)
  auto emph = sig.clone();
  if (sig.numel() > 1) emph.slice(0, 1).copy_(sig.slice(0, 1) - o.preemph * sig.slice(0, 0, -1));
  // framing (sigproc.framesig): [frames, len], the tail zero-padded
  const int64_t len = round_half_up(o.winlen_s * o.sample_rate);
  const int64_t step = round_half_up(o.winstep_s * o.sample_rate);
  const int64_t frames = mfcc_frame_count(sig.numel(), o);
  const int64_t padlen = (frames - 1) * step + len;
  auto padded = torch::zeros({padlen}, torch::kFloat64);
  padded.slice(0, 0, sig.numel()).copy_(emph);
  const auto framed = padded.as_strided({frames, len}, {step, 1});
  // power spectrum (sigproc.powspec): [frames, nfft / 2 + 1]. A window longer than nfft is cut.
  const auto spec = torch::fft::rfft(framed.slice(1, 0, std::min<int64_t>(len, nfft)), nfft, 1);
  const auto pspec = spec.abs().square() / double(nfft);
  auto energy = pspec.sum(1);
  energy = torch::where(energy == 0, torch::full_like(energy, DBL_EPSILON), energy);
  // filterbank energies [frames, nfilt], floored like energy, then log and DCT
  auto feat = pspec.matmul(mel_filterbank(o.nfilt, nfft, o.sample_rate, o.lowfreq, o.highfreq).t());
  feat = torch::where(feat == 0, torch::full_like(feat, DBL_EPSILON), feat);
  feat = feat.log().matmul(dct_matrix(o.numcep, o.nfilt).t());  // [frames, numcep]
  if (o.ceplifter > 0) {
    const auto n = torch::arange(o.numcep, torch::kFloat64);
    feat = feat * (1 + (o.ceplifter / 2.0) * torch::sin(kPi * n / o.ceplifter));
  }
  if (o.append_energy) feat.select(1, 0).copy_(energy.log());
  return feat;
}

torch::Tensor mfcc(const std::vector<float>& samples, const MfccOptions& o) {
  if (samples.empty()) throw Error("MFCC of an empty signal", ErrorKind::InvalidArgument);
  auto t = torch::from_blob(const_cast<float*>(samples.data()), {int64_t(samples.size())}, torch::kFloat32)
               .to(torch::kFloat64);
  return mfcc(t * o.sample_scale, o);
}

}  // namespace s2v::light_asd
