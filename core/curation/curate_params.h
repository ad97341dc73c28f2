#pragma once
// The curate job's parameters, typed: built by `s2v curate` and the Curate workspace, read by the
// job (core/curate_job/curate_job.h). Stored in the job's JSON as
//   {"inputs": [path...], "db": "scores.db",
//    "preset": "talking-head" | "/path/preset.json" | {preset JSON, as Preset::to_json},
//    "shard": [i, N], "sample_fps": 4, "max_seconds": 0, "jobs": 2,
//    "<network param>": "/path/weights", ...}   (curation_networks(): pose_weights, dover_weights...)
// The network weights stay top-level keys, so jobs journaled before this type still resume.
// No LibTorch, no Qt: the GUI links it.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace s2v::curation {

inline constexpr double kMaxSampleFps = 120.0;  // sample_fps above 0 and at most this
inline constexpr int kMaxCurateJobs = 64;       // per-frame worker threads of one job

struct CurateParams {
  std::vector<std::string> inputs;  // clips and folders (absolute paths)
  std::string db;                   // the results database
  nlohmann::json preset = "talking-head";  // a built-in name, a preset file, or a preset object
  int shard_index = 0, shard_count = 1;
  double sample_fps = 4.0;                 // frames sampled per second of video (kDefaultSampleFps)
  double max_seconds = 0.0;                // 0: the whole clip
  std::optional<int> jobs;                 // threads for a clip's per-frame metrics; unset: the job's default
  std::map<std::string, std::string> weights;  // curation_networks() param -> weight file

  // Throws s2v::Error(InvalidArgument) with a sentence naming the first bad value.
  void validate() const;
  nlohmann::json to_json() const;
  // Reads and validates; a missing optional key keeps its default, an unknown key is an error
  // (a misspelt network param would otherwise silently fall back).
  static CurateParams from_json(const nlohmann::json& j);
};

}  // namespace s2v::curation
