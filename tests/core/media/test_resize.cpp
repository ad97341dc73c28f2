// resize_bilinear / center_crop / resize_shorter_and_crop against Pillow itself (Debian's
// python3-pil, run on the same PNG): the portrait preprocessing must be bit-exact.

#include <QtTest>

#include <filesystem>

#include "core/media/mux.h"
#include "core/media/resize.h"
#include "core/media/video_reader.h"
#include "media_test_util.h"

namespace fs = std::filesystem;
using namespace s2v;
using namespace s2v::media;

namespace {

// Smooth gradients plus a high-frequency checker and a few hard edges.
RgbFrame test_picture(int w, int h) {
  RgbFrame f;
  f.width = w;
  f.height = h;
  f.rgb.resize(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &f.rgb[(size_t(y) * w + x) * 3];
      p[0] = uint8_t((x * 255) / (w - 1));
      p[1] = uint8_t(((x + y) & 1) ? 250 : 5);
      p[2] = uint8_t((x / 7 + y / 5) % 2 ? (y * 255) / (h - 1) : 255 - (x * 13 + y * 7) % 256);
    }
  return f;
}

const char* kPython = "/usr/bin/python3";

}  // namespace

class TestResize : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir() const { return fs::path(tmp_.path().toStdString()); }

 private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void centerCropRoundsHalfToEven() {
    RgbFrame f;
    f.width = 5;
    f.height = 4;
    for (int i = 0; i < 20; ++i) f.rgb.insert(f.rgb.end(), {uint8_t(i), 0, 0});
    // left = round(1.5) = 2, top = round(1.5) = 2
    const RgbFrame c = center_crop(f, 2, 1);
    QCOMPARE(c.width, 2);
    QCOMPARE(c.height, 1);
    QCOMPARE(int(c.rgb[0]), 2 * 5 + 2);
    // left = round(0.5) = 0
    QCOMPARE(int(center_crop(f, 4, 4).rgb[0]), 0);
    // Larger than the picture: black padding, (7 - 5) // 2 = 1 column on the left.
    const RgbFrame p = center_crop(f, 7, 4);
    QCOMPARE(p.width, 7);
    QCOMPARE(int(p.rgb[0]), 0);
    QCOMPARE(int(p.pixel(1, 0)[0]), 0);  // the picture's own first pixel is 0 as well
    QCOMPARE(int(p.pixel(2, 1)[0]), 6);
    QCOMPARE(int(p.pixel(6, 0)[0]), 0);
  }

  void shorterSideFollowsTorchvision() {
    int w = 0, h = 0;
    shorter_side_size(1000, 1500, 480, &w, &h);
    QCOMPARE(w, 480);
    QCOMPARE(h, 720);
    shorter_side_size(1920, 1080, 480, &w, &h);
    QCOMPARE(h, 480);
    QCOMPARE(w, 853);  // int(480 * 1920 / 1080) = int(853.33)
  }

  void resizeIsIdentityAtSameSize() {
    const RgbFrame f = test_picture(31, 17);
    QVERIFY(resize_bilinear(f, 31, 17).rgb == f.rgb);
  }

  void matchesPillowBitExactly() {
    if (!fs::exists(kPython)) QSKIP("Debian's python3 is not installed");
    if (test::run_program(kPython, {"-c", "import PIL.Image"}) != 0)
      QSKIP("python3-pil is not installed (scripts/setup-debian.sh installs it)");
    const RgbFrame src = test_picture(173, 97);
    const fs::path in = dir() / "src.png";
    write_png(in, src.rgb.data(), src.width, src.height, src.stride());
    struct Size {
      int w, h;
    };
    const std::vector<Size> sizes = {{64, 36}, {300, 200}, {200, 50}, {173, 40}, {90, 97},
                                     {7, 3},   {346, 194}, {1, 1},    {513, 17}};
    // Pillow: plain resizes, and the speech2video preprocessing (torchvision's Resize for an
    // int size and CenterCrop written out in Python, since torchvision is not installed).
    QString script =
        "import sys\nfrom PIL import Image\n"
        "im = Image.open(sys.argv[1]).convert('RGB')\nout = sys.argv[2]\n"
        "for w, h in [(64,36),(300,200),(200,50),(173,40),(90,97),(7,3),(346,194),(1,1),(513,17)]:\n"
        "    im.resize((w, h), Image.BILINEAR).save(f'{out}/pil_{w}x{h}.png')\n"
        "def prep(im, H, W):\n"
        "    s = min(H, W); w, h = im.size\n"
        "    if w <= h: nw, nh = s, int(s * h / w)\n"
        "    else: nw, nh = int(s * w / h), s\n"
        "    im = im.resize((nw, nh), Image.BILINEAR)\n"
        "    top = int(round((nh - H) / 2.0)); left = int(round((nw - W) / 2.0))\n"
        "    return im.crop((left, top, left + W, top + H))\n"
        "for H, W in [(48, 80), (96, 64), (40, 40)]:\n"
        "    prep(im, H, W).save(f'{out}/prep_{H}x{W}.png')\n";
    QCOMPARE(test::run_program(kPython, {"-c", script, QString::fromStdString(in.string()),
                                         QString::fromStdString(dir().string())}),
             0);
    for (const auto& s : sizes) {
      const RgbFrame ours = resize_bilinear(src, s.w, s.h);
      const RgbFrame pil =
          read_image(dir() / ("pil_" + std::to_string(s.w) + "x" + std::to_string(s.h) + ".png"));
      QCOMPARE(pil.width, s.w);
      QCOMPARE(pil.height, s.h);
      int worst = 0, differing = 0;
      for (size_t i = 0; i < pil.rgb.size(); ++i) {
        const int d = std::abs(int(pil.rgb[i]) - int(ours.rgb[i]));
        worst = std::max(worst, d);
        differing += d != 0;
      }
      qInfo("173x97 -> %dx%d: max |ours - Pillow| = %d, %d values differ", s.w, s.h, worst, differing);
      QCOMPARE(worst, 0);
    }
    for (auto [H, W] : std::vector<std::pair<int, int>>{{48, 80}, {96, 64}, {40, 40}}) {
      const RgbFrame ours = resize_shorter_and_crop(src, W, H);
      const RgbFrame pil =
          read_image(dir() / ("prep_" + std::to_string(H) + "x" + std::to_string(W) + ".png"));
      QCOMPARE(ours.width, W);
      QCOMPARE(ours.height, H);
      QVERIFY2(ours.rgb == pil.rgb, qPrintable(QString("preprocess %1x%2").arg(H).arg(W)));
    }
  }
};

QTEST_GUILESS_MAIN(TestResize)
#include "test_resize.moc"
