#pragma once
// Adapts the weights library's TensorSource (a safetensors file, a sharded set or a .pth archive
// read by the restricted unpickler, see models/weights/checkpoint.h) to the StateSource the umT5
// and wav2vec2 loaders take, e.g.
//   load_umt5(*model, state_source(*weights::open_checkpoint("models_t5_umt5-xxl-enc-bf16.pth")));

#include <memory>
#include <string>

#include "models/t5/module_state.h"

namespace s2v::weights {
class TensorSource;
}

namespace s2v {

// Names under `prefix`, prefix stripped. The source must outlive the result.
StateSource state_source(const weights::TensorSource& source, const std::string& prefix = "");

}  // namespace s2v
