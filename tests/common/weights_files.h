#pragma once
// Weights on disk for the loader tests, read the way the app reads them: a parity file's "model."
// tensors through open_checkpoint + under_prefix, and a name -> tensor map written as a real
// safetensors file first (the loaders take files, not maps).

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/weights/checkpoint.h"
#include "models/weights/safetensors.h"
#include "models/weights/source_views.h"

namespace s2v::test {

inline std::shared_ptr<weights::TensorSource> model_weights(const weights::SafetensorsFile& parity_file) {
  return weights::under_prefix(weights::open_checkpoint(parity_file.path()), "model.");
}

inline std::shared_ptr<weights::TensorSource> saved_weights(const std::filesystem::path& file,
                                                            const std::map<std::string, torch::Tensor>& tensors) {
  weights::save_safetensors(file, std::vector<std::pair<std::string, torch::Tensor>>(tensors.begin(), tensors.end()));
  return weights::open_checkpoint(file);
}

}  // namespace s2v::test
