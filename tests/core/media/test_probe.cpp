// probe(): kind by content (not extension), sizes, rates, counts, rotation, EXIF orientation,
// and one typed error per bad file of the corpus.

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include <sys/stat.h>
#include <unistd.h>

#include "core/media/audio.h"
#include "core/media/probe.h"
#include "core/media/video_reader.h"
#include "media_test_util.h"

namespace fs = std::filesystem;
using namespace s2v;
using namespace s2v::media;

namespace {

// A JPEG with an EXIF APP1 segment holding only the Orientation tag (0x0112).
std::vector<uint8_t> with_exif_orientation(const std::vector<uint8_t>& jpeg, int orientation) {
  std::vector<uint8_t> tiff = {'M', 'M', 0, 42, 0, 0, 0, 8,  // big-endian TIFF header, IFD at 8
                               0, 1,                          // one entry
                               0x01, 0x12, 0, 3, 0, 0, 0, 1,  // Orientation, SHORT, count 1
                               0, uint8_t(orientation), 0, 0,  // value
                               0, 0, 0, 0};                   // no next IFD
  std::vector<uint8_t> app1 = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  app1.insert(app1.end(), tiff.begin(), tiff.end());
  const size_t len = app1.size() - 2;
  app1[2] = uint8_t(len >> 8);
  app1[3] = uint8_t(len & 0xFF);
  std::vector<uint8_t> out(jpeg.begin(), jpeg.begin() + 2);  // SOI
  out.insert(out.end(), app1.begin(), app1.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

}  // namespace

class TestProbe : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir() const { return fs::path(tmp_.path().toStdString()); }
  QString q(const fs::path& p) const { return QString::fromStdString(p.string()); }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    if (!test::have_program("ffmpeg")) QSKIP("the ffmpeg program is needed to make test files");
    // 2.5 s of 25 fps colour bars with a 1 kHz tone, named ".dat" so only content can tell.
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-f", "lavfi", "-i",
                          "sine=frequency=1000:sample_rate=44100", "-t", "2.5", "-c:v", "libx264",
                          "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mp4",
                          q(dir() / "clip.dat")}));
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=96x64", "-frames:v", "1", "-f",
                          "image2", "-c:v", "png", q(dir() / "picture.bin")}));
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050", "-t", "1.5",
                          "-c:a", "pcm_s16le", q(dir() / "tone.wav")}));
  }

  void probesVideoByContent() {
    const MediaInfo i = probe(dir() / "clip.dat");
    qInfo("container %s, %dx%d, %.3f fps, %lld frames, %.3f s, audio %s %d Hz",
          i.container.c_str(), i.width, i.height, i.fps, static_cast<long long>(i.frame_count),
          i.duration_s, i.audio_codec.c_str(), i.sample_rate);
    QCOMPARE(i.kind, MediaKind::Video);
    QVERIFY(i.has_video);
    QVERIFY(i.has_audio);
    QCOMPARE(i.width, 320);
    QCOMPARE(i.height, 240);
    QCOMPARE(i.fps, 25.0);
    QCOMPARE(i.frame_count, int64_t{63});  // ffmpeg rounds 2.5 s * 25 up to whole frames
    QVERIFY(std::abs(i.duration_s - 63 / 25.0) < 1e-3);
    QCOMPARE(i.video_codec, std::string("h264"));
    QCOMPARE(i.audio_codec, std::string("aac"));
    QCOMPARE(i.sample_rate, 44100);
    QCOMPARE(i.channels, 1);
    QCOMPARE(i.rotation, 0);
  }

  void probesImageByContent() {
    const MediaInfo i = probe(dir() / "picture.bin");
    QCOMPARE(i.kind, MediaKind::Image);
    QCOMPARE(i.video_codec, std::string("png"));
    QCOMPARE(i.width, 96);
    QCOMPARE(i.height, 64);
    QCOMPARE(i.frame_count, int64_t{1});
    QCOMPARE(i.duration_s, 0.0);
    QVERIFY(!i.has_audio);
  }

  void probesAudio() {
    const MediaInfo i = probe(dir() / "tone.wav");
    QCOMPARE(i.kind, MediaKind::Audio);
    QVERIFY(!i.has_video);
    QCOMPARE(i.sample_rate, 22050);
    QCOMPARE(i.channels, 1);
    QCOMPARE(i.audio_codec, std::string("pcm_s16le"));
    QVERIFY(std::abs(i.duration_s - 1.5) < 1e-3);
  }

  void reportsRotationAndDisplaySize() {
    // Left half white, right half black; the display matrix turns it a quarter turn.
    const fs::path plain = dir() / "lr.mp4", rotated = dir() / "lr_rot.mp4";
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i",
                          "color=white:s=32x48[a];color=black:s=32x48[b];[a][b]hstack", "-frames:v",
                          "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", q(plain)}));
    QVERIFY(test::ffmpeg({"-i", q(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", q(rotated)}));
    const MediaInfo i = probe(rotated);
    QCOMPARE(i.coded_width, 64);
    QCOMPARE(i.coded_height, 48);
    QCOMPARE(i.width, 48);
    QCOMPARE(i.height, 64);
    // ffmpeg's own autorotate puts the right (black) half on top: a counter-clockwise quarter
    // turn, i.e. 270 degrees clockwise.
    const auto rgb = test::ffmpeg_decode_rgb(rotated.string());
    QCOMPARE(rgb.size(), size_t(48 * 64 * 3));
    QVERIFY(rgb[0] < 30 && rgb[rgb.size() - 1] > 225);
    QCOMPARE(i.rotation, 270);
  }

  void readsExifOrientation() {
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=64x48", "-frames:v", "1",
                          q(dir() / "plain.jpg")}));
    const auto jpeg = test::read_bytes(dir() / "plain.jpg");
    for (int o : {1, 3, 6, 8, 2, 5}) {
      const fs::path p = dir() / ("exif" + std::to_string(o) + ".jpg");
      test::write_bytes(p, with_exif_orientation(jpeg, o));
      const MediaInfo i = probe(p);
      const int want_rot[9] = {0, 0, 0, 180, 180, 270, 90, 90, 270};
      const bool want_mirror = o == 2 || o == 4 || o == 5 || o == 7;
      qInfo("EXIF %d -> rotation %d mirrored %d, %dx%d", o, i.rotation, int(i.mirrored), i.width,
            i.height);
      QCOMPARE(i.kind, MediaKind::Image);
      QCOMPARE(i.rotation, want_rot[o]);
      QCOMPARE(i.mirrored, want_mirror);
      const bool swap = want_rot[o] % 180 != 0;
      QCOMPARE(i.width, swap ? 48 : 64);
    }
  }

  // ---- the bad-file corpus: each its typed error naming the file ----

  void rejectsMissingFile() {
    QVERIFY(test::throws_kind([&] { probe(dir() / "missing.mp4"); }, ErrorKind::NotFound,
                              "missing.mp4"));
  }

  void rejectsFolder() {
    QVERIFY(test::throws_kind([&] { probe(dir()); }, ErrorKind::InvalidArgument, dir().string()));
  }

  void rejectsEmptyFile() {
    test::write_bytes(dir() / "empty.mp4", {});
    QVERIFY(test::throws_kind([&] { probe(dir() / "empty.mp4"); }, ErrorKind::Corrupt, "empty.mp4"));
  }

  void rejectsRandomBytes() {
    std::mt19937 rng(7);
    std::vector<uint8_t> junk(20000);
    for (auto& b : junk) b = uint8_t(rng());
    test::write_bytes(dir() / "random.mp4", junk);
    QVERIFY(test::throws_kind([&] { probe(dir() / "random.mp4"); }, ErrorKind::Corrupt,
                              "random.mp4"));
  }

  void rejectsTruncatedMp4() {
    // Without faststart the index (moov) is at the end: cutting the file loses it.
    const fs::path full = dir() / "long.mp4";
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=160x120:r=25", "-t", "2", "-c:v",
                          "libx264", "-preset", "ultrafast", q(full)}));
    auto bytes = test::read_bytes(full);
    bytes.resize(bytes.size() / 2);
    test::write_bytes(dir() / "truncated.mp4", bytes);
    QVERIFY(test::throws_kind([&] { probe(dir() / "truncated.mp4"); }, ErrorKind::Corrupt,
                              "truncated.mp4"));
  }

  void rejectsPngWithAbsurdSize() {
    // A PNG whose IHDR claims 100000 x 100000 pixels (CRC fixed up so only the size is wrong).
    auto png = test::read_bytes(dir() / "picture.bin");
    QVERIFY(png.size() > 33);
    auto put32 = [&](size_t at, uint32_t v) {
      png[at] = uint8_t(v >> 24); png[at + 1] = uint8_t(v >> 16);
      png[at + 2] = uint8_t(v >> 8); png[at + 3] = uint8_t(v);
    };
    put32(16, 100000);
    put32(20, 100000);
    uint32_t crc = 0xFFFFFFFFu;  // CRC-32 over "IHDR" + 13 data bytes
    for (size_t k = 12; k < 29; ++k) {
      crc ^= png[k];
      for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    put32(29, crc ^ 0xFFFFFFFFu);
    test::write_bytes(dir() / "huge.png", png);
    std::string msg;
    try {
      probe(dir() / "huge.png");
      QFAIL("no error for a 100000 x 100000 PNG");
    } catch (const Error& e) {
      msg = e.what();
      qInfo("%s error: %s", to_string(e.kind()), e.what());
      QVERIFY(e.kind() == ErrorKind::Unsupported || e.kind() == ErrorKind::Corrupt);
      QVERIFY(msg.find("huge.png") != std::string::npos);
    }
  }

  void rejectsWavWithLyingHeader() {
    // A WAV header that promises 10 s but holds no samples, then a data chunk size past the end.
    auto wav = test::read_bytes(dir() / "tone.wav");
    wav.resize(44);  // header only
    const fs::path p = dir() / "lying.wav";
    test::write_bytes(p, wav);
    QVERIFY(test::throws_kind([&] { probe(p); }, ErrorKind::Corrupt, "lying.wav"));
  }

  void rejectsUnsupportedCodec() {
    // A Matroska file whose codec ID is renamed to one FFmpeg has never heard of.
    const fs::path mkv = dir() / "h264.mkv";
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=s=64x48:r=8", "-frames:v", "4", "-c:v",
                          "libx264", "-preset", "ultrafast", q(mkv)}));
    auto bytes = test::read_bytes(mkv);
    const std::string from = "V_MPEG4/ISO/AVC", to = "V_UNKNOWN/CODEC";
    auto it = std::search(bytes.begin(), bytes.end(), from.begin(), from.end());
    QVERIFY(it != bytes.end());
    std::copy(to.begin(), to.end(), it);
    test::write_bytes(dir() / "alien.mkv", bytes);
    QVERIFY(test::throws_kind([&] { probe(dir() / "alien.mkv"); }, ErrorKind::Unsupported,
                              "alien.mkv"));
  }

  // Issue #19 group 5: a FIFO as an input blocked in open() until someone wrote to it (forever).
  void rejectsAFifoWithoutBlocking() {
    const fs::path fifo = dir() / "pipe.wav";
    QVERIFY(::mkfifo(fifo.c_str(), 0666) == 0);
    std::string msg;
    QVERIFY(test::throws_kind([&] { probe(fifo); }, ErrorKind::InvalidArgument, "pipe.wav", &msg));
    QVERIFY2(msg.find("FIFO") != std::string::npos, msg.c_str());
    QVERIFY(test::throws_kind([&] { read_audio(fifo); }, ErrorKind::InvalidArgument, "FIFO"));
    QVERIFY(test::throws_kind([&] { VideoReader r(fifo); }, ErrorKind::InvalidArgument, "FIFO"));
  }

  // Group 11: a loop of symbolic links was reported as "does not exist".
  void namesASymlinkLoop() {
    fs::create_symlink("loop-b.mp4", dir() / "loop-a.mp4");
    fs::create_symlink("loop-a.mp4", dir() / "loop-b.mp4");
    QVERIFY(test::throws_kind([&] { probe(dir() / "loop-a.mp4"); }, ErrorKind::InvalidArgument,
                              "loop of symbolic links"));
  }

  // Group 11: a 60000x60000 PNG was reported as "no valid frame size (0x0)": FFmpeg refuses to
  // size it and leaves 0x0; the header says what it is.
  void namesTheSizeOfAHugePng() {
    std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    auto chunk = [&](const char* type, const std::vector<uint8_t>& data) {
      const uint32_t n = uint32_t(data.size());
      for (int s = 24; s >= 0; s -= 8) png.push_back(uint8_t(n >> s));
      std::vector<uint8_t> body(type, type + 4);
      body.insert(body.end(), data.begin(), data.end());
      png.insert(png.end(), body.begin(), body.end());
      uint32_t crc = 0xFFFFFFFFu;  // CRC-32 as PNG defines it
      for (uint8_t b : body) {
        crc ^= b;
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
      }
      crc ^= 0xFFFFFFFFu;
      for (int s = 24; s >= 0; s -= 8) png.push_back(uint8_t(crc >> s));
    };
    const uint32_t side = 60000;
    std::vector<uint8_t> ihdr;
    for (int k = 0; k < 2; ++k)
      for (int s = 24; s >= 0; s -= 8) ihdr.push_back(uint8_t(side >> s));
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit RGB
    chunk("IHDR", ihdr);
    chunk("IEND", {});
    test::write_bytes(dir() / "huge.png", png);
    std::string msg;
    QVERIFY(test::throws_kind([&] { probe(dir() / "huge.png"); }, ErrorKind::Unsupported, "huge.png", &msg));
    QVERIFY2(msg.find("60000x60000") != std::string::npos && msg.find("8192") != std::string::npos, msg.c_str());
  }

  // Group 11: a truncated PNG read "no valid frame size (0x0)"; its header is sound, its data is not.
  void namesATruncatedPng() {
    auto bytes = test::read_bytes(dir() / "picture.bin");
    bytes.resize(bytes.size() * 6 / 10);
    test::write_bytes(dir() / "cut.png", bytes);
    std::string msg;
    QVERIFY(test::throws_kind([&] { probe(dir() / "cut.png"); }, ErrorKind::Corrupt, "cut.png", &msg));
    QVERIFY2(msg.find("96x64") != std::string::npos && msg.find("truncated") != std::string::npos, msg.c_str());
  }

  void rejectsPermissionDenied() {
    if (::geteuid() == 0) QSKIP("running as root: file permissions are not enforced");
    const fs::path p = dir() / "secret.wav";
    fs::copy_file(dir() / "tone.wav", p);
    fs::permissions(p, fs::perms::none);
    QVERIFY(test::throws_kind([&] { probe(p); }, ErrorKind::PermissionDenied, "secret.wav"));
  }
};

QTEST_GUILESS_MAIN(TestProbe)
#include "test_probe.moc"
