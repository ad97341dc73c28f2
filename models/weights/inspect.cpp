#include "models/weights/inspect.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/base/atomic_file.h"
#include "models/base/error.h"
#include "models/weights/checkpoint.h"
#include "models/weights/ggml_quant.h"
#include "models/weights/gguf.h"
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

bool is_gguf(const std::filesystem::path& p) {
  return ends_with(p.filename().string(), ".gguf") || has_gguf_magic(p);
}

std::string kind_of(const std::filesystem::path& p) {
  const auto name = p.filename().string();
  if (ends_with(name, ".index.json")) return "sharded safetensors";
  if (ends_with(name, ".safetensors")) return "safetensors";
  if (is_gguf(p)) return "GGUF";
  return "PyTorch zip (.pth)";
}

// Bytes the stored tensor takes: element size, or whole blocks for GGUF Q* types; 0 if unknown.
uint64_t stored_bytes(uint64_t numel, const std::string& dtype) {
  return dtype_size(dtype) != 0 || ggml_type_from_name(dtype) ? memory_bytes(numel, dtype) : 0;
}

std::string summarize(const std::filesystem::path& path) {
  auto src = open_checkpoint(path);
  struct Tally {
    size_t count = 0;
    uint64_t params = 0, bytes = 0;
  };
  std::map<std::string, Tally> by_dtype, by_group;
  uint64_t params = 0, stored = 0;
  const auto names = src->names();
  for (auto& n : names) {
    const auto m = src->meta(n);
    const uint64_t k = m.numel(), b = stored_bytes(k, m.dtype);
    params += k;
    stored += b;
    for (Tally* t : {&by_dtype[m.dtype], &by_group[n.substr(0, n.find('.'))]}) {
      ++t->count;
      t->params += k;
      t->bytes += b;
    }
  }
  std::ostringstream o;
  std::string kind = kind_of(path);
  std::string architecture;
  if (kind == "GGUF") {
    const auto g = GgufFile::open(path);
    kind += " v" + std::to_string(g.version());
    architecture = g.architecture();
  }
  o << path.filename().string() << " (" << kind << ")\n";
  if (!architecture.empty()) o << "  architecture: " << architecture << "\n";
  o << "  tensors: " << names.size() << ", parameters: " << with_commas(params) << " (" << params_short(params)
    << "), stored: " << human_bytes(stored) << "\n";
  // One line per stored type: how many tensors, their parameters and the bytes they take.
  o << "  dtypes:";
  for (auto& [d, t] : by_dtype)
    o << "\n    " << d << " " << t.count << " tensors (" << params_short(t.params) << "), " << human_bytes(t.bytes);
  o << "\n  memory: f32 " << human_bytes(memory_bytes(params, "F32")) << ", bf16 "
    << human_bytes(memory_bytes(params, "BF16")) << ", fp8 " << human_bytes(memory_bytes(params, "F8_E4M3")) << "\n";
  o << "  groups:";
  for (auto& [g, t] : by_group) o << " " << g << " " << t.count << " (" << params_short(t.params) << ")";
  o << "\n";
  return o.str();
}

bool is_checkpoint_name(const std::string& n) {
  return ends_with(n, ".index.json") || ends_with(n, ".safetensors") || ends_with(n, ".pth") ||
         ends_with(n, ".pt") || ends_with(n, ".ckpt") || ends_with(n, ".gguf");
}

}  // namespace

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
  if (shown == 0) o << "  no checkpoint files (*.safetensors, *.index.json, *.pth, *.gguf)\n";
  return o.str();
}

ConvertResult convert_to_safetensors(const std::filesystem::path& in, const std::filesystem::path& out,
                                     const std::function<void(size_t, size_t)>& progress,
                                     const std::string& dtype) {
  if (!dtype.empty() && dtype != "F32" && dtype != "BF16" && dtype != "F16")
    throw Error("cannot convert to dtype " + dtype + " (F32, BF16 or F16)", ErrorKind::InvalidArgument, dtype);
  auto src = open_checkpoint(in);
  const bool gguf = kind_of(in) == "GGUF";
  // Decoded types (FP8, GGUF blocks) become F32 unless asked otherwise; GGUF files become F32 whole.
  const std::string decoded = dtype.empty() ? "F32" : dtype;
  const std::string floats = dtype.empty() && gguf ? "F32" : dtype;
  const auto names = src->names();
  ConvertResult r;
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}, {"converted_from", in.filename().string()}};
  uint64_t offset = 0;
  std::vector<std::string> dtypes;
  for (auto& n : names) {
    auto m = src->meta(n);
    const auto ggml = ggml_type_from_name(m.dtype);
    if (is_fp8(m.dtype) || (ggml && is_block_quantized(*ggml))) m.dtype = decoded;
    if (!floats.empty() && (m.dtype == "F64" || m.dtype == "F32" || m.dtype == "F16" || m.dtype == "BF16"))
      m.dtype = floats;
    const uint64_t bytes = m.numel() * dtype_size(m.dtype);
    header[n] = {{"dtype", m.dtype}, {"shape", m.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    dtypes.push_back(m.dtype);
  }
  std::string h = header.dump();
  while (h.size() % 8) h.push_back(' ');
  AtomicFile f(out, {in});  // never over the input itself, a device or a folder
  try {
    const uint64_t len = h.size();
    f.write(&len, 8);
    f.write(h);
    for (size_t i = 0; i < names.size(); ++i) {
      // One tensor at a time: a contiguous copy only where the stored view is strided.
      auto t = src->tensor_as(names[i], to_scalar_type(dtypes[i])).contiguous();
      const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
      f.write(t.data_ptr(), bytes);
      r.bytes += bytes;
      ++r.tensors;
      if (progress) progress(i + 1, names.size());
    }
    f.commit();
  } catch (const std::exception& e) {
    const auto* err = dynamic_cast<const Error*>(&e);
    throw Error("cannot convert '" + in.string() + "' to '" + out.string() + "': " + e.what(),
                err ? err->kind() : ErrorKind::Io, out.string());
  }
  if (kind_of(in) == "PyTorch zip (.pth)") r.skipped = PthFile::open(in).skipped().size();
  return r;
}

}  // namespace s2v::weights
