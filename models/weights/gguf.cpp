#include "models/weights/gguf.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/mapped_file.h"

namespace s2v::weights {

namespace {

std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

constexpr uint64_t kDefaultAlignment = 32;        // GGUF_DEFAULT_ALIGNMENT
constexpr uint32_t kMaxDims = 8;                  // ggml stops at 4; city96's Wan files have 5
constexpr uint64_t kMaxArrayElements = 1ull << 24;  // real arrays (tokenizer vocabularies) are < 1M
constexpr int kMaxArrayDepth = 16;
const std::string kOrigShapePrefix = "comfy.gguf.orig_shape.";

// Smallest encoding of one value of each type: how many of them the rest of the file can hold
// bounds every count before anything is allocated.
uint64_t min_value_bytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::Bool: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    case GgufValueType::String: return 8;       // u64 length
    case GgufValueType::Array: return 4 + 8;    // element type, count
  }
  return 1;
}

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::F64); }

// Bounds-checked little-endian reads over the mapped header (little-endian hosts only).
class Reader {
 public:
  Reader(const std::filesystem::path& path, const uint8_t* data, uint64_t size)
      : path_(path), data_(data), size_(size) {}

  [[noreturn]] void corrupt(const std::string& why) const {
    throw Error("cannot read GGUF file " + quoted(path_) + ": " + why, ErrorKind::Corrupt, path_.string());
  }

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }

  template <typename T>
  T scalar(const char* what) {
    if (left() < sizeof(T))
      corrupt(std::string("the file ends inside ") + what + " at byte " + std::to_string(pos_) +
              " (truncated file?)");
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string string(const std::string& what) {
    const auto len = scalar<uint64_t>(what.c_str());
    if (len > left())
      corrupt(what + " has a length of " + std::to_string(len) + " bytes at byte " +
              std::to_string(pos_ - 8) + ", more than the " + std::to_string(left()) +
              " bytes left in the file");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

  GgufValue value(GgufValueType type, const std::string& key, int depth) {
    GgufValue v;
    v.type = type;
    const std::string what = "the value of KV '" + key + "'";
    switch (type) {
      case GgufValueType::U8: v.scalar = uint64_t{scalar<uint8_t>(what.c_str())}; break;
      case GgufValueType::I8: v.scalar = int64_t{scalar<int8_t>(what.c_str())}; break;
      case GgufValueType::U16: v.scalar = uint64_t{scalar<uint16_t>(what.c_str())}; break;
      case GgufValueType::I16: v.scalar = int64_t{scalar<int16_t>(what.c_str())}; break;
      case GgufValueType::U32: v.scalar = uint64_t{scalar<uint32_t>(what.c_str())}; break;
      case GgufValueType::I32: v.scalar = int64_t{scalar<int32_t>(what.c_str())}; break;
      case GgufValueType::U64: v.scalar = scalar<uint64_t>(what.c_str()); break;
      case GgufValueType::I64: v.scalar = scalar<int64_t>(what.c_str()); break;
      case GgufValueType::F32: v.scalar = double{scalar<float>(what.c_str())}; break;
      case GgufValueType::F64: v.scalar = scalar<double>(what.c_str()); break;
      case GgufValueType::Bool: {
        const auto b = scalar<uint8_t>(what.c_str());
        if (b > 1) corrupt("the bool KV '" + key + "' holds " + std::to_string(b) + ", not 0 or 1");
        v.scalar = b == 1;
        break;
      }
      case GgufValueType::String: v.scalar = string(what); break;
      case GgufValueType::Array: {
        if (depth >= kMaxArrayDepth)
          corrupt("KV '" + key + "' nests arrays more than " + std::to_string(kMaxArrayDepth) + " deep");
        const auto et = scalar<uint32_t>(what.c_str());
        if (!known_value_type(et))
          corrupt("the array KV '" + key + "' has unknown element type " + std::to_string(et));
        v.element_type = static_cast<GgufValueType>(et);
        const auto count = scalar<uint64_t>(what.c_str());
        if (count > left() / min_value_bytes(v.element_type))
          corrupt("the array KV '" + key + "' claims " + std::to_string(count) + " elements of type " +
                  to_string(v.element_type) + ", more than the " + std::to_string(left()) +
                  " bytes left in the file can hold");
        if (count > kMaxArrayElements)
          corrupt("the array KV '" + key + "' claims " + std::to_string(count) + " elements (more than " +
                  std::to_string(kMaxArrayElements) + ")");
        v.elements.reserve(static_cast<size_t>(count));
        for (uint64_t i = 0; i < count; ++i) v.elements.push_back(value(v.element_type, key, depth + 1));
        break;
      }
    }
    return v;
  }

 private:
  const std::filesystem::path& path_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

std::string dims_string(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string known_types_list() {
  std::string s;
  for (uint32_t id = 0; id < 64; ++id)
    if (const auto* info = ggml_type_info(id)) s += (s.empty() ? "" : ", ") + std::string(info->name);
  return s;
}

[[noreturn]] void kind_mismatch(const GgufValue& v, const char* want) {
  throw Error(std::string("GGUF value ") + v.display() + " of type " + to_string(v.type) + " is not " + want,
              ErrorKind::InvalidArgument);
}

}  // namespace

const char* to_string(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: return "u8";
    case GgufValueType::I8: return "i8";
    case GgufValueType::U16: return "u16";
    case GgufValueType::I16: return "i16";
    case GgufValueType::U32: return "u32";
    case GgufValueType::I32: return "i32";
    case GgufValueType::F32: return "f32";
    case GgufValueType::Bool: return "bool";
    case GgufValueType::String: return "string";
    case GgufValueType::Array: return "array";
    case GgufValueType::U64: return "u64";
    case GgufValueType::I64: return "i64";
    case GgufValueType::F64: return "f64";
  }
  return "?";
}

bool GgufValue::is_integer() const {
  return type != GgufValueType::Array &&
         (std::holds_alternative<uint64_t>(scalar) || std::holds_alternative<int64_t>(scalar));
}

int64_t GgufValue::to_int() const {
  if (!is_integer()) kind_mismatch(*this, "an integer");
  if (const auto* u = std::get_if<uint64_t>(&scalar)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) kind_mismatch(*this, "an int64");
    return static_cast<int64_t>(*u);
  }
  return std::get<int64_t>(scalar);
}

uint64_t GgufValue::to_uint() const {
  if (!is_integer()) kind_mismatch(*this, "an integer");
  if (const auto* i = std::get_if<int64_t>(&scalar)) {
    if (*i < 0) kind_mismatch(*this, "non-negative");
    return static_cast<uint64_t>(*i);
  }
  return std::get<uint64_t>(scalar);
}

double GgufValue::to_double() const {
  if (type == GgufValueType::F32 || type == GgufValueType::F64) return std::get<double>(scalar);
  if (const auto* u = std::get_if<uint64_t>(&scalar); u && is_integer()) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&scalar); i && is_integer()) return static_cast<double>(*i);
  kind_mismatch(*this, "a number");
}

bool GgufValue::to_bool() const {
  if (type != GgufValueType::Bool) kind_mismatch(*this, "a bool");
  return std::get<bool>(scalar);
}

const std::string& GgufValue::str() const {
  if (type != GgufValueType::String) kind_mismatch(*this, "a string");
  return std::get<std::string>(scalar);
}

std::string GgufValue::display(size_t max_elements) const {
  std::ostringstream o;
  switch (type) {
    case GgufValueType::Array: {
      o << "[";
      for (size_t i = 0; i < elements.size() && i < max_elements; ++i)
        o << (i ? ", " : "") << elements[i].display(max_elements);
      if (elements.size() > max_elements) o << ", ... (" << elements.size() << " items)";
      o << "]";
      break;
    }
    case GgufValueType::String: o << '"' << std::get<std::string>(scalar) << '"'; break;
    case GgufValueType::Bool: o << (std::get<bool>(scalar) ? "true" : "false"); break;
    case GgufValueType::F32:
    case GgufValueType::F64: {
      // The shortest text that reads back as the stored value (3.25, -0.1).
      char buf[64];
      const double v = std::get<double>(scalar);
      const auto r = type == GgufValueType::F32 ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(v))
                                                : std::to_chars(buf, buf + sizeof buf, v);
      o << std::string(buf, r.ptr);
      break;
    }
    default:
      if (const auto* u = std::get_if<uint64_t>(&scalar)) o << *u;
      else o << std::get<int64_t>(scalar);
  }
  return o.str();
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

bool has_gguf_magic(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  char sig[4] = {};
  in.read(sig, 4);
  return in && std::memcmp(sig, "GGUF", 4) == 0;
}

GgufFile GgufFile::open(const std::filesystem::path& path) {
  GgufFile f;
  f.path_ = path;
  f.file_ = std::make_shared<MappedFile>(path);
  const uint64_t size = f.file_->size();
  Reader r(path, f.file_->data(), size);
  if (size < 4 || std::memcmp(f.file_->data(), "GGUF", 4) != 0)
    r.corrupt("it does not start with the GGUF magic (not a GGUF file?)");
  r.scalar<uint32_t>("the magic");
  f.version_ = r.scalar<uint32_t>("the version");
  if (f.version_ == 1)
    throw Error("cannot read GGUF file " + quoted(path) +
                    ": it is GGUF version 1 (32-bit counts, the 2023 draft), which is not supported; "
                    "convert the model again with a current tool",
                ErrorKind::Unsupported, path.string());
  if (f.version_ != 2 && f.version_ != 3) {
    const bool big_endian = f.version_ != 0 && (f.version_ & 0xFFFF) == 0;
    throw Error("cannot read GGUF file " + quoted(path) + ": " +
                    (big_endian ? std::string("it is a big-endian GGUF file, which is not supported")
                                : "GGUF version " + std::to_string(f.version_) +
                                      " is not supported (versions 2 and 3 are)"),
                ErrorKind::Unsupported, path.string());
  }
  const auto n_tensors = r.scalar<uint64_t>("the tensor count");
  const auto n_kv = r.scalar<uint64_t>("the KV count");
  // Each KV takes at least a key length, a type and one byte; each tensor info a name length,
  // n_dims, a type and an offset. A count the rest of the file cannot hold is a lie.
  constexpr uint64_t kMinKv = 8 + 4 + 1, kMinTensor = 8 + 4 + 4 + 8;
  if (n_kv > r.left() / kMinKv)
    r.corrupt("the header claims " + std::to_string(n_kv) + " KVs, more than the " + std::to_string(size) +
              "-byte file can hold");
  if (n_tensors > (r.left() - n_kv * kMinKv) / kMinTensor)
    r.corrupt("the header claims " + std::to_string(n_tensors) + " tensors, more than the " +
              std::to_string(size) + "-byte file can hold");

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.string("the key of KV #" + std::to_string(i));
    const auto type = r.scalar<uint32_t>(("the type of KV '" + key + "'").c_str());
    if (!known_value_type(type))
      r.corrupt("KV '" + key + "' has unknown value type " + std::to_string(type));
    auto value = r.value(static_cast<GgufValueType>(type), key, 0);
    if (f.kv_.count(key)) r.corrupt("KV '" + key + "' appears twice");
    f.kv_.emplace(std::move(key), std::move(value));
  }
  if (const auto* a = f.find("general.alignment")) {
    uint64_t al = 0;
    if (a->is_integer() && !(std::holds_alternative<int64_t>(a->scalar) && std::get<int64_t>(a->scalar) < 0))
      al = a->to_uint();
    if (al == 0 || (al & (al - 1)) != 0)
      r.corrupt("general.alignment is " + a->display() + ", not a power of two");
    f.alignment_ = al;
  } else {
    f.alignment_ = kDefaultAlignment;
  }

  f.tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = r.string("the name of tensor #" + std::to_string(i));
    const std::string tq = "tensor '" + t.name + "'";
    const auto n_dims = r.scalar<uint32_t>(("the dimension count of " + tq).c_str());
    if (n_dims > kMaxDims)
      r.corrupt(tq + " has " + std::to_string(n_dims) + " dimensions (at most " + std::to_string(kMaxDims) +
                " are supported)");
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const auto ne = r.scalar<uint64_t>(("the dimensions of " + tq).c_str());
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (ne != 0 && static_cast<uint64_t>(numel) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ne))
        r.corrupt(tq + " has dimensions whose element count overflows");
      numel *= static_cast<int64_t>(ne);
      t.ne.push_back(static_cast<int64_t>(ne));
    }
    const auto type_id = r.scalar<uint32_t>(("the type of " + tq).c_str());
    const auto* info = ggml_type_info(type_id);
    if (!info)
      throw Error("cannot read GGUF file " + quoted(path) + ": " + tq + " has ggml type id " +
                      std::to_string(type_id) + " (" + ggml_type_id_name(type_id) +
                      "), which S2V Studio cannot decode (it reads " + known_types_list() + ")",
                  ErrorKind::Unsupported, path.string());
    t.type = static_cast<GgmlType>(type_id);
    t.offset = r.scalar<uint64_t>(("the offset of " + tq).c_str());
    const int64_t row = t.ne.empty() ? 1 : t.ne[0];
    if (row % info->block_values != 0 || numel % info->block_values != 0)
      r.corrupt(tq + " (" + info->name + ") has rows of " + std::to_string(row) +
                " values, not a whole number of " + std::to_string(info->block_values) + "-value blocks");
    const auto blocks = static_cast<uint64_t>(numel / info->block_values);
    if (blocks > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(info->block_bytes))
      r.corrupt(tq + " is too large");
    t.bytes = blocks * static_cast<uint64_t>(info->block_bytes);
    t.shape.assign(t.ne.rbegin(), t.ne.rend());
    if (f.index_.count(t.name)) r.corrupt(tq + " appears twice");
    f.index_.emplace(t.name, f.tensors_.size());
    f.tensors_.push_back(std::move(t));
  }

  const uint64_t al = f.alignment_;
  f.data_offset_ = r.pos() % al == 0 ? r.pos() : r.pos() + (al - r.pos() % al);
  const uint64_t data_size = f.data_offset_ <= size ? size - f.data_offset_ : 0;
  struct Range {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;
  for (auto& t : f.tensors_) {
    const std::string tq = "tensor '" + t.name + "'";
    if (t.offset % al != 0)
      r.corrupt(tq + " starts at data offset " + std::to_string(t.offset) + ", not a multiple of the alignment (" +
                std::to_string(al) + ")");
    if (t.offset > data_size || t.bytes > data_size - t.offset)
      r.corrupt(tq + " needs bytes [" + std::to_string(t.offset) + ", " + std::to_string(t.offset + t.bytes) +
                ") of the data section, but the file holds " + std::to_string(data_size) +
                " bytes of data (truncated file?)");
    if (t.bytes) ranges.push_back({t.offset, t.offset + t.bytes, &t.name});
    // ComfyUI-GGUF records the PyTorch shape of a tensor it reshaped to fit the blocks.
    if (const auto* o = f.find(kOrigShapePrefix + t.name)) {
      const std::string bad = tq + " has a " + kOrigShapePrefix + t.name + " of " + o->display() + " that ";
      if (!o->is_array() || o->elements.size() > kMaxDims)
        r.corrupt(bad + "is not a list of at most " + std::to_string(kMaxDims) + " dimensions");
      std::vector<int64_t> shape;
      uint64_t n = 1;
      bool fits = true;
      for (auto& e : o->elements) {
        if (!e.is_integer() || (std::holds_alternative<int64_t>(e.scalar) && std::get<int64_t>(e.scalar) < 0))
          r.corrupt(bad + "is not a list of dimensions");
        const uint64_t d = e.to_uint();
        fits = fits && (d == 0 || n <= static_cast<uint64_t>(t.numel()) / d);
        if (!fits) break;
        n *= d;
        shape.push_back(static_cast<int64_t>(d));
      }
      if (!fits || n != static_cast<uint64_t>(t.numel()))
        r.corrupt(bad + "does not hold its " + std::to_string(t.numel()) + " values (stored as " +
                  dims_string(t.shape) + ")");
      t.shape = std::move(shape);
    }
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      r.corrupt("the data of tensors '" + *ranges[i - 1].name + "' and '" + *ranges[i].name + "' overlap");
  return f;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

std::string GgufFile::architecture() const {
  const auto* a = find("general.architecture");
  return a && a->type == GgufValueType::String ? a->str() : std::string();
}

std::vector<std::string> GgufFile::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (auto& [k, _] : index_) out.push_back(k);
  return out;
}

const GgufTensorInfo& GgufFile::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end())
    throw Error("tensor '" + name + "' is not in " + quoted(path_), ErrorKind::NotFound, name);
  return tensors_[it->second];
}

const uint8_t* GgufFile::raw_data(const std::string& name) const {
  return file_->data() + data_offset_ + info(name).offset;
}

torch::Tensor GgufFile::bytes(const std::string& name) const {
  const auto& t = info(name);
  if (t.bytes == 0) return torch::empty({0}, torch::kUInt8);
  auto keep = file_;  // the view keeps the mapping alive
  // The mapping is read-only; callers never write into it (dequantize only reads).
  return torch::from_blob(const_cast<uint8_t*>(raw_data(name)), {static_cast<int64_t>(t.bytes)},
                          [keep](void*) {}, torch::TensorOptions().dtype(torch::kUInt8));
}

PackedTensor GgufFile::packed(const std::string& name) const {
  const auto& t = info(name);
  return PackedTensor{t.type, t.shape, bytes(name)};
}

torch::Tensor GgufFile::tensor(const std::string& name) const {
  const auto& t = info(name);
  if (is_block_quantized(t.type)) return dequantize(packed(name), torch::kFloat32);
  const auto type = t.type == GgmlType::F32 ? torch::kFloat32
                    : t.type == GgmlType::F16 ? torch::kFloat16 : torch::kBFloat16;
  return bytes(name).view(type).view(t.shape);
}

torch::Tensor GgufFile::tensor_as(const std::string& name, torch::ScalarType dtype) const {
  if (is_block_quantized(info(name).type)) {
    if (c10::isFloatingType(dtype)) return dequantize(packed(name), dtype);
    return dequantize(packed(name), torch::kFloat32).to(dtype);
  }
  auto view = tensor(name);
  return view.scalar_type() == dtype ? view : view.to(dtype);
}

}  // namespace s2v::weights
