#pragma once
// Every job (this session's and the journal's) as a list model that the job dock views.

#include <QAbstractListModel>
#include <vector>

#include "ui/jobs/job_queue_adapter.h"

namespace s2v::ui {

class JobListModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Role {
    IdRole = Qt::UserRole + 1, KindRole, StateRole, FractionRole, EtaRole, StageRole, OutputRole,
    ErrorRole, CanCancelRole, CanRetryRole,
  };
  explicit JobListModel(JobQueueAdapter* adapter, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

  int rowOf(const QString& id) const;
  const JobUpdate* at(int row) const;

 private:
  void upsert(const JobUpdate& u);
  std::vector<JobUpdate> rows_;
};

// "3:05 left", "done", ... for a row.
QString describeJob(const JobUpdate& u);

}  // namespace s2v::ui
