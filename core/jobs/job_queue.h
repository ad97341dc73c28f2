#pragma once
// The job queue: one worker thread owns the accelerator and runs one heavy job at a time, in
// submission order. Events (added / state changed / progress) go to one listener, called on the
// worker thread (or the caller's thread for submit/cancel); the Qt adapter in ui/ re-emits them
// as queued signals. Every state change is journaled through the JobStore.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/jobs/job.h"
#include "core/jobs/job_registry.h"
#include "core/jobs/job_store.h"

namespace s2v::jobs {

struct JobEvent {
  enum class Type { Added, Changed, Progress };
  Type type = Type::Changed;
  JobRecord record;    // snapshot after the event
  Progress progress;   // for Progress events (and the last one for Changed)
};

class JobQueue {
 public:
  using Listener = std::function<void(const JobEvent&)>;

  JobQueue(JobStore& store, const JobRegistry& registry);
  ~JobQueue();  // cancels the running job, waits for the worker
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  void set_listener(Listener listener);

  // Loads the journal: jobs of earlier runs are listed (interrupted ones can be resumed).
  void load_journal();

  std::string submit(JobSpec spec);
  // Queued: cancelled at once. Running: cancellation is requested, the runner stops at its next
  // check. Returns false when the job is unknown or already final.
  bool cancel(const std::string& id);
  // Interrupted, cancelled or failed jobs go back in the queue and continue from their last
  // checkpoint. Returns false when the job cannot be resumed.
  bool resume(const std::string& id);
  // A job that another process journalled and hands over (the GUI creates the record, then starts
  // `s2v worker ID`): queued, or anything resume() takes. Returns false when it is final, of a
  // kind this build lacks, or locked by a process that runs it.
  bool run_journalled(const std::string& id);

  std::vector<JobRecord> jobs() const;
  std::optional<JobRecord> job(const std::string& id) const;

  // Blocks until nothing is queued or running (or the timeout passes); true when idle.
  bool wait_until_idle(std::chrono::milliseconds timeout = std::chrono::hours(24 * 365));

 private:
  bool enqueue_journalled(const std::string& id, bool queued_too);
  void worker_loop();
  void run_one(const std::string& id);
  void notify(const JobEvent& e);
  // store_.save that never throws (a full disk): a failed job's error then says so.
  void journal(JobRecord& r) noexcept;
  void update(const std::string& id, const std::function<void(JobRecord&)>& change,
              JobEvent::Type type, const Progress& p = {});

  JobStore& store_;
  const JobRegistry& registry_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<JobRecord> records_;       // every known job, in creation order
  std::deque<std::string> pending_;      // ids waiting to run
  std::string running_;                  // id of the running job, empty when none
  CancelToken* running_cancel_ = nullptr;
  bool stopping_ = false;
  Listener listener_;
  std::mutex listener_mutex_;
  std::thread worker_;
};

}  // namespace s2v::jobs
