#include "models/weights/safetensors.h"

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/base/atomic_file.h"
#include "models/base/error.h"
#include "models/weights/mapped_file.h"

namespace s2v::weights {

namespace {

std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

[[noreturn]] void corrupt(const std::filesystem::path& p, const std::string& why) {
  throw Error("cannot read safetensors file " + quoted(p) + ": " + why, ErrorKind::Corrupt,
              p.string());
}

// FP8 formats LibTorch 1.13 does not have: decode to float32.
float fp8_e4m3_to_float(uint8_t v) {
  const int sign = v >> 7, exp = (v >> 3) & 0xF, man = v & 0x7;
  float r;
  if (exp == 0xF && man == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (exp == 0) r = std::ldexp(man / 8.0f, -6);
  else r = std::ldexp(1.0f + man / 8.0f, exp - 7);
  return sign ? -r : r;
}

float fp8_e5m2_to_float(uint8_t v) {
  const int sign = v >> 7, exp = (v >> 2) & 0x1F, man = v & 0x3;
  float r;
  if (exp == 0x1F) r = man ? std::numeric_limits<float>::quiet_NaN()
                           : std::numeric_limits<float>::infinity();
  else if (exp == 0) r = std::ldexp(man / 4.0f, -14);
  else r = std::ldexp(1.0f + man / 4.0f, exp - 15);
  return sign ? -r : r;
}

const std::array<float, 256>& fp8_table(bool e4m3) {
  static const std::array<float, 256> e4 = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = fp8_e4m3_to_float(static_cast<uint8_t>(i));
    return t;
  }();
  static const std::array<float, 256> e5 = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = fp8_e5m2_to_float(static_cast<uint8_t>(i));
    return t;
  }();
  return e4m3 ? e4 : e5;
}

// One table lookup per element, written in the target type: no float32 intermediate tensor.
template <typename T>
void decode_into(const uint8_t* in, T* out, int64_t n, const std::array<float, 256>& table) {
  std::array<T, 256> lut;
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<T>(table[i]);
  for (int64_t i = 0; i < n; ++i) out[i] = lut[in[i]];
}

}  // namespace

bool is_fp8(const std::string& d) { return d == "F8_E4M3" || d == "F8_E5M2"; }

torch::Tensor decode_fp8(const uint8_t* bytes, const std::string& dtype,
                         const std::vector<int64_t>& shape, torch::ScalarType target) {
  if (!is_fp8(dtype))
    throw Error("decode_fp8 was given dtype " + dtype + ", which is not FP8", ErrorKind::InvalidArgument);
  const auto& table = fp8_table(dtype == "F8_E4M3");
  const bool direct = target == torch::kFloat32 || target == torch::kFloat64 ||
                      target == torch::kFloat16 || target == torch::kBFloat16;
  auto out = torch::empty(shape, direct ? target : torch::kFloat32);
  const int64_t n = out.numel();
  switch (out.scalar_type()) {
    case torch::kFloat64: decode_into(bytes, out.data_ptr<double>(), n, table); break;
    case torch::kFloat16: decode_into(bytes, out.data_ptr<c10::Half>(), n, table); break;
    case torch::kBFloat16: decode_into(bytes, out.data_ptr<c10::BFloat16>(), n, table); break;
    default: decode_into(bytes, out.data_ptr<float>(), n, table); break;
  }
  return direct ? out : out.to(target);
}

size_t dtype_size(const std::string& d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "F8_E4M3" || d == "F8_E5M2" || d == "I8" || d == "U8" || d == "BOOL") return 1;
  return 0;
}

torch::ScalarType to_scalar_type(const std::string& d) {
  if (d == "F64") return torch::kFloat64;
  if (d == "F32") return torch::kFloat32;
  if (d == "F16") return torch::kFloat16;
  if (d == "BF16") return torch::kBFloat16;
  if (d == "I64") return torch::kInt64;
  if (d == "I32") return torch::kInt32;
  if (d == "I16") return torch::kInt16;
  if (d == "I8") return torch::kInt8;
  if (d == "U8") return torch::kUInt8;
  if (d == "BOOL") return torch::kBool;
  throw Error("safetensors dtype " + d + " has no LibTorch equivalent", ErrorKind::Unsupported);
}

std::string to_dtype_string(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat64: return "F64";
    case torch::kFloat32: return "F32";
    case torch::kFloat16: return "F16";
    case torch::kBFloat16: return "BF16";
    case torch::kInt64: return "I64";
    case torch::kInt32: return "I32";
    case torch::kInt16: return "I16";
    case torch::kInt8: return "I8";
    case torch::kUInt8: return "U8";
    case torch::kBool: return "BOOL";
    default: break;
  }
  throw Error(std::string("cannot store dtype ") + c10::toString(t) + " in safetensors",
              ErrorKind::Unsupported);
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile f;
  f.path_ = path;
  f.file_ = std::make_shared<MappedFile>(path);
  const size_t size = f.file_->size();
  if (size < 8) corrupt(path, "the file is shorter than the 8-byte header size");
  uint64_t header_len = 0;
  std::memcpy(&header_len, f.file_->data(), 8);  // little-endian hosts only (x86-64, arm64)
  if (header_len > kMaxHeaderBytes)
    corrupt(path, "the header size (" + std::to_string(header_len) + " bytes) exceeds the " +
                      std::to_string(kMaxHeaderBytes) + "-byte limit (not a safetensors file?)");
  if (header_len > size - 8)
    corrupt(path, "the header size (" + std::to_string(header_len) +
                      " bytes) runs past the end of the file (truncated file?)");
  if (header_len < 2) corrupt(path, "the header is empty");
  f.data_start_ = 8 + header_len;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(f.file_->data() + 8, f.file_->data() + 8 + header_len);
  } catch (const std::exception& e) {
    corrupt(path, std::string("the JSON header does not parse (") + e.what() + ")");
  }
  if (!header.is_object()) corrupt(path, "the JSON header is not an object");
  const uint64_t data_size = size - f.data_start_;
  struct Range {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  for (auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (v.is_object())
        for (auto& [k, s] : v.items()) f.metadata_[k] = s.is_string() ? s.get<std::string>() : s.dump();
      continue;
    }
    TensorInfo info;
    try {
      info.dtype = v.at("dtype").get<std::string>();
      info.shape = v.at("shape").get<std::vector<int64_t>>();
      auto off = v.at("data_offsets").get<std::vector<uint64_t>>();
      if (off.size() != 2) corrupt(path, "tensor '" + name + "' has malformed data_offsets");
      info.begin = off[0];
      info.end = off[1];
    } catch (const nlohmann::json::exception&) {
      corrupt(path, "tensor '" + name + "' has a malformed header entry");
    }
    const size_t esize = dtype_size(info.dtype);
    if (esize == 0) throw Error("tensor '" + name + "' in " + quoted(path) + " has unknown dtype " + info.dtype,
                                ErrorKind::Unsupported, path.string());
    uint64_t numel = 1;
    for (int64_t d : info.shape) {
      if (d < 0) corrupt(path, "tensor '" + name + "' has a negative dimension");
      if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / 8 / static_cast<uint64_t>(d))
        corrupt(path, "tensor '" + name + "' has a shape whose size overflows");
      numel *= static_cast<uint64_t>(d);
    }
    if (info.end < info.begin || info.end > data_size)
      corrupt(path, "tensor '" + name + "' has data offsets [" + std::to_string(info.begin) + ", " +
                        std::to_string(info.end) + ") outside the " + std::to_string(data_size) +
                        "-byte data section (truncated file?)");
    if (info.end - info.begin != numel * esize)
      corrupt(path, "tensor '" + name + "' occupies " + std::to_string(info.end - info.begin) +
                        " bytes but its shape and dtype need " + std::to_string(numel * esize));
    if (info.end > info.begin) ranges.push_back({info.begin, info.end, name});
    f.tensors_.emplace(name, std::move(info));
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      corrupt(path, "the data of tensors '" + ranges[i - 1].name + "' and '" + ranges[i].name +
                        "' overlap");
  return f;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (auto& [k, _] : tensors_) out.push_back(k);
  return out;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end())
    throw Error("tensor '" + name + "' is not in " + quoted(path_), ErrorKind::NotFound, name);
  return it->second;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo& ti = info(name);
  const uint8_t* ptr = file_->data() + data_start_ + ti.begin;
  if (is_fp8(ti.dtype)) return decode_fp8(ptr, ti.dtype, ti.shape, torch::kFloat32);
  const auto type = to_scalar_type(ti.dtype);
  if (ti.end == ti.begin) return torch::empty(ti.shape, type);
  auto keep = file_;  // the view keeps the mapping alive
  // The mapping is read-only; LibTorch views are nominally writable, so callers must clone before
  // writing in place (every loader copies into module parameters).
  return torch::from_blob(const_cast<uint8_t*>(ptr), ti.shape, [keep](void*) {},
                          torch::TensorOptions().dtype(type));
}

torch::Tensor SafetensorsFile::tensor_as(const std::string& name, torch::ScalarType dtype) const {
  const TensorInfo& ti = info(name);
  if (is_fp8(ti.dtype)) return decode_fp8(raw_data(name), ti.dtype, ti.shape, dtype);
  auto view = tensor(name);
  return view.scalar_type() == dtype ? view : view.to(dtype);
}

torch::Tensor SafetensorsFile::raw_bytes(const std::string& name) const {
  const TensorInfo& ti = info(name);
  const int64_t n = static_cast<int64_t>(ti.end - ti.begin);
  if (n == 0) return torch::empty({0}, torch::kUInt8);
  auto keep = file_;
  return torch::from_blob(const_cast<uint8_t*>(raw_data(name)), {n}, [keep](void*) {},
                          torch::TensorOptions().dtype(torch::kUInt8));
}

const uint8_t* SafetensorsFile::raw_data(const std::string& name) const {
  return file_->data() + data_start_ + info(name).begin;
}

void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> blobs;
  uint64_t offset = 0;
  for (auto& [name, t] : tensors) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = c.numel() * c.element_size();
    header[name] = {{"dtype", to_dtype_string(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    blobs.push_back(c);
  }
  std::string h = header.dump();
  while (h.size() % 8) h.push_back(' ');
  AtomicFile out(path);
  const uint64_t len = h.size();
  out.write(&len, 8);
  out.write(h);
  for (auto& b : blobs) out.write(b.data_ptr(), static_cast<size_t>(b.numel() * b.element_size()));
  out.commit();
}

}  // namespace s2v::weights
