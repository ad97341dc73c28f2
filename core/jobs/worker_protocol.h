#pragma once
// One journalled job run to its end in a process of its own: `s2v worker ID --json` (also
// `s2v jobs run ID --json`). The GUI creates the job's record, starts the worker with its stdout
// and stderr going to files in the job folder, and follows the JSON lines it writes; the CLI's
// --json output of every job command is the same stream. No Qt, no LibTorch.
//
// A process that dies (a CUDA fault, an abort() in a kernel library, the kernel's OOM killer)
// takes only its job with it: the record says "running" while nobody holds its lock, so it reads
// as interrupted, and a resume continues from the last finished clip.

#include <string>

#include <nlohmann/json.hpp>

#include "core/jobs/job_queue.h"

namespace s2v::jobs {

// Exit status of `s2v worker`: what became of the job.
enum WorkerExit : int {
  kWorkerDone = 0,
  kWorkerFailed = 1,
  kWorkerUsage = 2,        // no such job, a bad ID or option
  kWorkerBusy = 3,         // final already, or another process runs it
  kWorkerOutOfMemory = 4,  // failed for want of host or device memory
  kWorkerCancelled = 130,
};
WorkerExit worker_exit_for(const JobRecord& r);

// Files in the job folder (appended to by every attempt).
inline constexpr const char* kWorkerStream = "worker.jsonl";  // stdout: the JSON lines
inline constexpr const char* kWorkerLog = "worker.log";       // stderr: messages, warnings

// One line of the stream: {"event", "job", "kind", "state", "stage", "fraction", "step", "steps",
// "clip", "clips", "eta_s"[, "preview"][, "message"][, "error", "error_kind"][, "output"]}.
nlohmann::json progress_line(const JobEvent& e);
// The reader's half: applies a line to what it knows of the job (record and last progress);
// returns the event type it carried. Throws nlohmann::json::exception for a line that is not one.
JobEvent::Type apply_progress_line(const nlohmann::json& line, JobRecord& record, Progress& progress);

}  // namespace s2v::jobs
