#include "core/jobs/job_queue.h"

#include <algorithm>
#include <new>

#include "models/base/error.h"

namespace s2v::jobs {

JobQueue::JobQueue(JobStore& store, const JobRegistry& registry)
    : store_(store), registry_(registry), worker_([this] { worker_loop(); }) {}

JobQueue::~JobQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (running_cancel_) running_cancel_->request();
  }
  cv_.notify_all();
  worker_.join();
}

void JobQueue::set_listener(Listener listener) {
  std::lock_guard lock(listener_mutex_);
  listener_ = std::move(listener);
}

void JobQueue::notify(const JobEvent& e) {
  std::lock_guard lock(listener_mutex_);
  if (listener_) listener_(e);
}

void JobQueue::load_journal() {
  auto loaded = store_.list();
  std::vector<JobEvent> events;
  {
    std::lock_guard lock(mutex_);
    for (auto& r : loaded) {
      auto same = [&](const JobRecord& x) { return x.id == r.id; };
      if (std::any_of(records_.begin(), records_.end(), same)) continue;
      records_.push_back(r);
      events.push_back({JobEvent::Type::Added, r, {}});
    }
  }
  for (auto& e : events) notify(e);
}

std::string JobQueue::submit(JobSpec spec) {
  registry_.runner(spec.kind);  // unknown kinds fail here, before anything is written
  JobRecord r = store_.create(spec);
  {
    std::lock_guard lock(mutex_);
    records_.push_back(r);
    pending_.push_back(r.id);
  }
  notify({JobEvent::Type::Added, r, {}});
  cv_.notify_all();
  return r.id;
}

void JobQueue::journal(JobRecord& r) noexcept {
  try {
    store_.save(r);
  } catch (const std::exception& e) {
    // A full disk must not take the queue down: the state stays in memory (and reaches the
    // listener); a failure says that its record could not be written either.
    if (r.state == JobState::Failed && r.error.find("job record") == std::string::npos)
      r.error += std::string(" (the job record could not be updated either: ") + e.what() + ")";
  }
}

void JobQueue::update(const std::string& id, const std::function<void(JobRecord&)>& change,
                      JobEvent::Type type, const Progress& p) {
  JobRecord snapshot;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(records_.begin(), records_.end(),
                           [&](const JobRecord& r) { return r.id == id; });
    if (it == records_.end()) return;
    change(*it);
    if (type != JobEvent::Type::Progress) journal(*it);
    snapshot = *it;
  }
  notify({type, snapshot, p});
}

bool JobQueue::cancel(const std::string& id) {
  bool was_queued = false;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(records_.begin(), records_.end(),
                           [&](const JobRecord& r) { return r.id == id; });
    if (it == records_.end() || is_final(it->state)) return false;
    if (running_ == id) {
      if (running_cancel_) running_cancel_->request();
      return true;
    }
    auto p = std::find(pending_.begin(), pending_.end(), id);
    was_queued = p != pending_.end();
    if (was_queued) pending_.erase(p);
  }
  if (!was_queued) {
    // Not ours: maybe another process runs it. Ask through the cancel file.
    store_.request_cancel(id);
  }
  update(id, [](JobRecord& r) { r.state = JobState::Cancelled; r.stage = "cancelled"; },
         JobEvent::Type::Changed);
  return true;
}

bool JobQueue::resume(const std::string& id) { return enqueue_journalled(id, false); }

bool JobQueue::run_journalled(const std::string& id) { return enqueue_journalled(id, true); }

bool JobQueue::enqueue_journalled(const std::string& id, bool queued_too) {
  JobRecord snapshot;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(records_.begin(), records_.end(),
                           [&](const JobRecord& r) { return r.id == id; });
    if (it == records_.end()) {
      auto r = store_.load(id);  // throws for an unreadable record or an ID that is not one
      if (!r) return false;
      records_.push_back(*r);
      it = records_.end() - 1;
    }
    const JobState s = it->state;
    const bool resumable = s == JobState::Interrupted || s == JobState::Cancelled || s == JobState::Failed;
    const bool handed_over = queued_too && s == JobState::Queued &&
                             std::find(pending_.begin(), pending_.end(), id) == pending_.end() && running_ != id;
    if (!resumable && !handed_over) return false;
    if (!registry_.has(it->spec.kind)) return false;  // an unreadable record, or a kind this build lacks
    if (store_.is_locked(id)) return false;  // another process runs it
    // a job handed over queued keeps a cancel asked before its worker got here (the GUI clears
    // the file itself when it queues a resume); a resumed one drops the cancel that stopped it
    if (s != JobState::Queued) store_.clear_cancel(id);
    const JobRecord before = *it;
    it->state = JobState::Queued;
    it->error.clear();
    it->error_kind.clear();
    try {
      store_.save(*it);
    } catch (...) {
      *it = before;
      throw;
    }
    pending_.push_back(id);
    snapshot = *it;
  }
  notify({JobEvent::Type::Changed, snapshot, {}});
  cv_.notify_all();
  return true;
}

std::vector<JobRecord> JobQueue::jobs() const {
  std::lock_guard lock(mutex_);
  return records_;
}

std::optional<JobRecord> JobQueue::job(const std::string& id) const {
  std::lock_guard lock(mutex_);
  for (auto& r : records_)
    if (r.id == id) return r;
  return std::nullopt;
}

bool JobQueue::wait_until_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return pending_.empty() && running_.empty(); });
}

void JobQueue::worker_loop() {
  for (;;) {
    std::string id;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      id = pending_.front();
      pending_.pop_front();
      running_ = id;
    }
    try {
      run_one(id);
    } catch (const std::exception& e) {
      // run_one handles the runner's errors; this is the last line against anything else
      update(id, [&](JobRecord& r) {
        r.state = JobState::Failed;
        r.stage = "failed";
        r.error = e.what();
      }, JobEvent::Type::Changed);
    }
    {
      std::lock_guard lock(mutex_);
      running_.clear();
      running_cancel_ = nullptr;
    }
    cv_.notify_all();
  }
}

void JobQueue::run_one(const std::string& id) {
  std::unique_ptr<JobStore::RunLock> lock;
  std::string lock_error = "another process is already running this job";
  try {
    lock = store_.try_lock(id);
  } catch (const std::exception& e) {
    lock_error = e.what();
  }
  if (!lock) {
    update(id, [&](JobRecord& r) {
      r.state = JobState::Failed;
      r.stage = "failed";
      r.error = lock_error;
    }, JobEvent::Type::Changed);
    return;
  }
  CancelToken cancel(store_.cancel_file(id));
  JobRecord start;
  {
    std::lock_guard l(mutex_);
    running_cancel_ = &cancel;
    if (stopping_) cancel.request();
    auto it = std::find_if(records_.begin(), records_.end(),
                           [&](const JobRecord& r) { return r.id == id; });
    if (it == records_.end()) return;
    it->state = JobState::Running;
    it->attempts += 1;
    it->stage = "starting";
    journal(*it);
    start = *it;
  }
  notify({JobEvent::Type::Changed, start, {}});

  int64_t last_saved_ms = 0;
  Progress last;
  // A resumed job keeps its finished part: the bar never moves back within a run (its first
  // stages report 0 of their own work, not of the job's).
  const double kept = start.fraction;
  JobContext ctx(start, store_.folder(id), cancel, [&](const Progress& reported) {
    Progress p = reported;
    p.fraction = std::max(p.fraction, kept);
    last = p;
    const bool journal = now_ms() - last_saved_ms > 1000;
    if (journal) last_saved_ms = now_ms();
    update(id, [&](JobRecord& r) { r.fraction = p.fraction; r.stage = p.stage; },
           journal ? JobEvent::Type::Changed : JobEvent::Type::Progress, p);
  });

  try {
    std::string output = registry_.runner(start.spec.kind)(ctx);
    update(id, [&](JobRecord& r) {
      r.state = JobState::Done;
      r.fraction = 1.0;
      r.stage = "done";
      r.output = output;
    }, JobEvent::Type::Changed, last);
  } catch (const Cancelled&) {
    store_.clear_cancel(id);
    update(id, [](JobRecord& r) { r.state = JobState::Cancelled; r.stage = "cancelled"; },
           JobEvent::Type::Changed, last);
  } catch (const std::exception& e) {
    const std::string kind = error_kind_of(e);
    // std::bad_alloc says only "std::bad_alloc": name what happened
    const std::string what = dynamic_cast<const std::bad_alloc*>(&e)
                                 ? std::string("out of memory: the host could not allocate (") + e.what() + ")"
                                 : std::string(e.what());
    update(id, [&](JobRecord& r) {
      r.state = JobState::Failed;
      r.stage = "failed";
      r.error = what;
      r.error_kind = kind;
    }, JobEvent::Type::Changed, last);
  }
}

}  // namespace s2v::jobs
