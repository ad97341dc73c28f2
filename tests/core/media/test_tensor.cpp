// tensor.h: the official value conventions in and out, layouts, and a tensor -> file -> frames
// round trip through lossless FFV1.

#include <QtTest>

#include <torch/torch.h>

#include <filesystem>

#include "core/media/resize.h"
#include "core/media/tensor.h"
#include "media_test_util.h"

namespace fs = std::filesystem;
using namespace s2v;
using namespace s2v::media;

class TestTensor : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir() const { return fs::path(tmp_.path().toStdString()); }

 private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void frameToTensorUsesToTensorTimesTwoMinusOne() {
    RgbFrame f;
    f.width = 2;
    f.height = 1;
    f.rgb = {0, 128, 255, 10, 20, 30};
    const auto t = frame_to_tensor(f);
    QCOMPARE(t.sizes().vec(), (std::vector<int64_t>{3, 1, 2}));
    QCOMPARE(t.scalar_type(), torch::kFloat32);
    QCOMPARE(t[0][0][0].item<float>(), -1.0f);
    QCOMPARE(t[2][0][0].item<float>(), 1.0f);
    QCOMPARE(t[1][0][0].item<float>(), 128.0f / 255.0f * 2.0f - 1.0f);  // float32 arithmetic
    QCOMPARE(t[2][0][1].item<float>(), 30.0f / 255.0f * 2.0f - 1.0f);   // channel-first layout
  }

  void framesStackAsChannelsTimeHeightWidth() {
    std::vector<RgbFrame> frames(4);
    for (int i = 0; i < 4; ++i) {
      frames[i].width = 3;
      frames[i].height = 2;
      frames[i].rgb.assign(18, uint8_t(i * 60));
    }
    const auto v = frames_to_tensor(frames);
    QCOMPARE(v.sizes().vec(), (std::vector<int64_t>{3, 4, 2, 3}));
    QCOMPARE(v[1][3][1][2].item<float>(), 180.0f / 255.0f * 2.0f - 1.0f);
    frames[2].width = 2;
    frames[2].rgb.resize(12);
    QVERIFY(test::throws_kind([&] { frames_to_tensor(frames); }, ErrorKind::InvalidArgument, "2x2"));
  }

  void tensorToFrameTruncatesLikeSaveVideo() {
    // [-1, 1] -> (x + 1) / 2 * 255 truncated; out-of-range values are clamped first.
    auto t = torch::tensor({-2.0f, -1.0f, 0.0f, 0.999f, 1.0f, 3.0f}).reshape({3, 1, 2});
    const RgbFrame f = tensor_to_frame(t);
    QCOMPARE(f.width, 2);
    QCOMPARE(f.height, 1);
    // pixel (0,0) = channels (t[0][0][0], t[1][0][0], t[2][0][0]) = (-2, 0, 1)
    QCOMPARE(int(f.rgb[0]), 0);
    QCOMPARE(int(f.rgb[1]), 127);  // 127.5 truncated
    QCOMPARE(int(f.rgb[2]), 255);
    QCOMPARE(int(f.rgb[3]), 0);
    QCOMPARE(int(f.rgb[4]), 254);  // 0.999 -> 254.87 truncated
    QCOMPARE(int(f.rgb[5]), 255);
    // A full round trip loses at most one step to the truncation.
    RgbFrame all;
    all.width = 256;
    all.height = 1;
    for (int v = 0; v < 256; ++v) all.rgb.insert(all.rgb.end(), {uint8_t(v), uint8_t(v), uint8_t(v)});
    const RgbFrame back = tensor_to_frame(frame_to_tensor(all));
    int worst = 0;
    for (size_t i = 0; i < all.rgb.size(); ++i) worst = std::max(worst, std::abs(all.rgb[i] - back.rgb[i]));
    QVERIFY(worst <= 1);
  }

  void writesVideoTensorLosslessly() {
    torch::manual_seed(3);
    const auto video = torch::rand({1, 3, 5, 24, 40}) * 2 - 1;
    VideoWriterOptions o;
    o.codec = VideoCodec::FFV1;
    const fs::path p = dir() / "tensor.mkv";
    QCOMPARE(write_video_tensor(video, p, o), int64_t{5});
    VideoReader r(p);
    RgbFrame f;
    for (int t = 0; t < 5; ++t) {
      QVERIFY(r.read(f));
      QVERIFY(f.rgb == tensor_to_frame(video[0].select(1, t)).rgb);
    }
    QVERIFY(!r.read(f));
    QVERIFY(test::throws_kind([&] { write_video_tensor(torch::zeros({3, 4, 4}), dir() / "bad.mkv", o); },
                              ErrorKind::InvalidArgument, "bad.mkv"));
  }

  void preprocessesReferencePicture() {
    RgbFrame f;
    f.width = 120;
    f.height = 200;
    f.rgb.resize(size_t(120) * 200 * 3);
    for (size_t i = 0; i < f.rgb.size(); ++i) f.rgb[i] = uint8_t((i * 7) % 251);
    const auto t = preprocess_reference(f, 96, 64);
    QCOMPARE(t.sizes().vec(), (std::vector<int64_t>{3, 96, 64}));
    QVERIFY(torch::equal(t, frame_to_tensor(resize_shorter_and_crop(f, 64, 96))));
  }
};

QTEST_GUILESS_MAIN(TestTensor)
#include "test_tensor.moc"
