#include "core/jobs/job_registry.h"

#include "models/base/error.h"

namespace s2v::jobs {

void JobRegistry::add(const std::string& kind, JobRunner runner) { runners_[kind] = std::move(runner); }

const JobRunner& JobRegistry::runner(const std::string& kind) const {
  auto it = runners_.find(kind);
  if (it == runners_.end())
    throw Error("this build cannot run jobs of kind '" + kind + "'", ErrorKind::Unsupported, kind);
  return it->second;
}

std::vector<std::string> JobRegistry::kinds() const {
  std::vector<std::string> out;
  for (auto& [k, _] : runners_) out.push_back(k);
  return out;
}

}  // namespace s2v::jobs
