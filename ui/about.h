#pragma once
#include <QString>
class QWidget;
namespace s2v::ui {
// "S2V Studio 0.1.0 · Qt 6.4.2 · LibTorch 1.13.1 · FFmpeg 5.1.x"
QString versionsText();
void showAbout(QWidget* parent);
}  // namespace s2v::ui
