#include "ui/engine/engine_process.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>
#include <cstring>

namespace s2v::ui {

QString engineExecutable() {
  const QByteArray env = qgetenv("S2V_CLI");
  if (!env.isEmpty()) return QString::fromLocal8Bit(env);
  const QString dir = QCoreApplication::applicationDirPath();
  for (const QString& c : {dir + "/s2v", dir + "/../s2v"}) {
    const QFileInfo f(c);
    if (f.isFile() && f.isExecutable()) return f.canonicalFilePath();
  }
  return QStandardPaths::findExecutable("s2v");
}

QString describeSignal(int signal) {
  const char* name = ::strsignal(signal);
  return QObject::tr("signal %1: %2").arg(signal).arg(QString::fromLocal8Bit(name ? name : "unknown"));
}

QString lastLines(const QByteArray& text, int lines) {
  QStringList out;
  const QList<QByteArray> all = text.split('\n');
  for (auto it = all.rbegin(); it != all.rend() && out.size() < lines; ++it)
    if (!it->trimmed().isEmpty()) out.prepend(QString::fromUtf8(*it).trimmed());
  return out.join('\n');
}

QString EngineResult::failure() const {
  if (!started) return error;
  QString s = crashed ? QObject::tr("the engine (s2v) crashed (%1)").arg(describeSignal(exitCode))
                      : QObject::tr("the engine (s2v) stopped with exit status %1").arg(exitCode);
  const QString tail = lastLines(err, 4);
  if (!tail.isEmpty()) s += ": " + tail;
  return s;
}

namespace {

// A QProcess whose owner may go first: ~QProcess kills the process and waits for it, and while it
// waits it emits finished() to handlers whose context (a widget half destroyed, since it is
// deleting its children) must not run any more. Signals are off before that.
class OwnedProcess : public QProcess {
 public:
  using QProcess::QProcess;
  ~OwnedProcess() override {
    blockSignals(true);
    if (state() != QProcess::NotRunning) {
      kill();
      waitForFinished(5000);
    }
  }
};

}  // namespace

void runEngine(QObject* context, const QStringList& args, std::function<void(const EngineResult&)> done) {
  const QString exe = engineExecutable();
  if (exe.isEmpty()) {
    EngineResult r;
    r.error = QObject::tr("the engine (s2v) was not found beside s2v-studio or on PATH (set S2V_CLI to it)");
    QMetaObject::invokeMethod(context, [r, done] { done(r); }, Qt::QueuedConnection);
    return;
  }
  // QProcess is asynchronous on this thread's event loop: nothing here waits for it.
  auto* p = new OwnedProcess(context);
  auto finish = std::make_shared<bool>(false);
  QObject::connect(p, &QProcess::finished, context, [p, done, finish](int code, QProcess::ExitStatus status) {
    if (*finish) return;
    *finish = true;
    EngineResult r;
    r.started = true;
    r.crashed = status == QProcess::CrashExit;
    r.exitCode = code;
    r.out = p->readAllStandardOutput();
    r.err = p->readAllStandardError();
    p->deleteLater();
    done(r);
  });
  QObject::connect(p, &QProcess::errorOccurred, context, [p, exe, done, finish](QProcess::ProcessError e) {
    if (e != QProcess::FailedToStart || *finish) return;
    *finish = true;
    EngineResult r;
    r.error = QObject::tr("the engine '%1' could not be started: %2").arg(exe, p->errorString());
    p->deleteLater();
    done(r);
  });
  // Started from the event loop, not here: a window that asks at start-up (the model panel
  // inspecting the last folder) is built and shown before the engine loads LibTorch beside it.
  QMetaObject::invokeMethod(p, [p, exe, args] { p->start(exe, args); }, Qt::QueuedConnection);
}

}  // namespace s2v::ui
