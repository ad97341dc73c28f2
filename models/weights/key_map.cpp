#include "models/weights/key_map.h"

#include <set>

#include <torch/torch.h>

#include "models/weights/checkpoint.h"

namespace s2v::weights {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// The longest prefix ending in '.' that every name shares ("" when none).
std::string common_dotted_prefix(const std::vector<std::string>& names) {
  if (names.empty()) return {};
  std::string p = names.front();
  for (auto& n : names) {
    size_t i = 0;
    while (i < p.size() && i < n.size() && p[i] == n[i]) ++i;
    p.resize(i);
  }
  const auto dot = p.rfind('.');
  return dot == std::string::npos ? std::string() : p.substr(0, dot + 1);
}

class KeyMappedSource : public TensorSource {
 public:
  KeyMappedSource(std::shared_ptr<TensorSource> inner, KeyMap map) : inner_(std::move(inner)), map_(std::move(map)) {
    for (auto& n : inner_->names()) {
      auto native = map_.to_native(n);
      if (!native.empty()) names_.push_back(native);
    }
  }
  std::string describe() const override { return inner_->describe() + " (names under '" + map_.prefix + "')"; }
  std::vector<std::string> names() const override { return names_; }
  bool contains(const std::string& name) const override { return inner_->contains(map_.to_stored(name)); }
  TensorMeta meta(const std::string& name) const override { return inner_->meta(map_.to_stored(name)); }
  torch::Tensor tensor(const std::string& name) const override { return inner_->tensor(map_.to_stored(name)); }
  torch::Tensor tensor_as(const std::string& name, torch::ScalarType dtype) const override {
    return inner_->tensor_as(map_.to_stored(name), dtype);
  }
  std::optional<PackedTensor> packed(const std::string& name) const override {
    return inner_->packed(map_.to_stored(name));
  }
  std::map<std::string, std::string> metadata() const override { return inner_->metadata(); }

 private:
  std::shared_ptr<TensorSource> inner_;
  KeyMap map_;
  std::vector<std::string> names_;  // sorted: stripping one prefix keeps the order
};

}  // namespace

std::string KeyMap::to_native(const std::string& stored) const {
  if (prefix.empty()) return stored;
  if (!starts_with(stored, prefix) || stored.size() == prefix.size()) return {};
  return stored.substr(prefix.size());
}

const std::vector<std::string>& known_prefixes() {
  static const std::vector<std::string> p = {"model.diffusion_model.", "diffusion_model.",
                                             "module.", "model."};
  return p;
}

KeyMap detect_key_map(const std::vector<std::string>& stored, const std::vector<std::string>& expected) {
  if (expected.empty()) {
    for (auto& p : known_prefixes()) {
      bool all = !stored.empty();
      for (auto& n : stored) all = all && starts_with(n, p) && n.size() > p.size();
      if (all) return {p};
    }
    return {};
  }
  const std::set<std::string> want(expected.begin(), expected.end());
  std::vector<std::string> candidates = {""};
  for (auto& p : known_prefixes()) candidates.push_back(p);
  if (auto c = common_dotted_prefix(stored); !c.empty()) candidates.push_back(c);
  KeyMap best;
  size_t best_hits = 0;
  for (auto& p : candidates) {
    KeyMap m{p};
    size_t hits = 0;
    for (auto& n : stored) {
      auto native = m.to_native(n);
      hits += !native.empty() && want.count(native);
    }
    if (hits > best_hits) {
      best_hits = hits;
      best = m;
    }
  }
  return best;
}

std::shared_ptr<TensorSource> apply_key_map(std::shared_ptr<TensorSource> source, const KeyMap& map) {
  if (map.identity()) return source;
  return std::make_shared<KeyMappedSource>(std::move(source), map);
}

}  // namespace s2v::weights
