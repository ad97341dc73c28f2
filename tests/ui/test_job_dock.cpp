// The job dock as a job list (issue #20): its selection drives the preview and export, past jobs
// of an earlier session can be previewed and exported, rows carry a thumbnail and a context menu;
// quitting while a job runs asks, and "leave running" leaves the worker running for the next
// session, which follows it from its journal. Offscreen, real `s2v worker` processes running the
// test pattern (a diagnostic job without LibTorch: fast).
#include <signal.h>

#include <QAction>
#include <QListView>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QStatusBar>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include "core/diagnostics/test_pattern.h"
#include "ui/generate/generate_workspace.h"
#include "ui/generate/preview_player.h"
#include "ui/jobs/job_dock.h"
#include "ui/jobs/job_list_model.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/main_window.h"

using namespace s2v;
using namespace s2v::ui;

class TestJobDock : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;

  // A test pattern of `segments` segments of 8 frames, `delay` ms per frame.
  static jobs::JobSpec pattern(int segments, int delayMs, const QString& title) {
    diagnostics::TestPatternParams p;
    p.width = 64;
    p.height = 48;
    p.segments = segments;
    p.frames_per_segment = 8;
    p.frame_delay_ms = delayMs;
    return {diagnostics::kTestPatternKind, title.toStdString(), p.to_json(), {}};
  }
  static QString state(MainWindow& w, const QString& id) {
    auto* m = w.jobDock()->model();
    return m->index(m->rowOf(id)).data(JobListModel::StateRole).toString();
  }
  static double fraction(MainWindow& w, const QString& id) {
    auto* m = w.jobDock()->model();
    return m->index(m->rowOf(id)).data(JobListModel::FractionRole).toDouble();
  }
  // Clicks `button` of the quit dialog as soon as it shows; *seen says whether it did.
  static void answerQuitDialog(const char* button, bool* seen, int tries = 100) {
    QTimer::singleShot(50, [button, seen, tries] {
      auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
      if (!box || box->objectName() != "quitDialog") {
        if (tries > 0) answerQuitDialog(button, seen, tries - 1);  // not yet
        return;
      }
      *seen = true;
      box->findChild<QPushButton*>(button)->click();
    });
  }
  // A process that exists and has not ended (a zombie awaiting its parent counts as ended).
  static bool alive(qint64 pid) {
    QFile stat(QString("/proc/%1/stat").arg(pid));
    if (pid <= 0 || !stat.open(QIODevice::ReadOnly)) return false;
    const QByteArray s = stat.readAll();
    const qsizetype close = s.lastIndexOf(')');
    return close > 0 && close + 2 < s.size() && s[close + 2] != 'Z';
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    qputenv("S2V_DATA_DIR", dir_.path().toUtf8());
    qputenv("XDG_CONFIG_HOME", (dir_.path() + "/config").toUtf8());
    QCoreApplication::setApplicationName("s2v-job-dock-test");
    QStandardPaths::setTestModeEnabled(true);
  }

  void selectionDrivesThePreviewAndExport() {
    MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    auto* gen = w.generate();
    // two jobs on one device: the second waits while the first runs
    const QString a = w.jobs()->submit(pattern(3, 40, "Pattern A"));
    const QString b = w.jobs()->submit(pattern(2, 0, "Pattern B"));
    QVERIFY(!a.isEmpty() && !b.isEmpty());
    QCOMPARE(w.jobDock()->selectedJobId(), b);  // the dock follows the newest job
    QTRY_COMPARE_WITH_TIMEOUT(state(w, a), QString("running"), 20000);
    QCOMPARE(state(w, b), QString("queued"));
    // clicking the running job switches the preview to it: its clips arrive as they are made
    QSignalSpy added(gen, &GenerateWorkspace::previewAdded);
    QListView* list = w.jobDock()->view();
    const QRect rowA = list->visualRect(w.jobDock()->model()->index(w.jobDock()->model()->rowOf(a)));
    QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, rowA.center());
    QCOMPARE(w.jobDock()->selectedJobId(), a);
    QTRY_COMPARE_WITH_TIMEOUT(state(w, b), QString("done"), 60000);
    QCOMPARE(state(w, a), QString("done"));
    QVERIFY(added.count() >= 1);
    QCOMPARE(gen->previews().size(), 3);  // A's three segments, none of B's
    for (const QString& clip : gen->previews()) QVERIFY2(clip.contains(a), qPrintable(clip));
    const QString outA = w.jobDock()->model()->index(w.jobDock()->model()->rowOf(a)).data(JobListModel::OutputRole).toString();
    QCOMPARE(gen->lastOutput(), outA);
    // selecting B: its preview, its output to export
    w.jobDock()->selectJob(b);
    QCOMPARE(gen->previews().size(), 2);
    for (const QString& clip : gen->previews()) QVERIFY2(clip.contains(b), qPrintable(clip));
    const QString outB = w.jobDock()->model()->index(w.jobDock()->model()->rowOf(b)).data(JobListModel::OutputRole).toString();
    QCOMPARE(gen->lastOutput(), outB);
    QSignalSpy exported(gen, &GenerateWorkspace::exported);
    gen->exportVideoTo(dir_.path() + "/exported-b.mp4");
    QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, 20000);
    QVERIFY(exported.at(0).at(1).toBool());
    QCOMPARE(QFileInfo(dir_.path() + "/exported-b.mp4").size(), QFileInfo(outB).size());
    // rows: a thumbnail of the output, a title, the state
    QTRY_VERIFY_WITH_TIMEOUT(!w.jobDock()->model()->thumbnail(b).isNull(), 20000);
    QCOMPARE(w.jobDock()->model()->thumbnail(b).width(), 64);
  }

  void pastJobsCanBePreviewedAndExportedAfterARestart() {
    MainWindow w;  // a new session reads the journal of the last one
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));  // the list laid out: rows have their places
    auto* m = w.jobDock()->model();
    QString past;
    for (int r = 0; r < m->rowCount(); ++r)
      if (m->index(r).data(JobListModel::TitleRole).toString() == "Pattern A") past = m->index(r).data(JobListModel::IdRole).toString();
    QVERIFY(!past.isEmpty());
    QCOMPARE(state(w, past), QString("done"));
    // double-click: the Generate workspace shows it
    w.tabs()->setCurrentIndex(1);
    QListView* list = w.jobDock()->view();
    const QRect row = list->visualRect(m->index(m->rowOf(past)));
    // a real double-click: press and release, then the double-click event (QTest's mouseDClick
    // on a widget sends only the last, which an item view takes for a press)
    QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, row.center());
    QTest::mouseDClick(list->viewport(), Qt::LeftButton, {}, row.center());
    QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.generate()));
    QCOMPARE(w.generate()->previews().size(), 3);
    QVERIFY(!w.generate()->lastOutput().isEmpty() && QFile::exists(w.generate()->lastOutput()));
    // the context menu: what a finished job offers
    QMenu* menu = w.jobDock()->contextMenuFor(past);
    QVERIFY(menu->findChild<QAction*>("jobPreview")->isEnabled());
    QVERIFY(menu->findChild<QAction*>("jobExport")->isEnabled());
    QVERIFY(menu->findChild<QAction*>("jobOpenFolder")->isEnabled());
    QVERIFY(menu->findChild<QAction*>("jobRemove")->isEnabled());
    QVERIFY(!menu->findChild<QAction*>("jobCancel")->isEnabled());
    QVERIFY(!menu->findChild<QAction*>("jobRetry")->isEnabled());
    delete menu;
    // "Open output" of an output that is gone says so in the status bar instead of nothing
    const QString out = w.generate()->lastOutput();
    QVERIFY(QFile::rename(out, out + ".moved"));
    w.jobDock()->selectJob(past);
    w.jobDock()->openSelectedOutput();
    QVERIFY2(w.statusBar()->currentMessage().contains(out), qPrintable(w.statusBar()->currentMessage()));
    QVERIFY(QFile::rename(out + ".moved", out));
    // removing a finished job deletes its folder and its row
    const QString folder = w.jobs()->jobFolder(past);
    QVERIFY(w.jobs()->remove(past));
    QCOMPARE(m->rowOf(past), -1);
    QVERIFY(!QFileInfo::exists(folder));
  }

  void quitDuringARenderAsksAndCancels() {
    MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.jobs()->setCancelGrace(5000);
    const QString id = w.jobs()->submit(pattern(4, 100, "Long pattern"));
    QTRY_VERIFY_WITH_TIMEOUT(state(w, id) == "running" && fraction(w, id) > 0, 20000);
    const qint64 pid = w.jobs()->workerPid(id);
    QVERIFY(alive(pid));
    bool asked = false;
    answerQuitDialog("quitCancelJobs", &asked);
    // (File → Quit; its Ctrl+Q has no binding under the offscreen platform's key scheme)
    QVERIFY(!w.close());
    QVERIFY(asked);
    QVERIFY(w.isVisible());  // it closes once the job has stopped
    QTRY_COMPARE_WITH_TIMEOUT(state(w, id), QString("cancelled"), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(!w.isVisible(), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(!alive(pid), 5000);  // no windowless process left
  }

  void dontQuitKeepsTheWindowAndTheJob() {
    MainWindow w;
    w.show();
    const QString id = w.jobs()->submit(pattern(2, 50, "Kept pattern"));
    QTRY_COMPARE_WITH_TIMEOUT(state(w, id), QString("running"), 20000);
    bool asked = false;
    answerQuitDialog("quitStay", &asked);
    QVERIFY(!w.close());
    QVERIFY(asked);
    QVERIFY(w.isVisible());
    QTRY_COMPARE_WITH_TIMEOUT(state(w, id), QString("done"), 30000);
    QVERIFY(w.close());  // idle: no question
  }

  void leaveRunningKeepsTheWorkerAndTheNextSessionFollowsIt() {
    auto* w = new MainWindow;
    w->show();
    const QString id = w->jobs()->submit(pattern(5, 60, "Left running"));
    QTRY_VERIFY_WITH_TIMEOUT(state(*w, id) == "running" && fraction(*w, id) > 0, 20000);
    const qint64 pid = w->jobs()->workerPid(id);
    bool asked = false;
    answerQuitDialog("quitLeaveRunning", &asked);
    QVERIFY(w->close());
    QVERIFY(asked);
    delete w;  // the session ends; its worker does not
    QVERIFY(alive(pid));
    MainWindow next;
    next.show();
    QCOMPARE(state(next, id), QString("running"));  // re-attached from the journal
    const double at = fraction(next, id);
    QTRY_VERIFY_WITH_TIMEOUT(fraction(next, id) > at, 20000);  // progress read from its stream
    QVERIFY(next.jobs()->activeJobs().contains(id));
    QTRY_COMPARE_WITH_TIMEOUT(state(next, id), QString("done"), 60000);
    QVERIFY(QFile::exists(next.jobDock()->model()->index(next.jobDock()->model()->rowOf(id)).data(JobListModel::OutputRole).toString()));
    QTRY_VERIFY_WITH_TIMEOUT(!alive(pid), 5000);  // its last line is written before it exits
    QTRY_VERIFY_WITH_TIMEOUT(!next.jobs()->activeJobs().contains(id), 5000);
  }
};

QTEST_MAIN(TestJobDock)
#include "test_job_dock.moc"
