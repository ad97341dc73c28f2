#pragma once
// One name -> tensor view over a checkpoint, whatever holds it: a single safetensors file, a
// sharded set described by `*.index.json` ({"weight_map": {name: shard file}}), a PyTorch .pth
// zip archive (read by our restricted unpickler, pth.h), or a GGUF file (gguf.h; its Q* tensors
// stay packed until dequantised). Loaders "walk the parameter list and look each name up"; only
// foreign layouts need a key map (key_map.h).
//
// Shapes are reported as stored. GGUF writers drop size-1 dims (a [1, 6, 64] modulation may be
// stored as [6, 64]); validate()/load_module accept a stored shape that differs from the expected
// one only in size-1 dims and reshape on load.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <optional>

#include <torch/types.h>

#include "models/base/cancel.h"
#include "models/weights/ggml_quant.h"

namespace torch::nn {
class Module;
}

namespace s2v::weights {

struct TensorMeta {
  std::string dtype;            // safetensors spelling: "F32", "BF16", "F8_E4M3", "I64", ...; the
                                // ggml type name for GGUF block types: "Q8_0", "Q4_K", ...
  std::vector<int64_t> shape;
  uint64_t numel() const;
};

class TensorSource {
 public:
  virtual ~TensorSource() = default;

  // What the source is, for messages, e.g. "'/ckpt/diffusion_pytorch_model.safetensors.index.json'".
  virtual std::string describe() const = 0;
  // Every tensor name, sorted.
  virtual std::vector<std::string> names() const = 0;
  virtual bool contains(const std::string& name) const = 0;
  // Stored dtype and shape without reading data; throws s2v::Error(NotFound) naming the tensor.
  virtual TensorMeta meta(const std::string& name) const = 0;
  // The tensor on CPU in its stored dtype: a zero-copy view of the mapped file where LibTorch has
  // the dtype (do not write into it; clone first), FP8 widened to float32.
  virtual torch::Tensor tensor(const std::string& name) const = 0;
  // The tensor on CPU converted once, straight from the stored bytes, to dtype (no float32
  // intermediate; FP8 decoded directly into dtype). The zero-copy view when dtype is stored.
  virtual torch::Tensor tensor_as(const std::string& name, torch::ScalarType dtype) const;
  // The tensor in its stored block format when it is block-quantised (GGUF Q*), else nullopt. Its
  // data is a zero-copy CPU uint8 view of the mapped file; dequantize() (ggml_quant.h) decodes it
  // on whatever device the bytes are moved to.
  virtual std::optional<PackedTensor> packed(const std::string& name) const {
    (void)name;
    return std::nullopt;
  }
  // Free-form metadata (safetensors __metadata__, index.json "metadata").
  virtual std::map<std::string, std::string> metadata() const { return {}; }
};

// A single safetensors file.
std::shared_ptr<TensorSource> open_safetensors_source(const std::filesystem::path& path);
// A sharded set: the shards named in the index's weight_map, relative to the index's folder. Every
// shard is opened (headers validated) and every weight_map entry is checked to exist in its shard;
// all problems are reported in one error.
std::shared_ptr<TensorSource> open_sharded_source(const std::filesystem::path& index_json);
// A PyTorch .pth zip archive (pth.h).
std::shared_ptr<TensorSource> open_pth_source(const std::filesystem::path& path);
// A GGUF file (gguf.h). meta().dtype is the ggml type name ("Q4_K", "Q8_0", "F16", "BF16",
// "F32"); tensor() is the zero-copy view for F32/F16/BF16 and the float32 dequantisation for Q*
// types; tensor_as() dequantises straight into dtype; packed() gives the Q* tensors as stored.
// metadata() holds the KVs in readable form (long arrays abbreviated).
std::shared_ptr<TensorSource> open_gguf_source(const std::filesystem::path& path);

// Chooses by what path is: `*.index.json` -> sharded; `*.safetensors` -> single file; `*.gguf`
// or the GGUF magic -> GGUF; `.pth`, `.pt`, `.bin`, `.ckpt` or a zip signature -> .pth reader; a
// folder -> its one `*.index.json`, or else its one `*.safetensors` file, or else its one `*.gguf`
// file (an error lists the candidates when the choice is ambiguous).
std::shared_ptr<TensorSource> open_checkpoint(const std::filesystem::path& path);

// The tensor `name` as dtype on device, converted once from the stored bytes (no float32 copy on
// the way: on CPU the stored view is converted straight to dtype; for an accelerator the stored
// bytes are uploaded and converted there, FP8 is decoded on the CPU straight into dtype, and
// GGUF Q* bytes are uploaded packed and dequantised on the device).
torch::Tensor load_as(const TensorSource& source, const std::string& name, torch::ScalarType dtype,
                      torch::Device device = torch::kCPU);

// Fills every parameter and buffer of module from source under the same names (module dtypes and
// devices are kept; GGUF Q* tensors are dequantised into the parameter's dtype). Validates first
// (validate.h): missing, unexpected or mis-shaped tensors are all reported in one
// s2v::ValidationError before anything is copied; a stored shape that differs only in size-1 dims
// is reshaped. With allow_unexpected, extra tensors in the source are ignored. `cancel` is checked
// before each tensor (s2v::Cancelled; the module is then partly filled). The one loader of every
// module: names the module does not use are hidden, and foreign spellings renamed, by a view
// (source_views.h: apply_rename, under_prefix) rather than by options here.
void load_module(torch::nn::Module& module, const TensorSource& source,
                 const std::string& model_name, bool allow_unexpected = false,
                 const CancelToken& cancel = CancelToken::none());

}  // namespace s2v::weights
