#include "ui/jobs/job_list_model.h"

#include <QFileInfo>
#include <cmath>

#include "core/curate_job/curate_job.h"
#include "core/media/video_reader.h"
#include "ui/generate/async.h"

namespace s2v::ui {

JobListModel::JobListModel(JobQueueAdapter* adapter, QObject* parent)
    : QAbstractListModel(parent), adapter_(adapter) {
  for (auto& r : adapter->jobs())
    if (auto u = adapter->job(QString::fromStdString(r.id))) rows_.push_back(*u);
  connect(adapter, &JobQueueAdapter::jobAdded, this, &JobListModel::upsert);
  connect(adapter, &JobQueueAdapter::jobChanged, this, &JobListModel::upsert);
  connect(adapter, &JobQueueAdapter::jobProgress, this, &JobListModel::upsert);
  connect(adapter, &JobQueueAdapter::jobRemoved, this, &JobListModel::removeJob);
  connect(adapter, &JobQueueAdapter::previewReady, this, [this](const QString& id, const QString& path) {
    requestThumbnail(id, path);
  });
}

int JobListModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int JobListModel::rowOf(const QString& id) const {
  for (size_t i = 0; i < rows_.size(); ++i)
    if (QString::fromStdString(rows_[i].record.id) == id) return static_cast<int>(i);
  return -1;
}

const JobUpdate* JobListModel::at(int row) const {
  return row >= 0 && row < static_cast<int>(rows_.size()) ? &rows_[row] : nullptr;
}

QImage JobListModel::thumbnail(const QString& id) const { return thumbs_.value(id).image; }

void JobListModel::upsert(const JobUpdate& u) {
  const QString id = QString::fromStdString(u.record.id);
  const int row = rowOf(id);
  if (row < 0) {
    beginInsertRows({}, static_cast<int>(rows_.size()), static_cast<int>(rows_.size()));
    rows_.push_back(u);
    endInsertRows();
    return;
  }
  JobUpdate merged = u;
  // Progress-less state changes keep the last progress (ETA, clip counters).
  if (u.progress.stage.empty() && u.progress.steps == 0 && u.progress.clips == 0)
    merged.progress = rows_[row].progress;
  rows_[row] = merged;
  if (u.record.state == jobs::JobState::Done && !u.record.output.empty())
    requestThumbnail(id, QString::fromStdString(u.record.output));
  emit dataChanged(index(row), index(row));
}

void JobListModel::removeJob(const QString& id) {
  const int row = rowOf(id);
  if (row < 0) return;
  beginRemoveRows({}, row, row);
  rows_.erase(rows_.begin() + row);
  endRemoveRows();
  thumbs_.remove(id);
}

void JobListModel::requestThumbnail(const QString& id, const QString& source) const {
  if (source.isEmpty() || thumbs_.value(id).source == source) return;
  thumbs_[id].source = source;
  auto* self = const_cast<JobListModel*>(this);
  // the first frame, decoded off the GUI thread
  runOffGuiThread(
      self,
      [source] {
        QImage img;
        try {
          const auto frames = media::read_frames(source.toStdString(), {0});
          if (!frames.empty()) {
            const auto& f = frames.front();
            const QImage full(f.rgb.data(), f.width, f.height, f.stride(), QImage::Format_RGB888);
            // at most 96×54, never enlarged (the delegate scales it to its row)
            img = full.width() > 96 || full.height() > 54
                      ? full.scaled(96, 54, Qt::KeepAspectRatio, Qt::SmoothTransformation)
                      : full.copy();
          }
        } catch (const std::exception&) {
          // a clip that cannot be read has no thumbnail
        }
        return img;
      },
      [self, id, source](const QImage& img) {
        if (self->thumbs_.value(id).source != source) return;  // a newer clip meanwhile
        self->thumbs_[id].image = img;
        const int row = self->rowOf(id);
        if (row >= 0) emit self->dataChanged(self->index(row), self->index(row), {Qt::DecorationRole});
        emit self->thumbnailReady(id);
      });
}

QString describeJob(const JobUpdate& u) {
  using jobs::JobState;
  const auto& r = u.record;
  const int pct = static_cast<int>(std::lround(r.fraction * 100));
  if (u.cancelling) return QObject::tr("Cancelling… (%1%)").arg(pct);
  switch (r.state) {
    case JobState::Queued: return QObject::tr("queued");
    case JobState::Done: return QObject::tr("done");
    case JobState::Cancelled: return QObject::tr("cancelled at %1% — resumable").arg(pct);
    case JobState::Interrupted: return QObject::tr("interrupted at %1% — resumable").arg(pct);
    case JobState::Failed:
      if (r.error_kind == jobs::kOutOfMemoryKind)
        return QObject::tr("out of memory at %1% — %2").arg(pct).arg(QString::fromStdString(r.error));
      return QObject::tr("failed: %1").arg(QString::fromStdString(r.error));
    case JobState::Running: break;
  }
  QString s = QString::fromStdString(u.progress.stage.empty() ? r.stage : u.progress.stage);
  if (u.progress.clips > 0) s += QObject::tr(" · clip %1/%2").arg(u.progress.clip).arg(u.progress.clips);
  s += QStringLiteral(" · %1%").arg(pct);
  if (u.progress.eta_s >= 0) {
    const int t = static_cast<int>(std::lround(u.progress.eta_s));
    s += QObject::tr(" · %1:%2 left").arg(t / 60).arg(t % 60, 2, 10, QLatin1Char('0'));
  }
  return s;
}

QVariant JobListModel::data(const QModelIndex& index, int role) const {
  const JobUpdate* u = at(index.row());
  if (!u) return {};
  const auto& r = u->record;
  const QString id = QString::fromStdString(r.id);
  const bool active = r.state == jobs::JobState::Queued || r.state == jobs::JobState::Running;
  switch (role) {
    case Qt::DisplayRole: return QString::fromStdString(r.spec.title) + " — " + describeJob(*u);
    case Qt::ToolTipRole: {
      QString tip = QString::fromStdString(r.spec.title) + "\n" + id + " · " + QString::fromStdString(r.spec.kind);
      if (!r.output.empty()) tip += "\n" + QString::fromStdString(r.output);
      if (!r.error.empty()) tip += "\n\n" + QString::fromStdString(r.error);
      return tip;
    }
    case Qt::DecorationRole: {
      if (!thumbs_.contains(id)) {
        // first shown: the output of a finished job, else the newest clip it kept
        QString source = r.state == jobs::JobState::Done ? QString::fromStdString(r.output) : QString();
        if (source.isEmpty() && r.spec.kind != curation::kCurateKind) {
          const QStringList clips = adapter_->previews(id);
          if (!clips.isEmpty()) source = clips.last();
        }
        if (source.isEmpty() || !QFileInfo::exists(source)) thumbs_[id] = {};
        else requestThumbnail(id, source);
      }
      const QImage img = thumbs_.value(id).image;
      return img.isNull() ? QVariant() : QVariant(img);
    }
    case IdRole: return id;
    case KindRole: return QString::fromStdString(r.spec.kind);
    case StateRole: return QString::fromLatin1(jobs::to_string(r.state));
    case FractionRole: return r.fraction;
    case EtaRole: return u->progress.eta_s;
    case StageRole: return QString::fromStdString(r.stage);
    case OutputRole: return QString::fromStdString(r.output);
    case ErrorRole: return QString::fromStdString(r.error);
    case ErrorKindRole: return QString::fromStdString(r.error_kind);
    case CanCancelRole: return active && !u->cancelling;
    case CanRetryRole:
      return r.state == jobs::JobState::Failed || r.state == jobs::JobState::Cancelled ||
             r.state == jobs::JobState::Interrupted;
    case TitleRole: return QString::fromStdString(r.spec.title);
    case DescriptionRole: return describeJob(*u);
    case CancellingRole: return u->cancelling;
    case CanRemoveRole: return !active;
    case CanPreviewRole: return r.spec.kind != curation::kCurateKind || !r.output.empty();
  }
  return {};
}

QHash<int, QByteArray> JobListModel::roleNames() const {
  return {{IdRole, "id"},         {KindRole, "kind"},   {StateRole, "state"},   {FractionRole, "fraction"},
          {EtaRole, "eta"},       {StageRole, "stage"}, {OutputRole, "output"}, {ErrorRole, "error"},
          {TitleRole, "title"},   {DescriptionRole, "description"}, {CancellingRole, "cancelling"}};
}

}  // namespace s2v::ui
