#pragma once
// The engine is the `s2v` executable: the GUI links no LibTorch and asks it, in a process of its
// own, for everything that needs a network (rendering and curating run as `s2v worker ID`;
// inspecting a model folder, the portrait check with ViTPose as short commands that print JSON).
// A CUDA fault or an abort() inside a kernel library then takes that process down, not the window.

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QStringList>
#include <functional>

namespace s2v::ui {

// Where s2v is: $S2V_CLI, else beside this executable (bin/s2v next to bin/s2v-studio), else one
// folder up (the build tree's app/s2v next to app/studio/s2v-studio), else on PATH. Empty when
// none is found.
QString engineExecutable();

struct EngineResult {
  bool started = false;   // false: no s2v, or it could not be started (error says why)
  bool crashed = false;   // died by a signal (exitCode is the signal then)
  int exitCode = -1;
  QByteArray out, err;    // stdout, stderr
  QString error;          // why it did not start
  // A sentence for the person: what went wrong, with the last lines of stderr.
  QString failure() const;
};

// Runs `s2v args...` without blocking the caller's thread; done(result) runs on context's thread
// (nothing is delivered when context is gone: the process is killed with it).
void runEngine(QObject* context, const QStringList& args, std::function<void(const EngineResult&)> done);

// "signal 11: Segmentation fault".
QString describeSignal(int signal);
// The last `lines` non-empty lines of a text (a log), joined by newlines.
QString lastLines(const QByteArray& text, int lines);

}  // namespace s2v::ui
