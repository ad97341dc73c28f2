#pragma once
// Checkpoint summaries and conversion, as library functions for `s2v inspect` / `s2v convert`.
// No LibTorch in this header.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "models/base/units.h"

namespace s2v::weights {

// A readable summary of a checkpoint file (safetensors, *.index.json, .pth, GGUF) or of every
// checkpoint in a folder: the format (with the GGUF version and general.architecture), tensor
// count, parameter count, stored size, one line per stored dtype (tensors, parameters, bytes;
// GGUF block types by whole blocks), memory at f32/bf16/fp8, and tensors per top-level name. A file in a folder that cannot be read gets a line with the reason.
// Throws s2v::Error when path itself cannot be read.
std::string inspect_summary(const std::filesystem::path& path);

struct ConvertResult {
  size_t tensors = 0;
  uint64_t bytes = 0;     // tensor data written
  size_t skipped = 0;     // non-tensor entries of a .pth that safetensors cannot hold
};

// Writes every tensor of `in` (any checkpoint open_checkpoint reads: a .pth, a GGUF file, ...) to
// a safetensors file under the same names, one tensor in memory at a time. dtype "" keeps the
// stored dtype (FP8 becomes F32) and makes every tensor of a GGUF file F32 (Q* dequantised);
// "F32", "BF16" or "F16" converts every floating-point tensor to it (integers are kept). Shapes
// are as stored (GGUF: comfy.gguf.orig_shape applied, dropped size-1 dims not restored).
// Atomic: written to "<out>.part" and renamed; on failure nothing is left under either name.
// progress(done, total) is called after each tensor.
ConvertResult convert_to_safetensors(const std::filesystem::path& in, const std::filesystem::path& out,
                                     const std::function<void(size_t, size_t)>& progress = {},
                                     const std::string& dtype = {});

using s2v::human_bytes;  // "1.23 GB" (models/base/units.h)

}  // namespace s2v::weights
