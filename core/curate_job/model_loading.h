#pragma once
// The paper's networks for curation, built from the weight files named in a curate job's params
// (curation_networks() in core/curation/network_models.h names them). No LibTorch in this header.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/curation/curate.h"
#include "core/curation/network_models.h"
#include "models/base/error.h"

namespace s2v::curation {

// Builds every network whose param is a non-empty path. Throws s2v::Error naming the file when a
// weight file cannot be loaded (wrong file, missing or mis-shaped tensors).
// weights: curation_networks() param -> file (CurateParams::weights).
void load_curation_models(const std::map<std::string, std::string>& weights, CurateOptions& options);

}  // namespace s2v::curation
