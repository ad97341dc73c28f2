#include "models/weights/source_views.h"

#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/safetensors.h"

namespace s2v::weights {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string strip_suffix(const std::string& s, const std::string& suffix) {
  return s.substr(0, s.size() - suffix.size());
}

class RenamedSource : public TensorSource {
 public:
  RenamedSource(std::shared_ptr<TensorSource> inner, std::function<std::string(const std::string&)> to_native,
                std::string what)
      : inner_(std::move(inner)), what_(std::move(what)) {
    for (const auto& stored : inner_->names()) {
      auto native = to_native(stored);
      if (native.empty()) continue;
      auto [it, fresh] = stored_.emplace(native, stored);
      if (!fresh)
        throw Error("cannot read " + inner_->describe() + " as " + what_ + ": both '" + it->second + "' and '" +
                        stored + "' would be '" + native + "'",
                    ErrorKind::Corrupt, stored);
    }
  }
  std::string describe() const override { return inner_->describe() + " (" + what_ + ")"; }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    out.reserve(stored_.size());
    for (const auto& [native, _] : stored_) out.push_back(native);
    return out;
  }
  bool contains(const std::string& name) const override { return stored_.count(name) != 0; }
  TensorMeta meta(const std::string& name) const override { return inner_->meta(stored(name)); }
  torch::Tensor tensor(const std::string& name) const override { return inner_->tensor(stored(name)); }
  torch::Tensor tensor_as(const std::string& name, torch::ScalarType dtype) const override {
    return inner_->tensor_as(stored(name), dtype);
  }
  std::optional<PackedTensor> packed(const std::string& name) const override { return inner_->packed(stored(name)); }
  std::map<std::string, std::string> metadata() const override { return inner_->metadata(); }

 private:
  const std::string& stored(const std::string& name) const {
    auto it = stored_.find(name);
    if (it == stored_.end())
      throw Error("tensor '" + name + "' is not in " + describe(), ErrorKind::NotFound, name);
    return it->second;
  }
  std::shared_ptr<TensorSource> inner_;
  std::string what_;
  std::map<std::string, std::string> stored_;  // native -> stored
};

// The bytes of a uint8 tensor as text (comfy_quant holds UTF-8 JSON).
std::string tensor_text(const torch::Tensor& t) {
  auto c = t.to(torch::kUInt8).contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

class ScaledFp8Source : public TensorSource {
 public:
  explicit ScaledFp8Source(std::shared_ptr<TensorSource> inner) : inner_(std::move(inner)) {
    const auto all = inner_->names();
    const std::set<std::string> present(all.begin(), all.end());
    bool convention = present.count("scaled_fp8") != 0;
    std::map<std::string, std::string> quant_format;  // module -> comfy_quant "format"
    std::map<std::string, std::string> scale_of;      // weight name -> scale tensor name
    for (const auto& n : all) {
      if (n == "scaled_fp8") {
        hidden_.insert(n);
      } else if (ends_with(n, ".scale_weight")) {
        scale_of[strip_suffix(n, ".scale_weight") + ".weight"] = n;
        hidden_.insert(n);
        convention = true;
      } else if (ends_with(n, ".weight_scale")) {
        scale_of[strip_suffix(n, ".weight_scale") + ".weight"] = n;
        hidden_.insert(n);
        convention = true;
      } else if (ends_with(n, ".scale_input") || ends_with(n, ".input_scale")) {
        hidden_.insert(n);
      } else if (ends_with(n, ".comfy_quant")) {
        hidden_.insert(n);
        convention = true;
        const auto module = strip_suffix(n, ".comfy_quant");
        try {
          quant_format[module] = nlohmann::json::parse(tensor_text(inner_->tensor(n))).value("format", std::string());
        } catch (const nlohmann::json::exception& e) {
          throw Error("cannot read " + inner_->describe() + ": the quantisation marker '" + n +
                          "' is not JSON (" + e.what() + ")",
                      ErrorKind::Corrupt, n);
        }
      } else if (ends_with(n, ".weight_scale_2")) {
        throw Error("cannot read " + inner_->describe() + ": '" + n +
                        "' belongs to a quantisation format other than FP8 (NVFP4); S2V Studio reads FP8 "
                        "(scaled) and GGUF files",
                    ErrorKind::Unsupported, n);
      }
    }
    for (const auto& [module, format] : quant_format) {
      if (format != "float8_e4m3fn" && format != "float8_e5m2")
        throw Error("cannot read " + inner_->describe() + ": layer '" + module + "' is quantised as '" + format +
                        "'; S2V Studio reads float8_e4m3fn / float8_e5m2 (scaled) and GGUF files",
                    ErrorKind::Unsupported, module);
      if (!scale_of.count(module + ".weight"))
        throw Error("cannot read " + inner_->describe() + ": the FP8 weight '" + module +
                        ".weight' has no scale ('" + module + ".weight_scale' is missing)",
                    ErrorKind::Corrupt, module + ".weight");
    }
    for (const auto& n : all) {
      if (hidden_.count(n) || !is_fp8(inner_->meta(n).dtype)) continue;
      auto it = scale_of.find(n);
      if (it != scale_of.end()) scale_.emplace(n, it->second);
      else if (convention)
        throw Error("cannot read " + inner_->describe() + ": the FP8 tensor '" + n +
                        "' has no scale (the file uses ComfyUI's scaled-FP8 convention, so '" +
                        strip_suffix(n, ".weight") + ".scale_weight' or '.weight_scale' was expected)",
                    ErrorKind::Corrupt, n);
    }
    for (const auto& [weight, scale] : scale_of)
      if (!present.count(weight))
        throw Error("cannot read " + inner_->describe() + ": the scale '" + scale + "' has no weight '" + weight + "'",
                    ErrorKind::Corrupt, scale);
    for (const auto& n : all)
      if (!hidden_.count(n)) names_.push_back(n);
  }

  std::string describe() const override { return inner_->describe(); }
  std::vector<std::string> names() const override { return names_; }
  bool contains(const std::string& name) const override { return !hidden_.count(name) && inner_->contains(name); }
  TensorMeta meta(const std::string& name) const override { return inner_->meta(visible(name)); }
  torch::Tensor tensor(const std::string& name) const override { return tensor_as(name, torch::kFloat32); }
  torch::Tensor tensor_as(const std::string& name, torch::ScalarType dtype) const override {
    auto it = scale_.find(visible(name));
    if (it == scale_.end()) return inner_->tensor_as(name, dtype);
    // weight = float(fp8) * scale in float32, then cast once
    auto w = inner_->tensor_as(name, torch::kFloat32);
    auto s = inner_->tensor(it->second).to(torch::kFloat32);
    if (s.numel() == 1) {
      w.mul_(s.reshape({}));
    } else if (w.dim() >= 1 && s.numel() == w.size(0)) {
      std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
      shape[0] = w.size(0);
      w.mul_(s.reshape(shape));
    } else {
      throw Error("cannot read " + inner_->describe() + ": the scale '" + it->second + "' has " +
                      std::to_string(s.numel()) + " values, which fits neither one per tensor nor one per row of '" +
                      name + "'",
                  ErrorKind::Corrupt, it->second);
    }
    return dtype == torch::kFloat32 ? w : w.to(dtype);
  }
  std::optional<PackedTensor> packed(const std::string& name) const override {
    auto p = inner_->packed(visible(name));
    auto it = scale_.find(name);
    if (p && it != scale_.end()) p->scale = inner_->tensor(it->second).to(torch::kFloat32).reshape({-1});
    return p;
  }
  std::map<std::string, std::string> metadata() const override { return inner_->metadata(); }

 private:
  const std::string& visible(const std::string& name) const {
    if (hidden_.count(name))
      throw Error("tensor '" + name + "' is not in " + describe(), ErrorKind::NotFound, name);
    return name;
  }
  std::shared_ptr<TensorSource> inner_;
  std::set<std::string> hidden_;
  std::map<std::string, std::string> scale_;  // FP8 weight -> its scale tensor
  std::vector<std::string> names_;
};

}  // namespace

std::shared_ptr<TensorSource> apply_rename(std::shared_ptr<TensorSource> source,
                                           std::function<std::string(const std::string&)> to_native,
                                           const std::string& what) {
  return std::make_shared<RenamedSource>(std::move(source), std::move(to_native), what);
}

std::shared_ptr<TensorSource> under_prefix(std::shared_ptr<TensorSource> source, const std::string& prefix) {
  return apply_rename(
      std::move(source),
      [prefix](const std::string& name) { return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : std::string(); },
      "names under \"" + prefix + "\"");
}

bool uses_fp8(const TensorSource& source) {
  for (const auto& n : source.names()) {
    if (n == "scaled_fp8" || ends_with(n, ".scale_weight") || ends_with(n, ".weight_scale") ||
        ends_with(n, ".comfy_quant"))
      return true;
    if (is_fp8(source.meta(n).dtype)) return true;
  }
  return false;
}

std::shared_ptr<TensorSource> apply_scaled_fp8(std::shared_ptr<TensorSource> source) {
  if (!uses_fp8(*source)) return source;
  return std::make_shared<ScaledFp8Source>(std::move(source));
}

}  // namespace s2v::weights

namespace s2v::weights {
bool is_packed_dtype(const std::string& dtype) {
  return is_fp8(dtype) || (dtype.size() >= 2 && dtype[0] == 'Q' && std::isdigit(static_cast<unsigned char>(dtype[1])));
}

std::string container_name(const std::filesystem::path& path) {
  const auto name = path.filename().string();
  if (ends_with(name, ".index.json")) return "sharded safetensors";
  if (ends_with(name, ".safetensors")) return "safetensors";
  if (ends_with(name, ".gguf")) return "GGUF";
  if (std::filesystem::is_directory(path)) return "folder";
  return "PyTorch .pth";
}

ShapeMap shapes_of(const TensorSource& source) {
  ShapeMap out;
  for (const auto& n : source.names()) out.emplace(n, source.meta(n).shape);
  return out;
}
}  // namespace s2v::weights
