// Seconds (best of --runs) to dequantise one Wan 14B DiT weight from its packed GGUF blocks, per
// ggml type and target dtype, with a reused output buffer (as the DiT does before each layer).
// The packed bytes are the reference tensors of ../shared/testdata/gguf/tiny_quants.gguf repeated
// to the real shape, so the scales and values are realistic. CPU always; CUDA too when LibTorch
// has it.
//   bench_dequant [--shape ROWSxCOLS] [--runs N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include <torch/torch.h>

#include "models/weights/ggml_quant.h"
#include "models/weights/gguf.h"

using namespace s2v::weights;
using Clock = std::chrono::steady_clock;

namespace {

std::filesystem::path gguf_file() {
  if (const char* env = std::getenv("S2V_SHARED_DIR")) return std::filesystem::path(env) / "testdata/gguf/tiny_quants.gguf";
  return std::filesystem::path(S2V_SOURCE_DIR) / ".." / "shared" / "testdata" / "gguf" / "tiny_quants.gguf";
}

// The fastest of `runs` timed runs after one untimed one: on a shared machine the minimum is the
// figure least disturbed by other processes.
template <class F>
double best_seconds(F&& f, int runs) {
  f();
  double best = 1e30;
  while (runs-- > 0) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 5120, cols = 13824;  // ffn.0.weight of the 14B DiT
  int runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--shape")) std::sscanf(argv[i + 1], "%ldx%ld", &rows, &cols);
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
  }
  const auto path = gguf_file();
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "no %s\n", path.string().c_str());
    return 1;
  }
  const auto g = GgufFile::open(path);
  // One reference tensor per block type.
  std::map<std::string, std::string> source;
  for (auto& t : g.tensors())
    if (is_block_quantized(t.type)) source.emplace(ggml_type_info(t.type).name, t.name);
  std::vector<torch::Device> devices = {torch::kCPU};
  if (torch::cuda::is_available()) devices.push_back(torch::kCUDA);
  std::printf("dequantise one [%ld, %ld] weight (%.1f M values), best of %d runs, %d CPU threads\n", rows, cols,
              rows * cols / 1e6, runs, torch::get_num_threads());
  std::printf("| type | packed MB | device | float32 s | bfloat16 s | M values/s (bf16) |\n|---|---|---|---|---|---|\n");
  for (auto& [type, name] : source) {
    const auto one = g.packed(name);
    const int64_t copies = (rows * cols + one.numel() - 1) / one.numel();
    auto bytes = one.data.repeat({copies}).slice(0, 0, static_cast<int64_t>(ggml_bytes(one.type, rows * cols))).contiguous();
    for (auto dev : devices) {
      PackedTensor p{one.type, {rows, cols}, bytes.to(dev)};
      auto f32 = torch::empty({rows, cols}, torch::TensorOptions().device(dev));
      auto bf16 = torch::empty({rows, cols}, torch::TensorOptions().dtype(torch::kBFloat16).device(dev));
      auto sync = [&] {
        if (dev.is_cuda()) torch::cuda::synchronize();
      };
      const double a = best_seconds([&] { dequantize(p, torch::kFloat32, f32); sync(); }, runs);
      const double b = best_seconds([&] { dequantize(p, torch::kBFloat16, bf16); sync(); }, runs);
      std::printf("| %s | %.1f | %s | %.3f | %.3f | %.0f |\n", type.c_str(), bytes.numel() / 1e6, dev.str().c_str(), a,
                  b, rows * cols / b / 1e6);
    }
  }
  return 0;
}
