// Presets: JSON parsing, thresholds, n/a policy and the verdicts pass / fail / review / error.
#include <QtTest>

#include "core/curation/preset.h"
#include "models/base/error.h"

using namespace s2v::curation;

namespace {

const char* kPreset = R"({
  "name": "t", "na_policy": "review",
  "thresholds": [
    {"metric": "people_max", "op": "==", "value": 1},
    {"metric": "motion", "op": "<=", "value": 20},
    {"metric": "face_sharpness", "op": ">=", "value": 50},
    {"metric": "aesthetics", "op": ">=", "value": 5, "na": "pass"},
    {"metric": "subtitle_over_face_or_hands", "op": "==", "value": false}
  ]})";

ClipScores good() {
  ClipScores s;
  s.path = "a.mp4";
  s.set("people_max", Metric::of(1, "m"));
  s.set("motion", Metric::of(10, "m"));
  s.set("face_sharpness", Metric::of(80, "m"));
  s.set("aesthetics", Metric::na("m", "no weights"));
  s.set("subtitle_over_face_or_hands", Metric::of(0, "m"));
  return s;
}

}  // namespace

class TestPreset : public QObject {
  Q_OBJECT
 private slots:
  void passesWhenEveryAvailableThresholdHolds() {
    auto s = good();
    apply_preset(Preset::from_json(kPreset), s);
    QCOMPARE(s.verdict, std::string("pass"));
    QVERIFY(s.failed_metrics.empty());
  }

  void failsAndNamesEachFailedMetric() {
    auto s = good();
    s.set("people_max", Metric::of(3, "m"));
    s.set("motion", Metric::of(20.5, "m"));
    s.set("subtitle_over_face_or_hands", Metric::of(1, "m"));
    apply_preset(Preset::from_json(kPreset), s);
    QCOMPARE(s.verdict, std::string("fail"));
    QCOMPARE(s.failed_metrics,
             (std::vector<std::string>{"people_max", "motion", "subtitle_over_face_or_hands"}));
  }

  void naMetricAsksForReviewUnlessPolicyPasses() {
    auto s = good();
    s.set("face_sharpness", Metric::na("m", "no face"));
    apply_preset(Preset::from_json(kPreset), s);
    QCOMPARE(s.verdict, std::string("review"));
    QCOMPARE(s.failed_metrics, std::vector<std::string>{"face_sharpness:n/a"});
    // A preset whose policy is pass lets the same clip through.
    auto lenient = Preset::from_json(kPreset);
    lenient.na_policy = NaPolicy::Pass;
    auto t = good();
    t.set("face_sharpness", Metric::na("m", "no face"));
    apply_preset(lenient, t);
    QCOMPARE(t.verdict, std::string("pass"));
  }

  void missingMetricCountsAsNa() {
    auto s = good();
    s.metrics.erase("motion");
    apply_preset(Preset::from_json(kPreset), s);
    QCOMPARE(s.verdict, std::string("review"));
  }

  void errorClipIsError() {
    auto s = good();
    s.error = "cannot decode 'a.mp4'";
    apply_preset(Preset::from_json(kPreset), s);
    QCOMPARE(s.verdict, std::string("error"));
  }

  void jsonRoundTripKeepsThresholds() {
    const auto p = Preset::from_json(kPreset);
    const auto q = Preset::from_json(p.to_json());
    QCOMPARE(q.thresholds.size(), p.thresholds.size());
    QCOMPARE(q.thresholds[3].na.has_value(), true);
    QCOMPARE(q.thresholds[4].value, 0.0);
    QCOMPARE(q.thresholds[1].describe(), std::string("motion <= 20"));
    for (const auto& name : Preset::builtin_names()) QVERIFY(!Preset::builtin(name).thresholds.empty());
  }

  void rejectsUnknownMetricAndOperator() {
    QVERIFY_THROWS_EXCEPTION(s2v::Error, Preset::from_json(
        R"({"thresholds": [{"metric": "sharpnes", "op": ">=", "value": 1}]})"));
    QVERIFY_THROWS_EXCEPTION(s2v::Error, Preset::from_json(
        R"({"thresholds": [{"metric": "motion", "op": "=>", "value": 1}]})"));
    QVERIFY_THROWS_EXCEPTION(s2v::Error, Preset::from_json("not json"));
  }
};

QTEST_GUILESS_MAIN(TestPreset)
#include "test_preset.moc"
