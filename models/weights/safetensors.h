#pragma once
// Reader and writer for the safetensors format: 8-byte little-endian header size, a JSON header
// {name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__": {str: str}}, then raw
// little-endian data. The file is memory-mapped; tensors whose dtype LibTorch has are returned as
// zero-copy views that keep the mapping alive. FP8 (F8_E4M3 = float8_e4m3fn, F8_E5M2), which
// LibTorch 1.13 lacks, is decoded straight into the requested dtype.
//
// open() checks the header against the file before any tensor is read: header size within the
// file and under kMaxHeaderBytes, every entry well formed with a known dtype, offsets inside the
// data section, byte length == numel * element size, and no two tensors' bytes overlapping.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace s2v::weights {

struct TensorInfo {
  std::string dtype;             // as written in the header: "F32", "BF16", "F8_E4M3", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;            // byte offsets relative to the start of the data section
  uint64_t end = 0;
};

class MappedFile;  // read-only mmap of a whole file (mapped_file.h)

// Headers larger than this are refused as corrupt (real ones are well under 1 MB).
inline constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

class SafetensorsFile {
 public:
  // Throws s2v::Error (Corrupt / NotFound / PermissionDenied) naming the file and the problem.
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;

  // The tensor on CPU in its stored dtype (a zero-copy view when LibTorch has the dtype; FP8 is
  // widened to float32). Throws s2v::Error(NotFound) for an unknown name.
  torch::Tensor tensor(const std::string& name) const;
  // The tensor on CPU converted directly from the stored bytes to dtype (FP8 is decoded straight
  // into dtype; no intermediate float32 copy). Returns the zero-copy view when dtype is stored.
  torch::Tensor tensor_as(const std::string& name, torch::ScalarType dtype) const;
  // Start of the tensor's bytes in the mapping (valid while this object or a view lives).
  const uint8_t* raw_data(const std::string& name) const;
  // The tensor's stored bytes as a zero-copy 1-D uint8 view that keeps the mapping alive (FP8
  // weights kept packed; do not write into it).
  torch::Tensor raw_bytes(const std::string& name) const;

 private:
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> file_;
  uint64_t data_start_ = 0;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Bytes per element for a safetensors dtype string; 0 when unknown.
size_t dtype_size(const std::string& dtype);
// The LibTorch scalar type for a safetensors dtype string; throws for dtypes LibTorch lacks.
torch::ScalarType to_scalar_type(const std::string& dtype);
std::string to_dtype_string(torch::ScalarType type);
// True for F8_E4M3 / F8_E5M2.
bool is_fp8(const std::string& dtype);
// Decodes n FP8 bytes (dtype "F8_E4M3" or "F8_E5M2") into a new CPU tensor of the given shape and
// floating dtype (F32, F64, F16 or BF16 directly; other dtypes through float32).
torch::Tensor decode_fp8(const uint8_t* bytes, const std::string& dtype,
                         const std::vector<int64_t>& shape, torch::ScalarType target);

// Writes tensors (contiguous CPU copies are made as needed) atomically: to a temporary name in the
// same folder, then renamed.
void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace s2v::weights
