#pragma once
// The paper's networks for curation, built from the weight files named in a curate job's params.
// One table (curation_networks) names them for the CLI flags, the job params and the GUI's
// settings, so the three never disagree. No LibTorch in this header.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/curation/curate.h"
#include "models/base/error.h"

namespace s2v::curation {

struct CurationNetwork {
  std::string param;   // job param and CLI flag (--<param>), e.g. "pose_weights"
  std::string label;   // for the GUI, e.g. "ViTPose whole-body"
  std::string help;    // what it replaces and which file it takes
};
const std::vector<CurationNetwork>& curation_networks();

// Builds every network whose param is a non-empty path. Throws s2v::Error naming the file when a
// weight file cannot be loaded (wrong file, missing or mis-shaped tensors).
void load_curation_models(const nlohmann::json& params, CurateOptions& options);

}  // namespace s2v::curation
