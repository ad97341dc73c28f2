#pragma once
// Reader for GGUF files (ggml's single-file format, as written by llama.cpp's gguf-py,
// city96/ComfyUI-GGUF and stable-diffusion.cpp): "GGUF", u32 version, u64 tensor count, u64 KV
// count, the KVs {string key, u32 value type, value}, the tensor infos {string name, u32 n_dims,
// u64 ne[n_dims], u32 ggml type, u64 offset}, padding to general.alignment (default 32), then
// the data section. Versions 2 and 3 (same layout); version 1 (u32 counts) is refused.
//
// The file is memory-mapped and every tensor stays in its stored format: F32/F16/BF16 are viewed
// zero-copy, Q* tensors are handed out packed (PackedTensor, ggml_quant.h) or dequantised on
// request. Unlike ggml (which allows 4 dimensions), any n_dims up to 8 is read: city96's Wan GGUFs
// hold the 5-D patch_embedding.weight.
//
// Shapes are PyTorch order (ne reversed), or comfy.gguf.orig_shape.<name> where the file has it.
// ggml's own writers (llama-quantize, sd.cpp convert) drop trailing size-1 ne entries, so a
// PyTorch [1, 6, 64] may be stored as [6, 64]: shapes are kept as stored, and loaders match
// expected shapes that differ only in size-1 dims by element count (load_module does).
//
// open() checks the whole header against the file before returning: magic, version, counts the
// file cannot hold, strings and arrays longer than the file, KV value types, alignment, n_dims,
// dims, ggml type ids, rows that are not whole blocks, offsets (aligned, inside the file, not
// overlapping), duplicate names and orig_shape entries.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <torch/types.h>

#include "models/weights/ggml_quant.h"

namespace s2v::weights {

class MappedFile;

// GGUF KV value types (gguf.h, enum gguf_type).
enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8,
  Array = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* to_string(GgufValueType t);

// One KV value. Scalars: the unsigned types in uint64_t, the signed ones in int64_t, F32/F64 in
// double (F32 widened exactly), Bool in bool, String in std::string. Arrays: element_type and
// elements (which may be arrays again).
struct GgufValue {
  GgufValueType type = GgufValueType::U8;
  std::variant<uint64_t, int64_t, double, bool, std::string> scalar;
  GgufValueType element_type = GgufValueType::U8;  // Array only
  std::vector<GgufValue> elements;                 // Array only

  bool is_integer() const;  // U8..I64 (not Bool)
  bool is_array() const { return type == GgufValueType::Array; }
  // These throw s2v::Error(InvalidArgument) when the value is not of that kind (or, for the
  // integer ones, out of range).
  int64_t to_int() const;
  uint64_t to_uint() const;
  double to_double() const;  // any integer or float type
  bool to_bool() const;
  const std::string& str() const;
  // Readable form: 42, -0.1, true, "text", [1, 2, 3]; arrays longer than max_elements end "... (N items)".
  std::string display(size_t max_elements = 8) const;
};

struct GgufTensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;     // as stored: ne[0] is the row (fastest) dimension
  std::vector<int64_t> shape;  // PyTorch order: ne reversed, or comfy.gguf.orig_shape.<name>
  uint64_t offset = 0;         // relative to the data section
  uint64_t bytes = 0;
  int64_t numel() const;
};

class GgufFile {
 public:
  // Throws s2v::Error (Corrupt / Unsupported / NotFound / PermissionDenied) naming the file and,
  // where it applies, the tensor or key.
  static GgufFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the data section in the file

  const std::map<std::string, GgufValue>& kv() const { return kv_; }
  const GgufValue* find(const std::string& key) const;
  // general.architecture ("wan", "flux", ...) or "" when the file has none.
  std::string architecture() const;

  // In file order.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Throws s2v::Error(NotFound) naming the tensor and the file.
  const GgufTensorInfo& info(const std::string& name) const;

  // Start of the tensor's bytes in the mapping (valid while this object or a view lives).
  const uint8_t* raw_data(const std::string& name) const;
  // The stored bytes as a zero-copy CPU uint8 tensor [bytes] that keeps the mapping alive (do not
  // write into it).
  torch::Tensor bytes(const std::string& name) const;
  // The tensor in its stored format (any type), data a zero-copy view of bytes().
  PackedTensor packed(const std::string& name) const;
  // F32/F16/BF16: a zero-copy view in the stored dtype; Q*: dequantised into float32.
  torch::Tensor tensor(const std::string& name) const;
  // Converted once to dtype: Q* dequantised straight into a floating dtype; the zero-copy view
  // when dtype is stored.
  torch::Tensor tensor_as(const std::string& name, torch::ScalarType dtype) const;

 private:
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> index_;  // name -> tensors_ position
};

// True when the file starts with the GGUF magic.
bool has_gguf_magic(const std::filesystem::path& path);

}  // namespace s2v::weights
