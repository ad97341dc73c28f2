#include "core/jobs/worker_protocol.h"

namespace s2v::jobs {

WorkerExit worker_exit_for(const JobRecord& r) {
  switch (r.state) {
    case JobState::Done: return kWorkerDone;
    case JobState::Cancelled: return kWorkerCancelled;
    case JobState::Failed: return r.error_kind == kOutOfMemoryKind ? kWorkerOutOfMemory : kWorkerFailed;
    default: return kWorkerFailed;
  }
}

nlohmann::json progress_line(const JobEvent& e) {
  const auto& p = e.progress;
  const auto& r = e.record;
  nlohmann::json j = {{"event", e.type == JobEvent::Type::Added     ? "added"
                                : e.type == JobEvent::Type::Changed ? "changed"
                                                                    : "progress"},
                      {"job", r.id},           {"kind", r.spec.kind},
                      {"state", to_string(r.state)},
                      {"stage", p.stage.empty() ? r.stage : p.stage},
                      {"fraction", r.fraction}, {"step", p.step},  {"steps", p.steps},
                      {"clip", p.clip},         {"clips", p.clips}, {"eta_s", p.eta_s}};
  if (!p.preview.empty()) j["preview"] = p.preview;
  if (!p.message.empty()) j["message"] = p.message;
  if (!r.error.empty()) j["error"] = r.error;
  if (!r.error_kind.empty()) j["error_kind"] = r.error_kind;
  if (!r.output.empty()) j["output"] = r.output;
  return j;
}

JobEvent::Type apply_progress_line(const nlohmann::json& j, JobRecord& r, Progress& p) {
  const std::string event = j.at("event").get<std::string>();
  r.state = job_state_from_string(j.at("state").get<std::string>());
  r.fraction = j.value("fraction", r.fraction);
  r.stage = j.value("stage", r.stage);
  r.error = j.value("error", std::string());
  r.error_kind = j.value("error_kind", std::string());
  r.output = j.value("output", r.output);
  Progress q;
  q.stage = r.stage;
  q.step = j.value("step", 0);
  q.steps = j.value("steps", 0);
  q.clip = j.value("clip", 0);
  q.clips = j.value("clips", 0);
  q.fraction = r.fraction;
  q.eta_s = j.value("eta_s", -1.0);
  q.preview = j.value("preview", std::string());
  q.message = j.value("message", std::string());
  p = q;
  return event == "progress" ? JobEvent::Type::Progress
         : event == "added"  ? JobEvent::Type::Added
                             : JobEvent::Type::Changed;
}

}  // namespace s2v::jobs
