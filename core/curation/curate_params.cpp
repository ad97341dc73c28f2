#include "core/curation/curate_params.h"

#include <cmath>
#include <set>

#include "core/curation/network_models.h"
#include "models/base/error.h"

namespace s2v::curation {

namespace {
Error invalid(const std::string& what) { return Error(what, ErrorKind::InvalidArgument); }
}  // namespace

void CurateParams::validate() const {
  if (inputs.empty()) throw invalid("the curate job needs at least one clip or folder");
  if (db.empty()) throw invalid("the curate job needs a results database path");
  if (!(preset.is_string() || preset.is_object())) throw invalid("the curate job's preset must be a name, a file or a preset");
  if (!(shard_count >= 1 && shard_index >= 0 && shard_index < shard_count))
    throw invalid("shard must be i/N with 0 <= i < N, not " + std::to_string(shard_index) + "/" +
                  std::to_string(shard_count));
  if (!(sample_fps > 0 && sample_fps <= kMaxSampleFps))  // NaN fails this too
    throw invalid("sample_fps must be above 0 and at most " + std::to_string(int(kMaxSampleFps)) + ", not " +
                  std::to_string(sample_fps));
  if (!(max_seconds >= 0 && std::isfinite(max_seconds))) throw invalid("max_seconds must be 0 (all) or a positive number");
  if (jobs && (*jobs < 1 || *jobs > kMaxCurateJobs))
    throw invalid("jobs takes a whole number from 1 to " + std::to_string(kMaxCurateJobs) + ", not " + std::to_string(*jobs));
  std::set<std::string> known;
  for (const auto& n : curation_networks()) known.insert(n.param);
  for (const auto& [param, file] : weights)
    if (!known.count(param)) throw invalid("'" + param + "' is not a curation network (see s2v curate --help)");
}

nlohmann::json CurateParams::to_json() const {
  nlohmann::json j = {{"inputs", inputs},        {"db", db},
                      {"preset", preset},        {"shard", {shard_index, shard_count}},
                      {"sample_fps", sample_fps}, {"max_seconds", max_seconds}};
  if (jobs) j["jobs"] = *jobs;
  for (const auto& [param, file] : weights)
    if (!file.empty()) j[param] = file;
  return j;
}

CurateParams CurateParams::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw invalid("the curate job's parameters are not a JSON object");
  CurateParams p;
  std::set<std::string> networks;
  for (const auto& n : curation_networks()) networks.insert(n.param);
  try {
    for (const auto& [key, value] : j.items()) {
      if (key == "inputs") p.inputs = value.get<std::vector<std::string>>();
      else if (key == "db") p.db = value.get<std::string>();
      else if (key == "preset") p.preset = value;
      else if (key == "shard") {
        if (!value.is_array() || value.size() != 2) throw invalid("shard must be [i, N]");
        p.shard_index = value.at(0).get<int>();
        p.shard_count = value.at(1).get<int>();
      } else if (key == "sample_fps") p.sample_fps = value.get<double>();
      else if (key == "max_seconds") p.max_seconds = value.get<double>();
      else if (key == "jobs") p.jobs = value.get<int>();
      else if (networks.count(key)) {
        const auto file = value.get<std::string>();
        if (!file.empty()) p.weights[key] = file;
      } else throw invalid("unknown curate job parameter '" + key + "'");
    }
  } catch (const nlohmann::json::exception& e) {
    throw invalid(std::string("the curate job's parameters have a value of the wrong type: ") + e.what());
  }
  p.validate();
  return p;
}

}  // namespace s2v::curation
