#include "models/t5/module_state.h"

#include <algorithm>
#include <set>
#include <sstream>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/safetensors.h"

namespace s2v {

namespace {

std::string shape_string(const std::vector<int64_t>& s) {
  std::ostringstream o;
  o << '[';
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << ']';
  return o.str();
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// Module name -> source name (the inverse of options.rename over the source's names).
std::map<std::string, std::string> source_names_by_module_name(const StateSource& source,
                                                               const LoadOptions& options,
                                                               std::vector<std::string>* ignored) {
  std::map<std::string, std::string> out;
  for (const auto& name : source.names) {
    if (std::any_of(options.ignored_prefixes.begin(), options.ignored_prefixes.end(),
                    [&](const std::string& p) { return starts_with(name, p); })) {
      if (ignored) ignored->push_back(name);
      continue;
    }
    out[options.rename ? options.rename(name) : name] = name;
  }
  return out;
}

}  // namespace

StateSource state_source(const weights::SafetensorsFile& file, const std::string& prefix) {
  StateSource s;
  s.description = "'" + file.path().string() + "'";
  for (const auto& [name, info] : file.tensors())
    if (starts_with(name, prefix)) s.names.push_back(name.substr(prefix.size()));
  const weights::SafetensorsFile* f = &file;
  s.shape = [f, prefix](const std::string& n) { return f->info(prefix + n).shape; };
  s.get = [f, prefix](const std::string& n) { return f->tensor(prefix + n); };
  return s;
}

StateSource state_source(const std::map<std::string, torch::Tensor>& tensors,
                         std::string description, const std::string& prefix) {
  StateSource s;
  s.description = std::move(description);
  for (const auto& [name, t] : tensors)
    if (starts_with(name, prefix)) s.names.push_back(name.substr(prefix.size()));
  const auto* m = &tensors;
  s.shape = [m, prefix](const std::string& n) { return m->at(prefix + n).sizes().vec(); };
  s.get = [m, prefix](const std::string& n) { return m->at(prefix + n); };
  return s;
}

std::vector<LoadProblem> check_module_state(const torch::nn::Module& module,
                                            const StateSource& source,
                                            const LoadOptions& options) {
  std::vector<LoadProblem> problems;
  const auto by_module = source_names_by_module_name(source, options, nullptr);
  std::set<std::string> used;
  auto check = [&](const std::string& name, const torch::Tensor& target) {
    auto it = by_module.find(name);
    if (it == by_module.end()) {
      if (std::find(options.optional_names.begin(), options.optional_names.end(), name) ==
          options.optional_names.end())
        problems.push_back({LoadProblem::Kind::Missing, name, {}});
      return;
    }
    used.insert(name);
    const auto shape = source.shape(it->second);
    if (shape != target.sizes().vec())
      problems.push_back({LoadProblem::Kind::Shape, it->second,
                          "expected " + shape_string(target.sizes().vec()) + ", found " +
                              shape_string(shape)});
  };
  for (const auto& p : module.named_parameters(true)) check(p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) check(b.key(), b.value());
  for (const auto& [mod_name, src_name] : by_module)
    if (!used.count(mod_name)) problems.push_back({LoadProblem::Kind::Unexpected, src_name, {}});
  return problems;
}

void load_module_state(torch::nn::Module& module, const StateSource& source,
                       const LoadOptions& options) {
  const auto problems = check_module_state(module, source, options);
  if (!problems.empty()) {
    std::vector<std::string> missing, unexpected, shapes;
    for (const auto& p : problems) {
      if (p.kind == LoadProblem::Kind::Missing) missing.push_back(p.name);
      else if (p.kind == LoadProblem::Kind::Unexpected) unexpected.push_back(p.name);
      else shapes.push_back(p.name + " (" + p.detail + ")");
    }
    std::ostringstream o;
    o << "cannot load " << options.what << " from " << source.description << ":";
    auto list = [&](const char* label, const std::vector<std::string>& v, bool& first) {
      if (v.empty()) return;
      o << (first ? " " : "; ") << v.size() << ' ' << label << ' ';
      for (size_t i = 0; i < v.size(); ++i) o << (i ? ", " : "") << v[i];
      first = false;
    };
    bool first = true;
    list("missing tensor(s):", missing, first);
    list("unexpected tensor(s):", unexpected, first);
    list("mis-shaped tensor(s):", shapes, first);
    throw Error(o.str(), missing.empty() && unexpected.empty() ? ErrorKind::Corrupt
                                                               : ErrorKind::NotFound,
                source.description);
  }
  const auto by_module = source_names_by_module_name(source, options, nullptr);
  torch::NoGradGuard no_grad;
  auto copy = [&](const std::string& name, torch::Tensor target) {
    auto it = by_module.find(name);
    if (it == by_module.end()) return;  // optional and absent
    options.cancel->throw_if_requested();
    target.copy_(source.get(it->second));
  };
  for (auto& p : module.named_parameters(true)) copy(p.key(), p.value());
  for (auto& b : module.named_buffers(true)) copy(b.key(), b.value());
}

}  // namespace s2v
