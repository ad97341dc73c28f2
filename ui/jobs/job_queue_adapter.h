#pragma once
// Adapts the core job queue to Qt: engine events arrive on the worker thread and are re-emitted
// here as queued signals on the GUI thread. Widgets talk to jobs only through this object.

#include <QObject>
#include <QString>
#include <memory>

#include "core/jobs/job_queue.h"

namespace s2v::ui {

struct JobUpdate {
  jobs::JobRecord record;
  jobs::Progress progress;
};

class JobQueueAdapter : public QObject {
  Q_OBJECT
 public:
  // The store root defaults to QStandardPaths::AppDataLocation + "/jobs" (S2V_DATA_DIR overrides).
  explicit JobQueueAdapter(QObject* parent = nullptr);
  ~JobQueueAdapter() override;

  static QString defaultStoreRoot();

  QString submit(const jobs::JobSpec& spec);  // empty string + error signal on failure
  bool cancel(const QString& id);
  bool resume(const QString& id);
  std::vector<jobs::JobRecord> jobs() const;
  jobs::JobQueue& queue() { return *queue_; }
  jobs::JobStore& store() { return *store_; }

 signals:
  void jobAdded(const s2v::ui::JobUpdate& update);
  void jobChanged(const s2v::ui::JobUpdate& update);
  void jobProgress(const s2v::ui::JobUpdate& update);
  void previewReady(const QString& jobId, const QString& path);
  void error(const QString& message);

 private:
  std::unique_ptr<jobs::JobRegistry> registry_;
  std::unique_ptr<jobs::JobStore> store_;
  std::unique_ptr<jobs::JobQueue> queue_;
};

}  // namespace s2v::ui

Q_DECLARE_METATYPE(s2v::ui::JobUpdate)
