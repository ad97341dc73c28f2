// The Generate workspace driven offscreen with real widgets: portrait + audio in, the clip count
// from the trimmed audio, trim handles dragged with the mouse, the no-microphone path, the model
// panel (demo label, problems), the seed dice, settings restored on re-creation, the pose strip,
// and an end-to-end render with the demo model (previews, final video, exports).
#include <QAudioDevice>
#include <QDir>
#include <QElapsedTimer>
#include <QTimer>
#include <QLabel>
#include <QMediaDevices>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QTreeWidget>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QComboBox>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>
#include <cmath>

#include "common/programs.h"
#include "core/generate/demo_model.h"
#include "core/generate/generate_params.h"
#include "core/generate/model_folder.h"
#include "core/media/audio.h"
#include "core/media/mux.h"
#include "core/media/probe.h"
#include "ui/curate/clip_viewer.h"
#include "ui/generate/audio_recorder.h"
#include "ui/generate/generate_workspace.h"
#include "ui/generate/model_panel.h"
#include "ui/generate/pose_panel.h"
#include "ui/generate/preview_player.h"
#include "ui/generate/waveform_view.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/settings/app_settings.h"
#include "ui/widgets/frame_playback.h"

using namespace s2v;
using namespace s2v::ui;
using s2v::test::ffmpeg;  // tests/common/programs.h

class TestGenerateWorkspace : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString portrait_, audio_, pose_;
  static constexpr double kAudioSeconds = 12.0;
  static constexpr int kPortraitW = 320, kPortraitH = 400;

  // Loads the portrait and the audio and waits until both are in and the waveform is drawn.
  static void loadInputs(GenerateWorkspace& w, const QString& portrait, const QString& audio) {
    QSignalSpy changed(&w, &GenerateWorkspace::inputsChanged);
    w.addFiles({portrait, audio});
    QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 2, 15000);
    QTRY_VERIFY_WITH_TIMEOUT(w.waveform()->hasWaveform(), 15000);
  }

  static void drag(QWidget* target, int fromX, int toX) {
    const int y = target->height() / 2;
    QTest::mousePress(target, Qt::LeftButton, Qt::NoModifier, QPoint(fromX, y));
    for (int i = 1; i <= 5; ++i) QTest::mouseMove(target, QPoint(fromX + (toX - fromX) * i / 5, y));
    QTest::mouseRelease(target, Qt::LeftButton, Qt::NoModifier, QPoint(toX, y));
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    qputenv("S2V_DATA_DIR", dir_.path().toUtf8());
    qputenv("XDG_CONFIG_HOME", (dir_.path() + "/config").toUtf8());
    QCoreApplication::setOrganizationName("s2v-tests");
    QCoreApplication::setApplicationName("s2v-generate-workspace-test");
    QStandardPaths::setTestModeEnabled(true);
    studioSettings()->clear();

    // A portrait: a gradient with a face-ish disc (made here, no file committed).
    portrait_ = dir_.path() + "/portrait.png";
    std::vector<uint8_t> rgb(size_t(kPortraitW) * kPortraitH * 3);
    for (int y = 0; y < kPortraitH; ++y)
      for (int x = 0; x < kPortraitW; ++x) {
        uint8_t* p = &rgb[(size_t(y) * kPortraitW + x) * 3];
        const bool face = std::hypot(x - kPortraitW / 2.0, y - kPortraitH / 3.0) < 70;
        p[0] = face ? 230 : uint8_t(x * 255 / kPortraitW);
        p[1] = face ? 190 : uint8_t(y * 255 / kPortraitH);
        p[2] = face ? 160 : 120;
      }
    media::write_png(portrait_.toStdString(), rgb.data(), kPortraitW, kPortraitH, kPortraitW * 3);

    // Audio: 12 s of a "syllable" rhythm (amplitude-modulated tones), 16 kHz mono WAV.
    audio_ = dir_.path() + "/voice.wav";
    media::AudioBuffer a;
    a.sample_rate = 16000;
    a.samples.resize(size_t(kAudioSeconds * a.sample_rate));
    for (size_t i = 0; i < a.samples.size(); ++i) {
      const double t = double(i) / a.sample_rate;
      a.samples[i] = float(0.5 * std::abs(std::sin(3.1 * t)) * std::sin(2 * M_PI * (180 + 40 * std::sin(t)) * t));
    }
    media::write_wav(audio_.toStdString(), a);

    // The demo model: the build's, else one written here (tiny random weights, official layout).
    if (generate::find_demo_model().empty()) {
      const QString demo = dir_.path() + "/demo-model";
      try {
        generate::make_demo_model(demo.toStdString());
        qputenv("S2V_DEMO_MODEL", demo.toUtf8());
      } catch (const std::exception& e) {
        qWarning() << "could not write a demo model:" << e.what();
      }
    }
    qInfo() << "demo model:" << generate::find_demo_model().c_str();

    pose_ = dir_.path() + "/pose.mp4";
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "testsrc2=size=96x128:rate=16", "-t", "2", "-pix_fmt", "yuv420p", pose_}));
  }

  // Every test starts from the official defaults (a workspace saves its settings when destroyed).
  void init() { studioSettings()->remove(GenerateWorkspace::kSettingsKey); }

  void portraitAndAudioGiveClipsAndFrameSize() {
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    w.show();
    loadInputs(w, portrait_, audio_);
    QCOMPARE(w.inputs().portrait, portrait_);
    QCOMPARE(w.inputs().audio, audio_);
    QVERIFY(std::abs(w.audioDuration() - kAudioSeconds) < 0.05);
    const int expected = generate::clips_for_audio_seconds(w.audioDuration(), 80);
    QVERIFY(expected >= 2);  // 12 s of audio at 5 s per clip
    QCOMPARE(w.plannedClips(), expected);
    QVERIFY2(w.clipsText().startsWith(QString("%1 clips").arg(expected)), qPrintable(w.clipsText()));
    const auto fs = generate::size_less_than_area(kPortraitH, kPortraitW, 1024 * 704);
    QVERIFY2(w.frameSizeText().contains(QString("%1×%2").arg(fs.width).arg(fs.height)), qPrintable(w.frameSizeText()));
    QVERIFY2(w.estimateText().contains("frames"), qPrintable(w.estimateText()));
    // A smaller area preset changes the frame size shown.
    w.findChild<QComboBox*>("size")->setCurrentText("480*832");
    const auto small = generate::size_less_than_area(kPortraitH, kPortraitW, 480 * 832);
    QVERIFY(w.frameSizeText().contains(QString("%1×%2").arg(small.width).arg(small.height)));
    QCOMPARE(w.params().size, std::string("480*832"));
    // An explicit clip count caps the clips.
    w.findChild<QSpinBox*>("clips")->setValue(1);
    QCOMPARE(w.plannedClips(), 1);
    QVERIFY2(w.clipsText().startsWith("1 clip"), qPrintable(w.clipsText()));
  }

  void portraitCheckShowsTheFaceAndWarns() {
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    w.show();
    auto* findings = w.findChild<QLabel*>("portraitFindings");
    auto* view = w.findChild<FrameView*>("portraitCheck");
    QVERIFY(findings && view);
    // the synthetic portrait has no face: the check says so before any render
    w.addFiles({portrait_});
    QTRY_VERIFY_WITH_TIMEOUT(findings->text().contains("No face"), 15000);
    QVERIFY(view->overlay().has_value());
    QVERIFY(view->overlay()->faces.empty());
    QVERIFY(!view->image().isNull());
    // a real face (a frame of Debian's Megamind.avi): one face box, drawn over the picture
    const QString megamind = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";
    if (!QFile::exists(megamind)) QSKIP("Debian's opencv-doc sample clips are not installed");
    const QString face = dir_.path() + "/face.png";
    QVERIFY(ffmpeg({"-ss", "2", "-i", megamind, "-frames:v", "1", "-vf", "crop=400:400:160:20", face}));
    w.addFiles({face});
    QTRY_VERIFY_WITH_TIMEOUT(findings->text().contains("1 face"), 15000);
    QVERIFY(!findings->text().contains("No face"));
    QCOMPARE(view->overlay()->faces.size(), size_t(1));
    QCOMPARE(view->image().size(), QSize(576, 576));
    // the face box is painted in the face colour
    const QImage shot = view->grab().toImage();
    int green = 0;
    for (int y = 0; y < shot.height(); ++y)
      for (int x = 0; x < shot.width(); ++x)
        green += shot.pixelColor(x, y) == FrameView::faceColour();
    QVERIFY2(green > 40, qPrintable(QString("%1 face-coloured pixels").arg(green)));
    // a pose model chosen in Settings is used when it loads; a broken file is named and the
    // detectors still answer
    const QString junk = dir_.path() + "/junk-vitpose.pth";
    QFile j(junk);
    QVERIFY(j.open(QIODevice::WriteOnly));
    j.write("not a checkpoint");
    j.close();
    AppSettings settings = AppSettings::load();
    settings.curationWeights["pose_weights"] = junk;
    settings.save();
    w.addFiles({face});
    QTRY_VERIFY_WITH_TIMEOUT(findings->text().contains("could not be loaded"), 15000);
    QVERIFY(findings->text().contains("junk-vitpose.pth"));
    QVERIFY(findings->text().contains("1 face"));
    settings.curationWeights.clear();
    settings.save();
  }

  void draggingTrimHandlesSetsParamsAndClipCount() {
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    w.resize(1200, 900);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    loadInputs(w, portrait_, audio_);
    WaveformView* wave = w.waveform();
    w.findChild<QScrollArea*>()->ensureWidgetVisible(wave);  // mouse events go to what is on screen
    QApplication::processEvents();
    QVERIFY(wave->isVisible() && wave->width() > 100);
    QCOMPARE(w.params().audio_start_s, 0.0);
    QCOMPARE(w.params().audio_end_s, -1.0);  // the whole file
    const int before = w.plannedClips();
    const double secondsPerPixel = wave->duration() / (wave->width() - 12);

    // End handle from the end to 4 s.
    drag(wave, wave->xForTime(wave->duration()), wave->xForTime(4.0));
    QVERIFY2(std::abs(w.params().audio_end_s - 4.0) <= 2 * secondsPerPixel,
             qPrintable(QString::number(w.params().audio_end_s)));
    // Start handle from 0 to 1 s.
    drag(wave, wave->xForTime(0), wave->xForTime(1.0));
    const generate::GenerateParams p = w.params();
    QVERIFY2(std::abs(p.audio_start_s - 1.0) <= 2 * secondsPerPixel, qPrintable(QString::number(p.audio_start_s)));
    QCOMPARE(p.audio_start_s, wave->trimStart());
    QCOMPARE(p.audio_end_s, wave->trimEnd());
    const int after = generate::clips_for_audio_seconds(p.audio_end_s - p.audio_start_s, p.infer_frames);
    QCOMPARE(w.plannedClips(), after);
    QVERIFY(after < before);
    QVERIFY2(w.clipsText().startsWith(after == 1 ? QString("1 clip") : QString("%1 clips").arg(after)),
             qPrintable(w.clipsText()));
    // The handles never cross: dragging the end before the start stops at the minimum span.
    drag(wave, wave->xForTime(wave->trimEnd()), 0);
    QVERIFY(wave->trimEnd() - wave->trimStart() >= WaveformView::kMinSpan - 1e-9);
    // Keyboard: Shift+Right moves the end handle by 0.1 s.
    const double end = wave->trimEnd();
    wave->setFocus();
    QTest::keyClick(wave, Qt::Key_Right, Qt::ShiftModifier);
    QVERIFY(std::abs(w.params().audio_end_s - (end + 0.1)) < 1e-9);
  }

  void noMicrophoneDisablesRecordingWithAMessage() {
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    w.show();
    AudioRecorderPanel* rec = w.recorder();
    if (!QMediaDevices::audioInputs().isEmpty()) rec->refreshDevices({});  // force the path on a machine with a mic
    auto* button = rec->findChild<QPushButton*>("record");
    QVERIFY(!button->isEnabled());
    QVERIFY2(rec->status().contains("No microphone"), qPrintable(rec->status()));
    QVERIFY(rec->findChild<QLabel*>("recorderStatus")->isVisible());
    rec->toggleRecording();  // the shortcut path does nothing either
    QVERIFY(!rec->isRecording());
    if (QMediaDevices::audioOutputs().isEmpty())
      QVERIFY(!w.findChild<QPushButton*>("playTrimmed")->isEnabled());
  }

  void modelFolderProblemsAreListedAndBlockRender() {
    QTemporaryDir empty;
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    w.show();
    QSignalSpy inspected(w.model(), &ModelPanel::inspected);
    w.model()->setFolder(empty.path());
    QTRY_VERIFY_WITH_TIMEOUT(!w.model()->inspecting() && w.model()->model(), 15000);
    QVERIFY(!w.model()->model()->ok());
    QVERIFY(!w.model()->problemsText().isEmpty());
    QVERIFY(w.model()->findChild<QLabel*>("modelProblems")->isVisible());
    loadInputs(w, portrait_, audio_);
    QSignalSpy started(&w, &GenerateWorkspace::renderStarted);
    w.render();
    QCOMPARE(started.count(), 0);
    QVERIFY2(w.message().contains("model folder cannot be used"), qPrintable(w.message()));
  }

  void demoModelLabelIsVisible() {
    if (generate::find_demo_model().empty())
      QSKIP("find_demo_model() found no demo model (set S2V_DEMO_MODEL or build the demo model)");
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    w.show();
    w.model()->useDemoModel();
    QTRY_VERIFY_WITH_TIMEOUT(!w.model()->inspecting() && w.model()->model(), 30000);
    QVERIFY(w.model()->model()->demo);
    QCOMPARE(w.model()->labelText(), QString(generate::kDemoModelLabel));
    QVERIFY(w.model()->findChild<QLabel*>("modelLabel")->isVisible());
    QVERIFY(w.model()->findChild<QLabel*>("modelParameters")->text().contains("parameters"));
  }

  void replacingTheDitShowsItsFileAndFormat() {
    const auto demo = generate::find_demo_model();
    if (demo.empty()) QSKIP("find_demo_model() found no demo model (set S2V_DEMO_MODEL or build the demo model)");
    const auto q4 = demo / "variants" / "dit_q4_k.gguf";
    QVERIFY2(std::filesystem::exists(q4), q4.c_str());
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    w.show();
    w.model()->useDemoModel();
    QTRY_VERIFY_WITH_TIMEOUT(!w.model()->inspecting() && w.model()->model(), 30000);
    auto* table = w.model()->findChild<QTreeWidget*>("modelComponents");
    QVERIFY(table);
    QCOMPARE(table->topLevelItemCount(), 5);  // DiT, VAE, umT5, wav2vec2, tokenizer
    QCOMPARE(table->topLevelItem(0)->text(2).left(19), QString("sharded safetensors"));
    generate::ComponentOverrides o;
    o.dit = q4.string();
    w.model()->setOverrides(o);
    QTRY_VERIFY_WITH_TIMEOUT(!w.model()->inspecting() && w.model()->model(), 30000);
    QVERIFY2(w.model()->model()->ok(), qPrintable(w.model()->problemsText()));
    QCOMPARE(table->topLevelItem(0)->text(0), QString("DiT *"));
    QCOMPARE(table->topLevelItem(0)->text(1), QString("dit_q4_k.gguf"));
    QVERIFY2(table->topLevelItem(0)->text(2).startsWith("GGUF: Q4_K"), qPrintable(table->topLevelItem(0)->text(2)));
    QCOMPARE(w.params().components.dit, q4.string());
    // the folder's own again
    table->setCurrentItem(table->topLevelItem(0));
    w.model()->findChild<QPushButton*>("resetComponent")->click();
    QTRY_VERIFY_WITH_TIMEOUT(!w.model()->inspecting() && w.model()->model(), 30000);
    QVERIFY(w.params().components.dit.empty());
    QCOMPARE(table->topLevelItem(0)->text(0), QString("DiT"));
  }

  void seedDiceDrawsANewSeed() {
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    w.show();
    QCOMPARE(w.params().base_seed, int64_t(-1));  // official default: random
    w.findChild<QToolButton*>("rollSeed")->click();
    const int64_t first = w.params().base_seed;
    QVERIFY(first >= 0);
    w.rollSeed();
    QVERIFY(w.params().base_seed >= 0);
    QVERIFY(w.params().base_seed != first);
    QCOMPARE(int64_t(w.findChild<QSpinBox*>("seed")->value()), w.params().base_seed);
  }

  void settingsAreRestoredWhenRecreated() {
    JobQueueAdapter jobs;
    {
      GenerateWorkspace w(&jobs);
      const generate::GenerateParams defaults;
      QCOMPARE(w.params().sample_steps, defaults.sample_steps);       // official defaults at first
      QCOMPARE(w.params().sample_guide_scale, defaults.sample_guide_scale);
      QCOMPARE(w.params().sample_solver, defaults.sample_solver);
      w.findChild<QSpinBox*>("steps")->setValue(7);
      w.findChild<QComboBox*>("solver")->setCurrentText("dpm++");
      w.findChild<QComboBox*>("size")->setCurrentText("832*480");
      w.findChild<QSpinBox*>("seed")->setValue(1234);
      w.findChild<QSpinBox*>("inferFrames")->setValue(48);
      w.findChild<QPlainTextEdit*>("prompt")->setPlainText("a man talking in a kitchen");
      w.saveSettings();
    }
    GenerateWorkspace back(&jobs);
    const generate::GenerateParams p = back.params();
    QCOMPARE(p.sample_steps, 7);
    QCOMPARE(p.sample_solver, std::string("dpm++"));
    QCOMPARE(p.size, std::string("832*480"));
    QCOMPARE(p.base_seed, int64_t(1234));
    QCOMPARE(p.infer_frames, 48);
    QCOMPARE(p.prompt, std::string("a man talking in a kitchen"));
    QVERIFY(p.image.empty() && p.audio.empty());  // inputs are not restored
  }

  void poseVideoShowsAThumbnailStrip() {
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    w.show();
    QSignalSpy ready(w.pose(), &PosePanel::thumbnailsReady);
    w.pose()->setVideo(pose_);
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 15000);
    QCOMPARE(ready.at(0).at(0).toInt(), PosePanel::kThumbnails);
    QCOMPARE(w.pose()->thumbnailCount(), PosePanel::kThumbnails);
    QCOMPARE(w.params().pose_video, pose_.toStdString());
    // An audio file is not a pose video.
    QSignalSpy rejected(&w, &GenerateWorkspace::inputRejected);
    w.pose()->setVideo(audio_);
    QTRY_COMPARE_WITH_TIMEOUT(rejected.count(), 1, 15000);
    QCOMPARE(w.params().pose_video, pose_.toStdString());  // the accepted one stays
    w.pose()->setVideo({});
    QVERIFY(w.params().pose_video.empty());
  }

  // Issue #19 group 11: a truncated PNG named on the command line with other files showed no
  // reason: a file of the same batch accepted after it replaced the refusal with "Portrait: ...".
  // (A good portrait here: its probe and thumbnail take longer than the broken one's refusal.)
  void truncatedPortraitKeepsItsReasonOnScreen() {
    QFile whole(portrait_);
    QVERIFY(whole.open(QIODevice::ReadOnly));
    const QByteArray bytes = whole.readAll();
    const QString cut = dir_.path() + "/cut-portrait.png";
    QFile out(cut);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(bytes.left(bytes.size() * 6 / 10));
    out.close();
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    QSignalSpy rejected(&w, &GenerateWorkspace::inputRejected);
    QSignalSpy changed(&w, &GenerateWorkspace::inputsChanged);
    w.addFiles({cut, portrait_});
    QTRY_VERIFY_WITH_TIMEOUT(rejected.count() == 1 && changed.count() >= 1, 15000);
    QVERIFY2(w.message().contains("cut-portrait.png") && w.message().contains("rejected"), qPrintable(w.message()));
  }

  void renderWithDemoModelPreviewsClipsAndExports() {
    if (generate::find_demo_model().empty())
      QSKIP("find_demo_model() found no demo model (set S2V_DEMO_MODEL or build the demo model)");
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    w.resize(1200, 900);
    w.show();
    w.model()->useDemoModel();
    QTRY_VERIFY_WITH_TIMEOUT(!w.model()->inspecting() && w.model()->model(), 30000);
    QVERIFY2(w.model()->model()->ok(), qPrintable(w.model()->problemsText()));
    loadInputs(w, portrait_, audio_);
    w.findChild<QComboBox*>("size")->setCurrentText("128*128");
    w.findChild<QSpinBox*>("steps")->setValue(2);
    w.findChild<QSpinBox*>("clips")->setValue(2);
    w.findChild<QSpinBox*>("inferFrames")->setValue(16);
    w.findChild<QSpinBox*>("seed")->setValue(42);
    w.findChild<QComboBox*>("device")->setCurrentText("cpu");
    QCOMPARE(w.plannedClips(), 2);

    QSignalSpy previews(&w, &GenerateWorkspace::previewAdded);
    QSignalSpy finished(&w, &GenerateWorkspace::renderFinished);
    QSignalSpy failed(&w, &GenerateWorkspace::renderFailed);
    // The GUI thread's responsiveness while the job runs: the longest gap between 10 ms ticks.
    QElapsedTimer clock;
    qint64 last = 0, worstGap = 0;
    QTimer tick;
    tick.setInterval(10);
    connect(&tick, &QTimer::timeout, [&] {
      const qint64 now = clock.elapsed();
      worstGap = std::max(worstGap, now - last);
      last = now;
    });
    w.findChild<QPushButton*>("render")->click();
    QVERIFY2(!w.renderJobId().isEmpty(), qPrintable(w.message()));
    clock.start();
    tick.start();
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1 || failed.count() == 1, 150000);
    tick.stop();
    qInfo() << "render took" << clock.elapsed() << "ms; longest GUI-thread gap" << worstGap << "ms";
    // 50 ms is the goal on an idle machine; on a shared 2-core CI box only gross blocking
    // (probing, decoding or copying on the GUI thread) is asserted.
    QVERIFY2(worstGap < 1000, qPrintable(QString::number(worstGap)));
    QVERIFY2(failed.isEmpty(), qPrintable(w.message()));
    QCOMPARE(previews.count(), 2);
    QCOMPARE(w.preview()->clips().size(), 2);
    for (const QString& clip : w.preview()->clips()) QVERIFY(QFile::exists(clip));
    QVERIFY(QFile::exists(w.lastOutput()));
    QCOMPARE(w.preview()->finalVideo(), w.lastOutput());

    // "Play all so far" starts the playlist at the first clip, whose frames reach the screen
    // (decoded off the GUI thread: the tick check above covered the clips shown during the render).
    w.preview()->playAll();
    QCOMPARE(w.preview()->playlistPosition(), 0);
    QCOMPARE(w.preview()->currentSource(), w.preview()->clips().first());
    QVERIFY(w.preview()->player()->playing());
    const qint64 shownBefore = w.preview()->player()->framesShown();
    QTRY_VERIFY_WITH_TIMEOUT(w.preview()->player()->framesShown() > shownBefore + 2, 20000);
    QCOMPARE(w.preview()->view()->image().size(), QSize(128, 128));
    // The playlist moves on to the second clip at the end of the first.
    QTRY_COMPARE_WITH_TIMEOUT(w.preview()->playlistPosition(), 1, 20000);
    QCOMPARE(w.preview()->currentSource(), w.preview()->clips().at(1));
    w.preview()->player()->stop();
    QVERIFY(!w.preview()->player()->playing());

    // Export MP4: atomic copy, a playable file with the frames and the audio.
    const QString dest = dir_.path() + "/exported/render.mp4";
    QSignalSpy exported(&w, &GenerateWorkspace::exported);
    w.exportVideoTo(dest);
    QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, 30000);
    QVERIFY2(exported.at(0).at(1).toBool(), qPrintable(exported.at(0).at(2).toString()));
    QVERIFY(!QFile::exists(dest + ".part"));
    const media::MediaInfo info = media::probe(dest.toStdString());
    QVERIFY(info.has_video);
    QVERIFY(info.has_audio);
    const int64_t frames = generate::output_frames(2, 16, false);
    QCOMPARE(info.frame_count, frames);
    qInfo() << "exported" << info.width << "x" << info.height << info.frame_count << "frames" << info.duration_s << "s";

    // Export PNG sequence: one file per frame.
    const QString pngs = dir_.path() + "/frames";
    w.exportPngSequenceTo(pngs);
    QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 2, 60000);
    QVERIFY2(exported.at(1).at(1).toBool(), qPrintable(exported.at(1).at(2).toString()));
    QCOMPARE(QDir(pngs).entryList({"*.png"}, QDir::Files).size(), int(frames));
  }
};

QTEST_MAIN(TestGenerateWorkspace)
#include "test_generate_workspace.moc"
