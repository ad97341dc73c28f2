// The curate job's cancel, end to end through the job queue: the job's token reaches the
// prefetching decoder (per decoded frame) and the networks (per unit of work), so a cancel that
// lands in the middle of a slow network (UniMatch, the paper's motion network, with random weights
// at its real input size) stops the job within one frame pair instead of one clip.
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/programs.h"
#include "common/wait.h"
#include "curate_job_test_util.h"
#include "core/curate_job/clip_decoder.h"
#include "core/curate_job/curate_job.h"
#include "core/curation/curate.h"
#include "core/curation/results_db.h"
#include "core/jobs/job_queue.h"
#include "core/jobs/job_registry.h"
#include "core/jobs/job_store.h"
#include "models/base/cancel.h"
#include "models/base/error.h"
#include "models/unimatch/unimatch_motion.h"

using namespace s2v;
using namespace s2v::curation;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The real UniMatch motion model, watched from outside: when its clip-level score starts.
class WatchedMotion : public MotionModel {
 public:
  explicit WatchedMotion(std::shared_ptr<unimatch::UniMatchMotion> inner) : inner_(std::move(inner)) {}
  MotionMetrics score(const ClipFrames& clip, const CancelToken& cancel) override {
    started_at_ns_ = Clock::now().time_since_epoch().count();
    return inner_->score(clip, cancel);
  }
  std::string method() const override { return inner_->method(); }
  bool started() const { return started_at_ns_.load() != 0; }
  Clock::time_point started_at() const { return Clock::time_point(Clock::duration(started_at_ns_.load())); }

 private:
  std::shared_ptr<unimatch::UniMatchMotion> inner_;
  std::atomic<Clock::rep> started_at_ns_{0};
};

}  // namespace

class TestCurateJob : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::string long_clip_, flow_;

  std::string path(const char* name) const { return dir_.filePath(name).toStdString(); }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    qputenv("S2V_DATA_DIR", dir_.path().toUtf8());
    torch::manual_seed(5);
    long_clip_ = path("long.mp4");
    // 6 s at the default 4 sampled frames per second: 24 frames, 23 frame pairs for UniMatch
    QVERIFY(test::ffmpeg({"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6", "-pix_fmt", "yuv420p",
                          QString::fromStdString(long_clip_)}));
    flow_ = path("unimatch.safetensors");
    test::write_small_unimatch(flow_);
  }

  // The decoder stops at the next frame once its token is requested, also through a parent (the
  // curate job's prefetching decoder follows the job's token).
  void decoderStopsOnARequestedToken() {
    CancelToken cancel;
    cancel.request();
    QVERIFY_THROWS_EXCEPTION(Cancelled, decode_clip(long_clip_, {}, cancel));
    CancelToken parent, child(&parent);
    QVERIFY(!child.requested());
    parent.request();
    QVERIFY(child.requested());
    QVERIFY_THROWS_EXCEPTION(Cancelled, decode_clip(long_clip_, {}, child));
    QVERIFY(!CancelToken::none().requested());
  }

  // A cancel that lands while UniMatch is in the middle of a clip stops the job within one frame
  // pair. Without the token reaching the network the job would wait for the clip's remaining
  // ~20 pairs.
  void cancelMidClipStopsWithinOneFramePair() {
    const auto clip = decode_clip(long_clip_);
    QCOMPARE(clip.frames.size(), size_t(24));
    // One frame pair's time, measured here under the load the job will see (the largest of three,
    // after a warm-up). The input starts at a quarter of the real 320x576 and doubles until a pair
    // takes long enough for the bound below to tell "one pair" from "the rest of the clip"
    // (checked below) while the suite stays short on a fast machine.
    unimatch::UniMatchMotionOptions mo;
    mo.max_pairs = 0;  // every pair of the clip: 23
    mo.input_h /= 4;
    mo.input_w /= 4;
    auto inner = unimatch::make_motion_model(flow_, mo);
    double pair_s = 0;
    for (int grow = 0;; ++grow) {
      const auto a = inner->to_input(clip.frames[0]).unsqueeze(0), b = inner->to_input(clip.frames[1]).unsqueeze(0);
      inner->flow(a, b);
      pair_s = 0;
      for (int i = 0; i < 3; ++i) {
        const auto t0 = Clock::now();
        inner->flow(a, b);
        pair_s = std::max(pair_s, seconds_between(t0, Clock::now()));
      }
      if (pair_s >= 0.25 || grow == 3) break;
      mo.input_h *= 2;
      mo.input_w *= 2;
      inner = std::make_shared<unimatch::UniMatchMotion>(inner->model(), mo);
    }
    qInfo("UniMatch input %dx%d: one frame pair takes %.3f s", mo.input_h, mo.input_w, pair_s);

    auto watched = std::make_shared<WatchedMotion>(inner);
    jobs::JobStore store(dir_.path().toStdString() + "/jobs-cancel");
    jobs::JobRegistry reg;
    reg.add(kCurateKind, [watched](jobs::JobContext& ctx) {
      CurateOptions options;
      options.motion_model = watched;
      return run_curate_with(ctx, options);
    });
    jobs::JobQueue queue(store, reg);
    std::atomic<Clock::rep> ended_ns{0};
    queue.set_listener([&](const jobs::JobEvent& e) {
      if (jobs::is_final(e.record.state) && ended_ns.load() == 0) ended_ns = Clock::now().time_since_epoch().count();
    });
    const std::string db = path("cancel.db");
    const nlohmann::json params = {{"inputs", {long_clip_}}, {"db", db}, {"jobs", 1}};
    const auto id = queue.submit({kCurateKind, "cancel", params, ""});
    // the per-frame metrics of 24 small frames come first: seconds
    QVERIFY2(test::wait_for([&] { return watched->started(); }, std::chrono::minutes(5)),
             "UniMatch never started on the clip");
    // mid-clip: after about one and a half pairs of the 23
    std::this_thread::sleep_for(std::chrono::duration<double>(1.5 * pair_s));
    const auto requested = Clock::now();
    QVERIFY(queue.cancel(id));
    QVERIFY(test::wait_idle(queue, std::chrono::minutes(5), "the cancelled curate job"));
    queue.set_listener(nullptr);
    QCOMPARE(queue.job(id)->state, jobs::JobState::Cancelled);
    const Clock::time_point ended{Clock::duration(ended_ns.load())};
    const double latency = seconds_between(requested, ended);
    const double into_clip = seconds_between(watched->started_at(), requested);
    qInfo("one frame pair: %.3f s; cancel requested %.3f s into UniMatch's clip (23 pairs, about %.1f s); "
          "the job stopped %.3f s later (%.2f pairs)",
          pair_s, into_clip, 23 * pair_s, latency, latency / pair_s);
    // After the request the pair in flight finishes (at most one pair), then the job unwinds
    // (one clip: no decoder is running). Twice the slowest measured pair plus 0.5 s of scheduling
    // on a loaded machine still lies far below what the rest of the clip would take.
    const double bound = 2.0 * pair_s + 0.5;
    QVERIFY2(latency <= bound,
             qPrintable(QString("stopped %1 s after the request; one pair takes %2 s").arg(latency).arg(pair_s)));
    // the bound tells the two outcomes apart: the pairs still to come after the cancel take longer
    const double rest_s = (23 - into_clip / pair_s - 1) * pair_s;
    QVERIFY2(rest_s > 2 * bound, qPrintable(QString("the rest of the clip (%1 s) is too close to the bound").arg(rest_s)));
    // the clip was not finished: no row for it
    QVERIFY(!ResultsDb(db, ResultsDb::Mode::ReadOnly).get(fs::absolute(long_clip_).string()).has_value());
  }
};

QTEST_GUILESS_MAIN(TestCurateJob)
#include "test_curate_job.moc"
