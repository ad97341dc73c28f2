#pragma once
// Views of a TensorSource that make a foreign repackaging read like the official checkpoint:
//
// - apply_rename: every stored name goes through a function to its native name; names the
//   function maps to "" are hidden (other models packed in the same file, CTC heads, ...).
// - apply_scaled_fp8: ComfyUI's scaled FP8 files. Two conventions exist, both read here:
//     old  ("scaled_fp8" marker tensor): <module>.weight in F8_E4M3/F8_E5M2 and
//          <module>.scale_weight (float32, one value or one per output row); <module>.scale_input
//          is an activation scale for FP8 matmuls and is ignored;
//     new  (comfy-kitchen layout): <module>.weight in FP8, <module>.weight_scale, optional
//          <module>.input_scale (ignored), and <module>.comfy_quant, a uint8 tensor holding the
//          JSON {"format": "float8_e4m3fn"} that marks the layer (the safetensors metadata key
//          "_quantization_metadata" may hold the same per layer).
//   The view hides the scale and marker tensors; an FP8 weight reads as float(fp8) * scale,
//   computed in float32 and then cast (the reference formula the tests check). meta() keeps the
//   stored dtype, so memory estimates count one byte per value. An FP8 weight without its scale in
//   a file that uses either convention, or a comfy_quant format other than FP8, is an s2v::Error
//   naming the file and the tensor; a plain FP8 cast without any convention reads with scale 1.
//
// Both views forward packed() so block-quantised tensors stay packed through them.

#include <functional>
#include <memory>
#include <string>

#include "models/base/shape_map.h"
#include "models/weights/checkpoint.h"

namespace s2v::weights {

// to_native(stored) -> native name, or "" to hide the tensor. `what` is appended to describe()
// ("HF T5 names").
std::shared_ptr<TensorSource> apply_rename(std::shared_ptr<TensorSource> source,
                                           std::function<std::string(const std::string&)> to_native,
                                           const std::string& what);

// The tensors named "<prefix>..." under the rest of their name; the others are hidden (a parity
// file's "model." weights beside its "in."/"out." tensors).
std::shared_ptr<TensorSource> under_prefix(std::shared_ptr<TensorSource> source, const std::string& prefix);

// True when the source holds FP8 tensors or either scaled-FP8 convention's marker tensors.
bool uses_fp8(const TensorSource& source);

// The scaled-FP8 view (source itself when it holds no FP8 tensor and no scale tensors).
std::shared_ptr<TensorSource> apply_scaled_fp8(std::shared_ptr<TensorSource> source);

}  // namespace s2v::weights

namespace s2v::weights {
// name -> stored shape of every tensor of source (headers only, no data read).
ShapeMap shapes_of(const TensorSource& source);

// True for stored dtypes a packed DiT keeps as stored: FP8 and GGUF's block-quantised types
// ("Q8_0", "Q4_K", ...).
bool is_packed_dtype(const std::string& dtype);

// The file format of a checkpoint path, for people: "safetensors", "sharded safetensors",
// "PyTorch .pth", "GGUF".
std::string container_name(const std::filesystem::path& path);
}  // namespace s2v::weights
