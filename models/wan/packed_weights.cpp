#include "models/wan/packed_weights.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/base/shape_map.h"
#include "models/weights/checkpoint.h"
#include "models/weights/source_views.h"

namespace s2v::wan {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// "blocks.3.self_attn.q.weight" -> "blocks.*.self_attn.q.weight": the same parameter of every
// block shares one buffer.
std::string pattern_of(const std::string& name) {
  std::string out;
  size_t i = 0;
  bool replaced = false;
  while (i < name.size()) {
    const size_t dot = name.find('.', i);
    const std::string part = name.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
    const bool number = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(c); });
    out += (!replaced && number) ? "*" : part;
    replaced = replaced || number;
    if (dot == std::string::npos) break;
    out += '.';
    i = dot + 1;
  }
  return out;
}

void release(torch::Tensor& param) {
  param.set_data(torch::empty({0}, param.options()));
}

}  // namespace

PackedWeights::Scope::~Scope() {
  for (auto& p : params_) release(p);
}

PackedWeights::PackedWeights(torch::Device device, bool stream) : device_(device), stream_(stream && !device.is_cpu()) {}

PackedWeights::PackedWeights(torch::nn::Module& module, const weights::TensorSource& source,
                             const std::map<std::string, std::vector<int64_t>>& expected, torch::Device device,
                             bool stream)
    : PackedWeights(device, stream) {
  const auto packed = keep_packed(source);
  if (!packed) return;
  for (auto& p : module.named_parameters(/*recurse=*/true)) {
    if (!packed(p.key())) continue;
    auto stored = source.packed(p.key());
    if (!stored)
      throw Error("the DiT tensor '" + p.key() + "' of " + source.describe() + " has no packed form",
                  ErrorKind::Corrupt, p.key());
    auto it = expected.find(p.key());
    if (it == expected.end())
      throw Error("the DiT has no parameter '" + p.key() + "'", ErrorKind::Corrupt, p.key());
    if (shape_numel(it->second) != stored->numel())
      throw Error("the DiT tensor '" + p.key() + "' of " + source.describe() + " holds " +
                      std::to_string(stored->numel()) + " values; the model expects " +
                      std::to_string(shape_numel(it->second)),
                  ErrorKind::Corrupt, p.key());
    attach(p.key(), p.value(), std::move(*stored), it->second);
  }
}

void PackedWeights::attach(const std::string& name, torch::Tensor param, weights::PackedTensor packed,
                           std::vector<int64_t> shape) {
  if (stream_) packed.data = torch::cuda::is_available() ? packed.data.contiguous().pin_memory() : packed.data.clone();
  else packed.data = packed.data.to(device_).contiguous();
  if (packed.scale.defined()) packed.scale = packed.scale.to(stream_ ? torch::Device(torch::kCPU) : device_);
  Entry e{std::move(packed), std::move(param), std::move(shape), pattern_of(name)};
  release(e.param);
  tensors_.insert_or_assign(name, std::move(e));
}

PackedWeights::Scope PackedWeights::materialize(const std::string& prefix) {
  Scope scope;
  for (auto it = tensors_.lower_bound(prefix); it != tensors_.end() && starts_with(it->first, prefix); ++it) {
    Entry& e = it->second;
    const auto dtype = e.param.scalar_type();
    auto& buffer = buffers_[e.buffer_key + "|" + c10::toString(dtype)];
    if (!buffer.defined() || buffer.sizes() != c10::IntArrayRef(e.shape))
      buffer = torch::empty(e.shape, torch::TensorOptions().dtype(dtype).device(device_));
    if (stream_) {
      weights::PackedTensor uploaded = e.packed;
      uploaded.data = e.packed.data.to(device_, /*non_blocking=*/true);
      if (uploaded.scale.defined()) uploaded.scale = uploaded.scale.to(device_);
      weights::dequantize(uploaded, dtype, buffer);
    } else {
      weights::dequantize(e.packed, dtype, buffer);
    }
    e.param.set_data(buffer);
    scope.params_.push_back(e.param);
  }
  return scope;
}

uint64_t PackedWeights::packed_bytes() const {
  uint64_t n = 0;
  for (const auto& [_, e] : tensors_) n += static_cast<uint64_t>(e.packed.data.numel());
  return n;
}

uint64_t PackedWeights::buffer_bytes() const {
  uint64_t n = 0;
  for (const auto& [_, b] : buffers_) n += static_cast<uint64_t>(b.numel() * b.element_size());
  return n;
}

std::function<bool(const std::string&)> keep_packed(const weights::TensorSource& source) {
  std::set<std::string> names;
  for (const auto& n : source.names())
    if ((starts_with(n, "blocks.") || starts_with(n, "audio_injector.")) && weights::is_packed_dtype(source.meta(n).dtype))
      names.insert(n);
  if (names.empty()) return {};
  return [names = std::move(names)](const std::string& n) { return names.count(n) != 0; };
}

void release_packed(torch::nn::Module& module, const std::string& prefix,
                    const std::function<bool(const std::string&)>& packed) {
  if (!packed) return;
  for (auto& p : module.named_parameters(/*recurse=*/true))
    if (packed(prefix + p.key())) release(p.value());
}

}  // namespace s2v::wan
