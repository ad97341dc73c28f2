// The first hour's traps, offscreen with real widgets (issues #16 and #20): Render stays in reach
// at 1280×800 and 1024×640 without sideways scrolling; Curate does not widen the window; the mouse
// wheel over an unfocused spin box scrolls the form instead of changing the value; Tab in Prompt
// moves the focus; no audio output device is a note, not an error; `s2v-studio --version` and
// `--help` answer on stdout and exit.
#include <QAudioDevice>
#include <QLabel>
#include <QMediaDevices>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QWheelEvent>
#include <QtTest>

#include "s2v_version.h"
#include "ui/curate/curate_workspace.h"
#include "ui/generate/generate_workspace.h"
#include "ui/jobs/job_dock.h"
#include "ui/main_window.h"

using namespace s2v::ui;

class TestStudioLayout : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;

  // `widget`'s rectangle in the window's coordinates.
  static QRect inWindow(const QWidget* widget, const QWidget* window) {
    return QRect(widget->mapTo(window, QPoint(0, 0)), widget->size());
  }

  // A wheel notch (one step up) over the middle of w.
  static void wheel(QWidget* w) {
    const QPointF pos(w->width() / 2.0, w->height() / 2.0);
    QWheelEvent e(pos, w->mapToGlobal(pos), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                  Qt::NoScrollPhase, false);
    QApplication::sendEvent(w, &e);
  }

  static QString studioExecutable() {
    return QStringLiteral(S2V_BINARY_DIR) + "/app/studio/s2v-studio";
  }

  // Where the window's minimum width comes from (printed, for a failure's diagnosis).
  static void minimumWidths(MainWindow& w) {
    QStringList parts;
    for (QWidget* c : {static_cast<QWidget*>(w.generate()), static_cast<QWidget*>(w.curate()),
                       static_cast<QWidget*>(w.jobDock()),
                       static_cast<QWidget*>(w.generate()->formScroll()),
                       w.generate()->findChild<QWidget*>("previewBox"), w.generate()->actionBar()})
      if (c) parts << QString("%1 %2").arg(c->objectName()).arg(c->minimumSizeHint().width());
    qInfo("minimum widths: %s", qPrintable(parts.join(", ")));
    if (qEnvironmentVariableIsSet("S2V_DUMP_MIN"))
      for (QWidget* c : w.findChildren<QWidget*>())
        if (c->isVisibleTo(&w) && std::max(c->minimumSizeHint().width(), c->minimumWidth()) > 200)
          qInfo("  %s %s: hint %d min %d", c->metaObject()->className(), qPrintable(c->objectName()),
                c->minimumSizeHint().width(), c->minimumWidth());
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    qputenv("S2V_DATA_DIR", dir_.path().toUtf8());
    qputenv("XDG_CONFIG_HOME", (dir_.path() + "/config").toUtf8());
    QCoreApplication::setApplicationName("s2v-studio-test");
    QStandardPaths::setTestModeEnabled(true);
  }

  void renderStaysInReach_data() {
    QTest::addColumn<QSize>("size");
    QTest::newRow("1280x800") << QSize(1280, 800);
    QTest::newRow("1024x640") << QSize(1024, 640);
  }
  void renderStaysInReach() {
    QFETCH(QSize, size);
    MainWindow w;
    w.resize(size);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.tabs()->setCurrentWidget(w.generate());
    // The window keeps the size asked for: its minimum fits the screen size.
    minimumWidths(w);
    QTRY_COMPARE_WITH_TIMEOUT(w.size(), size, 5000);
    qInfo("window %dx%d, minimum %dx%d", w.width(), w.height(), w.minimumSizeHint().width(),
          w.minimumSizeHint().height());
    QPushButton* render = w.generate()->renderButton();
    QVERIFY(render->isVisible());
    const QRect r = inWindow(render, &w);
    qInfo("Render at %d,%d %dx%d", r.x(), r.y(), r.width(), r.height());
    QVERIFY2(w.rect().contains(r), "the Render button lies outside the window");
    // ... and outside the scrolling form, so scrolling cannot take it away
    QVERIFY(!w.generate()->formScroll()->isAncestorOf(render));
    QVERIFY(w.generate()->actionBar()->isAncestorOf(render));
    // No sideways scrolling: the form is no wider than the viewport that shows it.
    QScrollArea* scroll = w.generate()->formScroll();
    QVERIFY(!scroll->horizontalScrollBar()->isVisible());
    qInfo("form %d px in a viewport of %d px", scroll->widget()->width(), scroll->viewport()->width());
    QVERIFY(scroll->widget()->width() <= scroll->viewport()->width());
    QVERIFY(scroll->widget()->minimumSizeHint().width() <= scroll->viewport()->width());

    // A refused Render says why next to the button, wherever the form is scrolled.
    scroll->verticalScrollBar()->setValue(scroll->verticalScrollBar()->maximum());
    render->click();
    auto* message = w.generate()->actionBar()->findChild<QLabel*>("inputMessage");
    QVERIFY(message);
    qInfo("refusal: %s", qPrintable(message->text()));
    QVERIFY(w.generate()->messageIsError());
    QVERIFY(message->text().contains("portrait"));
    QVERIFY(message->isVisible());
    QVERIFY(w.rect().contains(inWindow(message, &w)));
  }

  void curateDoesNotWidenTheWindow() {
    MainWindow w;
    const QSize size(1024, 640);
    w.resize(size);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.tabs()->setCurrentWidget(w.curate());
    QCoreApplication::processEvents();
    minimumWidths(w);
    qInfo("Curate at %dx%d (minimum width %d)", w.width(), w.height(), w.minimumSizeHint().width());
    QVERIFY(w.minimumSizeHint().width() <= size.width());
    QCOMPARE(w.size(), size);
  }

  void wheelOverAnUnfocusedSpinBoxDoesNotChangeIt() {
    MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    auto* steps = w.generate()->findChild<QSpinBox*>("steps");
    QVERIFY(steps);
    // the prompt holds the focus: the spin box is only under the mouse while the form scrolls
    auto* prompt = w.generate()->findChild<QPlainTextEdit*>("prompt");
    prompt->setFocus();
    const int before = steps->value();
    wheel(steps);
    QCOMPARE(steps->value(), before);
    QVERIFY(!steps->hasFocus());  // the wheel does not give it the focus either
    QVERIFY(steps->focusPolicy() != Qt::WheelFocus);
    // Focused (Tab or a click), the wheel changes it as usual.
    QApplication::setActiveWindow(&w);
    steps->setFocus();
    if (!steps->hasFocus()) QSKIP("this platform gives no keyboard focus offscreen");
    wheel(steps);
    QCOMPARE(steps->value(), before + 1);
  }

  void tabInPromptMovesTheFocus() {
    MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QApplication::setActiveWindow(&w);
    auto* prompt = w.generate()->findChild<QPlainTextEdit*>("prompt");
    QVERIFY(prompt);
    QVERIFY(prompt->tabChangesFocus());
    prompt->clear();
    prompt->setFocus();
    QTest::keyClicks(prompt, "a singer");
    QTest::keyClick(prompt, Qt::Key_Tab);
    QCOMPARE(prompt->toPlainText(), QString("a singer"));  // no tab character
    if (QApplication::focusWidget() == nullptr) QSKIP("this platform gives no keyboard focus offscreen");
    QVERIFY(!prompt->hasFocus());
  }

  void noAudioOutputIsANoteNotAnError() {
    MainWindow w;
    auto* note = w.generate()->findChild<QLabel*>("playbackNote");
    QVERIFY(note);
    if (!QMediaDevices::audioOutputs().isEmpty()) QSKIP("this machine has an audio output device");
    QCOMPARE(note->text(), QString("No audio output device: playback is off; rendering is unaffected."));
    QVERIFY(!note->isHidden());
    QVERIFY(!w.generate()->messageIsError());
  }

  void versionAndHelpAnswerOnStdout() {
    QVERIFY2(QFileInfo::exists(studioExecutable()), qPrintable(studioExecutable()));
    // without any display: the answer must not need one
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove("DISPLAY");
    env.remove("WAYLAND_DISPLAY");
    env.remove("QT_QPA_PLATFORM");
    auto run = [&](const QString& arg) {
      QProcess p;
      p.setProcessEnvironment(env);
      p.start(studioExecutable(), {arg});
      if (!p.waitForFinished(30000)) {
        p.kill();
        p.waitForFinished();
        return std::pair<int, QString>(-1, QString());
      }
      return std::pair<int, QString>(p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2,
                                     QString::fromUtf8(p.readAllStandardOutput()));
    };
    const auto [vrc, vout] = run("--version");
    qInfo("--version: rc %d, %s", vrc, qPrintable(vout.trimmed()));
    QCOMPARE(vrc, 0);
    QCOMPARE(vout.trimmed(), QString("s2v-studio %1").arg(S2V_VERSION));
    const auto [hrc, hout] = run("--help");
    QCOMPARE(hrc, 0);
    QVERIFY2(hout.contains("--version") && hout.contains("--tab") && hout.contains("--open-results"),
             qPrintable(hout));
  }
};

QTEST_MAIN(TestStudioLayout)
#include "test_studio_layout.moc"
