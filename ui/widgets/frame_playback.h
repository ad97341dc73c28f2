#pragma once
// Plays a video file into a widget without Qt's media backend: frames are decoded on a worker
// thread with core/media's VideoReader (the FFmpeg the engine already uses), the clock is a timer
// on the GUI thread, and the sound, when an output device exists, is the file's audio decoded once
// on the worker and played by SoundPlayback. Shared by the Generate preview and the Curate clip viewer.
//
// Why not QMediaPlayer: Qt 6.4's GStreamer backend makes pipeline state changes on the GUI thread
// (setSource, stop: waits of up to a second each, and pad probes that wait for a streaming thread
// without a limit). A CI run of the render test saw the GUI thread stop processing events for
// minutes right after the first preview clip was loaded; the exact call was not caught (the GUI
// tests now print the stuck stack: tests/common/gui_stall_watchdog.cpp). That backend also plays
// H.264 only when the distribution's GStreamer libav plugin is installed. Here nothing on the GUI
// thread waits for a decoder: a slow decode shows as dropped frames, never as a frozen window.

#include <QByteArray>
#include <QImage>
#include <QObject>
#include <QString>
#include <memory>
#include <optional>

class QElapsedTimer;
class QThread;
class QTimer;

namespace s2v::media {
class VideoReader;
}

namespace s2v::ui {

class SoundPlayback;

// Lives on the worker thread. Decodes the frame at a time, reading forward when the request is
// just ahead of the last frame (playback) and seeking otherwise.
class FrameDecoder : public QObject {
  Q_OBJECT
 public:
  FrameDecoder();
  ~FrameDecoder() override;
 public slots:
  // Opens the file (duration from its header) and, when audioRate > 0, decodes its audio to mono
  // float32 at that rate: emits opened(), then audio().
  void open(const QString& path, quint64 ticket, int audioRate);
  void decode(const QString& path, double t, quint64 ticket);
 signals:
  void opened(quint64 ticket, double duration, const QString& error);
  void audio(quint64 ticket, const QByteArray& pcm);  // empty: the file has no audio
  // image is null and error says why when the frame cannot be decoded.
  void decoded(quint64 ticket, double t, const QImage& image, const QString& error);

 private:
  bool ensure(const QString& path);
  std::unique_ptr<media::VideoReader> reader_;
  QString path_;
  double last_t_ = -1.0;
};

class FramePlayback : public QObject {
  Q_OBJECT
 public:
  // withAudio: play the file's sound when the system has an output device.
  explicit FramePlayback(QObject* parent = nullptr, bool withAudio = true);
  ~FramePlayback() override;

  // Loads a file and shows the frame at `start`. durationHint > 0 is used until the file's own
  // duration arrives (opened()). An empty path clears.
  void setSource(const QString& path, double start = 0.0, double durationHint = 0.0);
  QString source() const { return path_; }
  double position() const { return position_; }
  double duration() const { return duration_; }
  bool playing() const;
  bool audioOutput() const { return sound_ != nullptr; }  // false: no device (or not wanted)
  qint64 framesShown() const { return framesShown_; }

 public slots:
  void setPosition(double t);
  void play();  // from the start when at the end
  void pause();
  void stop();  // pause and go back to the start
  void togglePlay();

 signals:
  void opened(double duration);
  void positionChanged(double t);
  void frameReady(const QImage& image, double t);
  void failed(const QString& error);
  void playingChanged(bool playing);
  void finished();  // played to the end

 private:
  void request(double t);
  void onOpened(quint64 ticket, double duration, const QString& error);
  void onAudio(quint64 ticket, const QByteArray& pcm);
  void onDecoded(quint64 ticket, double t, const QImage& image, const QString& error);
  void tick();

  QString path_;
  double position_ = 0.0;
  double duration_ = 0.0;
  bool playWhenOpened_ = false;
  bool isOpen_ = false;
  qint64 framesShown_ = 0;
  QTimer* timer_;
  std::unique_ptr<QElapsedTimer> clock_;
  QThread* thread_;
  FrameDecoder* decoder_;
  quint64 ticket_ = 0;  // of the file shown: answers about an older file are dropped
  bool inFlight_ = false;
  std::optional<double> pending_;
  SoundPlayback* sound_ = nullptr;
};

}  // namespace s2v::ui
