#pragma once
// Helpers for parity tests against ../shared/testdata/parity (see its README): the folder (env
// S2V_PARITY_DIR overrides), the files of one kind chosen by prefix, metadata as JSON, and the
// relative error |out - ref| / |ref|.
//
// Parity suites are data-driven: a test's _data() calls add_file_rows() (one row per file, tagged
// with the file name, so a failure names its file and `<suite> <test>:<file>` runs one), and the
// test takes its file with S2V_FETCH_FILE.
//
// Missing data is a failure: a suite that finds no file of its kind fails with
// S2V_REQUIRE_DATA / S2V_FETCH_FILE (a green run must mean "checked"), unless
// S2V_ALLOW_MISSING_PARITY=1 is set, which turns it into a skip that names what is missing
// (tests/common/require_data.h).

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <QString>
#include <QtTest/QtTest>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/require_data.h"
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

// In a _data() function: a file column and one row per file, tagged with its name. With no
// file, one row tagged "missing" whose empty path S2V_FETCH_FILE turns into the missing-data
// failure (a _data() without rows would run nothing and pass).
inline void add_file_rows(const std::vector<std::filesystem::path>& files) {
  QTest::addColumn<QString>("s2v_file");
  if (files.empty()) QTest::newRow("missing") << QString();
  for (const auto& f : files) QTest::newRow(f.filename().string().c_str()) << QString::fromStdString(f.string());
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

// In a data-driven test: declares `var` (std::filesystem::path), the row's file; the "missing"
// row fails (or skips, with S2V_ALLOW_MISSING_PARITY=1) naming `what`.
#define S2V_FETCH_FILE(var, what)                                                        \
  QFETCH(QString, s2v_file);                                                             \
  S2V_REQUIRE_DATA(s2v_file.isEmpty() ? std::vector<int>{} : std::vector<int>{1}, what); \
  const std::filesystem::path var = s2v_file.toStdString()
