#include "models/wan/state_loader.h"

#include <set>
#include <sstream>

#include <torch/torch.h>

#include "models/base/error.h"

namespace s2v::wan {

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

std::string file_list(const std::vector<const weights::SafetensorsFile*>& files) {
  std::string out;
  for (size_t i = 0; i < files.size(); ++i) out += (i ? ", '" : "'") + files[i]->path().string() + "'";
  return out;
}

}  // namespace

std::string StateCheck::describe() const {
  std::ostringstream s;
  if (!missing.empty()) s << missing.size() << " missing: " << join(missing) << ". ";
  if (!unexpected.empty()) s << unexpected.size() << " unexpected: " << join(unexpected) << ". ";
  if (!mismatched.empty()) s << mismatched.size() << " with the wrong shape: " << join(mismatched) << ".";
  auto out = s.str();
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

StateCheck check_state(const ParameterShapes& expected,
                       const std::map<std::string, std::vector<int64_t>>& found) {
  StateCheck r;
  std::set<std::string> seen;
  for (const auto& [name, shape] : expected) {
    seen.insert(name);
    auto it = found.find(name);
    if (it == found.end()) r.missing.push_back(name);
    else if (it->second != shape)
      r.mismatched.push_back(name + ": expected " + shape_str(shape) + ", found " + shape_str(it->second));
  }
  for (const auto& [name, shape] : found)
    if (!seen.count(name)) r.unexpected.push_back(name);
  return r;
}

std::map<std::string, std::vector<int64_t>> state_shapes(
    const std::vector<const weights::SafetensorsFile*>& files, const std::string& prefix) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto* f : files)
    for (const auto& [name, info] : f->tensors())
      if (name.rfind(prefix, 0) == 0) out[name.substr(prefix.size())] = info.shape;
  return out;
}

ParameterShapes module_parameters(const torch::nn::Module& module) {
  ParameterShapes out;
  for (const auto& p : module.named_parameters(true)) out.emplace_back(p.key(), p.value().sizes().vec());
  for (const auto& b : module.named_buffers(true)) out.emplace_back(b.key(), b.value().sizes().vec());
  std::sort(out.begin(), out.end());
  return out;
}

void load_state(torch::nn::Module& module, const std::vector<const weights::SafetensorsFile*>& files,
                const LoadOptions& options) {
  auto found = state_shapes(files, options.prefix);
  auto check = check_state(module_parameters(module), found);
  if (options.allow_unexpected) check.unexpected.clear();
  if (!check.ok())
    throw Error("cannot load the weights from " + file_list(files) +
                    (options.prefix.empty() ? "" : " (prefix '" + options.prefix + "')") + ": " +
                    check.describe(),
                ErrorKind::Corrupt, files.empty() ? std::string() : files.front()->path().string());
  // Which file holds each name.
  std::map<std::string, const weights::SafetensorsFile*> where;
  for (const auto* f : files)
    for (const auto& [name, info] : f->tensors())
      if (name.rfind(options.prefix, 0) == 0) where[name.substr(options.prefix.size())] = f;
  torch::NoGradGuard no_grad;
  auto copy = [&](const std::string& name, torch::Tensor& dst) {
    const auto* f = where.at(name);
    dst.copy_(f->tensor(options.prefix + name));
  };
  for (auto& p : module.named_parameters(true)) copy(p.key(), p.value());
  for (auto& b : module.named_buffers(true)) copy(b.key(), b.value());
}

void load_state(torch::nn::Module& module, const weights::SafetensorsFile& file, const std::string& prefix) {
  LoadOptions o;
  o.prefix = prefix;
  load_state(module, {&file}, o);
}

}  // namespace s2v::wan
