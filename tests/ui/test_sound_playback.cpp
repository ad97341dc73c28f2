// Sound through a real audio output: a private PulseAudio server with a null sink (started before
// the QApplication, so Qt Multimedia sees its one output device). SoundPlayback plays a trimmed
// part of a file and stops by itself at the trim's end; FramePlayback plays a clip's pictures and
// sound together, pause silences both; the Generate workspace's "Play trimmed" is offered, plays
// and stops.

#include <QApplication>
#include <QDir>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>
#include <fcntl.h>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "common/programs.h"
#include "core/media/audio.h"
#include "ui/generate/generate_workspace.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/widgets/frame_playback.h"
#include "ui/widgets/sound_playback.h"

using namespace s2v;
using namespace s2v::ui;
using s2v::test::ffmpeg;

namespace {

// pulseaudio -n with a null sink in a private runtime folder; killed at exit. why: empty when up.
struct PulseServer {
  pid_t pid = -1;
  std::string dir, why;

  PulseServer() {
    const QString exe = QStandardPaths::findExecutable("pulseaudio");
    if (exe.isEmpty()) {
      why = "no pulseaudio program (scripts/setup-debian.sh installs it unless PipeWire provides the sound server)";
      return;
    }
    char tmpl[] = "/tmp/s2v-pulse-XXXXXX";
    if (!mkdtemp(tmpl)) {
      why = "cannot make a runtime folder";
      return;
    }
    dir = tmpl;
    const std::string socket = dir + "/pulse/native";
    // The server and this process find each other through these.
    setenv("XDG_RUNTIME_DIR", dir.c_str(), 1);
    setenv("PULSE_SERVER", ("unix:" + socket).c_str(), 1);
    setenv("PULSE_RUNTIME_PATH", (dir + "/pulse").c_str(), 1);
    const std::string exe_s = exe.toStdString();
    pid = fork();
    if (pid == 0) {
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl(exe_s.c_str(), "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
            "--disallow-exit", "--load=module-null-sink sink_name=s2v_test_null",
            "--load=module-native-protocol-unix auth-anonymous=1", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {  // up to 10 s
      if (access(socket.c_str(), F_OK) == 0) return;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        why = "pulseaudio exited at start (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    why = "pulseaudio did not open its socket within 10 s";
  }
  ~PulseServer() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
    if (!dir.empty()) QDir(QString::fromStdString(dir)).removeRecursively();
  }
};

PulseServer* g_server = nullptr;

}  // namespace

class TestSoundPlayback : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  QString tone_, clip_;

 private slots:
  void initTestCase() {
    if (!g_server->why.empty()) QSKIP(g_server->why.c_str());
    QVERIFY(dir_.isValid());
    tone_ = dir_.path() + "/tone.wav";  // 2 s of 440 Hz
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "sine=frequency=440:duration=2:sample_rate=44100", tone_}));
    clip_ = dir_.path() + "/clip.mp4";  // 1.5 s of 16 fps video with a tone
    QVERIFY(ffmpeg({"-f", "lavfi", "-i", "testsrc=size=160x120:rate=16:duration=1.5", "-f", "lavfi", "-i",
                    "sine=frequency=330:duration=1.5", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-shortest", clip_}));
  }

  void trimmedPartPlaysAndStopsAtItsEnd() {
    SoundPlayback sound;
    QVERIFY2(sound.available(), "the null sink is not seen as an output device");
    QVERIFY(sound.sampleRate() >= 8000);
    QSignalSpy state(&sound, &SoundPlayback::playingChanged);
    QSignalSpy positions(&sound, &SoundPlayback::positionChanged);
    QElapsedTimer clock;
    clock.start();
    sound.playFile(tone_, 0.5, 1.1);
    QTRY_VERIFY_WITH_TIMEOUT(sound.playing(), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(!sound.playing(), 10000);  // 0.6 s of samples, then idle by itself
    const qint64 ms = clock.elapsed();
    QCOMPARE(state.count(), 2);
    QVERIFY2(ms >= 500, qPrintable(QString::number(ms)));  // it was heard, not dropped
    QVERIFY(positions.count() >= 3);
    const double first = positions.first().at(0).toDouble(), last = positions.last().at(0).toDouble();
    qInfo() << "0.6 s of sound took" << ms << "ms; positions" << first << "..." << last;
    // inside the trim (the first report comes one 50 ms tick after the start, later on a busy machine)
    QVERIFY2(first >= 0.5 - 1e-6 && first < 1.1, qPrintable(QString::number(first)));
    QVERIFY2(last > first && last <= 1.1 + 0.05, qPrintable(QString::number(last)));
  }

  void stopAndABrokenFileAreHandled() {
    SoundPlayback sound;
    sound.playFile(tone_, 0.0, 2.0);
    QTRY_VERIFY_WITH_TIMEOUT(sound.playing(), 10000);
    sound.stop();
    QVERIFY(!sound.playing());
    QSignalSpy failed(&sound, &SoundPlayback::failed);
    const QString junk = dir_.path() + "/junk.wav";
    QFile f(junk);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QByteArray(4096, '\x5a'));
    f.close();
    sound.playFile(junk, 0.0, -1.0);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 10000);
    QVERIFY(!failed.at(0).at(0).toString().isEmpty());
    QVERIFY(!sound.playing());
  }

  void clipPlaysPicturesAndSoundTogether() {
    FramePlayback playback;
    QVERIFY(playback.audioOutput());
    auto* sound = playback.findChild<SoundPlayback*>();
    QVERIFY(sound);
    QSignalSpy finished(&playback, &FramePlayback::finished);
    playback.setSource(clip_);
    playback.play();
    QTRY_VERIFY_WITH_TIMEOUT(sound->playing(), 10000);  // the sound joins once decoded
    QTRY_VERIFY_WITH_TIMEOUT(playback.framesShown() >= 5, 10000);
    playback.pause();
    QVERIFY(!sound->playing());
    const double at = playback.position();
    QVERIFY2(at > 0.0 && at < 1.5, qPrintable(QString::number(at)));
    playback.play();  // resumes where it paused, sound included
    QVERIFY(sound->playing());
    QVERIFY(sound->position() >= at - 0.05);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
    QVERIFY(!playback.playing());
    QVERIFY(!sound->playing());
  }

  void generateOffersPlayTrimmed() {
    JobQueueAdapter jobs;
    GenerateWorkspace w(&jobs);
    w.show();
    QSignalSpy changed(&w, &GenerateWorkspace::inputsChanged);
    w.addFiles({tone_});
    QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 1, 15000);
    auto* play = w.findChild<QPushButton*>("playTrimmed");
    QVERIFY(play);
    QVERIFY(play->isVisible());
    QVERIFY(play->isEnabled());
    play->click();
    QTRY_COMPARE_WITH_TIMEOUT(play->text(), QString("Stop"), 10000);
    play->click();
    QTRY_COMPARE_WITH_TIMEOUT(play->text(), QString("Play trimmed"), 5000);
  }
};

int main(int argc, char** argv) {
  PulseServer server;  // before the QApplication: Qt Multimedia reads the devices once
  g_server = &server;
  QApplication app(argc, argv);
  TestSoundPlayback t;
  return QTest::qExec(&t, argc, argv);
}

#include "test_sound_playback.moc"
