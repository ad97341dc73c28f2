#pragma once
// Writing packed checkpoints — GGUF v3 files with rows quantised into ggml's block formats, and
// safetensors files with raw FP8 tensors (ComfyUI's scaled-FP8 layout) — for the demo model's
// packed variants, the benchmarks and the tests. The layouts are ggml's (ggml-common.h, summarised
// in ../shared/testdata/gguf/README.md); the quantisers are plain round-to-nearest encoders of our
// own (no importance search), good enough for random demo weights, not meant to compete with
// llama-quantize on real ones. No LibTorch here.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace s2v::weights {

// ggml type ids written here (a subset of GgmlType in ggml_quant.h).
namespace ggml_id {
inline constexpr uint32_t F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8, Q4_K = 12, Q6_K = 14, BF16 = 30;
}

// Bytes of one row of `cols` values in ggml type `type`; throws s2v::Error(InvalidArgument) when
// cols is not a whole number of the type's blocks or the type is not one written here.
uint64_t gguf_row_bytes(uint32_t type, int64_t cols);

// Encodes rows x cols float32 values (row-major) as `type`; cols must be whole blocks.
std::vector<uint8_t> quantize_rows(uint32_t type, const float* values, int64_t rows, int64_t cols);

struct GgufTensorOut {
  std::string name;
  uint32_t type = ggml_id::F32;
  std::vector<int64_t> shape;  // PyTorch (row-major) order; written reversed as ggml's ne
  std::vector<uint8_t> bytes;  // exactly the type's size for the shape
};

using GgufValue = std::variant<std::string, uint32_t, int32_t, float, bool, std::vector<int32_t>>;
struct GgufKv {
  std::string key;
  GgufValue value;
};

// Writes a GGUF v3 file (general.alignment as given, default 32), atomically: to "<path>.part",
// then renamed. Throws s2v::Error(Io) when the file cannot be written.
void write_gguf(const std::filesystem::path& path, const std::vector<GgufKv>& kvs,
                const std::vector<GgufTensorOut>& tensors, uint32_t alignment = 32);

// A safetensors tensor given as raw bytes under any dtype string ("F8_E4M3", "BF16", "U8", ...),
// for dtypes LibTorch 1.13 cannot hold.
struct RawTensorOut {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
// Writes a safetensors file atomically ("<path>.part", then renamed).
void write_safetensors_raw(const std::filesystem::path& path, const std::vector<RawTensorOut>& tensors,
                           const std::vector<std::pair<std::string, std::string>>& metadata = {});

// One FP8 E4M3FN byte for a float: round to nearest, ties to even, saturating at +-448 (NaN: 0x7F).
uint8_t fp8_e4m3fn_from_float(float x);

}  // namespace s2v::weights
