#pragma once
// Which runner serves which job kind. The app registers the kinds it offers at start-up.

#include <map>
#include <string>
#include <vector>

#include "core/jobs/job.h"

namespace s2v::jobs {

class JobRegistry {
 public:
  void add(const std::string& kind, JobRunner runner);
  bool has(const std::string& kind) const { return runners_.count(kind) != 0; }
  const JobRunner& runner(const std::string& kind) const;  // throws s2v::Error when unknown
  std::vector<std::string> kinds() const;

 private:
  std::map<std::string, JobRunner> runners_;
};

}  // namespace s2v::jobs
