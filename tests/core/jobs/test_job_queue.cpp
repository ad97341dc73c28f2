// The core job queue: ordering, progress events, cancellation, journal, resume, and the
// test-pattern diagnostic job end to end with real FFmpeg encoding.
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <mutex>
#include <thread>

#include "core/diagnostics/test_pattern.h"
#include "core/jobs/job_queue.h"
#include "core/media/probe.h"
#include "models/base/error.h"

using namespace s2v;
using namespace s2v::jobs;

class TestJobQueue : public QObject {
  Q_OBJECT

  struct Recorder {
    std::mutex m;
    std::vector<JobEvent> events;
    void operator()(const JobEvent& e) {
      std::lock_guard l(m);
      events.push_back(e);
    }
  };

 private slots:
  void runsJobsInSubmissionOrder() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    JobRegistry reg;
    std::vector<std::string> order;
    std::mutex m;
    reg.add("record", [&](JobContext& ctx) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::lock_guard l(m);
      order.push_back(ctx.params().at("name").get<std::string>());
      return std::string();
    });
    JobQueue q(store, reg);
    for (const char* n : {"a", "b", "c", "d"}) q.submit({"record", n, {{"name", n}}, ""});
    QVERIFY(q.wait_until_idle(std::chrono::seconds(10)));
    QCOMPARE(order, (std::vector<std::string>{"a", "b", "c", "d"}));
    for (auto& r : q.jobs()) QCOMPARE(r.state, JobState::Done);
  }

  void rejectsUnknownKindBeforeWritingAnything() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    JobRegistry reg;
    JobQueue q(store, reg);
    QVERIFY_THROWS_EXCEPTION(s2v::Error, q.submit({"nope", "", {}, ""}));
    QVERIFY(store.list().empty());
  }

  void progressEventSequenceHasFractionsAndEta() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    JobRegistry reg;
    reg.add("steps", [](JobContext& ctx) {
      for (int i = 1; i <= 4; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        Progress p;
        p.stage = "working";
        p.step = i;
        p.steps = 4;
        ctx.report(p, i, 4);
      }
      return std::string("out.bin");
    });
    JobQueue q(store, reg);
    Recorder rec;
    q.set_listener(std::ref(rec));
    const auto id = q.submit({"steps", "", {}, ""});
    QVERIFY(q.wait_until_idle(std::chrono::seconds(10)));
    std::lock_guard l(rec.m);
    const auto& ev = rec.events;
    QVERIFY(ev.size() >= 6);
    QCOMPARE(ev.front().type, JobEvent::Type::Added);
    QCOMPARE(ev.front().record.state, JobState::Queued);
    QCOMPARE(ev[1].record.state, JobState::Running);
    QCOMPARE(ev.back().record.state, JobState::Done);
    QCOMPARE(ev.back().record.output, std::string("out.bin"));
    double last = -1;
    int steps_seen = 0;
    for (auto& e : ev) {
      QCOMPARE(e.record.id, id);
      if (e.progress.steps == 4) {
        ++steps_seen;
        QVERIFY(e.progress.fraction >= last);
        last = e.progress.fraction;
        if (e.progress.step >= 2 && e.progress.step < 4) QVERIFY(e.progress.eta_s > 0);
        if (e.progress.step == 4) QCOMPARE(e.progress.eta_s, 0.0);
      }
    }
    QVERIFY(steps_seen >= 4);
    QCOMPARE(last, 1.0);
  }

  void cancelRunningJobStopsAtNextCheck() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    JobRegistry reg;
    std::atomic<int> iterations{0};
    reg.add("loop", [&](JobContext& ctx) {
      for (;;) {
        ctx.check_cancelled();
        ++iterations;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return std::string();
    });
    JobQueue q(store, reg);
    const auto id = q.submit({"loop", "", {}, ""});
    const auto queued = q.submit({"loop", "", {}, ""});
    while (iterations < 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    QVERIFY(q.cancel(queued));
    QCOMPARE(q.job(queued)->state, JobState::Cancelled);
    QVERIFY(q.cancel(id));
    QVERIFY(q.wait_until_idle(std::chrono::seconds(5)));
    QCOMPARE(q.job(id)->state, JobState::Cancelled);
    QVERIFY(!q.cancel(id));  // already final
    // The journal agrees.
    QCOMPARE(store.load(id)->state, JobState::Cancelled);
  }

  void failureCarriesTheSentence() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    JobRegistry reg;
    reg.add("bad", [](JobContext&) -> std::string {
      throw s2v::Error("cannot decode 'x.mp4': the file is truncated", ErrorKind::Corrupt);
    });
    JobQueue q(store, reg);
    const auto id = q.submit({"bad", "", {}, ""});
    QVERIFY(q.wait_until_idle(std::chrono::seconds(5)));
    QCOMPARE(q.job(id)->state, JobState::Failed);
    QCOMPARE(q.job(id)->error, std::string("cannot decode 'x.mp4': the file is truncated"));
  }

  void staleRunningRecordReadsAsInterrupted() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    JobRecord r = store.create({"x", "t", {}, ""});
    r.state = JobState::Running;
    store.save(r);  // no process holds its lock: it died
    QCOMPARE(store.load(r.id)->state, JobState::Interrupted);
    // But a record whose lock is held (a live run) stays running.
    JobRecord live = store.create({"x", "t", {}, ""});
    live.state = JobState::Running;
    store.save(live);
    auto lock = store.try_lock(live.id);
    QVERIFY(lock != nullptr);
    QCOMPARE(store.load(live.id)->state, JobState::Running);
    QVERIFY(store.try_lock(live.id) == nullptr);
  }

  void resumeContinuesFromTheCheckpoint() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    JobRegistry reg;
    std::vector<int> started_at;
    reg.add("chunks", [&](JobContext& ctx) {
      int done = ctx.state().is_object() ? ctx.state().value("done", 0) : 0;
      started_at.push_back(done);
      for (int k = done; k < 5; ++k) {
        if (k == 3 && ctx.record().attempts == 1) throw s2v::Error("simulated crash");
        ctx.save_state({{"done", k + 1}});
      }
      return std::string("ok");
    });
    JobQueue q(store, reg);
    const auto id = q.submit({"chunks", "", {}, ""});
    QVERIFY(q.wait_until_idle(std::chrono::seconds(5)));
    QCOMPARE(q.job(id)->state, JobState::Failed);
    QVERIFY(q.resume(id));
    QVERIFY(q.wait_until_idle(std::chrono::seconds(5)));
    QCOMPARE(q.job(id)->state, JobState::Done);
    QCOMPARE(q.job(id)->attempts, 2);
    QCOMPARE(started_at, (std::vector<int>{0, 3}));
  }

  void cancelFileFromAnotherProcessIsHonoured() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    JobRegistry reg;
    reg.add("loop", [](JobContext& ctx) {
      for (;;) {
        ctx.check_cancelled();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return std::string();
    });
    JobQueue q(store, reg);
    const auto id = q.submit({"loop", "", {}, ""});
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    store.request_cancel(id);  // what `s2v jobs cancel ID` does from another process
    QVERIFY(q.wait_until_idle(std::chrono::seconds(5)));
    QCOMPARE(q.job(id)->state, JobState::Cancelled);
  }

  void testPatternWritesSegmentsAndTheWholeVideo() {
    QTemporaryDir dir;
    JobStore store((dir.path() + "/jobs").toStdString());
    JobRegistry reg;
    reg.add(diagnostics::kTestPatternKind, diagnostics::run_test_pattern);
    JobQueue q(store, reg);
    Recorder rec;
    q.set_listener(std::ref(rec));
    diagnostics::TestPatternParams p;
    p.width = 64;
    p.height = 48;
    p.segments = 3;
    p.frames_per_segment = 5;
    const std::string out = (dir.path() + "/out/pattern.mp4").toStdString();
    const auto id = q.submit({diagnostics::kTestPatternKind, "Test pattern", p.to_json(), out});
    QVERIFY(q.wait_until_idle(std::chrono::seconds(60)));
    QCOMPARE(q.job(id)->state, JobState::Done);
    QCOMPARE(q.job(id)->output, out);
    const auto info = media::probe(out);
    QCOMPARE(info.frame_count, int64_t{15});
    QCOMPARE(info.width, 64);
    QCOMPARE(info.height, 48);
    QCOMPARE(info.fps, 16.0);
    std::vector<std::string> previews;
    for (auto& e : rec.events)
      if (!e.progress.preview.empty()) previews.push_back(e.progress.preview);
    QCOMPARE(previews.size(), size_t{3});
    for (auto& pv : previews) QCOMPARE(media::probe(pv).frame_count, int64_t{5});
  }

  void cancelLeavesNoOutputFile() {
    QTemporaryDir dir;
    JobStore store((dir.path() + "/jobs").toStdString());
    JobRegistry reg;
    reg.add(diagnostics::kTestPatternKind, diagnostics::run_test_pattern);
    JobQueue q(store, reg);
    std::atomic<int> previews{0};
    q.set_listener([&](const JobEvent& e) {
      if (!e.progress.preview.empty()) ++previews;
    });
    diagnostics::TestPatternParams p;
    p.width = 64;
    p.height = 48;
    p.segments = 4;
    p.frames_per_segment = 6;
    p.frame_delay_ms = 20;
    const std::string out = (dir.path() + "/pattern.mp4").toStdString();
    const auto id = q.submit({diagnostics::kTestPatternKind, "Test pattern", p.to_json(), out});
    while (previews < 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    QVERIFY(q.cancel(id));
    QVERIFY(q.wait_until_idle(std::chrono::seconds(20)));
    QCOMPARE(q.job(id)->state, JobState::Cancelled);
    QVERIFY(!std::filesystem::exists(out));
    QVERIFY(!std::filesystem::exists(out + ".part"));
    // The finished segment is kept, and resuming completes the job without redoing it.
    const auto seg0 = store.folder(id) / "segment_000.mp4";
    QVERIFY(std::filesystem::exists(seg0));
    const auto t0 = std::filesystem::last_write_time(seg0);
    QVERIFY(q.resume(id));
    QVERIFY(q.wait_until_idle(std::chrono::seconds(30)));
    QCOMPARE(q.job(id)->state, JobState::Done);
    QCOMPARE(std::filesystem::last_write_time(seg0), t0);
    QCOMPARE(media::probe(out).frame_count, int64_t{24});
  }

  void testPatternRejectsBadParameters() {
    QVERIFY_THROWS_EXCEPTION(s2v::Error, diagnostics::TestPatternParams::from_json({{"width", 33}}));
    QVERIFY_THROWS_EXCEPTION(s2v::Error, diagnostics::TestPatternParams::from_json({{"segments", 0}}));
  }
};

QTEST_GUILESS_MAIN(TestJobQueue)
#include "test_job_queue.moc"
