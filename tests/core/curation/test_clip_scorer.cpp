// ClipScorer's wiring: the paper's networks (scripted stand-ins here; the real DOVER, UniMatch and
// Light-ASD are tested in tests/models) replace their fallbacks, which are then not run; the
// number of workers changes nothing but the speed.
#include <QtTest>

#include <atomic>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "core/curation/curate.h"
#include "core/curation/network_models.h"
#include "models/base/error.h"

using namespace s2v;
using namespace s2v::curation;

namespace {

ClipFrames textured_clip(int n, uint64_t seed = 1) {
  ClipFrames clip;
  clip.path = "synthetic.mp4";
  clip.fps = 4.0;
  clip.width = 320;
  clip.height = 240;
  clip.duration_s = n / 4.0;
  cv::RNG rng(seed);
  cv::Mat base(240, 320, CV_8UC3);
  rng.fill(base, cv::RNG::UNIFORM, 0, 255);
  cv::GaussianBlur(base, base, cv::Size(7, 7), 2.0);
  for (int i = 0; i < n; ++i) {
    // a textured picture sliding right by 3 px a frame: flow and BRISQUE have something to see
    cv::Mat f;
    const cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, 3.0 * i, 0, 1, 0);
    cv::warpAffine(base, f, shift, base.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
    clip.frames.push_back(f);
    clip.timestamps.push_back(i / 4.0);
  }
  return clip;
}

class ScriptedClarity : public ClarityModel {
 public:
  Metric score(const ClipFrames& clip, std::vector<double>* series, const CancelToken&) override {
    ++calls;
    if (series) series->assign(clip.frames.size(), 42.0);
    return Metric::of(77.0, method());
  }
  std::string method() const override { return "ScriptedClarity (test)"; }
  std::atomic<int> calls{0};
};

class ScriptedMotion : public MotionModel {
 public:
  MotionMetrics score(const ClipFrames& clip, const CancelToken&) override {
    ++calls;
    MotionMetrics m;
    m.motion = Metric::of(5.5, method());
    m.series.assign(clip.frames.size(), 5.5);
    m.series[0] = std::nan("");
    return m;
  }
  std::string method() const override { return "ScriptedMotion (test)"; }
  std::atomic<int> calls{0};
};

class ScriptedSync : public SyncModel {
 public:
  SyncMetrics score(const ClipFrames& clip, const std::vector<FrameDetections>& dets, const CancelToken&) override {
    ++calls;
    frames_seen = dets.size();
    SyncMetrics s;
    s.av_sync_confidence = clip.has_audio() ? Metric::of(0.6, method()) : Metric::na(method(), "no audio");
    s.av_offset_s = clip.has_audio() ? Metric::of(-0.2, method()) : Metric::na(method(), "no audio");
    s.ncc = {0.1, 0.6, 0.2};
    s.lag_step_s = 0.2;
    return s;
  }
  std::string method() const override { return "ScriptedSync (test)"; }
  std::atomic<int> calls{0};
  size_t frames_seen = 0;
};

CurateOptions quick() {
  CurateOptions o;
  o.ocr_every = 100;  // OCR is the slowest fallback and not under test here
  return o;
}

}  // namespace

class TestClipScorer : public QObject {
  Q_OBJECT
 private slots:
  void networksReplaceTheirFallbacks() {
    auto clarity = std::make_shared<ScriptedClarity>();
    auto motion = std::make_shared<ScriptedMotion>();
    auto sync = std::make_shared<ScriptedSync>();
    CurateOptions o = quick();
    o.clarity_model = clarity;
    o.motion_model = motion;
    o.sync_model = sync;
    ClipScorer scorer(o);
    ClipFrames clip = textured_clip(6);
    clip.audio.assign(16000, 0.1f);
    const ClipScores s = scorer.score(clip);
    QCOMPARE(clarity->calls.load(), 1);
    QCOMPARE(motion->calls.load(), 1);
    QCOMPARE(sync->calls.load(), 1);
    QCOMPARE(sync->frames_seen, size_t(6));
    QCOMPARE(*s.metric("clarity").value, 77.0);
    QCOMPARE(s.metric("clarity").method, std::string("ScriptedClarity (test)"));
    QCOMPARE(*s.metric("motion").value, 5.5);
    QCOMPARE(s.metric("motion").method, std::string("ScriptedMotion (test)"));
    QCOMPARE(*s.metric("av_sync_confidence").value, 0.6);
    QCOMPARE(*s.metric("av_offset_s").value, -0.2);
    QCOMPARE(s.metric("av_offset_s").method, std::string("ScriptedSync (test)"));
    // the plots get the networks' series, one value per sampled frame
    QCOMPARE(s.series.at("clarity").size(), size_t(6));
    QCOMPARE(s.series.at("clarity")[3], 42.0);
    QCOMPARE(s.series.at("motion").size(), size_t(6));
    QVERIFY(std::isnan(s.series.at("motion")[0]));
    QCOMPARE(s.series.at("av_ncc").size(), size_t(3));
    // the same clip without networks: the fallbacks' methods
    ClipScorer plain(quick());
    const ClipScores f = plain.score(clip);
    QVERIFY(f.metric("clarity").method.find("BRISQUE") != std::string::npos);
    QVERIFY(f.metric("motion").method.find("DIS") != std::string::npos);
    QVERIFY(f.metric("motion").available());
    QVERIFY(*f.metric("motion").value > 0.5);  // the picture slides 3 px a frame
  }

  void workerCountChangesNothingButSpeed() {
    const ClipFrames clip = textured_clip(8, 7);
    std::vector<ClipScores> runs;
    for (int workers : {1, 2, 3}) {
      CurateOptions o = quick();
      o.workers = workers;
      runs.push_back(ClipScorer(o).score(clip));
    }
    for (const auto& name : metric_names()) {
      const Metric a = runs[0].metric(name);
      for (size_t r = 1; r < runs.size(); ++r) {
        const Metric b = runs[r].metric(name);
        QCOMPARE(b.available(), a.available());
        if (a.available()) QCOMPARE(*b.value, *a.value);
      }
    }
    QCOMPARE(runs[2].series_json(), runs[0].series_json());
  }

  void rejectsAWorkerCountOutOfRange() {
    CurateOptions o = quick();
    o.workers = 0;
    QVERIFY_THROWS_EXCEPTION(Error, ClipScorer{o});
    o.workers = 65;
    QVERIFY_THROWS_EXCEPTION(Error, ClipScorer{o});
  }
};

QTEST_GUILESS_MAIN(TestClipScorer)
#include "test_clip_scorer.moc"
