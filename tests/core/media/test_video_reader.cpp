// Decoding: pixel values against the ffmpeg program, exact timestamps (CFR and VFR), rotation,
// seeking, still-image formats with EXIF orientation, and the official frame sampling rules.

#include <QtTest>

#include <cmath>
#include <filesystem>

#include "core/media/probe.h"
#include "core/media/video_reader.h"
#include "media_test_util.h"

namespace fs = std::filesystem;
using namespace s2v;
using namespace s2v::media;

namespace {

double mean_abs(const std::vector<uint8_t>& a, const uint8_t* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += std::abs(int(a[i]) - int(b[i]));
  return s / double(n);
}

std::vector<uint8_t> exif_jpeg(const std::vector<uint8_t>& jpeg, int orientation) {
  std::vector<uint8_t> app1 = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0,
                               'I', 'I', 42, 0, 8, 0, 0, 0,  // little-endian TIFF this time
                               1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0,
                               uint8_t(orientation), 0, 0, 0, 0, 0, 0, 0};
  const size_t len = app1.size() - 2;
  app1[2] = uint8_t(len >> 8);
  app1[3] = uint8_t(len & 0xFF);
  std::vector<uint8_t> out(jpeg.begin(), jpeg.begin() + 2);
  out.insert(out.end(), app1.begin(), app1.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

}  // namespace

class TestVideoReader : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir() const { return fs::path(tmp_.path().toStdString()); }
  QString q(const fs::path& p) const { return QString::fromStdString(p.string()); }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    if (!test::have_program("ffmpeg")) QSKIP("the ffmpeg program is needed to make test files");
    // 3 s at 25 fps; red channel = 3 x frame number, lossless (FFV1 in MKV).
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=64x48:r=25:d=3", "-vf",
                          "format=rgb24,geq=r='3*N':g='X*4':b='Y*5'", "-c:v", "ffv1", "-pix_fmt",
                          "bgr0", q(dir() / "numbered.mkv")}));
    // Colour bars in H.264 / MP4.
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-c:v", "libx264",
                          "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p",
                          q(dir() / "bars.mp4")}));
  }

  void decodesLosslessFramesExactly() {
    VideoReader r(dir() / "numbered.mkv");
    QCOMPARE(r.width(), 64);
    QCOMPARE(r.height(), 48);
    RgbFrame f;
    int n = 0;
    while (r.read(f)) {
      QCOMPARE(f.index, int64_t(n));
      QCOMPARE(int(f.pixel(0, 0)[0]), 3 * n);
      QCOMPARE(int(f.pixel(10, 7)[1]), 40);
      QCOMPARE(int(f.pixel(10, 7)[2]), 35);
      QVERIFY(std::abs(f.time_s - n / 25.0) < 1e-3);  // Matroska stores milliseconds
      ++n;
    }
    QCOMPARE(n, 75);
    QCOMPARE(count_frames(dir() / "numbered.mkv"), int64_t{75});
  }

  void matchesFfmpegOnH264() {
    const auto ref = test::ffmpeg_decode_rgb((dir() / "bars.mp4").string());
    const size_t fsz = 320 * 240 * 3;
    QCOMPARE(ref.size(), 50 * fsz);
    VideoReader r(dir() / "bars.mp4");
    RgbFrame f;
    int n = 0;
    double worst = 0;
    while (r.read(f)) {
      QCOMPARE(f.rgb.size(), fsz);
      QCOMPARE(f.pts, int64_t(n) * 512);  // 25 fps in the 1/12800 MP4 time base
      QCOMPARE(f.time_s, n / 25.0);
      worst = std::max(worst, mean_abs(f.rgb, &ref[n * fsz], fsz));
      ++n;
    }
    qInfo("H.264: %d frames, worst mean |ours - ffmpeg| = %.3f / 255", n, worst);
    QCOMPARE(n, 50);
    QVERIFY(worst < 0.5);
  }

  void handlesVariableFrameRate() {
    // 20 frames, a 0.48 s gap after the tenth: timestamps must follow the file, not the rate.
    const fs::path p = dir() / "vfr.mkv";
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=64x48:r=25", "-frames:v", "20", "-vf",
                          "setpts='(N/25+gte(N,10)*0.48)/TB'", "-fps_mode", "vfr", "-c:v",
                          "libx264", "-preset", "ultrafast", q(p)}));
    VideoReader r(p);
    RgbFrame f;
    std::vector<double> times;
    while (r.read(f)) times.push_back(f.time_s);
    QCOMPARE(int(times.size()), 20);
    QVERIFY(std::abs(times[9] - 0.36) < 1e-3);
    QVERIFY(std::abs(times[10] - 0.88) < 1e-3);
    QVERIFY(std::abs(times[19] - 1.24) < 1e-3);
  }

  void appliesRotation() {
    const fs::path plain = dir() / "lr.mp4", rotated = dir() / "lr_rot.mp4";
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i",
                          "color=white:s=32x48[a];color=black:s=32x48[b];[a][b]hstack", "-frames:v",
                          "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", q(plain)}));
    QVERIFY(test::ffmpeg({"-i", q(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", q(rotated)}));
    VideoReader r(rotated);
    RgbFrame f;
    QVERIFY(r.read(f));
    QCOMPARE(f.width, 48);
    QCOMPARE(f.height, 64);
    QVERIFY(f.pixel(24, 2)[0] < 30);    // top: the black half
    QVERIFY(f.pixel(24, 61)[0] > 225);  // bottom: the white half
    const auto ref = test::ffmpeg_decode_rgb(rotated.string());
    QCOMPARE(ref.size(), size_t(2) * f.rgb.size());
    QVERIFY(mean_abs(f.rgb, ref.data(), f.rgb.size()) < 2.0);
    VideoReaderOptions raw;
    raw.apply_rotation = false;
    VideoReader r2(rotated, raw);
    QVERIFY(r2.read(f));
    QCOMPARE(f.width, 64);
    QCOMPARE(f.height, 48);
  }

  void seeksFrameExactly() {
    VideoReader seq(dir() / "numbered.mkv");
    VideoReader r(dir() / "numbered.mkv");
    for (double t : {1.0, 2.48, 0.52, 0.0}) {
      r.seek(t);
      RgbFrame f;
      QVERIFY(r.read(f));
      const int want = int(std::lround(t * 25));
      QCOMPARE(f.index, int64_t(want));
      QCOMPARE(int(f.pixel(0, 0)[0]), 3 * want);
      QVERIFY(std::abs(f.time_s - t) < 1e-3);
      QVERIFY(r.read(f));
      QCOMPARE(f.index, int64_t(want + 1));
    }
    // H.264 with B-frames: seeking lands mid-GOP and decodes forward.
    VideoReader h(dir() / "bars.mp4");
    h.seek(1.2);
    RgbFrame f;
    QVERIFY(h.read(f));
    QCOMPARE(f.index, int64_t{30});
    QCOMPARE(f.time_s, 1.2);
  }

  void readsStillImageFormats() {
    for (const char* ext : {"png", "jpg", "webp", "bmp", "tiff"}) {
      const fs::path p = dir() / (std::string("still.") + ext);
      QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=80x60", "-frames:v", "1", q(p)}));
      const MediaInfo info = probe(p);
      QCOMPARE(info.kind, MediaKind::Image);
      const RgbFrame f = read_image(p);
      QCOMPARE(f.width, 80);
      QCOMPARE(f.height, 60);
      const auto ref = test::ffmpeg_decode_rgb(p.string());
      QCOMPARE(ref.size(), f.rgb.size());
      const double err = mean_abs(f.rgb, ref.data(), ref.size());
      qInfo("%s (%s): mean |ours - ffmpeg| = %.3f", ext, info.video_codec.c_str(), err);
      QVERIFY(err < 2.0);
    }
  }

  void honoursExifOrientation() {
    const auto jpeg = test::read_bytes(dir() / "still.jpg");
    const RgbFrame upright = read_image(dir() / "still.jpg");
    for (int o = 1; o <= 8; ++o) {
      const fs::path p = dir() / ("exif" + std::to_string(o) + ".jpg");
      test::write_bytes(p, exif_jpeg(jpeg, o));
      const RgbFrame f = read_image(p);
      const int rot[9] = {0, 0, 0, 180, 180, 270, 90, 90, 270};
      const bool mir = o == 2 || o == 4 || o == 5 || o == 7;
      const RgbFrame want = orient(upright, rot[o], mir);
      QCOMPARE(f.width, want.width);
      QCOMPARE(f.height, want.height);
      QVERIFY(f.rgb == want.rgb);
    }
    // orient() itself: a 2x1 image turned clockwise puts the left pixel on top.
    RgbFrame tiny;
    tiny.width = 2;
    tiny.height = 1;
    tiny.rgb = {10, 0, 0, 20, 0, 0};
    const RgbFrame cw = orient(tiny, 90, false);
    QCOMPARE(cw.width, 1);
    QCOMPARE(cw.height, 2);
    QCOMPARE(int(cw.rgb[0]), 10);
    QCOMPARE(int(orient(tiny, 0, true).rgb[0]), 20);
  }

  void samplesLikeReadLastNFrames() {
    // 30 -> 16 fps: interval round(1.875) = 2.
    QCOMPARE(sample_indices_interval(30, 100, 16, 5, false), (std::vector<int64_t>{91, 93, 95, 97, 99}));
    QCOMPARE(sample_indices_interval(30, 100, 16, 5, true), (std::vector<int64_t>{0, 2, 4, 6, 8}));
    // 40 -> 16 fps: 2.5 rounds half to even -> 2 (Python's round).
    QCOMPARE(sample_indices_interval(40, 10, 16, 3, true), (std::vector<int64_t>{0, 2, 4}));
    // Too short: indices past the end are dropped.
    QCOMPARE(sample_indices_interval(25, 5, 25, 8, true), (std::vector<int64_t>{0, 1, 2, 3, 4}));
    QCOMPARE(sample_indices_interval(25, 5, 25, 8, false), (std::vector<int64_t>{0, 1, 2, 3, 4}));
    // Slower source than target: interval 1.
    QCOMPARE(sample_indices_interval(8, 20, 16, 3, false), (std::vector<int64_t>{17, 18, 19}));
    // Time-based rule (frame_sampling.py): 25 -> 16 fps from the start: round(k * 25/16).
    QCOMPARE(sample_indices_timed(25, 100, 16, 6, true), (std::vector<int64_t>{0, 2, 3, 5, 6, 8}));
    // A slow source repeats frames (k/16 s * 8 fps = 0, .5, 1, 1.5, 2, 2.5 -> half to even);
    // timestamps past the end (3/8 s) are dropped.
    QCOMPARE(sample_indices_timed(8, 3, 16, 8, true), (std::vector<int64_t>{0, 0, 1, 2, 2, 2}));
    // From the end: the last index is the last frame.
    const auto tail = sample_indices_timed(25, 100, 16, 6, false);
    QCOMPARE(tail.back(), int64_t{99});
    QCOMPARE(int(tail.size()), 6);
  }

  void readLastNFramesReturnsTheRightPictures() {
    // 75 frames at 25 fps, 10 at 16 fps: interval 2, start 75 - 18 - 1 = 56.
    const auto frames = read_last_n_frames(dir() / "numbered.mkv", 10, 16, false);
    QCOMPARE(int(frames.size()), 10);
    for (int i = 0; i < 10; ++i) {
      QCOMPARE(frames[i].index, int64_t(56 + 2 * i));
      QCOMPARE(int(frames[i].pixel(0, 0)[0]), 3 * (56 + 2 * i));
    }
    const auto head = read_last_n_frames(dir() / "numbered.mkv", 3, 16, true);
    QCOMPARE(int(head[2].pixel(0, 0)[0]), 12);
    // Repeated and unordered indices come back in the order asked.
    const auto some = read_frames(dir() / "numbered.mkv", {7, 3, 7});
    QCOMPARE(int(some[0].pixel(0, 0)[0]), 21);
    QCOMPARE(int(some[1].pixel(0, 0)[0]), 9);
    QCOMPARE(int(some[2].pixel(0, 0)[0]), 21);
    QVERIFY(test::throws_kind([&] { read_frames(dir() / "numbered.mkv", {80}); },
                              ErrorKind::InvalidArgument, "numbered.mkv"));
  }

  void readsFarFramesOfLongVideo() {
    // 10 s at 25 fps: frames far in are found by seeking; the numbers must still be exact.
    const fs::path p = dir() / "long.mkv";
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=32x32:r=25:d=10", "-vf",
                          "format=rgb24,geq=r='3*mod(N,85)':g='80*floor(N/85)':b=0", "-c:v",
                          "ffv1", "-pix_fmt", "bgr0", q(p)}));
    const auto frames = read_frames(p, {240, 201, 200, 249});
    const int want[4] = {240, 201, 200, 249};
    for (int i = 0; i < 4; ++i) {
      const int n = want[i];
      QCOMPARE(frames[i].index, int64_t(n));
      QCOMPARE(int(frames[i].pixel(5, 5)[0]), 3 * (n % 85));
      QCOMPARE(int(frames[i].pixel(5, 5)[1]), 80 * (n / 85));
      QVERIFY(std::abs(frames[i].time_s - n / 25.0) < 1e-3);
    }
    const auto last = read_last_n_frames(p, 5, 16, false);  // interval 2, start 250 - 8 - 1 = 241
    QCOMPARE(int(last.size()), 5);
    QCOMPARE(last[0].index, int64_t{241});
    QCOMPARE(int(last[4].pixel(5, 5)[0]), 3 * (249 % 85));
  }

  void survivesTruncatedVideoData() {
    // Faststart keeps the index intact while the picture data is cut: frames that exist decode,
    // then the stream ends; no crash, no hang.
    const fs::path full = dir() / "fast.mp4";
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2", "-c:v", "libx264",
                          "-preset", "ultrafast", "-movflags", "+faststart", q(full)}));
    auto bytes = test::read_bytes(full);
    bytes.resize(bytes.size() * 6 / 10);
    const fs::path cut = dir() / "cut.mp4";
    test::write_bytes(cut, bytes);
    int n = 0;
    try {
      VideoReader r(cut);
      RgbFrame f;
      while (r.read(f)) ++n;
    } catch (const Error& e) {
      QCOMPARE(e.kind(), ErrorKind::Corrupt);
    }
    qInfo("truncated to 60%%: %d of 50 frames decoded", n);
    QVERIFY(n < 50);
  }

  void decodesMegamindSample() {
    const fs::path p = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";
    if (!fs::exists(p)) QSKIP("opencv-doc's Megamind.avi is not installed");
    const MediaInfo info = probe(p);
    qInfo("Megamind.avi: %s %dx%d %.3f fps, %lld frames (container), %.3f s", info.video_codec.c_str(),
          info.width, info.height, info.fps, static_cast<long long>(info.frame_count), info.duration_s);
    QCOMPARE(info.kind, MediaKind::Video);
    VideoReader r(p);
    RgbFrame f;
    int n = 0;
    while (r.read(f)) ++n;
    QCOMPARE(int64_t(n), count_frames(p));
    QCOMPARE(int64_t(n), info.frame_count);
    const auto ref = test::ffmpeg_decode_rgb(p.string());
    QCOMPARE(ref.size(), size_t(n) * f.rgb.size());
    const double err = mean_abs(f.rgb, &ref[size_t(n - 1) * f.rgb.size()], f.rgb.size());
    qInfo("last frame mean |ours - ffmpeg| = %.3f", err);
    QVERIFY(err < 2.0);
  }
};

QTEST_GUILESS_MAIN(TestVideoReader)
#include "test_video_reader.moc"
