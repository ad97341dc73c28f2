// Renders run in `s2v worker` processes (issue #15). Real workers on the demo model, driven from
// the window (offscreen): a worker killed with SIGKILL mid-clip, one that segfaults on purpose and
// one that runs out of memory each leave the window up, the job dock says why, and Resume finishes
// the job from its last finished clip with frames bit-identical to an uninterrupted run. A cancel
// during the last clip's decode (a stage the engine cannot interrupt) shows "Cancelling…" and
// ends the job cancelled, not done (issue #20).
#include <signal.h>

#include <QListView>
#include <QProcess>
#include <QPushButton>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <filesystem>

#include "common/programs.h"
#include "core/generate/generate_job.h"
#include "core/generate/model_folder.h"
#include "core/jobs/worker_protocol.h"
#include "core/media/video_reader.h"
#include "ui/engine/engine_process.h"
#include "ui/jobs/job_dock.h"
#include "ui/jobs/job_list_model.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/main_window.h"

using namespace s2v;
using namespace s2v::ui;

namespace {

std::vector<media::RgbFrame> allFrames(const QString& video) {
  std::vector<int64_t> idx(static_cast<size_t>(media::count_frames(video.toStdString())));
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
  return media::read_frames(video.toStdString(), idx);
}

using s2v::test::ffmpeg;  // tests/common/programs.h

// Every event of one job as the GUI saw it.
struct Seen {
  QStringList states;
  QList<jobs::Progress> progress;
  QStringList previews;
};

}  // namespace

class TestJobWorkers : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString portrait_, audio_, demo_;
  std::vector<media::RgbFrame> reference_;
  int outputs_ = 0;

  // Two clips of 16 frames at 64×64, four steps: the first clip is finished and kept while the
  // second one is denoised.
  jobs::JobSpec renderSpec() {
    generate::GenerateParams p;
    p.ckpt_dir = demo_.toStdString();
    p.image = portrait_.toStdString();
    p.audio = audio_.toStdString();
    p.prompt = "a person talks";
    p.size = "64*64";
    p.infer_frames = 16;
    p.sample_steps = 4;
    p.num_clip = 2;
    p.base_seed = 7;
    p.device = "cpu";
    p.out = (dir_.path() + QString("/out%1.mp4").arg(outputs_++)).toStdString();
    return generate::make_generate_spec(p);
  }

  static Seen* watch(JobQueueAdapter* jobs, const QString& id, QObject* owner) {
    auto* seen = new Seen;
    auto record = [seen, id](const JobUpdate& u) {
      if (QString::fromStdString(u.record.id) != id) return;
      const QString s = QString::fromLatin1(jobs::to_string(u.record.state));
      if (seen->states.isEmpty() || seen->states.last() != s) seen->states << s;
      seen->progress << u.progress;
    };
    QObject::connect(jobs, &JobQueueAdapter::jobChanged, owner, record);
    QObject::connect(jobs, &JobQueueAdapter::jobProgress, owner, record);
    QObject::connect(jobs, &JobQueueAdapter::previewReady, owner, [seen, id](const QString& j, const QString& p) {
      if (j == id) seen->previews << p;
    });
    QObject::connect(owner, &QObject::destroyed, [seen] { delete seen; });
    return seen;
  }

  static QString state(MainWindow& w, const QString& id) {
    return w.jobDock()->model()->index(w.jobDock()->model()->rowOf(id)).data(JobListModel::StateRole).toString();
  }
  static QVariant role(MainWindow& w, const QString& id, int r) {
    return w.jobDock()->model()->index(w.jobDock()->model()->rowOf(id)).data(r);
  }

  // Resume with the dock's button, run to the end; the resumed run starts at the second clip,
  // never shows less than the finished first clip, and gives the reference frames.
  void resumeMatchesTheReference(MainWindow& w, const QString& id) {
    w.jobDock()->selectJob(id);
    auto* retry = w.jobDock()->findChild<QPushButton*>("retryJob");
    QVERIFY(retry->isEnabled());
    Seen* seen = watch(w.jobs(), id, retry);
    retry->click();
    QTRY_COMPARE_WITH_TIMEOUT(state(w, id), QString("done"), 300000);
    int firstClip = 0;
    double lowest = 1.0;
    for (const auto& p : seen->progress) {
      if (p.stage == "denoising" && firstClip == 0) firstClip = p.clip;
      if (!p.stage.empty() && p.stage != "starting") lowest = std::min(lowest, p.fraction);
    }
    QCOMPARE(firstClip, 2);  // clip 1 was kept, not rendered again
    QVERIFY2(lowest >= 0.5 - 1e-9, qPrintable(QString("the bar went back to %1").arg(lowest)));
    QCOMPARE(seen->previews.size(), 1);  // only the second clip is new
    const auto frames = allFrames(role(w, id, JobListModel::OutputRole).toString());
    QCOMPARE(frames.size(), reference_.size());
    int differing = 0;
    for (size_t i = 0; i < frames.size(); ++i) differing += frames[i].rgb != reference_[i].rgb ? 1 : 0;
    qInfo("resumed job %s: %d of %zu decoded frames differ from the uninterrupted run", qPrintable(id), differing,
          frames.size());
    QCOMPARE(differing, 0);
  }

  // Renders with the worker's test switches `faults` until the job ends (failed, or done).
  QString renderWithFaults(MainWindow& w, const QStringList& faults) {
    w.jobs()->setWorkerArguments(faults);
    const QString id = w.jobs()->submit(renderSpec());
    QTest::qWaitFor([&] { return state(w, id) == "failed" || state(w, id) == "done"; }, 300000);
    w.jobs()->setWorkerArguments({});
    return id;
  }

  // Submits a render and waits until its second clip is being denoised.
  QString renderUntilSecondClip(MainWindow& w) {
    const QString id = w.jobs()->submit(renderSpec());
    if (id.isEmpty()) return {};
    bool inSecond = false;
    auto c = connect(w.jobs(), &JobQueueAdapter::jobProgress, this, [&](const JobUpdate& u) {
      if (QString::fromStdString(u.record.id) == id && u.progress.stage == "denoising" && u.progress.clip == 2)
        inSecond = true;
    });
    QTest::qWaitFor([&] { return inSecond || state(w, id) != "running" && state(w, id) != "queued"; }, 300000);
    disconnect(c);
    return id;
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    qputenv("S2V_DATA_DIR", dir_.path().toUtf8());
    qputenv("XDG_CONFIG_HOME", (dir_.path() + "/config").toUtf8());
    QCoreApplication::setApplicationName("s2v-job-workers-test");
    QStandardPaths::setTestModeEnabled(true);
    demo_ = QString::fromStdString(generate::find_demo_model().string());
    if (demo_.isEmpty()) QSKIP("no demo model (build the s2v_demo_model target)");
    portrait_ = dir_.path() + "/portrait.png";
    audio_ = dir_.path() + "/voice.wav";
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "testsrc2=size=96x128", "-frames:v", "1", portrait_}));
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "sine=frequency=220:duration=3", "-af", "volume=0.5", "-ar", "16000", audio_}));
    // the uninterrupted run, through a worker as well
    MainWindow w;
    const QString id = w.jobs()->submit(renderSpec());
    QVERIFY2(!id.isEmpty(), "the render could not be queued");
    QTRY_VERIFY_WITH_TIMEOUT(state(w, id) == "done" || state(w, id) == "failed", 300000);
    QVERIFY2(state(w, id) == "done", qPrintable(role(w, id, JobListModel::ErrorRole).toString()));
    reference_ = allFrames(role(w, id, JobListModel::OutputRole).toString());
    QCOMPARE(static_cast<int64_t>(reference_.size()), generate::output_frames(2, 16, false));
  }

  void killedWorkerLeavesTheWindowAndResumes() {
    MainWindow w;
    w.show();
    const QString id = renderUntilSecondClip(w);
    QVERIFY(!id.isEmpty());
    QCOMPARE(state(w, id), QString("running"));
    const qint64 pid = w.jobs()->workerPid(id);
    QVERIFY(pid > 0 && pid != QCoreApplication::applicationPid());
    QCOMPARE(::kill(static_cast<pid_t>(pid), SIGKILL), 0);
    QTRY_COMPARE_WITH_TIMEOUT(state(w, id), QString("failed"), 30000);
    QVERIFY(w.isVisible());
    QCOMPARE(role(w, id, JobListModel::ErrorKindRole).toString(), QString(jobs::kCrashedKind));
    const QString why = role(w, id, JobListModel::DescriptionRole).toString();
    qInfo() << "the dock says:" << why;
    QVERIFY2(why.contains("the engine crashed (signal 9"), qPrintable(why));
    resumeMatchesTheReference(w, id);
  }

  void segfaultingWorkerIsReportedWithItsLog() {
    MainWindow w;
    w.show();
    const QString id = renderWithFaults(w, {"--crash-after", "1"});
    QCOMPARE(state(w, id), QString("failed"));
    QVERIFY(w.isVisible());
    const QString why = role(w, id, JobListModel::DescriptionRole).toString();
    qInfo() << "the dock says:" << why;
    QVERIFY2(why.contains(QString("the engine crashed (signal %1").arg(SIGSEGV)), qPrintable(why));
    QVERIFY2(why.contains("segmentation fault on purpose"), qPrintable(why));  // the last lines of its log
    QVERIFY(QFile::exists(w.jobs()->jobFolder(id) + "/clips/clip_0000.mp4"));
    resumeMatchesTheReference(w, id);
  }

  void outOfMemoryIsReportedAsSuch() {
    MainWindow w;
    w.show();
    const QString id = renderWithFaults(w, {"--oom-after", "1"});
    QCOMPARE(state(w, id), QString("failed"));
    QVERIFY(w.isVisible());
    QCOMPARE(role(w, id, JobListModel::ErrorKindRole).toString(), QString(jobs::kOutOfMemoryKind));
    const QString why = role(w, id, JobListModel::DescriptionRole).toString();
    qInfo() << "the dock says:" << why;
    QVERIFY2(why.startsWith("out of memory"), qPrintable(why));
    // the journal agrees with the dock
    const auto rec = w.jobs()->store().load(id.toStdString());
    QVERIFY(rec && rec->state == jobs::JobState::Failed && rec->error_kind == jobs::kOutOfMemoryKind);
    // and a worker's exit status says so: one run by hand on the same job, out of memory at once
    QProcess worker;
    worker.start(engineExecutable(), {"worker", id, "--json", "--oom-after", "0"});
    QVERIFY(worker.waitForFinished(120000));
    QCOMPARE(worker.exitStatus(), QProcess::NormalExit);
    QCOMPARE(worker.exitCode(), int(jobs::kWorkerOutOfMemory));
    resumeMatchesTheReference(w, id);
  }

  void cancelDuringTheLastDecodeEndsCancelled() {
    MainWindow w;
    w.show();
    // the worker holds 3 s when each clip's decode is reported, without looking at the cancel file;
    // the decode that follows checks the job's token at every VAE chunk
    w.jobs()->setWorkerArguments({"--hold-at", "decoding:3000"});
    w.jobs()->setCancelGrace(60000);  // polite: the worker itself must stop
    const QString id = w.jobs()->submit(renderSpec());
    Seen* seen = watch(w.jobs(), id, &w);
    bool cancelled = false;
    bool cancellingShown = false;
    connect(w.jobs(), &JobQueueAdapter::jobProgress, &w, [&](const JobUpdate& u) {
      if (QString::fromStdString(u.record.id) != id || cancelled) return;
      if (u.progress.stage == "decoding" && u.progress.clip == 2) {
        w.jobDock()->selectJob(id);
        w.jobDock()->findChild<QPushButton*>("cancelJob")->click();
        cancelled = true;
        cancellingShown = role(w, id, JobListModel::CancellingRole).toBool() &&
                          role(w, id, JobListModel::DescriptionRole).toString().startsWith("Cancelling");
      }
    });
    QTRY_VERIFY_WITH_TIMEOUT(state(w, id) != "running" && state(w, id) != "queued", 300000);
    w.jobs()->setWorkerArguments({});
    QVERIFY(cancelled);
    QVERIFY2(cancellingShown, "the dock did not say Cancelling… at once");
    qInfo() << "states:" << seen->states;
    QCOMPARE(state(w, id), QString("cancelled"));
    QVERIFY(!seen->states.contains("done"));
    // the finished clip is kept; the decode under way stopped at its first VAE chunk, so that clip
    // is rendered again by the retry (the same frames: the seeds are the job's)
    QVERIFY(QFile::exists(w.jobs()->jobFolder(id) + "/clips/clip_0000.mp4"));
    QVERIFY(!QFile::exists(w.jobs()->jobFolder(id) + "/clips/clip_0001.mp4"));
    w.jobDock()->selectJob(id);
    w.jobDock()->findChild<QPushButton*>("retryJob")->click();
    QTRY_COMPARE_WITH_TIMEOUT(state(w, id), QString("done"), 300000);
    const auto frames = allFrames(role(w, id, JobListModel::OutputRole).toString());
    QCOMPARE(frames.size(), reference_.size());
    for (size_t i = 0; i < frames.size(); ++i) QVERIFY2(frames[i].rgb == reference_[i].rgb, qPrintable(QString::number(i)));
  }

  void cancelThatIsNotHonouredKillsAfterTheGrace() {
    MainWindow w;
    w.show();
    w.jobs()->setWorkerArguments({"--hold-at", "decoding:20000"});
    w.jobs()->setCancelGrace(500);
    const QString id = w.jobs()->submit(renderSpec());
    bool asked = false;
    qint64 pid = 0;
    QElapsedTimer clock;
    connect(w.jobs(), &JobQueueAdapter::jobProgress, &w, [&](const JobUpdate& u) {
      if (QString::fromStdString(u.record.id) == id && u.progress.stage == "decoding" && !asked) {
        pid = w.jobs()->workerPid(id);
        asked = w.jobs()->cancel(id);
        clock.start();
      }
    });
    QTRY_VERIFY_WITH_TIMEOUT(asked, 300000);
    QVERIFY(pid > 0);
    QTRY_COMPARE_WITH_TIMEOUT(state(w, id), QString("cancelled"), 15000);
    qInfo() << "stopped" << clock.elapsed() << "ms after the cancel (grace 500 ms, the engine held 20 s)";
    QVERIFY(clock.elapsed() < 15000);
    QVERIFY(::kill(static_cast<pid_t>(pid), 0) != 0);  // no worker left behind
    w.jobs()->setWorkerArguments({});
  }
};

QTEST_MAIN(TestJobWorkers)
#include "test_job_workers.moc"
