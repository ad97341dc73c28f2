#include "models/weights/validate.h"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/weights/checkpoint.h"
#include "models/weights/ggml_quant.h"
#include "models/weights/safetensors.h"

namespace s2v::weights {

namespace {

std::string shape_string(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

const char* class_name(DtypeClass c) {
  switch (c) {
    case DtypeClass::Floating: return "floating point";
    case DtypeClass::Integral: return "integer";
    case DtypeClass::Boolean: return "bool";
    case DtypeClass::Any: return "any";
  }
  return "?";
}

bool dtype_in_class(const std::string& d, DtypeClass c) {
  switch (c) {
    case DtypeClass::Any: return true;
    case DtypeClass::Floating:
      return d == "F64" || d == "F32" || d == "F16" || d == "BF16" || is_fp8(d) ||
             ggml_type_from_name(d).has_value();  // GGUF Q* blocks decode to floating point
    case DtypeClass::Integral:
      return d == "I64" || d == "I32" || d == "I16" || d == "I8" || d == "U8" || d == "U16" ||
             d == "U32" || d == "U64";
    case DtypeClass::Boolean: return d == "BOOL";
  }
  return false;
}

std::vector<int64_t> without_ones(const std::vector<int64_t>& s) {
  std::vector<int64_t> out;
  for (int64_t d : s)
    if (d != 1) out.push_back(d);
  return out;
}

// Equal, or equal once size-1 dims are dropped: GGUF writers (ggml_n_dims) drop trailing size-1
// ne entries, so a [1, 6, 64] modulation is stored as [6, 64]; load_module reshapes it.
bool same_shape(const std::vector<int64_t>& have, const std::vector<int64_t>& want) {
  return have == want || without_ones(have) == without_ones(want);
}

DtypeClass class_of(torch::ScalarType t) {
  if (t == torch::kBool) return DtypeClass::Boolean;
  if (c10::isFloatingType(t)) return DtypeClass::Floating;
  if (c10::isIntegralType(t, /*includeBool=*/false)) return DtypeClass::Integral;
  return DtypeClass::Any;
}

}  // namespace

const char* to_string(ValidationIssue::Kind kind) {
  switch (kind) {
    case ValidationIssue::Kind::Missing: return "missing";
    case ValidationIssue::Kind::Unexpected: return "unexpected";
    case ValidationIssue::Kind::WrongShape: return "wrong shape";
    case ValidationIssue::Kind::WrongDtype: return "wrong dtype";
  }
  return "?";
}

std::vector<ValidationIssue> validate(const ExpectedTensors& expected, const TensorSource& source,
                                      ShapeCheck check, bool allow_unexpected) {
  using K = ValidationIssue::Kind;
  std::vector<ValidationIssue> issues;
  for (auto& [name, want] : expected) {
    if (!source.contains(name)) {
      issues.push_back({K::Missing, name, shape_string(want.shape), ""});
      continue;
    }
    const TensorMeta have = source.meta(name);
    const bool shape_ok = check == ShapeCheck::Exact ? same_shape(have.shape, want.shape)
                                                     : have.shape.size() == want.shape.size();
    if (!shape_ok)
      issues.push_back({K::WrongShape, name,
                        check == ShapeCheck::Exact
                            ? shape_string(want.shape)
                            : "rank " + std::to_string(want.shape.size()) + " " + shape_string(want.shape),
                        check == ShapeCheck::Exact
                            ? shape_string(have.shape)
                            : "rank " + std::to_string(have.shape.size()) + " " + shape_string(have.shape)});
    if (!dtype_in_class(have.dtype, want.dtype))
      issues.push_back({K::WrongDtype, name, class_name(want.dtype), have.dtype});
  }
  if (!allow_unexpected)
    for (const auto& name : source.names())
      if (!expected.count(name)) issues.push_back({K::Unexpected, name, "", shape_string(source.meta(name).shape)});
  std::stable_sort(issues.begin(), issues.end(), [](const ValidationIssue& a, const ValidationIssue& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.name < b.name;
  });
  return issues;
}

void require_valid(const ExpectedTensors& expected, const TensorSource& source,
                   const std::string& model_name, ShapeCheck check, bool allow_unexpected) {
  const auto issues = validate(expected, source, check, allow_unexpected);
  if (issues.empty()) return;
  using K = ValidationIssue::Kind;
  std::string msg = "checkpoint " + source.describe() + " does not match " + model_name + ":";
  bool first_group = true;
  for (K kind : {K::Missing, K::Unexpected, K::WrongShape, K::WrongDtype}) {
    std::vector<const ValidationIssue*> group;
    for (auto& i : issues)
      if (i.kind == kind) group.push_back(&i);
    if (group.empty()) continue;
    const char* noun = kind == K::Missing      ? " missing tensor"
                       : kind == K::Unexpected ? " unexpected tensor"
                       : kind == K::WrongShape ? " tensor with the wrong shape"
                                               : " tensor with the wrong dtype";
    msg += std::string(first_group ? " " : "; ") + std::to_string(group.size()) + noun +
           (group.size() > 1 ? "s" : "") + " (";
    first_group = false;
    for (size_t i = 0; i < group.size(); ++i) {
      const auto& g = *group[i];
      msg += (i ? ", " : "") + g.name;
      if (kind == K::WrongShape || kind == K::WrongDtype)
        msg += ": found " + g.found + ", expected " + g.expected;
    }
    msg += ")";
  }
  if (expected.size() > 0) {
    size_t missing = 0;
    for (auto& i : issues) missing += i.kind == K::Missing;
    if (missing == expected.size()) msg += ". None of the expected names is present: is this the right file?";
  }
  throw ValidationError(msg, source.describe(), issues);
}

ExpectedTensors load_manifest(const std::filesystem::path& json) {
  std::ifstream in(json);
  if (!in) throw Error("cannot open manifest '" + json.string() + "'", ErrorKind::NotFound, json.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw Error("cannot read manifest '" + json.string() + "': " + e.what(), ErrorKind::Corrupt, json.string());
  }
  if (!j.is_object() || !j.contains("shapes") || !j["shapes"].is_object())
    throw Error("cannot read manifest '" + json.string() + "': it has no \"shapes\" object",
                ErrorKind::Corrupt, json.string());
  ExpectedTensors out;
  for (auto& [name, shape] : j["shapes"].items()) {
    try {
      out[name].shape = shape.get<std::vector<int64_t>>();
    } catch (const std::exception&) {
      throw Error("cannot read manifest '" + json.string() + "': the shape of '" + name +
                      "' is not a list of integers",
                  ErrorKind::Corrupt, json.string());
    }
  }
  return out;
}

ExpectedTensors expected_from_module(const torch::nn::Module& module) {
  ExpectedTensors out;
  for (auto& p : module.named_parameters(true)) out[p.key()] = {p.value().sizes().vec(), class_of(p.value().scalar_type())};
  for (auto& b : module.named_buffers(true)) out[b.key()] = {b.value().sizes().vec(), class_of(b.value().scalar_type())};
  return out;
}

uint64_t parameter_count(const ExpectedTensors& expected) {
  uint64_t n = 0;
  for (auto& [_, e] : expected) {
    uint64_t k = 1;
    for (int64_t d : e.shape) k *= static_cast<uint64_t>(d);
    n += k;
  }
  return n;
}

uint64_t memory_bytes(uint64_t numel, const std::string& dtype) {
  if (const auto q = ggml_type_from_name(dtype); q && is_block_quantized(*q)) {
    // Whole blocks (a partial block, only possible in an estimate, counts as a whole one).
    const auto& info = ggml_type_info(*q);
    const auto block = static_cast<uint64_t>(info.block_values);
    return (numel + block - 1) / block * static_cast<uint64_t>(info.block_bytes);
  }
  const size_t size = dtype_size(dtype);
  if (size == 0) throw Error("unknown dtype " + dtype + " for a memory estimate", ErrorKind::InvalidArgument);
  return numel * size;
}

uint64_t memory_bytes(const ExpectedTensors& expected, const std::string& dtype) {
  if (const auto q = ggml_type_from_name(dtype); q && is_block_quantized(*q)) {
    uint64_t bytes = 0;  // per tensor: blocks do not span tensors
    for (auto& [_, e] : expected) {
      uint64_t k = 1;
      for (int64_t d : e.shape) k *= static_cast<uint64_t>(d);
      bytes += memory_bytes(k, dtype);
    }
    return bytes;
  }
  return memory_bytes(parameter_count(expected), dtype);
}

}  // namespace s2v::weights
