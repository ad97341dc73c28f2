#include "ui/generate/input_probe.h"

#include <QFileInfo>
#include <QImageReader>
#include <QMetaObject>
#include <QPointer>
#include <QThreadPool>

#include "core/media/probe.h"
#include "core/media/video_reader.h"

namespace s2v::ui {

namespace {

// Upright, scaled to fit the thumbnail square; Qt's reader first (JPEG decodes at a reduced
// scale), FFmpeg's decoder for what Qt cannot read. Throws s2v::Error with FFmpeg's reason when
// neither can decode the picture (a truncated PNG): the portrait is rejected with that sentence.
QImage portraitThumbnail(const QString& path) {
  const int side = ProbedInput::kThumbnailSide;
  QImageReader reader(path);
  reader.setAutoTransform(true);
  QImage img = reader.read();
  if (img.isNull()) {
    const media::RgbFrame f = media::read_image(path.toStdString());
    img = QImage(f.rgb.data(), f.width, f.height, f.stride(), QImage::Format_RGB888).copy();
  }
  return img.scaled(side, side, Qt::KeepAspectRatio, Qt::SmoothTransformation);
}

}  // namespace

ProbedInput classifyInput(const QString& path) {
  ProbedInput r;
  r.path = path;
  const QString name = QFileInfo(path).fileName();
  try {
    const media::MediaInfo info = media::probe(path.toStdString());
    r.width = info.width;
    r.height = info.height;
    switch (info.kind) {
      case media::MediaKind::Image:
        r.role = ProbedInput::Role::Portrait;
        r.summary = QObject::tr("%1 · %2×%3 image").arg(name).arg(info.width).arg(info.height);
        r.thumbnail = portraitThumbnail(path);
        return r;
      case media::MediaKind::Audio:
        r.role = ProbedInput::Role::Audio;
        r.duration_s = info.audio_duration_s > 0 ? info.audio_duration_s : info.duration_s;
        r.summary = QObject::tr("%1 · %2 s audio").arg(name).arg(r.duration_s, 0, 'f', 1);
        return r;
      case media::MediaKind::Video:
        if (info.has_audio) {
          r.role = ProbedInput::Role::Audio;
          r.duration_s = info.duration_s;
          r.summary = QObject::tr("%1 · audio track of a %2 s video").arg(name).arg(info.duration_s, 0, 'f', 1);
        } else {
          r.reason = QObject::tr("'%1' is a video without an audio track: drop a portrait image or an "
                                 "audio file (a video with sound works too); a pose video goes in the "
                                 "Pose video area.").arg(name);
        }
        return r;
      case media::MediaKind::Unknown: break;
    }
    r.reason = QObject::tr("'%1' is neither a picture nor audio: drop a portrait (PNG, JPEG, WebP...) or a speech "
                           "or song file.").arg(name);
  } catch (const std::exception& e) {
    r.reason = QObject::tr("'%1' was rejected (%2): choose another file.").arg(name, QString::fromUtf8(e.what()));
  }
  return r;
}

void classifyAsync(const QString& path, QObject* context, std::function<void(const ProbedInput&)> done) {
  QPointer<QObject> guard(context);
  QThreadPool::globalInstance()->start([path, guard, done = std::move(done)] {
    ProbedInput r = classifyInput(path);
    if (!guard) return;
    QMetaObject::invokeMethod(guard.data(), [r, done] { done(r); }, Qt::QueuedConnection);
  });
}

}  // namespace s2v::ui
