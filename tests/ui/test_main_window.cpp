// The GUI driven offscreen with real widgets: drops, rejection messages, the test-pattern job
// from the UI reaching the job dock, shortcuts and settings persistence.
#include <QDropEvent>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QListView>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <QTableView>

#include "common/programs.h"
#include "ui/about.h"
#include "ui/curate/curate_workspace.h"
#include "ui/generate/drop_area.h"
#include "ui/generate/generate_workspace.h"
#include "ui/jobs/job_dock.h"
#include "ui/jobs/job_list_model.h"
#include "ui/main_window.h"
#include "ui/settings/app_settings.h"
#include "ui/settings/settings_dialog.h"
#include "core/curation/network_models.h"

using namespace s2v::ui;
using s2v::test::ffmpeg;  // tests/common/programs.h

class TestMainWindow : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString image_, audio_, fakePng_, silentVideo_;

  static void drop(QWidget* target, const QStringList& files) {
    QMimeData mime;
    QList<QUrl> urls;
    for (auto& f : files) urls << QUrl::fromLocalFile(f);
    mime.setUrls(urls);
    const QPointF pos(target->width() / 2.0, target->height() / 2.0);
    QDragEnterEvent enter(pos.toPoint(), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent ev(pos, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &ev);
  }

 private slots:
  void initTestCase() {
    qputenv("S2V_DATA_DIR", dir_.path().toUtf8());
    qputenv("XDG_CONFIG_HOME", (dir_.path() + "/config").toUtf8());
    QCoreApplication::setApplicationName("s2v-studio-test");
    QStandardPaths::setTestModeEnabled(true);
    image_ = dir_.path() + "/portrait.jpg";
    audio_ = dir_.path() + "/voice.wav";
    fakePng_ = dir_.path() + "/notes.png";
    silentVideo_ = dir_.path() + "/silent.mp4";
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "testsrc2=size=320x400", "-frames:v", "1", image_}));
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "sine=frequency=440:duration=2", audio_}));
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "testsrc2=size=64x48:rate=8", "-t", "1", silentVideo_}));
    QFile f(fakePng_);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("these are plain text notes, not an image\n");
  }

  void windowOpensWithBothWorkspacesAndTheDock() {
    MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QCOMPARE(w.tabs()->count(), 3);
    QVERIFY(w.tabs()->tabText(0).contains("Generate"));
    QVERIFY(w.tabs()->tabText(1).contains("urate"));
    QVERIFY(w.tabs()->tabText(2).contains("History"));
    QVERIFY(w.jobDock()->isVisible());
    QVERIFY(versionsText().contains("LibTorch") && versionsText().contains("FFmpeg") &&
            versionsText().contains("Qt"));
  }

  void droppedImageAndAudioBecomeInputs() {
    MainWindow w;
    w.show();
    auto* gen = w.generate();
    QSignalSpy changed(gen, &GenerateWorkspace::inputsChanged);
    drop(gen->findChild<DropArea*>("portraitDrop"), {image_});
    drop(gen->findChild<DropArea*>("audioDrop"), {audio_});  // decided by content, any area
    QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 2, 10000);
    QCOMPARE(gen->inputs().portrait, image_);
    QCOMPARE(gen->inputs().audio, audio_);
  }

  void textFileNamedPngIsRejectedWithAMessage() {
    MainWindow w;
    w.show();
    auto* gen = w.generate();
    QSignalSpy rejected(gen, &GenerateWorkspace::inputRejected);
    drop(gen->findChild<DropArea*>("portraitDrop"), {fakePng_});
    QTRY_COMPARE_WITH_TIMEOUT(rejected.count(), 1, 10000);
    QVERIFY(gen->inputs().portrait.isEmpty());
    QVERIFY2(gen->message().contains("notes.png"), qPrintable(gen->message()));
    QVERIFY(gen->findChild<QLabel*>("inputMessage")->isVisible());
    // A video without sound is not audio.
    drop(gen->findChild<DropArea*>("audioDrop"), {silentVideo_});
    QTRY_COMPARE_WITH_TIMEOUT(rejected.count(), 2, 10000);
    QVERIFY2(gen->message().contains("without an audio track"), qPrintable(gen->message()));
    QVERIFY(gen->inputs().audio.isEmpty());
  }

  void testPatternJobRunsFromTheUiAndReachesTheDock() {
    MainWindow w;
    w.show();
    auto* gen = w.generate();
    auto* model = w.jobDock()->model();
    const int before = model->rowCount();
    QSignalSpy previews(gen, &GenerateWorkspace::previewAdded);
    QTest::mouseClick(gen->findChild<QPushButton*>("testPattern"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), before + 1, 5000);
    const QModelIndex row = model->index(before);
    QCOMPARE(row.data(JobListModel::KindRole).toString(), QString("test-pattern"));
    QVERIFY(row.data(Qt::DisplayRole).toString().startsWith("Test pattern"));
    QTRY_COMPARE_WITH_TIMEOUT(model->index(before).data(JobListModel::StateRole).toString(), QString("done"), 120000);
    QCOMPARE(model->index(before).data(JobListModel::FractionRole).toDouble(), 1.0);
    QCOMPARE(previews.count(), 4);  // one per segment
    const QString out = model->index(before).data(JobListModel::OutputRole).toString();
    QVERIFY(QFile::exists(out));
    QVERIFY(w.jobDock()->findChild<QPushButton*>("openOutput")->isEnabled());
  }

  void cancelShortcutStopsTheRunningJob() {
    qputenv("S2V_TEST_PATTERN_DELAY_MS", "50");
    MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    auto* model = w.jobDock()->model();
    const int before = model->rowCount();
    w.generate()->runTestPattern();
    QTRY_COMPARE_WITH_TIMEOUT(model->index(before).data(JobListModel::StateRole).toString(), QString("running"), 10000);
    QTest::keyClick(&w, Qt::Key_Period, Qt::ControlModifier);
    QTRY_COMPARE_WITH_TIMEOUT(model->index(before).data(JobListModel::StateRole).toString(), QString("cancelled"), 10000);
    QVERIFY(w.jobDock()->findChild<QPushButton*>("retryJob")->isEnabled());
    qunsetenv("S2V_TEST_PATTERN_DELAY_MS");
  }

  void renderWithoutInputsExplainsWhatIsMissing() {
    MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QTest::keyClick(&w, Qt::Key_R, Qt::ControlModifier);
    QVERIFY2(w.generate()->message().contains("portrait"), qPrintable(w.generate()->message()));
  }

  void curateWorkspaceScoresAFolderAndShowsSortableRows() {
    const QString clips = dir_.path() + "/clips";
    QDir().mkpath(clips);
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=8", "-t", "1", "-pix_fmt", "yuv420p",
                    clips + "/a.mp4"}));
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "mandelbrot=size=160x120:rate=8", "-t", "1", "-pix_fmt", "yuv420p",
                    clips + "/b.mp4"}));
    MainWindow w;
    w.show();
    auto* cur = w.curate();
    QSignalSpy loaded(cur, &CurateWorkspace::databaseLoaded);
    cur->openFolder(clips);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 180000);
    QCOMPARE(loaded.at(0).at(1).toInt(), 2);
    QTableView* t = cur->table();
    QAbstractItemModel* m = t->model();
    QCOMPARE(m->rowCount(), 2);
    QStringList headers;
    for (int c = 0; c < m->columnCount(); ++c) headers << m->headerData(c, Qt::Horizontal).toString();
    QVERIFY(headers.contains("motion") && headers.contains("clarity") && headers.contains("verdict"));
    const int motion = headers.indexOf("motion");
    t->sortByColumn(motion, Qt::DescendingOrder);
    const QVariant first = m->index(0, motion).data(Qt::DisplayRole);
    const QVariant second = m->index(1, motion).data(Qt::DisplayRole);
    if (first.typeId() == QMetaType::Double && second.typeId() == QMetaType::Double)
      QVERIFY(first.toDouble() >= second.toDouble());
    QVERIFY(!m->index(0, headers.indexOf("verdict")).data().toString().isEmpty());
    QVERIFY(cur->status().contains("2 clips"));
  }

  void settingsPersist() {
    AppSettings s = AppSettings::load();
    s.modelFolder = "/models/Wan2.2-S2V-14B";
    s.dtype = "bfloat16";
    s.save();
    const AppSettings back = AppSettings::load();
    QCOMPARE(back.modelFolder, QString("/models/Wan2.2-S2V-14B"));
    QCOMPARE(back.dtype, QString("bfloat16"));
    QCOMPARE(back.device, QString("auto"));  // the default: the Generate form says auto too (#20)
  }

  void settingsDialogEditsTheCurationNetworks() {
    // one line edit per network of the shared table, filled from the settings; the edits and the
    // thread count come back, and a cleared field means "use the fallback"
    AppSettings s;
    s.curationWeights["dover_weights"] = "/weights/DOVER.pth";
    s.curationWeights["pose_weights"] = "/weights/vitpose.pth";
    SettingsDialog dialog(s);
    for (const auto& n : s2v::curation::curation_networks())
      QVERIFY2(dialog.findChild<QLineEdit*>(QString::fromStdString(n.param)), n.param.c_str());
    QCOMPARE(dialog.findChild<QLineEdit*>("dover_weights")->text(), QString("/weights/DOVER.pth"));
    dialog.findChild<QLineEdit*>("light_asd_weights")->setText("  /weights/pretrain_AVA_CVPR.model ");
    dialog.findChild<QLineEdit*>("pose_weights")->clear();
    dialog.findChild<QSpinBox*>("curationJobs")->setValue(3);
    const AppSettings edited = dialog.settings();
    QCOMPARE(edited.curationWeights.value("dover_weights"), QString("/weights/DOVER.pth"));
    QCOMPARE(edited.curationWeights.value("light_asd_weights"), QString("/weights/pretrain_AVA_CVPR.model"));
    QVERIFY(!edited.curationWeights.contains("pose_weights"));
    QCOMPARE(edited.curationJobs, 3);
    edited.save();
    QCOMPARE(AppSettings::load().curationWeights, edited.curationWeights);
    AppSettings().save();  // back to no networks
    QVERIFY(AppSettings::load().curationWeights.isEmpty());
  }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
