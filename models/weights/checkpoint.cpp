#include "models/weights/checkpoint.h"

#include <algorithm>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/gguf.h"
#include "models/weights/pth.h"
#include "models/weights/safetensors.h"
#include "models/weights/validate.h"

namespace s2v::weights {

namespace {

std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TensorMeta meta_of(const TensorInfo& info) { return {info.dtype, info.shape}; }

// FP8 tensors of a safetensors file as packed bytes (scale 1: a scaled-FP8 view adds the scale).
std::optional<PackedTensor> fp8_packed(const SafetensorsFile& file, const std::string& name) {
  const auto& info = file.info(name);
  if (!is_fp8(info.dtype)) return std::nullopt;
  PackedTensor p;
  p.type = info.dtype == "F8_E4M3" ? GgmlType::F8_E4M3 : GgmlType::F8_E5M2;
  p.shape = info.shape;
  p.data = file.raw_bytes(name);
  return p;
}

class SafetensorsSource : public TensorSource {
 public:
  explicit SafetensorsSource(SafetensorsFile file) : file_(std::move(file)) {}
  std::string describe() const override { return quoted(file_.path()); }
  std::vector<std::string> names() const override { return file_.names(); }
  bool contains(const std::string& name) const override { return file_.contains(name); }
  TensorMeta meta(const std::string& name) const override { return meta_of(file_.info(name)); }
  torch::Tensor tensor(const std::string& name) const override { return file_.tensor(name); }
  torch::Tensor tensor_as(const std::string& name, torch::ScalarType dtype) const override {
    return file_.tensor_as(name, dtype);
  }
  std::optional<PackedTensor> packed(const std::string& name) const override { return fp8_packed(file_, name); }
  std::map<std::string, std::string> metadata() const override { return file_.metadata(); }

 private:
  SafetensorsFile file_;
};

class ShardedSource : public TensorSource {
 public:
  explicit ShardedSource(const std::filesystem::path& index) : index_(index) {
    nlohmann::json j;
    {
      std::ifstream in(index);
      if (!in)
        throw Error("cannot open shard index " + quoted(index), ErrorKind::NotFound, index.string());
      try {
        j = nlohmann::json::parse(in);
      } catch (const std::exception& e) {
        throw Error("cannot read shard index " + quoted(index) + ": the JSON does not parse (" +
                        e.what() + ")",
                    ErrorKind::Corrupt, index.string());
      }
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error("cannot read shard index " + quoted(index) + ": it has no \"weight_map\" object",
                  ErrorKind::Corrupt, index.string());
    if (j.contains("metadata") && j["metadata"].is_object())
      for (auto& [k, v] : j["metadata"].items()) metadata_[k] = v.is_string() ? v.get<std::string>() : v.dump();
    const auto folder = index.parent_path();
    std::vector<std::string> missing_files, missing_tensors;
    for (auto& [name, v] : j["weight_map"].items()) {
      if (!v.is_string())
        throw Error("cannot read shard index " + quoted(index) + ": the entry for '" + name +
                        "' is not a file name",
                    ErrorKind::Corrupt, index.string());
      const std::string file = v.get<std::string>();
      if (file.find("..") != std::string::npos || std::filesystem::path(file).is_absolute())
        throw Error("refusing shard index " + quoted(index) + ": shard '" + file +
                        "' lies outside the index's folder",
                    ErrorKind::Corrupt, index.string());
      auto it = shards_.find(file);
      if (it == shards_.end()) {
        const auto path = folder / file;
        if (!std::filesystem::exists(path)) {
          missing_files.push_back(file);
          shards_.emplace(file, nullptr);
          continue;
        }
        it = shards_.emplace(file, std::make_shared<SafetensorsFile>(SafetensorsFile::open(path))).first;
      }
      if (!it->second) continue;
      if (!it->second->contains(name)) {
        missing_tensors.push_back("'" + name + "' (in " + file + ")");
        continue;
      }
      map_.emplace(name, it->second.get());
    }
    if (!missing_files.empty() || !missing_tensors.empty()) {
      std::string msg = "cannot read sharded checkpoint " + quoted(index) + ":";
      auto list = [](const std::vector<std::string>& v) {
        std::string s;
        for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
        return s;
      };
      if (!missing_files.empty())
        msg += " " + std::to_string(missing_files.size()) + " shard file(s) missing (" +
               list(missing_files) + ")" + (missing_tensors.empty() ? "" : ";");
      if (!missing_tensors.empty())
        msg += " " + std::to_string(missing_tensors.size()) +
               " tensor(s) listed in the index are not in their shard (" + list(missing_tensors) + ")";
      throw Error(msg, missing_files.empty() ? ErrorKind::Corrupt : ErrorKind::NotFound,
                  index.string());
    }
  }
  std::string describe() const override { return quoted(index_); }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    out.reserve(map_.size());
    for (auto& [k, _] : map_) out.push_back(k);
    return out;
  }
  bool contains(const std::string& name) const override { return map_.count(name) != 0; }
  TensorMeta meta(const std::string& name) const override { return meta_of(shard(name).info(name)); }
  torch::Tensor tensor(const std::string& name) const override { return shard(name).tensor(name); }
  torch::Tensor tensor_as(const std::string& name, torch::ScalarType dtype) const override {
    return shard(name).tensor_as(name, dtype);
  }
  std::optional<PackedTensor> packed(const std::string& name) const override { return fp8_packed(shard(name), name); }
  std::map<std::string, std::string> metadata() const override { return metadata_; }

 private:
  const SafetensorsFile& shard(const std::string& name) const {
    auto it = map_.find(name);
    if (it == map_.end())
      throw Error("tensor '" + name + "' is not in " + quoted(index_), ErrorKind::NotFound, name);
    return *it->second;
  }
  std::filesystem::path index_;
  std::map<std::string, std::shared_ptr<SafetensorsFile>> shards_;  // file name -> shard
  std::map<std::string, const SafetensorsFile*> map_;                // tensor -> shard
  std::map<std::string, std::string> metadata_;
};

class PthSource : public TensorSource {
 public:
  explicit PthSource(PthFile file) : file_(std::move(file)) {}
  std::string describe() const override { return quoted(file_.path()); }
  std::vector<std::string> names() const override { return file_.names(); }
  bool contains(const std::string& name) const override { return file_.contains(name); }
  TensorMeta meta(const std::string& name) const override { return file_.meta(name); }
  torch::Tensor tensor(const std::string& name) const override { return file_.tensor(name); }

 private:
  PthFile file_;
};

class GgufSource : public TensorSource {
 public:
  explicit GgufSource(GgufFile file) : file_(std::move(file)) {
    for (auto& [k, v] : file_.kv()) metadata_[k] = v.type == GgufValueType::String ? v.str() : v.display();
  }
  std::string describe() const override { return quoted(file_.path()); }
  std::vector<std::string> names() const override { return file_.names(); }
  bool contains(const std::string& name) const override { return file_.contains(name); }
  TensorMeta meta(const std::string& name) const override {
    const auto& info = file_.info(name);
    return {ggml_type_info(info.type).name, info.shape};
  }
  torch::Tensor tensor(const std::string& name) const override { return file_.tensor(name); }
  torch::Tensor tensor_as(const std::string& name, torch::ScalarType dtype) const override {
    return file_.tensor_as(name, dtype);
  }
  std::optional<PackedTensor> packed(const std::string& name) const override {
    if (!is_block_quantized(file_.info(name).type)) return std::nullopt;
    return file_.packed(name);
  }
  std::map<std::string, std::string> metadata() const override { return metadata_; }

 private:
  GgufFile file_;
  std::map<std::string, std::string> metadata_;
};

bool is_pth_extension(const std::string& ext) {
  return ext == ".pth" || ext == ".pt" || ext == ".bin" || ext == ".ckpt";
}

bool has_zip_signature(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  char sig[4] = {};
  in.read(sig, 4);
  return in && sig[0] == 'P' && sig[1] == 'K' && sig[2] == 3 && sig[3] == 4;
}

}  // namespace

uint64_t TensorMeta::numel() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

torch::Tensor TensorSource::tensor_as(const std::string& name, torch::ScalarType dtype) const {
  auto t = tensor(name);
  return t.scalar_type() == dtype ? t : t.to(dtype);
}

std::shared_ptr<TensorSource> open_safetensors_source(const std::filesystem::path& path) {
  return std::make_shared<SafetensorsSource>(SafetensorsFile::open(path));
}

std::shared_ptr<TensorSource> open_sharded_source(const std::filesystem::path& index_json) {
  return std::make_shared<ShardedSource>(index_json);
}

std::shared_ptr<TensorSource> open_pth_source(const std::filesystem::path& path) {
  return std::make_shared<PthSource>(PthFile::open(path));
}

std::shared_ptr<TensorSource> open_gguf_source(const std::filesystem::path& path) {
  return std::make_shared<GgufSource>(GgufFile::open(path));
}

std::shared_ptr<TensorSource> open_checkpoint(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::filesystem::path> indexes, singles, ggufs;
    for (auto& e : std::filesystem::directory_iterator(path, ec)) {
      const auto name = e.path().filename().string();
      if (ends_with(name, ".index.json")) indexes.push_back(e.path());
      else if (ends_with(name, ".safetensors")) singles.push_back(e.path());
      else if (ends_with(name, ".gguf")) ggufs.push_back(e.path());
    }
    std::sort(indexes.begin(), indexes.end());
    std::sort(singles.begin(), singles.end());
    std::sort(ggufs.begin(), ggufs.end());
    const auto& pick = !indexes.empty() ? indexes : !singles.empty() ? singles : ggufs;
    if (pick.size() == 1) return open_checkpoint(pick.front());
    if (pick.empty())
      throw Error("no checkpoint in folder " + quoted(path) +
                      ": it has neither a *.safetensors.index.json nor a *.safetensors or *.gguf file",
                  ErrorKind::NotFound, path.string());
    std::string list;
    for (auto& p : pick) list += (list.empty() ? "" : ", ") + p.filename().string();
    throw Error("folder " + quoted(path) + " holds several checkpoints (" + list +
                    "); name the file to load",
                ErrorKind::InvalidArgument, path.string());
  }
  const auto name = path.filename().string();
  if (ends_with(name, ".index.json")) return open_sharded_source(path);
  if (ends_with(name, ".safetensors")) return open_safetensors_source(path);
  if (ends_with(name, ".gguf")) return open_gguf_source(path);
  if (!std::filesystem::exists(path, ec))
    throw Error("cannot open " + quoted(path) + ": no such file", ErrorKind::NotFound, path.string());
  if (has_gguf_magic(path)) return open_gguf_source(path);
  if (is_pth_extension(path.extension().string()) || has_zip_signature(path)) return open_pth_source(path);
  return open_safetensors_source(path);
}

torch::Tensor load_as(const TensorSource& source, const std::string& name, torch::ScalarType dtype,
                      torch::Device device) {
  if (device.is_cpu()) return source.tensor_as(name, dtype);
  if (auto p = source.packed(name); p && c10::isFloatingType(dtype)) {
    p->data = p->data.to(device);  // the packed bytes cross the bus; the device dequantises
    return dequantize(*p, dtype);
  }
  const auto meta = source.meta(name);
  if (is_fp8(meta.dtype)) return source.tensor_as(name, dtype).to(device);
  // Upload the stored bytes, convert on the device: one host read, no float32 staging copy.
  return source.tensor(name).to(device).to(dtype);
}

void load_module(torch::nn::Module& module, const TensorSource& source,
                 const std::string& model_name, bool allow_unexpected, const CancelToken& cancel) {
  require_valid(expected_from_module(module), source, model_name, ShapeCheck::Exact, allow_unexpected);
  torch::NoGradGuard no_grad;
  auto fill = [&](const std::string& name, torch::Tensor& target) {
    cancel.throw_if_requested();
    auto t = load_as(source, name, target.scalar_type(), target.device());
    // validate() let through stored shapes that differ only in size-1 dims (GGUF writers drop them).
    target.copy_(t.sizes() == target.sizes() ? t : t.reshape(target.sizes()));
  };
  for (auto& p : module.named_parameters(/*recurse=*/true)) fill(p.key(), p.value());
  for (auto& b : module.named_buffers(/*recurse=*/true)) fill(b.key(), b.value());
}

}  // namespace s2v::weights
