#include "ui/widgets/sound_playback.h"

#include <QAudioDevice>
#include <QAudioFormat>
#include <QAudioSink>
#include <QBuffer>
#include <QMediaDevices>
#include <QTimer>
#include <algorithm>
#include <cmath>

#include "core/media/audio.h"
#include "ui/generate/async.h"

namespace s2v::ui {

SoundPlayback::SoundPlayback(QObject* parent) : QObject(parent) {
  const QAudioDevice device = QMediaDevices::defaultAudioOutput();
  if (device.isNull()) return;
  QAudioFormat fmt;
  fmt.setChannelCount(1);
  fmt.setSampleFormat(QAudioFormat::Float);
  fmt.setSampleRate(std::clamp(device.preferredFormat().sampleRate(), 8000, 192000));
  if (!device.isFormatSupported(fmt)) return;
  rate_ = fmt.sampleRate();
  sink_ = new QAudioSink(device, fmt, this);
  buffer_ = new QBuffer(&pcm_, this);
  ticker_ = new QTimer(this);
  ticker_->setInterval(50);
  connect(ticker_, &QTimer::timeout, this, [this] { emit positionChanged(position()); });
  connect(sink_, &QAudioSink::stateChanged, this, [this](QAudio::State s) {
    if (s == QAudio::IdleState) setPlaying(false);  // the samples ran out
    if (s == QAudio::StoppedState && sink_->error() != QAudio::NoError) {
      setPlaying(false);
      emit failed(tr("the sound output stopped (error %1)").arg(int(sink_->error())));
    }
  });
}

SoundPlayback::~SoundPlayback() {
  if (sink_) sink_->stop();
}

void SoundPlayback::setSamples(const QByteArray& pcm, double origin) {
  stop();
  if (!buffer_) return;
  buffer_->close();
  pcm_ = pcm;
  origin_ = origin;
}

void SoundPlayback::playFile(const QString& path, double start, double end) {
  if (!available()) return;
  stop();
  const quint64 request = ++request_;
  const int rate = rate_;
  struct Decoded {
    QByteArray pcm;
    QString error;
  };
  runOffGuiThread(
      this,
      [path, start, end, rate] {
        Decoded d;
        try {
          media::AudioReadOptions o;
          o.sample_rate = rate;
          o.start_s = start;
          o.end_s = end;
          const media::AudioBuffer a = media::read_audio(path.toStdString(), o);
          d.pcm = QByteArray(reinterpret_cast<const char*>(a.samples.data()), qsizetype(a.samples.size() * sizeof(float)));
        } catch (const std::exception& e) {
          d.error = QString::fromUtf8(e.what());
        }
        return d;
      },
      [this, request, start](const Decoded& d) {
        if (request != request_) return;  // a newer request (or stop()) came in meanwhile
        if (!d.error.isEmpty()) {
          emit failed(d.error);
          return;
        }
        setSamples(d.pcm, start);
        this->start(start);
      });
}

void SoundPlayback::start(double t) {
  if (!sink_ || pcm_.isEmpty()) return;
  sink_->stop();
  buffer_->close();
  buffer_->open(QIODevice::ReadOnly);
  const qint64 frame = std::max<qint64>(0, qint64(std::llround((t - origin_) * rate_)));
  buffer_->seek(std::min<qint64>(frame * qint64(sizeof(float)), pcm_.size()));
  startedAt_ = origin_ + double(buffer_->pos() / qint64(sizeof(float))) / rate_;
  sink_->start(buffer_);
  setPlaying(true);
}

void SoundPlayback::stop() {
  ++request_;
  if (!sink_) return;
  sink_->stop();
  setPlaying(false);
}

double SoundPlayback::position() const {
  return sink_ && playing_ ? startedAt_ + sink_->processedUSecs() / 1e6 : startedAt_;
}

void SoundPlayback::setPlaying(bool on) {
  if (on == playing_) return;
  playing_ = on;
  on ? ticker_->start() : ticker_->stop();
  emit playingChanged(on);
}

}  // namespace s2v::ui
