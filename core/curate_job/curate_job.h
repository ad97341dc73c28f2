#pragma once
// The "curate" job: score a list of clips (files or folders) into a results database.
// Params (JSON, all but inputs/db optional):
//   {"inputs": [path...], "db": "scores.db", "preset": "talking-head" | "/path/preset.json",
//    "shard": [i, N], "sample_fps": 4, "max_seconds": 0}
// Clips are listed in a stable order (folders expanded, sorted); shard i of N takes every clip
// whose position p has p % N == i, so N machines split a corpus without a coordinator. A clip
// already scored without error is skipped (resume); a clip that cannot be decoded gets a row with
// verdict "error" and its sentence, and the run goes on. Every row is committed as it is scored.

#include <string>
#include <vector>

#include "core/jobs/job.h"

namespace s2v::curation {

inline constexpr const char* kCurateKind = "curate";
inline constexpr double kMaxSampleFps = 120.0;  // sample_fps above 0 and at most this

// Files to score from inputs: files as given, folders expanded (one level, sorted) to the files
// whose content probes as video. Throws s2v::Error(NotFound) for a missing input. Subfolders of
// an input folder are not searched; they are added to *skipped_folders when it is given.
std::vector<std::string> list_clips(const std::vector<std::string>& inputs,
                                    std::vector<std::string>* skipped_folders = nullptr);
std::vector<std::string> shard_of(const std::vector<std::string>& clips, int index, int count);

std::string run_curate(jobs::JobContext& ctx);

}  // namespace s2v::curation
