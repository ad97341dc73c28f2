#pragma once
// Optional curation networks (ViTPose whole-body, CLIP ViT-L/14 + aesthetic MLP) from the weight
// paths in a curate job's params. No LibTorch in this header.

#include <nlohmann/json.hpp>

#include "core/curation/curate.h"
#include "models/base/error.h"

namespace s2v::curation {

// Throws s2v::Error naming the file when a given weight file cannot be loaded.
void load_curation_models(const nlohmann::json& params, CurateOptions& options);

}  // namespace s2v::curation
