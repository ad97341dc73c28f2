// The small things a first walk-through tripped over (#20 items 7-8): the theme (follow the
// desktop, light, dark) with readable text, settings filed under the application's name (not
// "Unknown Organization", earlier settings carried over), one default device in Settings and
// Generate, exports suggested in the Output folder, no glyph the installed fonts cannot draw, and
// tooltips that speak to a user (no command-line flags, no TFLOP).

#include <QAbstractButton>
#include <QApplication>
#include <QComboBox>
#include <QFontDatabase>
#include <QPlainTextEdit>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include "ui/generate/exporter.h"
#include "ui/generate/generate_workspace.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/settings/app_settings.h"
#include "ui/settings/settings_dialog.h"
#include "ui/settings/theme.h"

using namespace s2v::ui;

class TestWalkthroughDetails : public QObject {
  Q_OBJECT

  // Every tooltip and text of a widget tree.
  static QStringList texts(QWidget* root) {
    QStringList out;
    for (QWidget* w : root->findChildren<QWidget*>()) {
      if (!w->toolTip().isEmpty()) out << w->toolTip();
      if (auto* b = qobject_cast<QAbstractButton*>(w)) out << b->text();
    }
    return out;
  }

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // settings under ~/.qttest, not the user's
    QCoreApplication::setApplicationName("s2v-studio-test");
    studioSettings()->clear();
    QSettings("Unknown Organization", QCoreApplication::applicationName()).clear();
  }

  void themesGiveReadableText_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("dark");
    QTest::newRow("light") << "light" << false;
    QTest::newRow("dark") << "dark" << true;
  }
  void themesGiveReadableText() {
    QFETCH(QString, name);
    QFETCH(bool, dark);
    const Theme t = themeFromString(name);
    QCOMPARE(themeToString(t), name);
    applyTheme(t);
    const QPalette p = QApplication::palette();
    QCOMPARE(isDark(p), dark);
    // WCAG AA for body text: 4.5:1.
    QVERIFY2(contrastRatio(p.color(QPalette::WindowText), p.color(QPalette::Window)) >= 4.5, qPrintable(name));
    QVERIFY2(contrastRatio(p.color(QPalette::Text), p.color(QPalette::Base)) >= 4.5, qPrintable(name));
    QVERIFY2(contrastRatio(p.color(QPalette::ButtonText), p.color(QPalette::Button)) >= 4.5, qPrintable(name));
    for (Tone tone : {Tone::Error, Tone::Warning, Tone::Good, Tone::Muted})
      QVERIFY2(contrastRatio(toneColour(tone, p), p.color(QPalette::Window)) >= 4.5,
               qPrintable(QString("%1, tone %2").arg(name).arg(int(tone))));
  }

  void followingTheDesktopMatchesItsPreference() {
    applyTheme(themeFromString("system"));
    QCOMPARE(themeFromString("anything else"), themeFromString("system"));
    QCOMPARE(isDark(QApplication::palette()), desktopPrefersDark());
    applyTheme(themeFromString("light"));
  }

  void settingsAreFiledUnderTheApplicationAndCarriedOver() {
    const QString app = QCoreApplication::applicationName();
    QVERIFY(QCoreApplication::organizationName().isEmpty());
    {
      QSettings old("Unknown Organization", app);  // what an earlier version wrote
      old.setValue("output/folder", "/tmp/from-before");
      old.sync();
    }
    const auto s = studioSettings();
    QVERIFY2(!s->fileName().contains("Unknown Organization"), qPrintable(s->fileName()));
    QVERIFY2(s->fileName().contains(app + "/" + app), qPrintable(s->fileName()));
    QCOMPARE(s->value("output/folder").toString(), QString("/tmp/from-before"));
    s->clear();
  }

  void settingsAndGenerateStartOnTheSameDevice() {
    studioSettings()->clear();
    const AppSettings defaults = AppSettings::load();
    QCOMPARE(defaults.device, QString("auto"));
    SettingsDialog dialog(defaults);
    auto* settingsDevice = dialog.findChild<QComboBox*>("device");
    QVERIFY(settingsDevice);
    QCOMPARE(settingsDevice->currentText(), defaults.device);
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    auto* generateDevice = w.findChild<QComboBox*>("device");
    QVERIFY(generateDevice);
    QCOMPARE(generateDevice->currentText(), defaults.device);
  }

  void exportsAreSuggestedInTheOutputFolder() {
    QTemporaryDir out;
    const QString p = defaultExportPath(out.path(), "a woman singing on a stage", "/somewhere/else/render.mp4");
    QVERIFY2(p.startsWith(out.path() + "/"), qPrintable(p));
    QVERIFY2(p.endsWith(".mp4"), qPrintable(p));
    QVERIFY2(!p.contains("//"), qPrintable(p));
  }

  void noGlyphTheFontsCannotDraw() {
    // The negative-prompt placeholder shows Chinese only where a font has it.
    const bool cjk = !QFontDatabase::families(QFontDatabase::SimplifiedChinese).isEmpty();
    const QString placeholder = negativePromptPlaceholder();
    QVERIFY(!placeholder.isEmpty());
    for (QChar c : placeholder)
      QVERIFY2(cjk || c.unicode() < 0x2E80, qPrintable(QString("U+%1 without a CJK font").arg(c.unicode(), 4, 16)));
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    QCOMPARE(w.findChild<QPlainTextEdit*>("negativePrompt")->placeholderText(), placeholder);
    // The seed dice is a drawn icon, not a character of some font.
    auto* dice = w.findChild<QToolButton*>("rollSeed");
    QVERIFY(dice);
    QVERIFY(!dice->icon().isNull());
    for (QChar c : dice->text()) QVERIFY(c.unicode() < 0x2000);
  }

  void tooltipsSpeakToAUser() {
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    const QStringList all = texts(&w);
    QVERIFY(all.size() > 20);
    const QRegularExpression flag(R"((^|\s)--[a-z])");
    for (const QString& t : all) {
      QVERIFY2(!flag.match(t).hasMatch(), qPrintable("a command-line flag: " + t));
      QVERIFY2(!t.contains("TFLOP"), qPrintable("TFLOP instead of time: " + t));
    }
  }
};

QTEST_MAIN(TestWalkthroughDetails)
#include "test_walkthrough_details.moc"
