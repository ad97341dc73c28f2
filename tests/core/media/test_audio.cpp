// Audio in: every container/codec to 16 kHz mono float, sample counts, a 1 kHz tone that stays
// 1 kHz, the channel mean as downmix, loudness numbers, trimming, waveform speed, typed errors.

#include <QElapsedTimer>
#include <QtTest>

#include <cmath>
#include <filesystem>

#include "core/media/audio.h"
#include "core/media/probe.h"
#include "media_test_util.h"

namespace fs = std::filesystem;
using namespace s2v;
using namespace s2v::media;

namespace {

// Frequency from positive-going zero crossings (linearly interpolated) over the middle 80%.
double tone_frequency(const AudioBuffer& a) {
  const size_t n = a.samples.size();
  const size_t lo = n / 10, hi = n - n / 10;
  double first = -1, last = -1;
  int count = 0;
  for (size_t i = lo + 1; i < hi; ++i) {
    const float p = a.samples[i - 1], c = a.samples[i];
    if (p < 0 && c >= 0) {
      const double t = (double(i - 1) + p / (p - c)) / a.sample_rate;
      if (first < 0) first = t;
      last = t;
      ++count;
    }
  }
  return count > 1 ? (count - 1) / (last - first) : 0.0;
}

}  // namespace

class TestAudio : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir() const { return fs::path(tmp_.path().toStdString()); }
  QString q(const fs::path& p) const { return QString::fromStdString(p.string()); }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    if (!test::have_program("ffmpeg")) QSKIP("the ffmpeg program is needed to make test files");
    // 2 s of 1 kHz at 44.1 kHz stereo, amplitude 1/8 (ffmpeg's sine source).
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100:duration=2",
                          "-af", "pan=stereo|c0=c0|c1=c0", "-c:a", "pcm_s16le", q(dir() / "tone.wav")}));
  }

  void decodesWavToSixteenKilohertzMono() {
    const AudioBuffer a = read_audio(dir() / "tone.wav");
    QCOMPARE(a.sample_rate, 16000);
    QCOMPARE(int(a.samples.size()), 32000);
    const double f = tone_frequency(a);
    const AudioStats s = audio_stats(a);
    qInfo("WAV 44.1k stereo -> %zu samples, tone %.3f Hz, peak %.4f (%.2f dBFS), rms %.2f dBFS",
          a.samples.size(), f, s.peak, s.peak_dbfs, s.rms_dbfs);
    QVERIFY(std::abs(f - 1000.0) < 0.05);
    QVERIFY(std::abs(s.peak - 0.125) < 0.003);
    QVERIFY(std::abs(s.rms_dbfs - (20 * std::log10(0.125) - 3.0103)) < 0.05);
    QCOMPARE(s.duration_s, 2.0);
  }

  void decodesEveryCodec() {
    struct Case {
      const char* file;
      QStringList codec;
    };
    const std::vector<Case> cases = {
        {"tone.mp3", {"-c:a", "libmp3lame", "-b:a", "128k"}},
        {"tone.flac", {"-c:a", "flac"}},
        {"tone.opus", {"-c:a", "libopus", "-b:a", "64k"}},
        {"tone.ogg", {"-c:a", "libvorbis"}},
        {"tone.m4a", {"-c:a", "aac", "-b:a", "128k"}},
    };
    for (const auto& c : cases) {
      QStringList args{"-i", q(dir() / "tone.wav")};
      args += c.codec;
      args << q(dir() / c.file);
      QVERIFY(test::ffmpeg(args));
      const AudioBuffer a = read_audio(dir() / c.file);
      const double f = tone_frequency(a);
      const double dur = a.duration_s();
      qInfo("%-10s %6zu samples (%.4f s), tone %.3f Hz, peak %.3f", c.file, a.samples.size(), dur,
            f, audio_stats(a).peak);
      QVERIFY2(std::abs(dur - 2.0) < 0.03, c.file);  // codec padding is trimmed by FFmpeg
      QVERIFY2(std::abs(f - 1000.0) < 0.1, c.file);
      QVERIFY2(std::abs(audio_stats(a).peak - 0.125) < 0.02, c.file);
    }
  }

  void decodesAudioTrackOfVideo() {
    const fs::path p = dir() / "with_audio.mp4";
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=64x48:r=16:d=1.5", "-f", "lavfi", "-i",
                          "sine=frequency=1000:sample_rate=48000:duration=1.5", "-c:v", "libx264",
                          "-preset", "ultrafast", "-c:a", "aac", q(p)}));
    const AudioBuffer a = read_audio(p);
    qInfo("video's AAC track: %.4f s, tone %.3f Hz", a.duration_s(), tone_frequency(a));
    QVERIFY(std::abs(a.duration_s() - 1.5) < 0.03);
    QVERIFY(std::abs(tone_frequency(a) - 1000.0) < 0.1);
  }

  void downmixIsTheChannelMean() {
    // Left = sine, right = -sine: the mean is silence. Left = sine, right = 0: half amplitude.
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i",
                          "aevalsrc='0.5*sin(2*PI*440*t)|-0.5*sin(2*PI*440*t)':s=16000:d=1",
                          "-c:a", "pcm_f32le", q(dir() / "anti.wav")}));
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "aevalsrc='0.5*sin(2*PI*440*t)|0':s=16000:d=1",
                          "-c:a", "pcm_f32le", q(dir() / "half.wav")}));
    const AudioStats anti = audio_stats(read_audio(dir() / "anti.wav"));
    const AudioStats half = audio_stats(read_audio(dir() / "half.wav"));
    qInfo("antiphase peak %.2e, one-sided peak %.5f", anti.peak, half.peak);
    QVERIFY(anti.peak < 1e-6);
    QVERIFY(std::abs(half.peak - 0.25) < 1e-3);
  }

  void trimsByTime() {
    AudioReadOptions o;
    o.start_s = 0.5;
    o.end_s = 1.25;
    const AudioBuffer a = read_audio(dir() / "tone.wav", o);
    QCOMPARE(int(a.samples.size()), 12000);
    const AudioBuffer full = read_audio(dir() / "tone.wav");
    QCOMPARE(a.samples[0], full.samples[8000]);
    const AudioBuffer tail = trim(full, 1.5, -1);
    QCOMPARE(int(tail.samples.size()), 8000);
    QCOMPARE(int(trim(full, 3.0, 4.0).samples.size()), 0);
    o.end_s = 0.25;
    QVERIFY(test::throws_kind([&] { read_audio(dir() / "tone.wav", o); }, ErrorKind::InvalidArgument,
                              "tone.wav"));
  }

  void readsSpeech() {
    if (!test::have_program("espeak-ng")) QSKIP("espeak-ng is not installed");
    const fs::path p = dir() / "speech.wav";
    QCOMPARE(test::run_program("espeak-ng", {"-w", q(p), "the quick brown fox jumps over the lazy dog"}), 0);
    const MediaInfo info = probe(p);
    const AudioBuffer a = read_audio(p);
    const AudioStats s = audio_stats(a);
    qInfo("speech: %d Hz source, %.3f s, peak %.2f dBFS, rms %.2f dBFS", info.sample_rate,
          a.duration_s(), s.peak_dbfs, s.rms_dbfs);
    QVERIFY(std::abs(a.duration_s() - info.duration_s) < 2e-3);
    QVERIFY(a.duration_s() > 1.0);
    QVERIFY(s.rms_dbfs > -40 && s.rms_dbfs < -3);
  }

  void writesWavRoundTrip() {
    AudioBuffer a;
    a.sample_rate = 16000;
    for (int i = 0; i < 1600; ++i) a.samples.push_back(float(0.5 * std::sin(2 * M_PI * 1000 * i / 16000.0)));
    const fs::path p = dir() / "written.wav";
    write_wav(p, a);
    QVERIFY(!fs::exists(dir() / "written.wav.part"));
    const AudioBuffer b = read_audio(p);
    QCOMPARE(b.samples.size(), a.samples.size());
    double worst = 0;
    for (size_t i = 0; i < a.samples.size(); ++i)
      worst = std::max(worst, double(std::abs(a.samples[i] - b.samples[i])));
    QVERIFY(worst < 1.0 / 32767 + 1e-6);
    QVERIFY(test::throws_kind([&] { write_wav(dir() / "nope" / "x.wav", a); }, ErrorKind::NotFound,
                              "x.wav"));
  }

  void waveformSummaryIsFastForTenMinutes() {
    const fs::path p = dir() / "ten_minutes.flac";
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i",
                          "sine=frequency=220:sample_rate=44100:duration=600", "-af",
                          "volume='if(lt(t,300),0.5,1)':eval=frame", "-c:a", "flac", q(p)}));
    QElapsedTimer t;
    t.start();
    const Waveform w = waveform_summary(p, 1200);
    const qint64 ms = t.elapsed();
    qInfo("10-minute FLAC: 1200-bucket waveform in %lld ms", static_cast<long long>(ms));
    QCOMPARE(int(w.max.size()), 1200);
    QVERIFY(std::abs(w.seconds_per_bucket - 0.5) < 1e-3);
    QVERIFY(std::abs(w.max[100] - 0.0625) < 0.01);   // first half at half volume
    QVERIFY(std::abs(w.max[1000] - 0.125) < 0.01);
    QVERIFY(std::abs(w.min[1000] + 0.125) < 0.01);
    QVERIFY(ms < 10000);
  }

  // Issue #19 group 11: a float WAV holding NaN or infinity was reported as "is silent" (NaN
  // fails every comparison the peak makes). Written by hand: IEEE float, mono, 16 kHz.
  void rejectsNonFiniteSamples() {
    for (float bad : {std::nanf(""), INFINITY}) {
      std::vector<float> samples(16000);
      for (size_t i = 0; i < samples.size(); ++i) samples[i] = 0.5f * std::sin(float(i) * 0.1f);
      samples[8000] = bad;
      std::vector<uint8_t> b;
      auto put = [&](uint32_t v, int n) {
        for (int i = 0; i < n; ++i) b.push_back(uint8_t(v >> (8 * i)));
      };
      auto tag = [&](const char* t) { b.insert(b.end(), t, t + 4); };
      const uint32_t data = uint32_t(samples.size() * 4);
      tag("RIFF"), put(36 + data, 4), tag("WAVE"), tag("fmt "), put(16, 4), put(3, 2), put(1, 2);
      put(16000, 4), put(16000 * 4, 4), put(4, 2), put(32, 2), tag("data"), put(data, 4);
      const auto* raw = reinterpret_cast<const uint8_t*>(samples.data());
      b.insert(b.end(), raw, raw + data);
      const fs::path p = dir() / "nonfinite.wav";
      test::write_bytes(p, b);
      std::string msg;
      QVERIFY(test::throws_kind([&] { read_audio(p); }, ErrorKind::Corrupt, "nonfinite.wav", &msg));
      QVERIFY2(msg.find("not numbers") != std::string::npos && msg.find("0.50 s") != std::string::npos, msg.c_str());
    }
  }

  void rejectsBadAudio() {
    // Header only: a zero-length WAV.
    auto wav = test::read_bytes(dir() / "tone.wav");
    wav.resize(44);
    test::write_bytes(dir() / "zero.wav", wav);
    std::string msg;
    try {
      read_audio(dir() / "zero.wav");
      QFAIL("no error for a zero-length WAV");
    } catch (const Error& e) {
      qInfo("%s: %s", to_string(e.kind()), e.what());
      QCOMPARE(e.kind(), ErrorKind::Corrupt);
      QVERIFY(std::string(e.what()).find("zero.wav") != std::string::npos);
    }
    // A header that promises 2 s while the file holds 0.25 s: the samples present, no more.
    auto cut = test::read_bytes(dir() / "tone.wav");
    cut.resize(44 + size_t(44100 * 4 / 4));
    test::write_bytes(dir() / "lying.wav", cut);
    const AudioBuffer lying = read_audio(dir() / "lying.wav");
    qInfo("lying WAV header (2 s promised, 0.25 s present): %.4f s decoded", lying.duration_s());
    QVERIFY(std::abs(lying.duration_s() - 0.25) < 0.01);
    // A video without audio.
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=64x48:r=16:d=0.5", "-c:v", "libx264",
                          "-preset", "ultrafast", q(dir() / "silent.mp4")}));
    QVERIFY(test::throws_kind([&] { read_audio(dir() / "silent.mp4"); }, ErrorKind::Unsupported,
                              "silent.mp4"));
    QVERIFY(test::throws_kind([&] { read_audio(dir() / "missing.wav"); }, ErrorKind::NotFound,
                              "missing.wav"));
  }
};

QTEST_GUILESS_MAIN(TestAudio)
#include "test_audio.moc"
