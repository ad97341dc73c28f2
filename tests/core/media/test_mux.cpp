// Final export: segments written by VideoWriter joined without re-encoding, the original audio
// trimmed/padded to the video, frame-exact timing across joins, PNG and PNG-sequence export.

#include <QtTest>

#include <cmath>
#include <filesystem>

#include "core/media/audio.h"
#include "core/media/mux.h"
#include "core/media/probe.h"
#include "core/media/video_reader.h"
#include "core/media/video_writer.h"
#include "media_test_util.h"

namespace fs = std::filesystem;
using namespace s2v;
using namespace s2v::media;

class TestMux : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir() const { return fs::path(tmp_.path().toStdString()); }
  QString q(const fs::path& p) const { return QString::fromStdString(p.string()); }

  // The frame number in binary: column block b (w/8 px wide) is white when bit b is set.
  static std::vector<uint8_t> code_frame(int w, int h, int number) {
    std::vector<uint8_t> f(size_t(w) * h * 3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const bool on = (number >> (x * 8 / w)) & 1;
        for (int c = 0; c < 3; ++c) f[(size_t(y) * w + x) * 3 + c] = on ? 235 : 20;
      }
    return f;
  }
  static int read_code(const RgbFrame& f) {
    int n = 0;
    for (int b = 0; b < 8; ++b)
      if (f.pixel(b * f.width / 8 + f.width / 16, f.height / 2)[1] > 128) n |= 1 << b;
    return n;
  }

  // A segment of `frames` frames showing their global frame number (code_frame).
  fs::path segment(const std::string& name, int first, int frames, int w = 96, int h = 64) {
    VideoWriterOptions o;
    o.width = w;
    o.height = h;
    o.fps = 16;
    o.preset = "veryfast";
    const fs::path p = dir() / name;
    VideoWriter writer(p, o);
    for (int i = 0; i < frames; ++i) {
      const auto f = code_frame(w, h, first + i);
      writer.write_rgb(f.data(), 3 * w);
    }
    writer.finish();
    return p;
  }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    if (!test::have_program("ffmpeg")) QSKIP("the ffmpeg program is needed to make test files");
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100:duration=10",
                          "-c:a", "libmp3lame", q(dir() / "speech.mp3")}));
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "sine=frequency=500:sample_rate=16000:duration=1",
                          "-c:a", "pcm_s16le", q(dir() / "short.wav")}));
  }

  void joinsSegmentsAndMuxesTrimmedAudio() {
    const std::vector<fs::path> segs = {segment("s0.mp4", 0, 20), segment("s1.mp4", 20, 17),
                                        segment("s2.mp4", 37, 33)};
    ExportOptions o;
    o.audio = dir() / "speech.mp3";
    const fs::path out = dir() / "final.mp4";
    const ExportResult r = concat_segments(segs, out, o);
    QVERIFY(!fs::exists(dir() / "final.mp4.part"));
    qInfo("joined %lld frames: video %.4f s, audio %.4f s at %d Hz",
          static_cast<long long>(r.video_frames), r.video_duration_s, r.audio_duration_s,
          r.audio_sample_rate);
    QCOMPARE(r.video_frames, int64_t{70});
    QCOMPARE(r.video_duration_s, 70 / 16.0);

    const MediaInfo info = probe(out);
    qInfo("probe: %lld frames, %.4f fps, video %.4f s, audio %s %.4f s",
          static_cast<long long>(info.frame_count), info.fps, info.duration_s,
          info.audio_codec.c_str(), info.audio_duration_s);
    QCOMPARE(info.frame_count, int64_t{70});
    QCOMPARE(info.fps, 16.0);
    QVERIFY(std::abs(info.duration_s - 70 / 16.0) < 1e-3);
    QCOMPARE(info.audio_codec, std::string("aac"));
    QCOMPARE(info.sample_rate, 44100);
    QVERIFY(std::abs(info.audio_duration_s - info.duration_s) < 1.0 / 16);  // within one frame

    // The decoded audio is the 1 kHz tone and as long as the video.
    const AudioBuffer a = read_audio(out);
    QVERIFY(std::abs(a.duration_s() - 70 / 16.0) < 1.0 / 16);

    // Frames keep their order and exact times across the joins.
    VideoReader reader(out);
    RgbFrame f;
    int n = 0;
    while (reader.read(f)) {
      QVERIFY(std::abs(f.time_s - n / 16.0) < 1e-6);
      QCOMPARE(read_code(f), n);
      ++n;
    }
    QCOMPARE(n, 70);
  }

  void padsShortAudioWithSilence() {
    const std::vector<fs::path> segs = {segment("p0.mp4", 0, 24), segment("p1.mp4", 24, 24)};
    ExportOptions o;
    o.audio = dir() / "short.wav";  // 1 s against 3 s of video
    const fs::path out = dir() / "padded.mkv";
    const ExportResult r = concat_segments(segs, out, o);
    QCOMPARE(r.video_frames, int64_t{48});
    const MediaInfo info = probe(out);
    QCOMPARE(info.container, std::string("matroska,webm"));
    const AudioBuffer a = read_audio(out);
    qInfo("1 s of audio padded to %.4f s against %.4f s of video", a.duration_s(), r.video_duration_s);
    QVERIFY(std::abs(a.duration_s() - 3.0) < 1.0 / 16);
    QVERIFY(audio_stats(trim(a, 0.2, 0.8)).peak > 0.1);
    QVERIFY(audio_stats(trim(a, 1.5, 2.9)).peak < 1e-3);
  }

  void startsAudioAtAnOffset() {
    // Audio whose first second is silent: starting at 1 s gives sound from the first frame.
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "aevalsrc='gte(t,1)*0.5*sin(2*PI*440*t)':s=48000:d=3",
                          "-c:a", "pcm_s16le", q(dir() / "late.wav")}));
    ExportOptions o;
    o.audio = dir() / "late.wav";
    o.audio_start_s = 1.0;
    const fs::path out = dir() / "offset.mp4";
    concat_segments({segment("o0.mp4", 0, 16)}, out, o);
    const AudioBuffer a = read_audio(out);
    QVERIFY(audio_stats(trim(a, 0.1, 0.5)).peak > 0.3);
    // Sync: starting at 0.5 s, the sound begins 0.5 s into the export, in MP4 (AAC, whose encoder
    // delay the edit list hides) and in MKV (FLAC).
    o.audio_start_s = 0.5;
    for (const char* name : {"sync.mp4", "sync.mkv"}) {
      concat_segments({segment(std::string("o_") + name, 0, 16)}, dir() / name, o);
      const AudioBuffer s = read_audio(dir() / name);
      size_t onset = 0;
      while (onset < s.samples.size() && std::abs(s.samples[onset]) < 0.05f) ++onset;
      const double t = double(onset) / s.sample_rate;
      qInfo("%s: sound starts at %.4f s (expected 0.5), length %.4f s", name, t, s.duration_s());
      QVERIFY(std::abs(t - 0.5) < 0.005);
      QVERIFY(std::abs(s.duration_s() - 1.0) < 1.0 / 16);
    }
  }

  void videoOnlyExportWorks() {
    const fs::path out = dir() / "video_only.mp4";
    const ExportResult r = concat_segments({segment("v0.mp4", 0, 5), segment("v1.mp4", 5, 5)}, out);
    QCOMPARE(r.video_frames, int64_t{10});
    const MediaInfo info = probe(out);
    QVERIFY(!info.has_audio);
    QCOMPARE(info.frame_count, int64_t{10});
  }

  void rejectsMismatchedSegments() {
    const fs::path a = segment("m0.mp4", 0, 4, 96, 64), b = segment("m1.mp4", 4, 4, 64, 64);
    const fs::path out = dir() / "mismatch.mp4";
    QVERIFY(test::throws_kind([&] { concat_segments({a, b}, out); }, ErrorKind::InvalidArgument,
                              "m1.mp4"));
    QVERIFY(!fs::exists(out));
    QVERIFY(!fs::exists(dir() / "mismatch.mp4.part"));
    QVERIFY(test::throws_kind([&] { concat_segments({}, out); }, ErrorKind::InvalidArgument,
                              "mismatch.mp4"));
    QVERIFY(test::throws_kind([&] { concat_segments({a, dir() / "gone.mp4"}, out); },
                              ErrorKind::NotFound, "gone.mp4"));
    ExportOptions o;
    o.audio = dir() / "nothing.wav";
    QVERIFY(test::throws_kind([&] { concat_segments({a}, out, o); }, ErrorKind::NotFound,
                              "nothing.wav"));
    QVERIFY(!fs::exists(out));
  }

  void writesPngExactly() {
    const auto rgb = test::pattern_frame(37, 23, 5);
    const fs::path p = dir() / "still.png";
    write_png(p, rgb.data(), 37, 23, 37 * 3);
    const MediaInfo info = probe(p);
    QCOMPARE(info.kind, MediaKind::Image);
    const RgbFrame f = read_image(p);
    QCOMPARE(f.width, 37);
    QCOMPARE(f.height, 23);
    QVERIFY(f.rgb == rgb);
    QVERIFY(test::throws_kind([&] { write_png(dir() / "bad.png", rgb.data(), 0, 23, 0); },
                              ErrorKind::InvalidArgument, "bad.png"));
  }

  void exportsPngSequence() {
    const fs::path video = segment("seq.mp4", 0, 7);
    const fs::path folder = dir() / "frames";
    QCOMPARE(export_png_sequence(video, folder), int64_t{7});
    QVERIFY(!fs::exists(dir() / "frames.part"));
    QVERIFY(fs::exists(folder / "frame_000006.png"));
    QVERIFY(!fs::exists(folder / "frame_000007.png"));
    const auto frames = read_frames(video, {3});
    QVERIFY(read_image(folder / "frame_000003.png").rgb == frames[0].rgb);
    QVERIFY(test::throws_kind([&] { export_png_sequence(video, folder); },
                              ErrorKind::InvalidArgument, "frames"));
  }
};

QTEST_GUILESS_MAIN(TestMux)
#include "test_mux.moc"
