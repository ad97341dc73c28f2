#pragma once
// The GUI's job queue. Every job runs in a worker process (`s2v worker ID --json`, the CLI's own
// job runner), never in the window's process: a CUDA fault, an abort() in a kernel library or a
// host-memory blow-up takes the worker down and the window stays; device memory is returned when
// the worker exits; a cancel that the engine does not honour in time ends with a kill.
//
// A job is journalled here (JobStore::create), then a worker takes it when its device is free
// (one worker per device by default: "cpu", "cuda:0", ...). The worker writes its JSON lines to
// <job>/worker.jsonl and its messages to <job>/worker.log; this object follows the stream and
// re-emits what it says as signals on the GUI thread. Cancel creates the job's cancel file and,
// after a grace period, kills the worker. A worker that dies by a signal leaves a job that Retry
// continues from its last finished clip; the job says "the engine crashed (signal N)" with the
// last lines of the log. Jobs that a worker of an earlier session still runs (the person chose
// "leave running" when quitting) are followed from their journal and log the same way.
//
// Widgets talk to jobs only through this object. No LibTorch here or below.

#include <QHash>
#include <QObject>
#include <QString>
#include <QStringList>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "core/jobs/job.h"
#include "core/jobs/job_store.h"

class QProcess;
class QTimer;

namespace s2v::ui {

struct JobUpdate {
  jobs::JobRecord record;
  jobs::Progress progress;
  bool cancelling = false;  // cancel asked, the worker has not stopped yet
};

class JobQueueAdapter : public QObject {
  Q_OBJECT
 public:
  // The store root defaults to QStandardPaths::AppDataLocation + "/jobs" (S2V_DATA_DIR overrides).
  explicit JobQueueAdapter(QObject* parent = nullptr);
  // Ends this session's workers as the shutdown policy says (default: cancel, kill after the grace).
  ~JobQueueAdapter() override;

  static QString defaultStoreRoot();

  QString submit(const jobs::JobSpec& spec);  // empty string + error signal on failure
  // Queued: cancelled at once. Running: the cancel file, then a kill after cancelGrace().
  bool cancel(const QString& id);
  // Failed, cancelled or interrupted jobs go back in the queue; the worker continues from the last
  // finished clip.
  bool resume(const QString& id);
  // Deletes a job that is not queued or running (its folder; an output outside it stays).
  bool remove(const QString& id);

  std::vector<jobs::JobRecord> jobs() const;
  std::optional<JobUpdate> job(const QString& id) const;
  // The finished clips (or segments) of a job, in order: those announced in this session, else
  // those its worker stream recorded, else the clip files in its folder.
  QStringList previews(const QString& id) const;
  // Jobs queued or running (ours, and those of earlier sessions we follow).
  QStringList activeJobs() const;
  bool isIdle() const { return activeJobs().isEmpty(); }
  // The process id of the worker running the job (0 when none is known).
  qint64 workerPid(const QString& id) const;
  QString jobFolder(const QString& id) const;
  jobs::JobStore& store() { return *store_; }

  // Polite cancel, then kill after this many milliseconds (default 10000).
  void setCancelGrace(int ms) { cancelGraceMs_ = ms; }
  int cancelGrace() const { return cancelGraceMs_; }
  void setMaxWorkersPerDevice(int n) { maxPerDevice_ = n < 1 ? 1 : n; }
  // Extra arguments for every worker started from now on (tests: --crash-after N, --oom-after N).
  void setWorkerArguments(const QStringList& args) { workerArgs_ = args; }

  enum class Shutdown { CancelJobs, LeaveRunning };
  // LeaveRunning: the workers outlive this object (they hold their journal locks; the next session
  // follows them). Queued jobs stay in the journal, where they read as interrupted.
  void setShutdownPolicy(Shutdown s) { shutdown_ = s; }
  // Cancels every queued and running job of this session.
  void cancelAll();

 signals:
  void jobAdded(const s2v::ui::JobUpdate& update);
  void jobChanged(const s2v::ui::JobUpdate& update);
  void jobProgress(const s2v::ui::JobUpdate& update);
  void jobRemoved(const QString& id);
  void previewReady(const QString& jobId, const QString& path);
  void idle();  // the last active job ended
  void error(const QString& message);

 private:
  struct Entry {
    JobUpdate u;
    QString lane;                 // device the job runs on
    QProcess* proc = nullptr;     // our worker
    bool attached = false;        // run by a worker of an earlier session
    QTimer* killTimer = nullptr;
    qint64 streamPos = 0;         // bytes of worker.jsonl read
    QByteArray partial;           // an unfinished last line
    QStringList previews;         // announced in this session
    bool resumeAfterExit = false; // Retry while the worker that ended the job is still exiting
  };
  Entry* find(const QString& id) const;
  QString laneOf(const jobs::JobSpec& spec) const;
  void schedule();
  void start(Entry& e);
  void follow(Entry& e);          // reads new lines of the worker stream
  void poll();                    // follows every stream; notices attached workers that ended
  void workerFinished(const QString& id, int code, bool crashed);
  void finishAttached(Entry& e);
  void kill(Entry& e);
  void save(Entry& e);            // journals e.u.record (an error becomes a signal)
  void emitChanged(Entry& e);
  void checkIdle();

  std::unique_ptr<jobs::JobStore> store_;
  std::vector<std::unique_ptr<Entry>> entries_;  // creation order
  std::deque<QString> pending_;
  QTimer* poll_;
  QStringList workerArgs_;
  int cancelGraceMs_ = 10000;
  int maxPerDevice_ = 1;
  Shutdown shutdown_ = Shutdown::CancelJobs;
  bool wasActive_ = false;
};

}  // namespace s2v::ui

Q_DECLARE_METATYPE(s2v::ui::JobUpdate)
