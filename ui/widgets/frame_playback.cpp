#include "ui/widgets/frame_playback.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QThread>
#include <QTimer>
#include <algorithm>
#include <cmath>

#include "core/media/audio.h"
#include "core/media/video_reader.h"
#include "ui/widgets/sound_playback.h"

namespace s2v::ui {

namespace {
constexpr int kDisplayLongSide = 960;  // frames are scaled down to this before they cross threads
constexpr int kTickMs = 20;
}

// ---- FrameDecoder (worker thread) ---------------------------------------------------------------

FrameDecoder::FrameDecoder() = default;
FrameDecoder::~FrameDecoder() = default;

bool FrameDecoder::ensure(const QString& path) {
  if (reader_ && path == path_) return true;
  reader_.reset();
  path_ = path;
  last_t_ = -1.0;
  reader_ = std::make_unique<media::VideoReader>(path.toStdString());
  return true;
}

void FrameDecoder::open(const QString& path, quint64 ticket, int audioRate) {
  try {
    ensure(path);
    emit opened(ticket, reader_->info().duration_s, {});
  } catch (const std::exception& e) {
    reader_.reset();
    path_.clear();
    emit opened(ticket, 0.0, QString::fromUtf8(e.what()));
    return;
  }
  if (audioRate <= 0) return;
  QByteArray pcm;
  try {
    if (reader_->info().has_audio) {
      media::AudioReadOptions o;
      o.sample_rate = audioRate;
      const media::AudioBuffer a = media::read_audio(path.toStdString(), o);
      pcm = QByteArray(reinterpret_cast<const char*>(a.samples.data()),
                       qsizetype(a.samples.size() * sizeof(float)));
    }
  } catch (const std::exception&) {
    pcm.clear();  // an undecodable sound track: the pictures still play, silently
  }
  emit audio(ticket, pcm);
}

void FrameDecoder::decode(const QString& path, double t, quint64 ticket) {
  try {
    ensure(path);
    const double fps = reader_->info().fps > 0 ? reader_->info().fps : 25.0;
    // Playback asks for times just ahead of the last frame: read on instead of seeking.
    if (last_t_ < 0.0 || t < last_t_ || t - last_t_ > 1.0) {
      reader_->seek(std::max(0.0, t - 0.5 / fps));
      last_t_ = -1.0;
    }
    media::RgbFrame f;
    bool got = false;
    while (reader_->read(f)) {
      got = true;
      last_t_ = f.time_s;
      if (f.time_s + 0.5 / fps >= t) break;
    }
    if (!got) {
      emit decoded(ticket, t, {}, tr("no frame at %1 s in %2").arg(t).arg(QFileInfo(path).fileName()));
      return;
    }
    QImage img(f.rgb.data(), f.width, f.height, f.stride(), QImage::Format_RGB888);
    QImage out = std::max(f.width, f.height) > kDisplayLongSide
                     ? img.scaled(kDisplayLongSide, kDisplayLongSide, Qt::KeepAspectRatio, Qt::SmoothTransformation)
                     : img.copy();
    emit decoded(ticket, f.time_s, out, {});
  } catch (const std::exception& e) {
    reader_.reset();
    path_.clear();
    emit decoded(ticket, t, {}, QString::fromUtf8(e.what()));
  }
}

// ---- FramePlayback (GUI thread) -----------------------------------------------------------------

FramePlayback::FramePlayback(QObject* parent, bool withAudio) : QObject(parent), clock_(new QElapsedTimer) {
  if (withAudio) {
    sound_ = new SoundPlayback(this);
    if (!sound_->available()) {
      delete sound_;
      sound_ = nullptr;
    }
  }
  timer_ = new QTimer(this);
  timer_->setInterval(kTickMs);
  timer_->setTimerType(Qt::PreciseTimer);
  connect(timer_, &QTimer::timeout, this, &FramePlayback::tick);

  // Decoding never runs on the GUI thread.
  thread_ = new QThread(this);
  thread_->setObjectName("frameDecoder");
  decoder_ = new FrameDecoder;
  decoder_->moveToThread(thread_);
  connect(thread_, &QThread::finished, decoder_, &QObject::deleteLater);
  connect(decoder_, &FrameDecoder::opened, this, &FramePlayback::onOpened, Qt::QueuedConnection);
  connect(decoder_, &FrameDecoder::audio, this, &FramePlayback::onAudio, Qt::QueuedConnection);
  connect(decoder_, &FrameDecoder::decoded, this, &FramePlayback::onDecoded, Qt::QueuedConnection);
  thread_->start();
}

FramePlayback::~FramePlayback() {
  thread_->quit();
  thread_->wait();
}

bool FramePlayback::playing() const { return timer_->isActive() || playWhenOpened_; }

void FramePlayback::setSource(const QString& path, double start, double durationHint) {
  const bool was = playing();
  timer_->stop();
  playWhenOpened_ = false;
  if (sound_) sound_->setSamples({});
  ++ticket_;
  pending_.reset();
  path_ = path;
  isOpen_ = false;
  duration_ = std::max(0.0, durationHint);
  position_ = std::max(0.0, start);
  if (was) emit playingChanged(false);
  if (path.isEmpty()) return;
  QMetaObject::invokeMethod(decoder_, "open", Qt::QueuedConnection, Q_ARG(QString, path), Q_ARG(quint64, ticket_),
                            Q_ARG(int, sound_ ? sound_->sampleRate() : 0));
  emit positionChanged(position_);
  request(position_);
}

void FramePlayback::onOpened(quint64 ticket, double duration, const QString& error) {
  if (ticket != ticket_) return;
  if (!error.isEmpty()) {
    const bool was = playing();
    playWhenOpened_ = false;
    timer_->stop();
    if (was) emit playingChanged(false);
    emit failed(error);
    return;
  }
  isOpen_ = true;
  if (duration > 0.0) duration_ = duration;
  emit opened(duration_);
  if (playWhenOpened_) {
    playWhenOpened_ = false;
    play();
  }
}

void FramePlayback::onAudio(quint64 ticket, const QByteArray& pcm) {
  if (ticket != ticket_ || !sound_) return;
  sound_->setSamples(pcm);
  if (timer_->isActive()) sound_->start(position_);  // the pictures started before the sound was decoded
}

void FramePlayback::setPosition(double t) {
  t = std::clamp(t, 0.0, std::max(0.0, duration_));
  if (t == position_) return;
  position_ = t;
  emit positionChanged(t);
  if (timer_->isActive()) {
    clock_->restart();
    if (sound_) sound_->start(t);
  }
  request(t);
}

void FramePlayback::play() {
  if (path_.isEmpty() || timer_->isActive()) return;
  if (!isOpen_) {  // the duration is not known yet: start when the file is open
    if (!playWhenOpened_) {
      playWhenOpened_ = true;
      emit playingChanged(true);
    }
    return;
  }
  if (position_ >= duration_ - 1e-3) {
    position_ = 0.0;
    emit positionChanged(0.0);
    request(0.0);
  }
  const bool announce = !playWhenOpened_;
  clock_->start();
  timer_->start();
  if (sound_) sound_->start(position_);
  if (announce) emit playingChanged(true);
}

void FramePlayback::pause() {
  const bool was = playing();
  playWhenOpened_ = false;
  timer_->stop();
  if (sound_) sound_->stop();
  if (was) emit playingChanged(false);
}

void FramePlayback::stop() {
  pause();
  setPosition(0.0);
}

void FramePlayback::togglePlay() { playing() ? pause() : play(); }

void FramePlayback::tick() {
  const double t = position_ + clock_->restart() / 1000.0;
  if (t >= duration_) {
    position_ = duration_;
    emit positionChanged(duration_);
    pause();
    emit finished();
    return;
  }
  position_ = t;
  emit positionChanged(t);
  request(t);
}

void FramePlayback::request(double t) {
  if (path_.isEmpty()) return;
  if (inFlight_) {  // one decode at a time; only the latest request waits
    pending_ = t;
    return;
  }
  inFlight_ = true;
  QMetaObject::invokeMethod(decoder_, "decode", Qt::QueuedConnection, Q_ARG(QString, path_), Q_ARG(double, t),
                            Q_ARG(quint64, ticket_));
}

void FramePlayback::onDecoded(quint64 ticket, double t, const QImage& image, const QString& error) {
  inFlight_ = false;
  if (ticket == ticket_) {
    if (!image.isNull()) {
      ++framesShown_;
      emit frameReady(image, t);
    } else {
      emit failed(error);
    }
  }
  if (pending_) {
    const double next = *pending_;
    pending_.reset();
    request(next);
  }
}

}  // namespace s2v::ui
