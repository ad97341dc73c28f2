#pragma once
// Running the Debian programs tests make their data with (ffmpeg, espeak-ng, python3): every run
// has a deadline, and a program that is missing, crashes or overruns is a failed run, never a
// hang. The one ffmpeg() of the test suites.

#include <QByteArray>
#include <QProcess>
#include <QStandardPaths>
#include <QString>
#include <QStringList>

namespace s2v::test {

inline bool have_program(const char* name) {
  return !QStandardPaths::findExecutable(QString::fromUtf8(name)).isEmpty();
}

// Runs a program with arguments, returns its exit code (-1 when it could not start, crashed or
// ran past timeout_ms, then killed). out, when given, receives stdout (stderr is dropped).
inline int run_program(const QString& program, const QStringList& args, QByteArray* out = nullptr,
                       int timeout_ms = 120000) {
  QProcess p;
  p.setProcessChannelMode(out ? QProcess::SeparateChannels : QProcess::MergedChannels);
  p.start(program, args);
  if (!p.waitForStarted(10000)) return -1;
  if (!p.waitForFinished(timeout_ms)) {
    p.kill();
    p.waitForFinished(5000);
    return -1;
  }
  if (out) *out = p.readAllStandardOutput();
  if (p.exitStatus() != QProcess::NormalExit) return -1;
  return p.exitCode();
}

// ffmpeg -y -hide_banner -loglevel error -nostdin <args>; true on success within timeout_ms.
inline bool ffmpeg(const QStringList& args, int timeout_ms = 300000) {
  QStringList all{"-y", "-hide_banner", "-loglevel", "error", "-nostdin"};
  all += args;
  return run_program("ffmpeg", all, nullptr, timeout_ms) == 0;
}

}  // namespace s2v::test
