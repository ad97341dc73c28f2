// The core job queue: ordering, progress events, cancellation, journal, resume, and the
// test-pattern diagnostic job end to end with real FFmpeg encoding.
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/child.h"
#include "common/wait.h"

#include "core/diagnostics/test_pattern.h"
#include "core/jobs/job_queue.h"
#include "core/media/probe.h"
#include "models/base/error.h"

using namespace s2v;
using namespace s2v::jobs;

class TestJobQueue : public QObject {
  Q_OBJECT

  static std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

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
    S2V_WAIT_FOR(iterations >= 3, 10000, "three iterations of the running job");
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

  // Issue #19 group 2: on a full disk the runner failed, the failure handler wrote job.json again,
  // that threw out of the worker thread, and the process aborted (exit 134). The disk is
  // simulated as full with RLIMIT_FSIZE in a child process (the abort would kill the test).
  void fullDiskDuringAFailureDoesNotAbort() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    const auto child = test::run_in_child([&]() -> std::string {
      JobStore store(root);
      JobRegistry reg;
      reg.add("fill", [](JobContext&) -> std::string {
        rlimit rl{16, 16};  // from here on every file write fails with EFBIG, job.json's too
        ::setrlimit(RLIMIT_FSIZE, &rl);
        throw s2v::Error("cannot write 'out.mp4': the disk is full", ErrorKind::Io);
      });
      JobQueue q(store, reg);
      const auto id = q.submit({"fill", "", {}, ""});
      if (!q.wait_until_idle(std::chrono::seconds(20))) return "timeout";
      const auto r = q.job(id);
      return std::string(to_string(r->state)) + "|" + r->error;
    });
    QVERIFY2(child.exited, qPrintable(QString("child killed by signal %1").arg(child.signal)));
    qInfo("%s", child.text.c_str());
    QVERIFY2(child.text.starts_with("failed|cannot write 'out.mp4': the disk is full"), child.text.c_str());
    QVERIFY2(child.text.find("job record could not be updated") != std::string::npos, child.text.c_str());
  }

  // Group 11: `jobs list` failed entirely on a full disk (rewriting a stale record threw).
  void listSurvivesAFullDisk() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    std::string id;
    {
      JobStore store(root);
      JobRecord r = store.create({"x", "t", {}, ""});
      r.state = JobState::Running;  // its process died: load() rewrites it as interrupted
      store.save(r);
      id = r.id;
    }
    const auto child = test::run_in_child([&]() -> std::string {
      try {
        JobStore store(root);
        const auto list = store.list();
        return list.size() == 1 ? std::string(to_string(list[0].state)) : "wrong size";
      } catch (const std::exception& e) {
        return std::string("threw: ") + e.what();
      }
    }, 0);
    QVERIFY(child.exited);
    QCOMPARE(child.text, std::string("interrupted"));
  }

  // Group 3: a copied job folder carries the original's id; resuming the copy dereferenced an
  // empty job(id) (std::bad_alloc) and rewrote the ORIGINAL's job.json, and every `jobs list`
  // rewrote it again.
  void copiedJobFolderIsRefusedAndTheOriginalUntouched() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    JobRegistry reg;
    reg.add("x", [](JobContext&) -> std::string { throw s2v::Error("simulated failure"); });
    std::string id;
    {
      JobQueue q(store, reg);
      id = q.submit({"x", "t", {}, ""});
      QVERIFY(q.wait_until_idle(std::chrono::seconds(5)));
    }
    const auto original = store.folder(id) / "job.json";
    std::filesystem::copy(store.folder(id), store.root() / "COPY", std::filesystem::copy_options::recursive);
    // the copy says "running" (copied mid-run): loading it would rewrite a record
    auto j = nlohmann::json::parse(read_all(store.root() / "COPY" / "job.json"));
    j["state"] = "running";
    std::ofstream(store.root() / "COPY" / "job.json") << j.dump(2);
    const std::string before = read_all(original);
    const std::string copy_before = read_all(store.root() / "COPY" / "job.json");

    const auto list = store.list();
    QCOMPARE(list.size(), size_t(2));
    bool listed = false;
    for (const auto& r : list)
      if (r.id == "COPY") {
        listed = true;
        QCOMPARE(r.state, JobState::Failed);
        QVERIFY2(r.error.find("names job '" + id + "'") != std::string::npos, r.error.c_str());
      }
    QVERIFY(listed);
    JobQueue q(store, reg);
    try {
      q.resume("COPY");
      QFAIL("resuming a copied folder must be refused");
    } catch (const s2v::Error& e) {
      QCOMPARE(e.kind(), ErrorKind::Corrupt);
      QVERIFY2(std::string(e.what()).find("copied or renamed") != std::string::npos, e.what());
    }
    q.load_journal();  // the broken entry is listed but cannot be resumed
    QVERIFY(!q.resume("COPY"));
    QCOMPARE(read_all(original), before);
    QCOMPARE(read_all(store.root() / "COPY" / "job.json"), copy_before);
  }

  void jobIdsStayInsideTheJobFolder() {
    QTemporaryDir dir;
    JobStore store((dir.path() + "/jobs").toStdString());
    for (const char* bad : {"../../x", "..", ".", "", "a/b", ".hidden"}) {
      try {
        store.load(bad);
        QFAIL(bad);
      } catch (const s2v::Error& e) {
        QCOMPARE(e.kind(), ErrorKind::InvalidArgument);
      }
    }
    QVERIFY_THROWS_EXCEPTION(s2v::Error, store.request_cancel("../x"));
    QVERIFY(!std::filesystem::exists(dir.path().toStdString() + "/x"));
    QVERIFY(JobStore::valid_id("20250101-120000-ab12"));
  }

  // Group 11: a corrupt job.json made the job vanish from the list.
  void unreadableRecordIsListedWithTheReason() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    const auto good = store.create({"x", "t", {}, ""});
    std::filesystem::create_directories(store.root() / "20250101-000000-dead");
    std::ofstream(store.root() / "20250101-000000-dead" / "job.json") << "{\"id\": \"20250101-000000-de";
    const auto list = store.list();
    QCOMPARE(list.size(), size_t(2));
    const auto& broken = list[0].id == good.id ? list[1] : list[0];
    QCOMPARE(broken.id, std::string("20250101-000000-dead"));
    QCOMPARE(broken.state, JobState::Failed);
    QVERIFY2(broken.error.find("cannot be read") != std::string::npos, broken.error.c_str());
  }

  // Group 11: a lock that is a folder read "another process is already running this job".
  void lockThatIsAFolderSaysSo() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    JobRegistry reg;
    reg.add("x", [](JobContext&) { return std::string("ok"); });
    JobRecord r = store.create({"x", "t", {}, ""});
    r.state = JobState::Interrupted;
    store.save(r);
    std::filesystem::create_directory(store.folder(r.id) / "lock");
    JobQueue q(store, reg);
    QVERIFY(q.resume(r.id));
    QVERIFY(q.wait_until_idle(std::chrono::seconds(5)));
    const auto after = q.job(r.id);
    QCOMPARE(after->state, JobState::Failed);
    QVERIFY2(after->error.find("lock file") != std::string::npos &&
                 after->error.find("Is a directory") != std::string::npos,
             after->error.c_str());
  }

  // Group 10: parameters that are not UTF-8 (a file name) threw json type_error.316 and left an
  // empty orphan job folder.
  void nonUtf8ParametersAreRefusedWithoutAnOrphanFolder() {
    QTemporaryDir dir;
    JobStore store(dir.path().toStdString());
    JobRegistry reg;
    reg.add("x", [](JobContext&) { return std::string("ok"); });
    JobQueue q(store, reg);
    try {
      q.submit({"x", "t", {{"image", "/tmp/portr\xe4it.png"}}, ""});
      QFAIL("a non-UTF-8 parameter must be refused");
    } catch (const s2v::Error& e) {
      QVERIFY2(std::string(e.what()).find("not valid UTF-8") != std::string::npos, e.what());
    }
    QVERIFY(std::filesystem::is_empty(store.root()));
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
    S2V_WAIT_FOR(previews >= 1, 20000, "the job's first preview");
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
