#pragma once
// Loading a module's parameters from safetensors files by name: the module is built with the
// official names, so loading is "walk named_parameters(), look each name up". Every missing,
// unexpected or mis-shaped name is collected and reported in one s2v::Error.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "models/wan/dit_config.h"
#include "models/weights/safetensors.h"

namespace s2v::wan {

struct StateCheck {
  std::vector<std::string> missing;     // expected, not found
  std::vector<std::string> unexpected;  // found, not expected
  std::vector<std::string> mismatched;  // "name: expected [..], found [..]"
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  // One sentence per category, every name listed.
  std::string describe() const;
};

// Compares expected names/shapes with what a checkpoint holds.
StateCheck check_state(const ParameterShapes& expected,
                       const std::map<std::string, std::vector<int64_t>>& found);

// Names (prefix removed) and shapes of the tensors under `prefix` in the files.
std::map<std::string, std::vector<int64_t>> state_shapes(
    const std::vector<const weights::SafetensorsFile*>& files, const std::string& prefix = "");

// The module's parameters and buffers as ParameterShapes (sorted by name).
ParameterShapes module_parameters(const torch::nn::Module& module);

struct LoadOptions {
  std::string prefix;             // e.g. "model." for the parity files, "" for the checkpoint
  bool allow_unexpected = false;  // tolerate extra tensors under the prefix
};

// Copies every parameter/buffer of `module` from the files (tensors converted to the parameter's
// dtype and device). Throws s2v::Error(Corrupt) listing every missing / unexpected / mis-shaped
// name, naming the file(s), before anything is copied.
void load_state(torch::nn::Module& module, const std::vector<const weights::SafetensorsFile*>& files,
                const LoadOptions& options = {});
void load_state(torch::nn::Module& module, const weights::SafetensorsFile& file,
                const std::string& prefix = "");

}  // namespace s2v::wan
