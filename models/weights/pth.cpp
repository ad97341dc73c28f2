#include "models/weights/pth.h"

#include <fstream>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/mapped_file.h"
#include "models/weights/pickle.h"
#include "models/weights/safetensors.h"
#include "models/weights/zip_reader.h"

namespace s2v::weights {

namespace {

using pickle::Value;
using pickle::ValuePtr;

std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

std::string key_string(const ValuePtr& k) {
  switch (k->type) {
    case Value::Type::String: return k->s;
    case Value::Type::Int: return std::to_string(k->i);
    default: return {};
  }
}

struct Flattener {
  std::map<std::string, std::shared_ptr<pickle::TensorRef>>& tensors;
  std::vector<std::string>& skipped;
  const std::filesystem::path& path;

  void walk(const ValuePtr& v, const std::string& name, int depth) {
    if (depth > 32)
      throw Error("cannot read " + quoted(path) + ": its object nests deeper than 32 levels (a cycle?)",
                  ErrorKind::Corrupt, path.string());
    auto join = [&](const std::string& k) { return name.empty() ? k : name + "." + k; };
    switch (v->type) {
      case Value::Type::Tensor:
        if (name.empty())
          throw Error("cannot read " + quoted(path) + ": it holds a single tensor, not a state dict",
                      ErrorKind::Unsupported, path.string());
        if (!tensors.emplace(name, std::make_shared<pickle::TensorRef>(v->tensor)).second)
          throw Error("cannot read " + quoted(path) + ": tensor name '" + name + "' occurs twice",
                      ErrorKind::Corrupt, path.string());
        break;
      case Value::Type::Dict:
        for (auto& [k, x] : v->dict) {
          const std::string key = key_string(k);
          if (key.empty()) {
            skipped.push_back(join("<" + std::string(pickle::to_string(k->type)) + " key>"));
            continue;
          }
          walk(x, join(key), depth + 1);
        }
        break;
      case Value::Type::List:
      case Value::Type::Tuple:
        for (size_t i = 0; i < v->items.size(); ++i) walk(v->items[i], join(std::to_string(i)), depth + 1);
        break;
      default:
        skipped.push_back((name.empty() ? std::string("<root>") : name) + ": " + pickle::to_string(v->type));
    }
  }
};

}  // namespace

PthFile PthFile::open(const std::filesystem::path& path) {
  PthFile f;
  f.path_ = path;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      MappedFile probe(path);  // throws the precise NotFound / PermissionDenied error
    }
    unsigned char head[2] = {};
    in.read(reinterpret_cast<char*>(head), 2);
    if (in && head[0] == 0x80 && head[1] <= 5)
      throw Error("cannot read " + quoted(path) +
                      ": it uses PyTorch's legacy (pre-1.6, non-zip) format, which is not supported; "
                      "re-save it with torch.save from PyTorch 1.6 or later",
                  ErrorKind::Unsupported, path.string());
  }
  f.zip_ = std::make_shared<ZipArchive>(ZipArchive::open(path));
  // The record folder: the one top-level folder holding data.pkl.
  std::string pkl;
  for (auto& [name, _] : f.zip_->entries()) {
    const auto slash = name.find('/');
    if (slash != std::string::npos && name.substr(slash + 1) == "data.pkl") {
      if (!pkl.empty())
        throw Error("cannot read " + quoted(path) + ": it holds several data.pkl records", ErrorKind::Corrupt,
                    path.string());
      pkl = name;
      f.prefix_ = name.substr(0, slash);
    }
  }
  if (pkl.empty())
    throw Error("cannot read " + quoted(path) + ": the zip archive has no <name>/data.pkl, so it is not a "
                "PyTorch checkpoint",
                ErrorKind::Corrupt, path.string());
  const std::string byteorder = f.prefix_ + "/byteorder";
  if (f.zip_->contains(byteorder) && f.zip_->read_string(byteorder) != "little")
    throw Error("cannot read " + quoted(path) + ": its tensors are stored big-endian", ErrorKind::Unsupported,
                path.string());
  const auto root = pickle::unpickle(f.zip_->data(pkl), f.zip_->entry(pkl).size, quoted(path));
  Flattener{f.tensors_, f.skipped_, path}.walk(root, "", 0);

  // Every tensor must lie inside its storage, and every storage inside its archive entry.
  std::map<std::string, bool> storage_checked;
  for (auto& [name, t] : f.tensors_) {
    const auto& s = *t->storage;
    const std::string entry = f.prefix_ + "/data/" + s.key;
    const size_t esize = dtype_size(s.dtype);
    if (!storage_checked[s.key]) {
      if (!f.zip_->contains(entry))
        throw Error("cannot read " + quoted(path) + ": storage '" + s.key + "' of tensor '" + name +
                        "' is missing from the archive (truncated?)",
                    ErrorKind::Corrupt, path.string());
      const auto& e = f.zip_->entry(entry);
      if (e.method != 0)
        throw Error("cannot read " + quoted(path) + ": storage '" + s.key + "' is compressed; torch.save "
                    "stores storages uncompressed",
                    ErrorKind::Unsupported, path.string());
      if (e.size < s.numel * esize)
        throw Error("cannot read " + quoted(path) + ": storage '" + s.key + "' holds " + std::to_string(e.size) +
                        " bytes but is declared as " + std::to_string(s.numel) + " elements of " +
                        std::to_string(esize) + " bytes",
                    ErrorKind::Corrupt, path.string());
      storage_checked[s.key] = true;
    }
    bool empty = false;
    for (int64_t d : t->shape) {
      if (d < 0) throw Error("cannot read " + quoted(path) + ": tensor '" + name + "' has a negative size",
                             ErrorKind::Corrupt, path.string());
      empty = empty || d == 0;
    }
    if (t->offset < 0)
      throw Error("cannot read " + quoted(path) + ": tensor '" + name + "' has a negative storage offset",
                  ErrorKind::Corrupt, path.string());
    if (empty) continue;
    uint64_t last = static_cast<uint64_t>(t->offset);
    for (size_t i = 0; i < t->shape.size(); ++i) {
      if (t->stride[i] < 0)
        throw Error("cannot read " + quoted(path) + ": tensor '" + name + "' has a negative stride",
                    ErrorKind::Corrupt, path.string());
      last += static_cast<uint64_t>(t->shape[i] - 1) * static_cast<uint64_t>(t->stride[i]);
    }
    if (last >= s.numel)
      throw Error("cannot read " + quoted(path) + ": tensor '" + name + "' reaches element " + std::to_string(last) +
                      " of storage '" + s.key + "', which has " + std::to_string(s.numel),
                  ErrorKind::Corrupt, path.string());
  }
  return f;
}

std::vector<std::string> PthFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (auto& [k, _] : tensors_) out.push_back(k);
  return out;
}

const pickle::TensorRef& PthFile::ref(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end())
    throw Error("tensor '" + name + "' is not in " + quoted(path_), ErrorKind::NotFound, name);
  return *it->second;
}

TensorMeta PthFile::meta(const std::string& name) const {
  const auto& r = ref(name);
  return {r.storage->dtype, r.shape};
}

torch::Tensor PthFile::tensor(const std::string& name) const {
  const auto& r = ref(name);
  const auto type = to_scalar_type(r.storage->dtype);
  for (int64_t d : r.shape)
    if (d == 0) return torch::empty(r.shape, type);
  const uint8_t* base = zip_->data(prefix_ + "/data/" + r.storage->key);
  auto keep = zip_->file();
  return torch::from_blob(const_cast<uint8_t*>(base) + r.offset * static_cast<int64_t>(dtype_size(r.storage->dtype)),
                          r.shape, r.stride, [keep](void*) {}, torch::TensorOptions().dtype(type));
}

}  // namespace s2v::weights
