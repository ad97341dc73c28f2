#include "core/jobs/job.h"

#include <fstream>
#include <new>
#include <sstream>

#include "models/base/atomic_file.h"
#include "models/base/error.h"

namespace s2v::jobs {

const char* to_string(JobState s) {
  switch (s) {
    case JobState::Queued: return "queued";
    case JobState::Running: return "running";
    case JobState::Done: return "done";
    case JobState::Failed: return "failed";
    case JobState::Cancelled: return "cancelled";
    case JobState::Interrupted: return "interrupted";
  }
  return "queued";
}

JobState job_state_from_string(const std::string& s) {
  for (JobState st : {JobState::Queued, JobState::Running, JobState::Done, JobState::Failed,
                      JobState::Cancelled, JobState::Interrupted})
    if (s == to_string(st)) return st;
  throw Error("unknown job state '" + s + "'", ErrorKind::Corrupt);
}

nlohmann::json to_json(const JobRecord& r) {
  return {{"id", r.id},
          {"kind", r.spec.kind},
          {"title", r.spec.title},
          {"params", r.spec.params},
          {"requested_output", r.spec.output},
          {"state", to_string(r.state)},
          {"fraction", r.fraction},
          {"stage", r.stage},
          {"error", r.error},
          {"error_kind", r.error_kind},
          {"output", r.output},
          {"created_ms", r.created_ms},
          {"updated_ms", r.updated_ms},
          {"attempts", r.attempts}};
}

JobRecord record_from_json(const nlohmann::json& j) {
  JobRecord r;
  r.id = j.at("id").get<std::string>();
  r.spec.kind = j.at("kind").get<std::string>();
  r.spec.title = j.value("title", r.spec.kind);
  r.spec.params = j.value("params", nlohmann::json::object());
  r.spec.output = j.value("requested_output", std::string());
  r.state = job_state_from_string(j.value("state", std::string("queued")));
  r.fraction = j.value("fraction", 0.0);
  r.stage = j.value("stage", std::string());
  r.error = j.value("error", std::string());
  r.error_kind = j.value("error_kind", std::string());
  r.output = j.value("output", std::string());
  r.created_ms = j.value("created_ms", int64_t{0});
  r.updated_ms = j.value("updated_ms", int64_t{0});
  r.attempts = j.value("attempts", 0);
  return r;
}

JobContext::JobContext(const JobRecord& record, std::filesystem::path folder, CancelToken& cancel,
                       Reporter reporter)
    : record_(record), folder_(std::move(folder)), cancel_(cancel), reporter_(std::move(reporter)) {}

void JobContext::report(Progress p, double done_units, double total_units) {
  if (total_units > 0) p.fraction = std::clamp(done_units / total_units, 0.0, 1.0);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (!first_units_) first_units_ = done_units;  // units already done when this run started
  const double done_here = done_units - *first_units_;
  if (done_here > 0 && total_units > done_units)
    p.eta_s = elapsed / done_here * (total_units - done_units);
  else if (total_units > 0 && done_units >= total_units)
    p.eta_s = 0;
  // Every report is also a cancellation point: runners report where their work is consistent
  // (a clip written and its state committed), and a stage that cannot be interrupted (a clip's
  // decode) ends in a report. A cancel asked during it takes effect there, not a clip later. The
  // check comes first: what a report starts (the stage it names) is not begun after a cancel.
  cancel_.throw_if_requested();
  if (reporter_) reporter_(p);
}

nlohmann::json JobContext::state() const {
  std::ifstream in(folder_ / "state.json");
  if (!in) return nullptr;
  try {
    return nlohmann::json::parse(in);
  } catch (...) {
    return nullptr;  // a damaged checkpoint means "start over", never a crash
  }
}

void JobContext::save_state(const nlohmann::json& s) {
  write_file_atomically(folder_ / "state.json", s.dump(2));
}

std::string error_kind_of(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e)) return kOutOfMemoryKind;
  if (const auto* err = dynamic_cast<const Error*>(&e)) return to_string(err->kind());
  // LibTorch's own errors (c10::Error) when a runner lets one through: its allocators say so
  const std::string what = e.what();
  for (const char* oom : {"out of memory", "can't allocate memory", "not enough memory"})
    if (what.find(oom) != std::string::npos) return kOutOfMemoryKind;
  return to_string(ErrorKind::Generic);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace s2v::jobs
