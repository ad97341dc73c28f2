// The Generate workspace's portrait check: curation's detectors on a real portrait (a frame of
// Debian's Megamind.avi, cut as scripts/make-sample-inputs.sh cuts the sample portrait) and on
// variants of it made in the test.
#include <QtTest>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/curation/portrait.h"
#include "curation_test_util.h"
#include "models/base/error.h"

using namespace s2v;
using namespace s2v::curation;

namespace {

bool has_warning(const PortraitCheck& c, const std::string& word) {
  for (const auto& w : c.warnings)
    if (w.find(word) != std::string::npos) return true;
  return false;
}

std::string warnings(const PortraitCheck& c) {
  std::string out;
  for (const auto& w : c.warnings) out += w + " | ";
  for (const auto& f : c.overlay.faces)
    out += "face " + std::to_string(f.x) + "," + std::to_string(f.y) + " " + std::to_string(f.width) + "x" +
           std::to_string(f.height) + " | ";
  return out;
}

class ScriptedPose : public PoseModel {
 public:
  std::vector<pose::Pose> estimate(const cv::Mat& bgr, const std::vector<cv::Rect>&) override {
    pose::Pose p;
    const float w = float(bgr.cols), h = float(bgr.rows);
    for (int i = 0; i < pose::kBodyPoints; ++i) p.body[i] = {w * (0.3f + 0.02f * i), h * (0.3f + 0.03f * i), 0.9f};
    for (int i = 0; i < pose::kFacePoints; ++i)
      p.face[i] = {w * (0.4f + 0.02f * float(i % 9)), h * (0.2f + 0.03f * float(i / 9)), 0.9f};
    for (int i = 0; i < pose::kHandPoints; ++i)
      p.right_hand[i] = {w * (0.7f + 0.01f * float(i % 5)), h * (0.7f + 0.01f * float(i / 5)), 0.9f};
    return {p};
  }
  std::string method() const override { return "ScriptedPose (test)"; }
};

}  // namespace

class TestPortrait : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  cv::Mat portrait_;

 private slots:
  void initTestCase() {
    const auto clip = curation::test::sample_dir() / "Megamind.avi";
    if (!std::filesystem::exists(clip))
      QSKIP("Debian's opencv-doc sample clips are not installed (scripts/setup-debian.sh installs them)");
    const QString png = dir_.filePath("portrait.png");
    QVERIFY(s2v::test::ffmpeg({"-ss", "2", "-i", QString::fromStdString(clip.string()), "-frames:v", "1", "-vf",
                               "crop=400:400:160:20", png}));
    portrait_ = cv::imread(png.toStdString());
    QCOMPARE(portrait_.size(), cv::Size(400, 400));
  }

  void samplePortraitHasOneLargeFace() {
    const PortraitCheck c = check_portrait(portrait_);
    QVERIFY2(c.overlay.faces.size() == 1, warnings(c).c_str());
    QCOMPARE(c.size, cv::Size(576, 576));  // the working resolution the overlay is measured in
    QVERIFY(c.face_share > 0.15);
    QVERIFY(c.face_sharpness.available());
    QVERIFY(*c.clarity.value > 0 && *c.clarity.value < 100);
    QVERIFY2(!has_warning(c, "face was found") && !has_warning(c, "faces were found") && !has_warning(c, "small"),
             warnings(c).c_str());
    QVERIFY(c.method.find("cascade") != std::string::npos || c.method.find("LBP") != std::string::npos ||
            c.method.find("HOG") != std::string::npos);
  }

  void blurLowersFaceSharpnessAndWarns() {
    const PortraitCheck sharp = check_portrait(portrait_);
    cv::Mat blurred;
    cv::GaussianBlur(portrait_, blurred, cv::Size(0, 0), 5.0);
    const PortraitCheck c = check_portrait(blurred);
    QVERIFY2(!c.warnings.empty(), "a heavily blurred portrait gets a warning");
    if (c.face_sharpness.available()) {
      QVERIFY(*c.face_sharpness.value < 0.5 * *sharp.face_sharpness.value);
      QVERIFY2(has_warning(c, "blurred"), warnings(c).c_str());
    } else {
      QVERIFY2(has_warning(c, "No face"), warnings(c).c_str());
    }
    QVERIFY(*c.clarity.value < *sharp.clarity.value);
  }

  void pictureWithoutAFaceSaysSo() {
    cv::Mat wall(300, 400, CV_8UC3);
    cv::randu(wall, 90, 110);
    const PortraitCheck c = check_portrait(wall);
    QVERIFY(c.overlay.faces.empty());
    QVERIFY(!c.face_sharpness.available());
    QVERIFY(!c.warnings.empty());
    QVERIFY2(c.warnings[0].find("No face") == 0, warnings(c).c_str());
  }

  void twoPeopleGetAWarning() {
    cv::Mat pair;
    cv::hconcat(portrait_, portrait_, pair);
    const PortraitCheck c = check_portrait(pair);
    QCOMPARE(c.overlay.faces.size(), size_t(2));
    QVERIFY2(has_warning(c, "2 faces"), warnings(c).c_str());
  }

  void poseModelDrawsTheSkeletonAndFindsHands() {
    ScriptedPose pose;
    PortraitCheckOptions o;
    o.pose = &pose;
    const PortraitCheck c = check_portrait(portrait_, o);
    QCOMPARE(c.method, std::string("ScriptedPose (test)"));
    QCOMPARE(c.overlay.poses.size(), size_t(1));
    QCOMPARE(c.overlay.hands.size(), size_t(1));
    QCOMPARE(c.overlay.faces.size(), size_t(1));
    QCOMPARE(c.overlay.people.size(), size_t(1));
  }

  void rejectsAnEmptyPicture() {
    QVERIFY_THROWS_EXCEPTION(Error, check_portrait(cv::Mat()));
  }
};

QTEST_GUILESS_MAIN(TestPortrait)
#include "test_portrait.moc"
