#pragma once
// Loading a LibTorch module's parameters from a checkpoint by name. Modules register their
// parameters under the official state_dict names, so loading is "walk named_parameters(), look
// each name up in the source". A StateSource is a name -> tensor view over anything: a
// SafetensorsFile (with an optional key prefix such as "model."), a name -> tensor map (as the
// restricted .pth reader produces), or a callback. Every missing, unexpected and mis-shaped tensor
// is reported at once in one s2v::Error.
//
// (Shared by s2v_t5 and s2v_wav2vec2; a candidate to move into models/weights/ once that library
// has its own TensorSource.)

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "models/base/cancel.h"

namespace torch::nn {
class Module;
}
namespace s2v::weights {
class SafetensorsFile;
}

namespace s2v {

struct StateSource {
  std::string description;                 // for messages, e.g. "'/x/models_t5.pth'"
  std::vector<std::string> names;          // every tensor name, prefix already stripped
  // The shape of a tensor without materialising it, and the tensor itself (any dtype, CPU).
  std::function<std::vector<int64_t>(const std::string&)> shape;
  std::function<torch::Tensor(const std::string&)> get;
};

// Names under `prefix` (e.g. "model."), with the prefix stripped; other names are not part of the
// source (parity files also hold "in." and "out." tensors).
StateSource state_source(const weights::SafetensorsFile& file, const std::string& prefix = "");
// The map must outlive the returned source.
StateSource state_source(const std::map<std::string, torch::Tensor>& tensors,
                         std::string description, const std::string& prefix = "");

struct LoadOptions {
  std::string what = "weights";            // "umT5 weights", used in the message
  // Source names starting with one of these are known but unused (e.g. "lm_head.").
  std::vector<std::string> ignored_prefixes;
  // Optional renaming of source names to module names (foreign or newer spellings).
  std::function<std::string(const std::string&)> rename;
  // Parameters that may be absent from the source (left as initialised).
  std::vector<std::string> optional_names;
  // Checked before each tensor is copied (s2v::Cancelled); the module is then partly loaded.
  const CancelToken* cancel = &CancelToken::none();
};

// A problem found while matching a source against a module.
struct LoadProblem {
  enum class Kind { Missing, Unexpected, Shape } kind;
  std::string name;
  std::string detail;                      // for Shape: "expected [a, b], found [c]"
};

// Matches names and shapes; empty when the source fits the module exactly.
std::vector<LoadProblem> check_module_state(const torch::nn::Module& module,
                                            const StateSource& source,
                                            const LoadOptions& options = {});

// Copies every parameter (and buffer) from the source, converting to the parameter's dtype and
// device. Throws s2v::Error(NotFound/Corrupt) listing every problem when the source does not fit;
// nothing is copied in that case.
void load_module_state(torch::nn::Module& module, const StateSource& source,
                       const LoadOptions& options = {});

}  // namespace s2v
