// decode_clip: one decode feeds every metric. The test clip's frame n has luma 2n (lossless
// FFV1), so a decoded frame's grey level tells which source frame it is.
#include <QtTest>

#include <QProcess>

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "common/programs.h"
#include "core/curate_job/clip_decoder.h"
#include "models/base/error.h"

using namespace s2v;
using namespace s2v::curation;

namespace {

using s2v::test::ffmpeg;

// The source frame index shown by a decoded frame: luma 2n in limited range, grey = (Y-16)·255/219.
double frame_index(const cv::Mat& bgr) {
  cv::Mat grey;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  const double g = cv::mean(grey)[0];
  return g * 219.0 / 255.0 / 2.0;
}

}  // namespace

class TestClipDecoder : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  QString clip_;

 private slots:
  void initTestCase() {
    clip_ = dir_.filePath("ramp.mkv");
    // 4 s at 25 fps, 640×480, luma 16 + 2n (n = frame number), and a 440 Hz tone
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "nullsrc=s=640x480:r=25:d=4,format=yuv444p,geq=lum='16+2*N':cb=128:cr=128",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4", "-c:v", "ffv1",
                    "-c:a", "pcm_s16le", "-shortest", clip_}));
  }

  void samplesSyncFramesAndAudio() {
    const ClipFrames c = decode_clip(clip_.toStdString());
    QCOMPARE(c.width, 640);
    QCOMPARE(c.height, 480);
    QCOMPARE(c.source_fps, 25.0);
    QCOMPARE(c.frames.size(), size_t(16));  // 4 per second
    QCOMPARE(c.frames[0].size(), cv::Size(576, 432));
    QVERIFY(std::abs(frame_index(c.frames[5]) - 32) < 0.6);  // the first frame at t >= 1.25 s
    QCOMPARE(c.sync_frames.size(), size_t(100));
    QCOMPARE(c.sync_frames[0].size(), cv::Size(288, 216));
    QVERIFY(std::abs(double(c.audio.size()) - 64000.0) < 800.0);
    QVERIFY(c.native_frames.empty());  // only when asked
  }

  void nativeWindowIsCentredWithItsStride() {
    DecodeOptions o;
    o.native_frames = 8;
    o.native_stride = 2;
    const ClipFrames c = decode_clip(clip_.toStdString(), o);
    QCOMPARE(c.native_stride, 2);
    QCOMPARE(c.native_frames.size(), size_t(8));
    QCOMPARE(c.native_frames[0].size(), cv::Size(640, 480));  // the source resolution
    // span 15 frames of 100: the window starts at (100 - 15) / 2 = 42, every second frame
    for (int k = 0; k < 8; ++k)
      QVERIFY2(std::abs(frame_index(c.native_frames[size_t(k)]) - (42 + 2 * k)) < 0.6,
               qPrintable(QString("native frame %1 shows source frame %2").arg(k).arg(frame_index(c.native_frames[size_t(k)]))));
    // a trimmed clip centres the window in what is kept: 2 s = 50 frames, start (50 - 15) / 2 = 17
    o.max_seconds = 2.0;
    const ClipFrames t = decode_clip(clip_.toStdString(), o);
    QCOMPARE(t.native_frames.size(), size_t(8));
    QVERIFY(std::abs(frame_index(t.native_frames[0]) - 17) < 0.6);
  }

  void clipWithoutAudioHasNoSyncFrames() {
    const QString silent = dir_.filePath("silent.mkv");
    QVERIFY(ffmpeg({"-i", clip_, "-an", "-c:v", "copy", silent}));
    const ClipFrames c = decode_clip(silent.toStdString());
    QVERIFY(!c.has_audio());
    QVERIFY(c.sync_frames.empty());  // sync is n/a without audio: no dense frames are kept
    QCOMPARE(c.sync_fps, 0.0);
    QCOMPARE(c.frames.size(), size_t(16));
  }

  void clipWithoutVideoIsAnError() {
    const QString wav = dir_.filePath("tone.wav");
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "sine=frequency=440:duration=1", wav}));
    QVERIFY_THROWS_EXCEPTION(Error, decode_clip(wav.toStdString()));
    const QString junk = dir_.filePath("junk.mp4");
    QFile f(junk);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QByteArray(4096, 'x'));
    f.close();
    QVERIFY_THROWS_EXCEPTION(Error, decode_clip(junk.toStdString()));
  }
};

QTEST_GUILESS_MAIN(TestClipDecoder)
#include "test_clip_decoder.moc"
