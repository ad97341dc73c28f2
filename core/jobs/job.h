#pragma once
// Jobs: value types shared by the queue, the CLI and the UI adapter. No Qt, no LibTorch.
//
// On disk every job is a folder <data>/jobs/<id>/ holding job.json (the record, rewritten
// atomically), state.json (the runner's resume checkpoint), a lock file held with flock() by the
// process running it, a cancel file that any process may create to ask for cancellation, and the
// job's working files. A record that says "running" while nobody holds its lock was interrupted.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "models/base/cancel.h"

namespace s2v::jobs {

enum class JobState { Queued, Running, Done, Failed, Cancelled, Interrupted };
const char* to_string(JobState s);
JobState job_state_from_string(const std::string& s);
inline bool is_final(JobState s) {
  return s == JobState::Done || s == JobState::Failed || s == JobState::Cancelled;
}

// One progress report. Fractions and ETA are filled by the queue from what the runner reports.
struct Progress {
  std::string stage;        // "encoding", "denoising", "decoding", ...
  int step = 0, steps = 0;  // step i of n within the current clip/segment (0/0 when n/a)
  int clip = 0, clips = 0;  // clip i of n (0/0 when n/a)
  double fraction = 0.0;    // of the whole job, 0..1
  double eta_s = -1.0;      // seconds left, -1 when unknown
  std::string preview;      // optional payload: a finished clip or frame path
  std::string message;      // a sentence for logs
};

struct JobSpec {
  std::string kind;          // registry key: "test-pattern", "generate", "curate"
  std::string title;         // shown in the job list
  nlohmann::json params;     // everything the runner needs; must be enough to resume
  std::string output;        // final output path (may be empty: the job picks one in its folder)
};

struct JobRecord {
  std::string id;
  JobSpec spec;
  JobState state = JobState::Queued;
  double fraction = 0.0;
  std::string stage;
  std::string error;         // a sentence, for Failed
  std::string error_kind;    // for Failed: s2v::to_string(ErrorKind) ("out of memory", ...), or
                             // "crashed" when the process running it died (s2v worker, the GUI)
  std::string output;        // what the job produced (set when Done)
  int64_t created_ms = 0, updated_ms = 0;
  int attempts = 0;          // runs started (resumes count)
};

nlohmann::json to_json(const JobRecord& r);
JobRecord record_from_json(const nlohmann::json& j);

// Cooperative cancellation: the engine's one token (models/base/cancel.h), created per run with
// the job's cancel file. Checked at least once per denoising step / segment / frame pair.
using CancelToken = s2v::CancelToken;

// What a runner sees: where to work, how to report, how to stop, what to resume from.
class JobContext {
 public:
  using Reporter = std::function<void(const Progress&)>;
  JobContext(const JobRecord& record, std::filesystem::path folder, CancelToken& cancel,
             Reporter reporter);

  const JobRecord& record() const { return record_; }
  const nlohmann::json& params() const { return record_.spec.params; }
  const std::filesystem::path& folder() const { return folder_; }
  CancelToken& cancel() { return cancel_; }
  void check_cancelled() const { cancel_.throw_if_requested(); }

  // Reports progress; `done_units`/`total_units` drive the fraction and an ETA learned from the
  // units done in this run (units finished before a resume are not counted as fast). First checks
  // for cancellation like check_cancelled(): report only where the job may stop.
  void report(Progress p, double done_units, double total_units);

  // Resume checkpoint: whatever the runner needs to continue (e.g. {"segments_done": 3}).
  // save_state writes state.json atomically; state() is what was saved before (null if none).
  nlohmann::json state() const;
  void save_state(const nlohmann::json& s);

 private:
  JobRecord record_;
  std::filesystem::path folder_;
  CancelToken& cancel_;
  Reporter reporter_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::optional<double> first_units_;
};

// A runner does the work and returns the output path. Throwing s2v::Cancelled marks the job
// cancelled; any other exception marks it failed with the exception's sentence.
using JobRunner = std::function<std::string(JobContext&)>;

int64_t now_ms();

// The ErrorKind name of an exception a runner threw: an s2v::Error's kind, "out of memory" for
// std::bad_alloc (and for LibTorch's allocator messages), else "error".
std::string error_kind_of(const std::exception& e);
inline constexpr const char* kOutOfMemoryKind = "out of memory";
inline constexpr const char* kCrashedKind = "crashed";

}  // namespace s2v::jobs
