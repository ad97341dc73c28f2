// COCO-WholeBody -> DWPose conversion and DWPose-style skeleton drawing.
#include <QtTest>

#include <opencv2/imgproc.hpp>

#include "core/pose_draw/draw.h"
#include "core/pose_draw/pose.h"
#include "models/base/error.h"

using namespace s2v::pose;

namespace {

// 133 points: point i at (10 + i, 1000 + 2 i) with score 0.9.
std::vector<Keypoint> synthetic_wholebody() {
  std::vector<Keypoint> k(kWholeBodyPoints);
  for (int i = 0; i < kWholeBodyPoints; ++i) k[i] = {10.0f + i, 1000.0f + 2.0f * i, 0.9f};
  return k;
}

cv::Vec3b at(const cv::Mat& m, double x, double y) {
  return m.at<cv::Vec3b>(static_cast<int>(y), static_cast<int>(x));
}

cv::Vec3b bgr_of(const cv::Vec3b& rgb) { return {rgb[2], rgb[1], rgb[0]}; }

Pose single_limb_pose() {
  // right shoulder (2) -> right elbow (3): limb 2 of kLimbSeq ({3, 4} 1-based), colour index 2
  Pose p;
  p.body[kRShoulder] = {40.0f, 50.0f, 0.9f};
  p.body[kRElbow] = {120.0f, 50.0f, 0.9f};
  return p;
}

}  // namespace

class TestPoseDraw : public QObject {
  Q_OBJECT
 private slots:
  void neckIsMeanOfShouldersAndBodyIsReordered() {
    auto k = synthetic_wholebody();
    k[5] = {100.0f, 200.0f, 0.8f};  // left shoulder
    k[6] = {60.0f, 220.0f, 0.7f};   // right shoulder
    const Pose p = from_coco_wholebody(k);
    QCOMPARE(p.body[kNeck].x, 80.0f);
    QCOMPARE(p.body[kNeck].y, 210.0f);
    QCOMPARE(p.body[kNeck].score, 0.7f);
    // OpenPose order: r-shoulder = COCO 6, l-wrist = COCO 9, r-eye = COCO 2, l-ear = COCO 3
    QCOMPARE(p.body[kRShoulder].x, 60.0f);
    QCOMPARE(p.body[kLShoulder].x, 100.0f);
    QCOMPARE(p.body[kLWrist].x, 19.0f);
    QCOMPARE(p.body[kREye].x, 12.0f);
    QCOMPARE(p.body[kLEar].x, 13.0f);
    QCOMPARE(p.body[kRAnkle].x, 26.0f);
    QCOMPARE(p.body[kLHip].x, 21.0f);
    // face = 23..90, hands = 91..111 (left), 112..132 (right)
    QCOMPARE(p.face[0].x, 33.0f);
    QCOMPARE(p.face[67].x, 100.0f);
    QCOMPARE(p.left_hand[0].x, 101.0f);
    QCOMPARE(p.right_hand[20].y, 1000.0f + 2.0f * 132);
  }

  void lowConfidencePointsAreDropped() {
    auto k = synthetic_wholebody();
    k[0].score = 0.1f;    // nose
    k[5].score = 0.2f;    // left shoulder: also drops the neck
    k[95].score = 0.29f;  // a left-hand point
    k[40].score = 0.05f;  // a face point
    const Pose p = from_coco_wholebody(k);
    QVERIFY(!p.body[kNose].visible());
    QCOMPARE(p.body[kNose].x, -1.0f);
    QVERIFY(!p.body[kLShoulder].visible());
    QVERIFY(!p.body[kNeck].visible());
    QVERIFY(p.body[kRShoulder].visible());
    QVERIFY(!p.left_hand[4].visible());
    QVERIFY(p.left_hand[3].visible());
    QVERIFY(!p.face[40 - kFaceBegin].visible());
    QCOMPARE(count_visible(p.body), 15);
    ConversionOptions strict;
    strict.hand_threshold = 0.95f;
    QCOMPARE(count_visible(from_coco_wholebody(k, strict).right_hand), 0);
  }

  void rejectsWrongKeypointCount() {
    std::vector<Keypoint> k(17);
    QVERIFY_THROWS_EXCEPTION(s2v::Error, from_coco_wholebody(k));
  }

  void limbMidpointHasItsColourDimmed() {
    cv::Mat canvas(100, 160, CV_8UC3, cv::Scalar::all(0));
    draw_poses(canvas, {single_limb_pose()});
    // the limb is drawn then dimmed to 60% (truncated), as DWPose does
    const cv::Vec3b rgb = kBodyColorsRgb[2];  // (255, 170, 0)
    const cv::Vec3b dimmed(uchar(rgb[0] * 0.6), uchar(rgb[1] * 0.6), uchar(rgb[2] * 0.6));
    QCOMPARE(at(canvas, 80, 50), bgr_of(dimmed));
    // the joints keep their full colour: r-shoulder (index 2), r-elbow (index 3)
    QCOMPARE(at(canvas, 40, 50), bgr_of(kBodyColorsRgb[2]));
    QCOMPARE(at(canvas, 120, 50), bgr_of(kBodyColorsRgb[3]));
    // width: stickwidth 4 around the axis, nothing 8 px off it
    QCOMPARE(at(canvas, 80, 53), bgr_of(dimmed));
    QCOMPARE(at(canvas, 80, 58), cv::Vec3b(0, 0, 0));
  }

  void nothingIsDrawnWhereNoPointExists() {
    Pose p = single_limb_pose();
    p.body[kRElbow] = {};  // dropped: no limb, only the shoulder joint
    cv::Mat canvas(100, 160, CV_8UC3, cv::Scalar::all(0));
    draw_poses(canvas, {p});
    QCOMPARE(at(canvas, 80, 50), cv::Vec3b(0, 0, 0));
    QCOMPARE(at(canvas, 120, 50), cv::Vec3b(0, 0, 0));
    QCOMPARE(at(canvas, 40, 50), bgr_of(kBodyColorsRgb[2]));
    // a single joint circle of radius 4: at most 81 pixels lit
    cv::Mat grey;
    cv::cvtColor(canvas, grey, cv::COLOR_BGR2GRAY);
    QVERIFY(cv::countNonZero(grey) > 20);
    QVERIFY(cv::countNonZero(grey) <= 81);
    // an empty pose draws nothing at all
    cv::Mat empty(100, 160, CV_8UC3, cv::Scalar::all(0));
    draw_poses(empty, {Pose{}});
    cv::cvtColor(empty, grey, cv::COLOR_BGR2GRAY);
    QCOMPARE(cv::countNonZero(grey), 0);
  }

  void handsAndFaceUseDwposeColours() {
    Pose p;
    p.left_hand[0] = {20.0f, 20.0f, 0.9f};
    p.left_hand[1] = {80.0f, 20.0f, 0.9f};  // edge 0: hsv(0) = red
    p.right_hand[13] = {20.0f, 70.0f, 0.9f};
    p.right_hand[14] = {80.0f, 70.0f, 0.9f};  // edge 13: hsv(13/20)
    p.face[5] = {140.0f, 40.0f, 0.9f};
    cv::Mat canvas(100, 160, CV_8UC3, cv::Scalar::all(0));
    draw_poses(canvas, {p});
    QCOMPARE(at(canvas, 50, 20), bgr_of(cv::Vec3b(255, 0, 0)));
    // h = 0.65: 6h = 3.9 -> (0, 1 - 0.9, 1); (1 - 0.9) * 255 = 25.4999... in doubles -> 25
    QCOMPARE(hand_edge_color_rgb(13), cv::Vec3b(0, 25, 255));
    QCOMPARE(hand_edge_color_rgb(5), cv::Vec3b(128, 255, 0));  // h = 0.25 -> (0.5, 1, 0)
    QCOMPARE(at(canvas, 50, 70), bgr_of(hand_edge_color_rgb(13)));
    QCOMPARE(at(canvas, 20, 20), bgr_of(cv::Vec3b(0, 0, 255)));  // hand joints: RGB blue
    QCOMPARE(at(canvas, 140, 40), cv::Vec3b(255, 255, 255));    // face dots: white
    QCOMPARE(at(canvas, 140, 45), cv::Vec3b(0, 0, 0));          // radius 3
  }

  void renderScalesSourceCoordinatesToTheFrame() {
    Pose p = single_limb_pose();  // in a 160x100 source
    const cv::Mat frame = render_pose_frame({p}, cv::Size(160, 100), cv::Size(320, 200));
    QCOMPARE(frame.size(), cv::Size(320, 200));
    QCOMPARE(at(frame, 80, 100), bgr_of(kBodyColorsRgb[2]));   // shoulder at (80, 100)
    QCOMPARE(at(frame, 240, 100), bgr_of(kBodyColorsRgb[3]));  // elbow at (240, 100)
    QCOMPARE(at(frame, 40, 50), cv::Vec3b(0, 0, 0));
    QCOMPARE(scaled_stickwidth(cv::Size(1280, 720)), 3);
    QCOMPARE(scaled_stickwidth(cv::Size(160, 100)), 1);
  }

  void boundsCoverVisiblePointsOnly() {
    Pose p;
    p.face[0] = {10.0f, 20.0f, 0.9f};
    p.face[1] = {30.0f, 60.0f, 0.9f};
    p.face[2] = {500.0f, 500.0f, 0.0f};
    const cv::Rect2f b = visible_bounds(p.face);
    QCOMPARE(b, cv::Rect2f(10.0f, 20.0f, 20.0f, 40.0f));
    QVERIFY(visible_bounds(p.left_hand).empty());
  }
};

QTEST_APPLESS_MAIN(TestPoseDraw)
#include "test_pose_draw.moc"
