#pragma once
// Every job (this session's, the journal's, and those an earlier session's worker still runs) as
// a list model that the job dock views: title, state, progress, a thumbnail of the newest clip or
// of the output, and what can be done with it.

#include <QAbstractListModel>
#include <QHash>
#include <QImage>
#include <vector>

#include "ui/jobs/job_queue_adapter.h"

namespace s2v::ui {

class JobListModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Role {
    IdRole = Qt::UserRole + 1, KindRole, StateRole, FractionRole, EtaRole, StageRole, OutputRole,
    ErrorRole, CanCancelRole, CanRetryRole,
    TitleRole,        // the job's title
    DescriptionRole,  // describeJob(): "denoising · clip 2/3 · 40% · 1:05 left", "failed: ..."
    CancellingRole,   // a cancel was asked and the worker has not stopped yet
    CanRemoveRole,    // neither queued nor running
    CanPreviewRole,   // a render or test pattern with a clip or an output to show
    ErrorKindRole,    // "out of memory", "crashed", ...
  };
  explicit JobListModel(JobQueueAdapter* adapter, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

  int rowOf(const QString& id) const;
  const JobUpdate* at(int row) const;
  // The thumbnail's picture (null until decoded), for tests and the delegate.
  QImage thumbnail(const QString& id) const;

 signals:
  void thumbnailReady(const QString& id);

 private:
  void upsert(const JobUpdate& u);
  void removeJob(const QString& id);
  void requestThumbnail(const QString& id, const QString& source) const;

  JobQueueAdapter* adapter_;
  std::vector<JobUpdate> rows_;
  struct Thumb {
    QString source;  // the file it shows (its first frame)
    QImage image;
  };
  mutable QHash<QString, Thumb> thumbs_;
};

// "3:05 left", "done", "Cancelling…", "failed: ..." for a row.
QString describeJob(const JobUpdate& u);

}  // namespace s2v::ui
