#pragma once
// The journal: one folder per job under a root (<app data>/jobs). Safe to share between processes
// (the GUI and any number of `s2v` runs): records are rewritten atomically, and a running job
// holds an flock() on its folder's lock file, so a record that says "running" while its lock is
// free belongs to a process that died: it is reported as interrupted.

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "core/jobs/job.h"

namespace s2v::jobs {

class JobStore {
 public:
  explicit JobStore(std::filesystem::path root);

  // The default root: $S2V_DATA_DIR/jobs, else $XDG_DATA_HOME/s2v-studio/jobs, else
  // ~/.local/share/s2v-studio/jobs (the GUI's QStandardPaths::AppDataLocation agrees).
  static std::filesystem::path default_root();

  const std::filesystem::path& root() const { return root_; }
  // A job ID is one folder name of letters, digits, '.', '_' and '-' (not starting with '.'), so
  // folder(id) is always inside root(): "../../x" is refused.
  static bool valid_id(const std::string& id);
  // Throws s2v::Error(InvalidArgument) for an ID that is not valid_id().
  std::filesystem::path folder(const std::string& id) const;

  // Throws s2v::Error when the record cannot be written (then no folder is left behind).
  JobRecord create(const JobSpec& spec);
  // Stamps updated_ms. Throws s2v::Error naming job.json (a full disk, text that is not UTF-8).
  void save(JobRecord& record);
  // Loads a record; a stale "running"/"queued" record of a dead process reads as Interrupted
  // (and is saved so when the disk allows). nullopt when there is no such job; throws
  // s2v::Error(Corrupt) when job.json cannot be read or names another job (a copied folder).
  std::optional<JobRecord> load(const std::string& id) const;
  // Oldest first. A folder whose record cannot be read is listed too, as a failed job whose
  // error says why (and which cannot be resumed: its kind is empty).
  std::vector<JobRecord> list() const;

  // Deletes the job's folder (its record, checkpoint and working files; an output outside the
  // folder stays). Throws s2v::Error while a process runs the job or when the folder cannot go.
  void remove(const std::string& id);

  void request_cancel(const std::string& id) const;  // any process
  void clear_cancel(const std::string& id) const;
  std::filesystem::path cancel_file(const std::string& id) const { return folder(id) / "cancel"; }

  // Held while a job runs; released (and the lock file kept) on destruction.
  class RunLock {
   public:
    explicit RunLock(int fd) : fd_(fd) {}
    ~RunLock();
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;
   private:
    int fd_;
  };
  // nullptr when another process (or this one) already runs the job. Throws s2v::Error when the
  // lock file cannot be opened (e.g. something else, like a folder, sits under its name).
  std::unique_ptr<RunLock> try_lock(const std::string& id) const;
  bool is_locked(const std::string& id) const;

 private:
  std::filesystem::path root_;
};

}  // namespace s2v::jobs
