#pragma once
// Sound out without Qt's media backend: mono float32 samples (decoded by core/media, off the GUI
// thread) pushed to a QAudioSink on the default output device. Used by FramePlayback (a clip's
// sound) and by the Generate workspace's "Play trimmed". Without an output device (or one that
// takes no mono float) available() is false and every call is a no-op.

#include <QByteArray>
#include <QObject>
#include <QString>

class QAudioSink;
class QBuffer;
class QTimer;

namespace s2v::ui {

class SoundPlayback : public QObject {
  Q_OBJECT
 public:
  explicit SoundPlayback(QObject* parent = nullptr);
  ~SoundPlayback() override;

  bool available() const { return sink_ != nullptr; }
  int sampleRate() const { return rate_; }  // what setSamples() expects

  // Samples at sampleRate(); `origin` is the time (s) of the first one, as reported by position().
  void setSamples(const QByteArray& pcm, double origin = 0.0);
  bool hasSamples() const { return !pcm_.isEmpty(); }
  // Decodes [start, end) of an audio file on the thread pool, then plays it. failed() says why
  // it cannot be decoded.
  void playFile(const QString& path, double start, double end);

  void start(double t);  // from time t (same clock as origin)
  void stop();
  bool playing() const { return playing_; }
  double position() const;  // time of the sample being heard

 signals:
  void positionChanged(double t);  // every 50 ms while playing
  void playingChanged(bool playing);
  void failed(const QString& why);

 private:
  void setPlaying(bool on);
  QAudioSink* sink_ = nullptr;
  QBuffer* buffer_ = nullptr;
  QTimer* ticker_ = nullptr;
  QByteArray pcm_;
  double origin_ = 0.0;
  double startedAt_ = 0.0;
  int rate_ = 0;
  bool playing_ = false;
  quint64 request_ = 0;  // playFile() calls: only the latest one's samples are played
};

}  // namespace s2v::ui
