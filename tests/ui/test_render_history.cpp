// The History tab (issue #16 item 3): built from the job journal, so it survives restarts; only
// finished renders are listed, newest first, with the seed and prompt of each; thumbnails and
// lengths are read only for the rows asked for (a long history stays responsive); "Use these
// settings" gives the render's parameters back; delete asks first and removes the video and the
// job folder.
#include <QFile>
#include <QProcess>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>

#include "core/generate/generate_job.h"
#include "core/jobs/job_store.h"
#include "ui/generate/render_history.h"
#include "ui/jobs/job_queue_adapter.h"

using namespace s2v;
using namespace s2v::ui;

class TestRenderHistory : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString root_;  // the journal
  QString video_;
  QStringList finishedIds_;  // oldest first

  static bool ffmpeg(const QStringList& args) {
    QProcess p;
    p.start("ffmpeg", QStringList{"-hide_banner", "-loglevel", "error", "-y"} + args);
    return p.waitForFinished(60000) && p.exitCode() == 0;
  }

  // A journal record of a generate job in `state`, finished at `finishedMs`, its output a copy of
  // the test video.
  QString addJob(jobs::JobStore& store, const std::string& prompt, int64_t seed, jobs::JobState state,
                 int64_t finishedMs) {
    generate::GenerateParams p;
    p.prompt = prompt;
    p.base_seed = seed;
    p.image = (dir_.path() + "/portrait.png").toStdString();
    p.audio = (dir_.path() + "/voice.wav").toStdString();
    p.sample_steps = 7;
    jobs::JobRecord r = store.create(generate::make_generate_spec(p));
    r.state = state;
    if (state == jobs::JobState::Done) {
      const QString out = dir_.path() + "/out-" + QString::fromStdString(r.id) + ".mp4";
      if (!QFile::copy(video_, out)) return {};
      r.output = out.toStdString();
      r.fraction = 1.0;
    } else {
      r.error = "the test says so";
    }
    r.attempts = 1;
    store.save(r);
    // save() stamps updated_ms with now: the finish time is written into the record afterwards
    r.updated_ms = finishedMs;
    r.created_ms = finishedMs - 10000;
    std::ofstream(std::filesystem::path(root_.toStdString()) / r.id / "job.json") << jobs::to_json(r).dump();
    return QString::fromStdString(r.id);
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    qputenv("S2V_DATA_DIR", (dir_.path() + "/data").toUtf8());
    qputenv("XDG_CONFIG_HOME", (dir_.path() + "/config").toUtf8());
    QCoreApplication::setApplicationName("s2v-studio-test");
    QStandardPaths::setTestModeEnabled(true);
    root_ = dir_.path() + "/journal";
    video_ = dir_.path() + "/render.mp4";
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "testsrc2=size=96x64:rate=16", "-t", "3", "-pix_fmt", "yuv420p", video_}));
    jobs::JobStore store(root_.toStdString());
    const int64_t t0 = 1'700'000'000'000;
    for (int i = 0; i < 3; ++i) {
      const QString id = addJob(store, "take " + std::to_string(i), 100 + i, jobs::JobState::Done, t0 + i * 60000);
      QVERIFY(!id.isEmpty());
      finishedIds_ << id;
    }
    QVERIFY(!addJob(store, "failed take", 7, jobs::JobState::Failed, t0 + 500000).isEmpty());
  }

  void listsFinishedRendersNewestFirst() {
    RenderHistoryModel m(root_);
    QSignalSpy loaded(&m, &RenderHistoryModel::loaded);
    m.reload();
    QVERIFY(loaded.wait(20000));
    QCOMPARE(m.rowCount(), 3);  // the failed job is not a render to go back to
    for (int row = 0; row < 3; ++row) {
      const int take = 2 - row;
      QCOMPARE(m.entry(row).id, finishedIds_[take]);
      QCOMPARE(m.index(row, RenderHistoryModel::PromptColumn).data().toString(), QString("take %1").arg(take));
      QCOMPARE(m.index(row, RenderHistoryModel::SeedColumn).data().toString(), QString::number(100 + take));
      QCOMPARE(m.entry(row).params.sample_steps, 7);
    }
  }

  void thumbnailsAreReadOnlyForTheRowsAskedFor() {
    // a longer journal: 40 more renders
    const QString root = dir_.path() + "/long";
    {
      jobs::JobStore store(root.toStdString());
      const QString saved = root_;
      root_ = root;
      for (int i = 0; i < 40; ++i)
        QVERIFY(!addJob(store, "many " + std::to_string(i), i, jobs::JobState::Done, 1'700'000'000'000 + i).isEmpty());
      root_ = saved;
    }
    RenderHistoryModel m(root);
    QSignalSpy loaded(&m, &RenderHistoryModel::loaded);
    m.reload();
    QVERIFY(loaded.wait(20000));
    QCOMPARE(m.rowCount(), 40);
    const int afterLoad = m.infoRequests();  // the newest few feed the time estimate
    qInfo("video files read after loading 40 renders: %d", afterLoad);
    QVERIFY(afterLoad < 10);
    const int row = 30;
    QVERIFY(!m.infoReady(row));
    m.index(row, RenderHistoryModel::VideoColumn).data(Qt::DecorationRole);
    QCOMPARE(m.infoRequests(), afterLoad + 1);
    QTRY_VERIFY_WITH_TIMEOUT(m.infoReady(row), 20000);
    const QImage thumb = m.index(row, RenderHistoryModel::VideoColumn).data(Qt::DecorationRole).value<QImage>();
    QVERIFY(!thumb.isNull());
    QVERIFY(thumb.width() <= RenderHistoryModel::kThumbnail.width());
    QCOMPARE(m.index(row, RenderHistoryModel::LengthColumn).data().toString(), QString("3.0 s"));
    QCOMPARE(m.index(row, RenderHistoryModel::SizeColumn).data().toString(), QString("96×64"));
  }

  void useTheseSettingsAndDeleteWithConfirmation() {
    JobQueueAdapter jobs;
    HistoryPanel panel(&jobs, root_);
    QTRY_COMPARE_WITH_TIMEOUT(panel.model()->rowCount(), 3, 20000);
    const QString id = finishedIds_[1];
    panel.select(id);
    QCOMPARE(panel.selectedId(), id);

    QSignalSpy used(&panel, &HistoryPanel::useSettings);
    panel.useSelectedSettings();
    QCOMPARE(used.count(), 1);
    const auto p = used.at(0).at(0).value<generate::GenerateParams>();
    QCOMPARE(QString::fromStdString(p.prompt), QString("take 1"));
    QCOMPARE(p.base_seed, int64_t(101));

    const QString output = panel.model()->entry(panel.model()->rowOf(id)).output;
    const QString folder = panel.model()->entry(panel.model()->rowOf(id)).folder;
    QVERIFY(QFileInfo::exists(output) && QFileInfo(folder).isDir());
    QString asked;
    panel.confirm = [&](const QString& q) {
      asked = q;
      return false;
    };
    panel.deleteSelected();
    QVERIFY(!asked.isEmpty());
    QCOMPARE(panel.model()->rowCount(), 3);  // said no: nothing deleted
    QVERIFY(QFileInfo::exists(output));
    panel.confirm = [](const QString&) { return true; };
    panel.deleteSelected();
    QCOMPARE(panel.model()->rowCount(), 2);
    QVERIFY(!QFileInfo::exists(output));
    QVERIFY(!QFileInfo(folder).exists());
    // and after a restart it stays deleted
    RenderHistoryModel again(root_);
    QSignalSpy loaded(&again, &RenderHistoryModel::loaded);
    again.reload();
    QVERIFY(loaded.wait(20000));
    QCOMPARE(again.rowCount(), 2);
    QCOMPARE(again.rowOf(id), -1);
  }
};

QTEST_MAIN(TestRenderHistory)
#include "test_render_history.moc"
