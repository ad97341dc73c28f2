// Curation with a pose model: people, face and hand boxes come from DWPose keypoints, and the
// method strings name the pose model. A scripted PoseModel stands in for ViTPose (no weights).
#include <QtTest>

#include <atomic>

#include <opencv2/imgproc.hpp>

#include "core/curation/curate.h"
#include "core/curation/pose_model.h"

using namespace s2v;
using namespace s2v::curation;

namespace {

// One person: body points around x 100..200, face points in 130..170 × 40..80, a left hand
// around (90..120, 150..180); the right hand is not visible.
pose::Pose scripted_pose() {
  pose::Pose p;
  for (int i = 0; i < pose::kBodyPoints; ++i) p.body[i] = {100.0f + 5.0f * i, 60.0f + 10.0f * i, 0.9f};
  for (int i = 0; i < pose::kFacePoints; ++i)
    p.face[i] = {130.0f + float(i % 9) * 5.0f, 40.0f + float(i / 9) * 5.0f, 0.9f};
  for (int i = 0; i < pose::kHandPoints; ++i)
    p.left_hand[i] = {90.0f + float(i % 5) * 7.5f, 150.0f + float(i / 5) * 7.5f, 0.9f};
  return p;
}

class ScriptedPose : public PoseModel {
 public:
  std::vector<pose::Pose> estimate(const cv::Mat& bgr, const std::vector<cv::Rect>& boxes) override {
    calls++;
    boxes_seen += static_cast<int>(boxes.size());
    frame_size = bgr.size();
    return {scripted_pose()};
  }
  std::string method() const override { return "ScriptedPose (test)"; }
  std::atomic<int> calls{0};
  std::atomic<int> boxes_seen{0};
  cv::Size frame_size;
};

}  // namespace

class TestPoseCuration : public QObject {
  Q_OBJECT
 private slots:
  void posesBecomePersonFaceAndHandBoxes() {
    const auto d = detections_from_poses({scripted_pose()}, cv::Size(320, 240));
    QCOMPARE(d.persons.size(), size_t(1));
    QCOMPARE(d.faces.size(), size_t(1));
    QCOMPARE(d.hands.size(), size_t(1));
    // the face box holds the 68 points (130..170 × 40..75) with its padding
    const cv::Rect f = d.faces[0];
    QVERIFY(f.x <= 130 && f.x + f.width >= 170 && f.y <= 40 && f.y + f.height >= 75);
    QVERIFY(f.width < 80);
    // the hand box is square around 90..120 × 150..180
    const cv::Rect h = d.hands[0];
    QCOMPARE(h.width, h.height);
    QVERIFY(h.x <= 90 && h.x + h.width >= 120 && h.y <= 150 && h.y + h.height >= 180);
    // the person box covers every visible point and stays in the frame
    const cv::Rect p = d.persons[0];
    QVERIFY(p.x <= 90 && p.y <= 40 && p.y + p.height == 240);
    // a pose with too few body points is no person
    pose::Pose weak;
    weak.body[0] = {10, 10, 0.9f};
    weak.body[1] = {20, 20, 0.9f};
    QVERIFY(detections_from_poses({weak}, cv::Size(320, 240)).persons.empty());
  }

  void scorerUsesThePoseModelWhenSet() {
    auto model = std::make_shared<ScriptedPose>();
    CurateOptions o;
    o.pose = model;
    o.ocr_every = 100;
    o.clarity_every = 100;
    ClipScorer scorer(o);
    ClipFrames clip;
    clip.path = "scripted.mp4";
    clip.fps = 4.0;
    clip.width = 320;
    clip.height = 240;
    clip.duration_s = 1.0;
    for (int i = 0; i < 4; ++i) {
      cv::Mat f(240, 320, CV_8UC3);
      cv::randu(f, 0, 255);  // texture: the face and hand crops have a Laplacian variance
      clip.frames.push_back(f);
      clip.timestamps.push_back(i / 4.0);
    }
    const auto s = scorer.score(clip);
    QCOMPARE(model->calls.load(), 4);
    QCOMPARE(model->frame_size, cv::Size(320, 240));
    QCOMPARE(*s.metric("people_max").value, 1.0);
    QCOMPARE(*s.metric("single_person_ratio").value, 1.0);
    QCOMPARE(s.metric("people_max").method, std::string("ScriptedPose (test)"));
    QVERIFY(s.metric("face_sharpness").available());
    QVERIFY2(s.metric("hand_sharpness").available(), s.metric("hand_sharpness").na_reason.c_str());
    QCOMPARE(*s.metric("talking_face_run_s").value, 1.0);
    QCOMPARE(s.overlays.size(), size_t(4));
    QCOMPARE(s.overlays[2].hands.size(), size_t(1));
    // the overlays keep the skeletons for the clip viewer, through the database's JSON column
    QCOMPARE(s.overlays[2].poses.size(), size_t(1));
    ClipScores back;
    back.set_series_json(s.series_json());
    QCOMPARE(back.overlays.size(), size_t(4));
    QCOMPARE(back.overlays[2].poses.size(), size_t(1));
    const pose::Pose want = scripted_pose();
    const pose::Pose& got = back.overlays[2].poses[0];
    for (int i = 0; i < pose::kBodyPoints; ++i) {
      QCOMPARE(got.body[i].x, want.body[i].x);
      QCOMPARE(got.body[i].y, want.body[i].y);
    }
    QCOMPARE(got.left_hand[20].x, want.left_hand[20].x);
    QCOMPARE(got.face[67].y, want.face[67].y);
    QVERIFY(!got.right_hand[0].visible());  // dropped points stay dropped
    // without a pose model the fallback is unchanged: no hands
    CurateOptions plain;
    plain.ocr_every = 100;
    plain.clarity_every = 100;
    ClipScorer fallback(plain);
    const auto f = fallback.score(clip);
    QVERIFY(!f.metric("hand_sharpness").available());
    QVERIFY(f.metric("people_max").method != "ScriptedPose (test)");
    QVERIFY(f.overlays[2].poses.empty());
    QVERIFY(f.series_json().find("\"poses\"") == std::string::npos);  // no empty pose arrays stored
  }
};

QTEST_GUILESS_MAIN(TestPoseCuration)
#include "test_pose_curation.moc"
