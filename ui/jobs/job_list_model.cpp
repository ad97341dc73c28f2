#include "ui/jobs/job_list_model.h"

#include <cmath>

namespace s2v::ui {

JobListModel::JobListModel(JobQueueAdapter* adapter, QObject* parent) : QAbstractListModel(parent) {
  for (auto& r : adapter->jobs()) rows_.push_back({r, {}});
  connect(adapter, &JobQueueAdapter::jobAdded, this, &JobListModel::upsert);
  connect(adapter, &JobQueueAdapter::jobChanged, this, &JobListModel::upsert);
  connect(adapter, &JobQueueAdapter::jobProgress, this, &JobListModel::upsert);
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

void JobListModel::upsert(const JobUpdate& u) {
  const int row = rowOf(QString::fromStdString(u.record.id));
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
  emit dataChanged(index(row), index(row));
}

QString describeJob(const JobUpdate& u) {
  using jobs::JobState;
  const auto& r = u.record;
  const int pct = static_cast<int>(std::lround(r.fraction * 100));
  switch (r.state) {
    case JobState::Queued: return QObject::tr("queued");
    case JobState::Done: return QObject::tr("done");
    case JobState::Cancelled: return QObject::tr("cancelled at %1% — resumable").arg(pct);
    case JobState::Interrupted: return QObject::tr("interrupted at %1% — resumable").arg(pct);
    case JobState::Failed: return QObject::tr("failed: %1").arg(QString::fromStdString(r.error));
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
  switch (role) {
    case Qt::DisplayRole: return QString::fromStdString(r.spec.title) + " — " + describeJob(*u);
    case Qt::ToolTipRole:
      return QString::fromStdString(r.id + "\n" + r.spec.kind + (r.output.empty() ? "" : "\n" + r.output));
    case IdRole: return QString::fromStdString(r.id);
    case KindRole: return QString::fromStdString(r.spec.kind);
    case StateRole: return QString::fromLatin1(jobs::to_string(r.state));
    case FractionRole: return r.fraction;
    case EtaRole: return u->progress.eta_s;
    case StageRole: return QString::fromStdString(r.stage);
    case OutputRole: return QString::fromStdString(r.output);
    case ErrorRole: return QString::fromStdString(r.error);
    case CanCancelRole: return r.state == jobs::JobState::Queued || r.state == jobs::JobState::Running;
    case CanRetryRole:
      return r.state == jobs::JobState::Failed || r.state == jobs::JobState::Cancelled ||
             r.state == jobs::JobState::Interrupted;
  }
  return {};
}

QHash<int, QByteArray> JobListModel::roleNames() const {
  return {{IdRole, "id"}, {KindRole, "kind"}, {StateRole, "state"}, {FractionRole, "fraction"},
          {EtaRole, "eta"}, {StageRole, "stage"}, {OutputRole, "output"}, {ErrorRole, "error"}};
}

}  // namespace s2v::ui
