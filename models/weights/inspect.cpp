#include "models/weights/inspect.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/checkpoint.h"
#include "models/weights/pth.h"
#include "models/weights/safetensors.h"
#include "models/weights/validate.h"

namespace s2v::weights {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string with_commas(uint64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string params_short(uint64_t n) {
  char buf[32];
  if (n >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
  else if (n >= 1000000ull) std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  else if (n >= 1000ull) std::snprintf(buf, sizeof buf, "%.2f K", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
  return buf;
}

std::string kind_of(const std::filesystem::path& p) {
  const auto name = p.filename().string();
  if (ends_with(name, ".index.json")) return "sharded safetensors";
  if (ends_with(name, ".safetensors")) return "safetensors";
  return "PyTorch zip (.pth)";
}

std::string summarize(const std::filesystem::path& path) {
  auto src = open_checkpoint(path);
  std::map<std::string, std::pair<size_t, uint64_t>> by_dtype, by_group;  // count, params
  uint64_t params = 0, stored = 0;
  const auto names = src->names();
  for (auto& n : names) {
    const auto m = src->meta(n);
    const uint64_t k = m.numel();
    params += k;
    stored += k * dtype_size(m.dtype);
    auto& d = by_dtype[m.dtype];
    ++d.first;
    d.second += k;
    auto& g = by_group[n.substr(0, n.find('.'))];
    ++g.first;
    g.second += k;
  }
  std::ostringstream o;
  o << path.filename().string() << " (" << kind_of(path) << ")\n";
  o << "  tensors: " << names.size() << ", parameters: " << with_commas(params) << " (" << params_short(params)
    << "), stored: " << human_bytes(stored) << "\n";
  o << "  dtypes:";
  for (auto& [d, c] : by_dtype) o << " " << d << " " << c.first << " tensors (" << params_short(c.second) << ")";
  o << "\n  memory: f32 " << human_bytes(memory_bytes(params, "F32")) << ", bf16 "
    << human_bytes(memory_bytes(params, "BF16")) << ", fp8 " << human_bytes(memory_bytes(params, "F8_E4M3")) << "\n";
  o << "  groups:";
  for (auto& [g, c] : by_group) o << " " << g << " " << c.first << " (" << params_short(c.second) << ")";
  o << "\n";
  return o.str();
}

bool is_checkpoint_name(const std::string& n) {
  return ends_with(n, ".index.json") || ends_with(n, ".safetensors") || ends_with(n, ".pth") ||
         ends_with(n, ".pt") || ends_with(n, ".ckpt");
}

}  // namespace

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (b >= 1000000ull) std::snprintf(buf, sizeof buf, "%.2f MB", b / 1e6);
  else if (b >= 1000ull) std::snprintf(buf, sizeof buf, "%.2f kB", b / 1e3);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  return buf;
}

std::string inspect_summary(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return summarize(path);
  // Shards listed by an index are summarized through the index only.
  std::set<std::string> sharded;
  std::vector<std::filesystem::path> files;
  for (auto& e : std::filesystem::directory_iterator(path, ec)) {
    const auto n = e.path().filename().string();
    if (!e.is_regular_file() || !is_checkpoint_name(n)) continue;
    files.push_back(e.path());
    if (ends_with(n, ".index.json")) {
      try {
        std::ifstream in(e.path());
        auto j = nlohmann::json::parse(in);
        for (auto& [_, f] : j.at("weight_map").items()) sharded.insert(f.get<std::string>());
      } catch (const std::exception&) {
      }
    }
  }
  std::sort(files.begin(), files.end());
  std::ostringstream o;
  o << "folder " << path.string() << "\n";
  size_t shown = 0;
  for (auto& f : files) {
    if (sharded.count(f.filename().string())) continue;
    ++shown;
    try {
      o << summarize(f);
    } catch (const std::exception& e) {
      o << f.filename().string() << ": " << e.what() << "\n";
    }
  }
  if (shown == 0) o << "  no checkpoint files (*.safetensors, *.index.json, *.pth)\n";
  return o.str();
}

ConvertResult convert_to_safetensors(const std::filesystem::path& in, const std::filesystem::path& out,
                                     const std::function<void(size_t, size_t)>& progress) {
  auto src = open_checkpoint(in);
  const auto names = src->names();
  ConvertResult r;
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}, {"converted_from", in.filename().string()}};
  uint64_t offset = 0;
  std::vector<std::string> dtypes;
  for (auto& n : names) {
    auto m = src->meta(n);
    if (is_fp8(m.dtype)) m.dtype = "F32";
    const uint64_t bytes = m.numel() * dtype_size(m.dtype);
    header[n] = {{"dtype", m.dtype}, {"shape", m.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    dtypes.push_back(m.dtype);
  }
  std::string h = header.dump();
  while (h.size() % 8) h.push_back(' ');
  const std::filesystem::path tmp = out.string() + ".part";
  auto fail = [&](const std::string& why) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw Error("cannot convert '" + in.string() + "' to '" + out.string() + "': " + why, ErrorKind::Io,
                out.string());
  };
  try {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail("cannot create '" + tmp.string() + "'");
    const uint64_t len = h.size();
    f.write(reinterpret_cast<const char*>(&len), 8);
    f.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (size_t i = 0; i < names.size(); ++i) {
      // One tensor at a time: a contiguous copy only where the stored view is strided.
      auto t = src->tensor_as(names[i], to_scalar_type(dtypes[i])).contiguous();
      const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
      f.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(bytes));
      if (!f) fail("writing tensor '" + names[i] + "' failed (disk full?)");
      r.bytes += bytes;
      ++r.tensors;
      if (progress) progress(i + 1, names.size());
    }
    f.flush();
    if (!f) fail("writing failed (disk full?)");
  } catch (const Error&) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  } catch (const std::exception& e) {
    fail(e.what());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, out, ec);
  if (ec) fail(ec.message());
  if (kind_of(in) == "PyTorch zip (.pth)") r.skipped = PthFile::open(in).skipped().size();
  return r;
}

}  // namespace s2v::weights
