#pragma once
// The "curate" job: score a list of clips (files or folders) into a results database.
// Params: CurateParams (core/curation/curate_params.h), as its to_json() writes them.
// Clips are listed in a stable order (folders expanded, sorted); shard i of N takes every clip
// whose position p has p % N == i, so N machines split a corpus without a coordinator. A clip
// already scored without error is skipped (resume); a clip that cannot be decoded gets a row with
// verdict "error" and its sentence, and the run goes on. Every row is committed as it is scored,
// then reported with the clip as the progress preview (the GUI's table shows it from there).

#include <string>
#include <vector>

#include "core/curation/curate_params.h"
#include "core/jobs/job.h"

namespace s2v::curation {

struct CurateOptions;

inline constexpr const char* kCurateKind = "curate";

// Files to score from inputs: files as given, folders expanded (one level, sorted) to the files
// whose content probes as video. Throws s2v::Error(NotFound) for a missing input. Subfolders of
// an input folder are not searched; they are added to *skipped_folders when it is given.
std::vector<std::string> list_clips(const std::vector<std::string>& inputs,
                                    std::vector<std::string>* skipped_folders = nullptr);
std::vector<std::string> shard_of(const std::vector<std::string>& clips, int index, int count);

// The job's runner. The job's cancel token reaches every long step: the prefetching decoder
// (checked per decoded frame), ClipScorer's per-frame workers and each network between its units
// (a frame pair, a view, a lag), so a cancel stops the job within one such unit.
std::string run_curate(jobs::JobContext& ctx);
// As above, starting from `base`: networks already built (a test's instrumented model) are kept;
// those the params name are loaded over them.
std::string run_curate_with(jobs::JobContext& ctx, const CurateOptions& base);

}  // namespace s2v::curation
