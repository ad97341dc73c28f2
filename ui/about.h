#pragma once
#include <QString>
#include <QStringList>
class QWidget;
namespace s2v::ui {
// "S2V Studio 0.1.0 · Qt 6.4.2 · LibTorch 1.13.1 · FFmpeg 5.1.x"
QString versionsText();
void showAbout(QWidget* parent);

// --version and --help answer on stdout before any window (or display) is needed: returns the
// exit code when argv asked for one of them, -1 to go on. Needs no
// QCoreApplication (it makes a short-lived one). The options are those main() reads: --tab,
// --open-results, --geometry (Qt's) and files.
int answerInfoOptions(int argc, char** argv);
}  // namespace s2v::ui
