#pragma once
// Decides what a dropped file is by probing its content (never its extension), off the GUI thread.

#include <QImage>
#include <QObject>
#include <QString>

namespace s2v::ui {

struct ProbedInput {
  enum class Role { Portrait, Audio, Rejected };
  QString path;
  Role role = Role::Rejected;
  QString summary;   // "1024×768 image", "speech.wav · 3.2 s audio", ...
  QString reason;    // why it was rejected, as a sentence
  int width = 0, height = 0;
  double duration_s = 0;
  QImage thumbnail;  // portraits: upright, scaled to fit kThumbnailSide (decoded off the GUI thread)
  static constexpr int kThumbnailSide = 360;
};

// Blocking: call off the GUI thread (classifyAsync does).
ProbedInput classifyInput(const QString& path);

// Probes on the global thread pool; `done` is invoked on `context`'s thread.
void classifyAsync(const QString& path, QObject* context, std::function<void(const ProbedInput&)> done);

}  // namespace s2v::ui
