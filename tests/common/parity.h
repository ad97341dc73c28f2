#pragma once
// Helpers for parity tests against ../shared/testdata/parity (see its README): the folder (env
// S2V_PARITY_DIR overrides), the files of one kind chosen by prefix, metadata as JSON, and the
// relative error |out - ref| / |ref|.
//
// Missing data is a failure: a suite that finds no file of its kind fails with
// S2V_REQUIRE_DATA (a green run must mean "checked"), unless S2V_ALLOW_MISSING_PARITY=1 is set,
// which turns it into a skip that names what is missing.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/weights/safetensors.h"

namespace s2v::test {

inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("S2V_SHARED_DIR")) return env;
  return S2V_SHARED_DIR;
}

inline std::filesystem::path parity_dir() {
  if (const char* env = std::getenv("S2V_PARITY_DIR")) return env;
  return shared_dir() / "testdata" / "parity";
}

// Every *.safetensors file in the parity folder whose name starts with prefix, sorted.
inline std::vector<std::filesystem::path> parity_files(const std::string& prefix) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(parity_dir(), ec)) {
    const auto name = e.path().filename().string();
    if (e.path().extension() == ".safetensors" && name.rfind(prefix, 0) == 0) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// S2V_ALLOW_MISSING_PARITY=1: a suite without its data skips instead of failing.
inline bool missing_data_allowed() {
  const char* env = std::getenv("S2V_ALLOW_MISSING_PARITY");
  return env && std::string(env) == "1";
}

// A metadata entry that holds JSON text (config, call, ...); null when absent.
inline nlohmann::json metadata_json(const weights::SafetensorsFile& f, const std::string& key) {
  auto it = f.metadata().find(key);
  if (it == f.metadata().end()) return nullptr;
  try {
    return nlohmann::json::parse(it->second);
  } catch (...) {
    return it->second;
  }
}

// ||out - ref|| / ||ref|| in float64.
inline double rel_error(const torch::Tensor& out, const torch::Tensor& ref) {
  auto o = out.detach().to(torch::kCPU, torch::kFloat64);
  auto r = ref.detach().to(torch::kCPU, torch::kFloat64);
  if (o.sizes() != r.sizes()) return std::numeric_limits<double>::infinity();
  const double denom = r.norm().item<double>();
  const double num = (o - r).norm().item<double>();
  return denom == 0 ? num : num / denom;
}

// max |out - ref| in float64.
inline double max_abs_error(const torch::Tensor& out, const torch::Tensor& ref) {
  auto o = out.detach().to(torch::kCPU, torch::kFloat64);
  auto r = ref.detach().to(torch::kCPU, torch::kFloat64);
  if (o.sizes() != r.sizes()) return std::numeric_limits<double>::infinity();
  return o.numel() == 0 ? 0.0 : (o - r).abs().max().item<double>();
}

}  // namespace s2v::test

// Inside a Qt Test function: fail (or, with S2V_ALLOW_MISSING_PARITY=1, skip) when `files` is
// empty, naming what was looked for and where.
#define S2V_REQUIRE_DATA(files, what)                                                          \
  do {                                                                                         \
    if ((files).empty()) {                                                                     \
      const std::string s2v_missing_ = std::string("no ") + (what) +                          \
                                       " found (a parity suite without its data checks nothing; " \
                                       "set S2V_ALLOW_MISSING_PARITY=1 to skip instead)";      \
      if (s2v::test::missing_data_allowed()) QSKIP(s2v_missing_.c_str());                      \
      QFAIL(s2v_missing_.c_str());                                                             \
    }                                                                                          \
  } while (0)
