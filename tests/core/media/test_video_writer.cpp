// VideoWriter: exact frame count and rate, faststart layout, lossless FFV1, the .part discipline,
// and typed errors for bad options and folders.

#include <QtTest>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cmath>
#include <filesystem>

#include "common/child.h"
#include "core/media/probe.h"
#include "core/media/video_writer.h"
#include "media_test_util.h"

namespace fs = std::filesystem;
using namespace s2v;
using namespace s2v::media;

class TestVideoWriter : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir() const { return fs::path(tmp_.path().toStdString()); }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    if (!test::have_program("ffmpeg")) QSKIP("the ffmpeg program is needed to check outputs");
  }

  void writesExactFrameCountAndRate() {
    const fs::path out = dir() / "exact.mp4";
    VideoWriterOptions o;
    o.width = 64;
    o.height = 48;
    o.fps = 16.0;
    o.preset = "veryfast";
    {
      VideoWriter w(out, o);
      for (int i = 0; i < 37; ++i) {
        const auto f = test::pattern_frame(64, 48, i);
        w.write_rgb(f.data(), 64 * 3);
      }
      QCOMPARE(w.frames_written(), int64_t{37});
      QVERIFY(fs::exists(fs::path(out.string() + ".part")));
      QVERIFY(!fs::exists(out));
      w.finish();
    }
    QVERIFY(fs::exists(out));
    QVERIFY(!fs::exists(fs::path(out.string() + ".part")));
    const MediaInfo info = probe(out);
    qInfo("frames %lld fps %.4f duration %.4f s codec %s", static_cast<long long>(info.frame_count),
          info.fps, info.duration_s, info.video_codec.c_str());
    QCOMPARE(info.kind, MediaKind::Video);
    QCOMPARE(info.video_codec, std::string("h264"));
    QCOMPARE(info.frame_count, int64_t{37});
    QCOMPARE(info.fps, 16.0);
    QVERIFY(std::abs(info.duration_s - 37.0 / 16.0) < 1e-3);
    // An independent decoder sees the same number of frames, close to what was written.
    const auto rgb = test::ffmpeg_decode_rgb(out.string());
    QCOMPARE(rgb.size(), size_t{37} * 64 * 48 * 3);
    double err = 0;
    for (int i = 0; i < 37; ++i) {
      const auto ref = test::pattern_frame(64, 48, i);
      for (size_t k = 0; k < ref.size(); ++k)
        err += std::abs(int(ref[k]) - int(rgb[i * ref.size() + k]));
    }
    err /= double(rgb.size());
    qInfo("H.264 crf 18 mean abs error vs input: %.3f / 255", err);
    QVERIFY(err < 4.0);
  }

  void ntscRateIsKeptExactly() {
    const fs::path out = dir() / "ntsc.mp4";
    VideoWriterOptions o;
    o.width = 32;
    o.height = 32;
    o.fps = 30000.0 / 1001.0;
    o.preset = "ultrafast";
    VideoWriter w(out, o);
    const auto f = test::pattern_frame(32, 32, 0);
    for (int i = 0; i < 10; ++i) w.write_rgb(f.data(), 32 * 3);
    w.finish();
    const MediaInfo info = probe(out);
    QCOMPARE(info.frame_count, int64_t{10});
    QVERIFY(std::abs(info.fps - 30000.0 / 1001.0) < 1e-6);
  }

  void faststartPutsMoovBeforeMdat() {
    const fs::path out = dir() / "fast.mp4";
    VideoWriterOptions o;
    o.width = 32;
    o.height = 32;
    o.preset = "ultrafast";
    VideoWriter w(out, o);
    const auto f = test::pattern_frame(32, 32, 0);
    for (int i = 0; i < 5; ++i) w.write_rgb(f.data(), 32 * 3);
    w.finish();
    // Walk the top-level boxes: size (4 bytes BE) + type.
    const auto bytes = test::read_bytes(out);
    size_t pos = 0;
    long moov = -1, mdat = -1;
    int index = 0;
    while (pos + 8 <= bytes.size()) {
      const uint64_t size = (uint64_t(bytes[pos]) << 24) | (bytes[pos + 1] << 16) |
                            (bytes[pos + 2] << 8) | bytes[pos + 3];
      const std::string type(reinterpret_cast<const char*>(&bytes[pos + 4]), 4);
      if (type == "moov") moov = index;
      if (type == "mdat") mdat = index;
      if (size < 8) break;
      pos += size;
      ++index;
    }
    QVERIFY(moov >= 0 && mdat >= 0);
    QVERIFY(moov < mdat);
  }

  void ffv1IsLossless() {
    const fs::path out = dir() / "lossless.mkv";
    VideoWriterOptions o;
    o.width = 33;  // odd sizes are fine for FFV1 (RGB)
    o.height = 21;
    o.codec = VideoCodec::FFV1;
    std::vector<uint8_t> all;
    {
      VideoWriter w(out, o);
      for (int i = 0; i < 6; ++i) {
        auto f = test::pattern_frame(33, 21, i);
        for (size_t k = 0; k < f.size(); k += 7) f[k] = uint8_t(k * 13 + i);  // high-frequency noise
        // A padded stride exercises stride_bytes.
        std::vector<uint8_t> padded(size_t(21) * 112);
        for (int y = 0; y < 21; ++y) std::copy_n(&f[size_t(y) * 99], 99, &padded[size_t(y) * 112]);
        w.write_rgb(padded.data(), 112);
        all.insert(all.end(), f.begin(), f.end());
      }
      w.finish();
    }
    const MediaInfo info = probe(out);
    QCOMPARE(info.video_codec, std::string("ffv1"));
    QCOMPARE(info.frame_count, int64_t{6});
    const auto rgb = test::ffmpeg_decode_rgb(out.string());
    QCOMPARE(rgb.size(), all.size());
    QVERIFY(rgb == all);
  }

  void destructorWithoutFinishLeavesNoFile() {
    const fs::path out = dir() / "abandoned.mp4";
    {
      VideoWriterOptions o;
      o.width = 32;
      o.height = 32;
      o.preset = "ultrafast";
      VideoWriter w(out, o);
      const auto f = test::pattern_frame(32, 32, 0);
      w.write_rgb(f.data(), 32 * 3);
      QVERIFY(fs::exists(fs::path(out.string() + ".part")));
    }
    QVERIFY(!fs::exists(out));
    QVERIFY(!fs::exists(fs::path(out.string() + ".part")));
  }

  void rejectsBadOptions() {
    VideoWriterOptions o;
    o.width = 63;
    o.height = 48;
    QVERIFY(test::throws_kind([&] { VideoWriter w(dir() / "odd.mp4", o); },
                              ErrorKind::InvalidArgument, "odd.mp4"));
    o.width = 0;
    QVERIFY(test::throws_kind([&] { VideoWriter w(dir() / "zero.mp4", o); },
                              ErrorKind::InvalidArgument, "zero.mp4"));
    o.width = 8194;
    QVERIFY(test::throws_kind([&] { VideoWriter w(dir() / "huge.mp4", o); },
                              ErrorKind::InvalidArgument, "huge.mp4"));
    o.width = 64;
    o.fps = 0;
    QVERIFY(test::throws_kind([&] { VideoWriter w(dir() / "fps.mp4", o); },
                              ErrorKind::InvalidArgument, "fps.mp4"));
    o.fps = 16;
    o.codec = VideoCodec::FFV1;
    QVERIFY(test::throws_kind([&] { VideoWriter w(dir() / "ffv1.mp4", o); },
                              ErrorKind::InvalidArgument, "ffv1.mp4"));
    o.codec = VideoCodec::H264;
    o.preset = "no-such-preset";
    QVERIFY(test::throws_kind([&] { VideoWriter w(dir() / "preset.mp4", o); },
                              ErrorKind::InvalidArgument, "preset.mp4"));
    QVERIFY(!fs::exists(dir() / "preset.mp4.part"));
    o.preset = "ultrafast";
    VideoWriter w(dir() / "empty.mp4", o);
    QVERIFY(test::throws_kind([&] { w.finish(); }, ErrorKind::InvalidArgument, "empty.mp4"));
    QVERIFY(!fs::exists(dir() / "empty.mp4"));
  }

  void rejectsMissingFolder() {
    VideoWriterOptions o;
    o.width = 32;
    o.height = 32;
    QVERIFY(test::throws_kind([&] { VideoWriter w(dir() / "no" / "such" / "out.mp4", o); },
                              ErrorKind::NotFound, "out.mp4"));
  }

  void reportsFullDisk() {
    // The disk is simulated as full with a file size limit in a child process (RLIMIT_FSIZE,
    // SIGXFSZ ignored): every write past 16 kB fails with EFBIG.
    const fs::path out = dir() / "full.mp4";
    const auto child = test::run_in_child([&]() -> std::string {
      VideoWriterOptions o;
      o.width = 64;
      o.height = 64;
      o.preset = "ultrafast";
      o.faststart = false;
      return test::throws_kind(
                 [&] {
                   VideoWriter w(out, o);
                   for (int i = 0; i < 50; ++i) {
                     const auto f = test::pattern_frame(64, 64, i);
                     w.write_rgb(f.data(), 64 * 3);
                   }
                   w.finish();
                 },
                 ErrorKind::Io, "full.mp4")
                 ? "ok"
                 : "wrong error";
    }, 16384);
    QVERIFY(child.exited);
    QCOMPARE(child.text, std::string("ok"));
    QVERIFY(!fs::exists(out));
    QVERIFY(!fs::exists(fs::path(out.string() + ".part")));
  }

  // A symlink planted at "<name>.part" used to be followed: FFmpeg wrote through it into any file.
  // The .part is now created fresh, so the link's target is untouched.
  void plantedPartSymlinkIsNotFollowed() {
    const fs::path victim = dir() / "victim.txt";
    test::write_bytes(victim, {'k', 'e', 'e', 'p'});
    const fs::path out = dir() / "planted.mp4";
    fs::create_symlink(victim, fs::path(out.string() + ".part"));
    VideoWriterOptions o;
    o.width = 64;
    o.height = 64;
    o.preset = "ultrafast";
    VideoWriter w(out, o);
    for (int i = 0; i < 4; ++i) {
      const auto f = test::pattern_frame(64, 64, i);
      w.write_rgb(f.data(), 64 * 3);
    }
    w.finish();
    QCOMPARE(test::read_bytes(victim), (std::vector<uint8_t>{'k', 'e', 'e', 'p'}));
    QCOMPARE(probe(out).frame_count, int64_t(4));
  }

  // Issue #19 group 1: a device node as the output was replaced by a regular file.
  void refusesADeviceNode() {
    const fs::path dev = dir() / "device.mp4";
    if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 7)) != 0) QSKIP("mknod needs root");
    VideoWriterOptions o;
    o.width = 64;
    o.height = 64;
    QVERIFY(test::throws_kind([&] { VideoWriter w(dev, o); }, ErrorKind::InvalidArgument, "character device"));
    struct stat st {};
    QVERIFY(::stat(dev.c_str(), &st) == 0 && S_ISCHR(st.st_mode));
  }
};

QTEST_GUILESS_MAIN(TestVideoWriter)
#include "test_video_writer.moc"
