#include "ui/jobs/job_queue_adapter.h"

#include <QMetaObject>
#include <QStandardPaths>

#include "core/curate_job/curate_job.h"
#include "core/diagnostics/test_pattern.h"
#include "core/generate/generate_job.h"
#include "models/base/error.h"

namespace s2v::ui {

QString JobQueueAdapter::defaultStoreRoot() {
  const QByteArray env = qgetenv("S2V_DATA_DIR");
  if (!env.isEmpty()) return QString::fromLocal8Bit(env) + "/jobs";
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/jobs";
}

JobQueueAdapter::JobQueueAdapter(QObject* parent) : QObject(parent) {
  qRegisterMetaType<s2v::ui::JobUpdate>();
  registry_ = std::make_unique<jobs::JobRegistry>();
  registry_->add(diagnostics::kTestPatternKind, diagnostics::run_test_pattern);
  registry_->add(curation::kCurateKind, curation::run_curate);
  registry_->add(generate::kGenerateKind, generate::run_generate_job);
  store_ = std::make_unique<jobs::JobStore>(defaultStoreRoot().toStdString());
  queue_ = std::make_unique<jobs::JobQueue>(*store_, *registry_);
  queue_->set_listener([this](const jobs::JobEvent& e) {
    JobUpdate u{e.record, e.progress};
    const auto type = e.type;
    // Queued connection: always delivered on the GUI thread, never blocking the worker.
    QMetaObject::invokeMethod(this, [this, u, type] {
      switch (type) {
        case jobs::JobEvent::Type::Added: emit jobAdded(u); break;
        case jobs::JobEvent::Type::Changed: emit jobChanged(u); break;
        case jobs::JobEvent::Type::Progress: emit jobProgress(u); break;
      }
      if (!u.progress.preview.empty())
        emit previewReady(QString::fromStdString(u.record.id), QString::fromStdString(u.progress.preview));
    }, Qt::QueuedConnection);
  });
  queue_->load_journal();
}

JobQueueAdapter::~JobQueueAdapter() {
  queue_->set_listener(nullptr);
  queue_.reset();  // cancels and joins the worker
}

QString JobQueueAdapter::submit(const jobs::JobSpec& spec) {
  try {
    return QString::fromStdString(queue_->submit(spec));
  } catch (const std::exception& e) {
    emit error(QString::fromUtf8(e.what()));
    return {};
  }
}

bool JobQueueAdapter::cancel(const QString& id) { return queue_->cancel(id.toStdString()); }
bool JobQueueAdapter::resume(const QString& id) { return queue_->resume(id.toStdString()); }
std::vector<jobs::JobRecord> JobQueueAdapter::jobs() const { return queue_->jobs(); }

}  // namespace s2v::ui
