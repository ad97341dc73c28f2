#pragma once
// ggml's tensor types (the block-quantised Q* formats of GGUF files, plus F32/F16/BF16) and their
// dequantisation written with LibTorch tensor ops, so that the same code runs wherever the packed
// bytes live (CPU or CUDA). The arithmetic is float32 in exactly ggml's order (ggml-quants.c,
// dequantize_row_*), one ATen op per ggml operation, so that the result equals ggml's bit for bit;
// bfloat16/float16 results are that float32 value rounded once at the end.
//
// A Q* tensor is kept packed in memory (PackedTensor) and dequantised when it is needed; the
// DiT dequantises each layer just before it runs, reusing one output buffer.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

namespace s2v::weights {

// The ids are ggml's (ggml.h, enum ggml_type); only the types we can decode are listed.
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  BF16 = 30,
  // Not ggml's: FP8 bytes (E4M3FN / E5M2) with `scale` (one per tensor or per row), as ComfyUI's
  // scaled-FP8 files store DiT weights. Packed and dequantised like the ggml types, but never read
  // from or written to a GGUF file (ggml_type_info(uint32_t) does not know them).
  F8_E4M3 = 0x10000,
  F8_E5M2 = 0x10001,
};

struct GgmlTypeInfo {
  const char* name;      // "Q4_K", "F16", ... (ggml's spelling, which is also safetensors' for F32/F16/BF16)
  int64_t block_values;  // values per block (1 for F32/F16/BF16)
  int64_t block_bytes;   // bytes per block
};

// nullptr for an id we do not know (or know but cannot decode: IQ*, Q8_K, ...), and for the FP8
// entries, which are not GGUF types.
const GgmlTypeInfo* ggml_type_info(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType t);
// ggml's name of any type id it defines ("IQ2_XXS" for 16), also those we cannot decode; for
// messages. "type <id>" for ids ggml does not define.
std::string ggml_type_id_name(uint32_t id);
// The type whose name is `name` ("Q4_K", "F16", ...), nullopt otherwise.
std::optional<GgmlType> ggml_type_from_name(const std::string& name);
// Q* types (blocks of 32 or 256 values with their scales); false for F32/F16/BF16.
bool is_block_quantized(GgmlType t);

// A tensor kept in its stored ggml format. The values in row-major order are whole blocks: ggml
// quantises along the stored rows (GGUF ne[0], which is shape.back() unless the file's
// comfy.gguf.orig_shape reshaped the tensor), and dequantisation works on the flat run of blocks.
struct PackedTensor {
  GgmlType type;
  std::vector<int64_t> shape;  // PyTorch (row-major) order
  torch::Tensor data;          // uint8, contiguous, numel/block_values*block_bytes bytes, any device
  torch::Tensor scale;         // F8_* only: float32, 1 value or shape[0] values (one per row)
  int64_t numel() const;
};

// Dequantises on data's device into `dtype` (float32, bfloat16, float16; float64 goes through
// float32). If `out` is defined (same device, dtype and numel; any shape) it is written in place
// and returned (a reused buffer); else a new tensor of `shape` is returned. Large tensors are
// decoded a chunk of blocks at a time, so the temporaries stay around 64 MB whatever the size.
// Throws s2v::Error for a byte count that does not match, or an unsuitable out.
torch::Tensor dequantize(const PackedTensor& p, torch::ScalarType dtype, torch::Tensor out = {});

// Quantises weights (any float dtype, any device; rows = shape.back() must be whole blocks) into
// Q8_0 or Q4_K with LibTorch ops on the weights' device, by plain round-to-nearest (no importance
// search: for benchmarks and tests, not to compete with llama-quantize). The blocks follow ggml's
// layouts, so dequantize() reads them back. Throws s2v::Error(InvalidArgument) for other types.
PackedTensor quantize(const torch::Tensor& weights, GgmlType type);

// Bytes that numel values take in type t (whole blocks; throws for numel not a multiple of the block).
uint64_t ggml_bytes(GgmlType t, uint64_t numel);

}  // namespace s2v::weights
