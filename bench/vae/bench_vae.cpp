// bench_vae: prints a table of seconds per Wan 2.1 VAE encode and decode with the real config
// (dim 96, z 16; random weights), chunked and causal as in the pipeline, plus the tiled decode.
// Sizes: a small CPU case (17 frames at 128x128) and, when CUDA is available at run time, a clip
// of the S2V pipeline (73 motion frames to encode, their 19 latent frames to decode, 480x832)
// in bf16.
// Usage: bench_vae [repeats=1]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <torch/torch.h>

#include "models/wan/vae.h"

using s2v::wan::WanVae;

namespace {

double seconds(const std::function<void()>& fn, int repeats, bool cuda) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) fn();
  if (cuda) torch::cuda::synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
}

void run(WanVae& vae, const char* name, int64_t frames, int64_t h, int64_t w, torch::Device dev,
         const char* dtype, int repeats) {
  const bool cuda = dev.is_cuda();
  auto video = (torch::rand({1, 3, frames, h, w}) * 2 - 1).to(dev);
  auto latents = torch::randn({1, 16, 1 + (frames - 1) / 4, h / 8, w / 8}).to(dev);
  const double enc = seconds([&] { vae.encode(video); }, repeats, cuda);
  const double dec = seconds([&] { vae.decode(latents); }, repeats, cuda);
  const double tiled = seconds([&] { vae.decode_tiled(latents, {32, 8}); }, repeats, cuda);
  std::printf("%-26s %-6s %-9s %6lld %5lldx%-5lld %10.3f %10.3f %12.3f\n", name,
              cuda ? "cuda" : "cpu", dtype, static_cast<long long>(frames),
              static_cast<long long>(h), static_cast<long long>(w), enc, dec, tiled);
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 1;
  torch::manual_seed(0);
  std::printf("%-26s %-6s %-9s %6s %11s %10s %10s %12s\n", "case", "device", "dtype", "frames",
              "size", "encode s", "decode s", "tiled dec s");
  WanVae vae;  // real Wan 2.1 config
  run(vae, "small clip", 17, 128, 128, torch::kCPU, "float32", repeats);
  if (torch::cuda::is_available()) {
    vae.to(torch::kCUDA, torch::kBFloat16);
    run(vae, "S2V motion (73f, 480p)", 73, 480, 832, torch::kCUDA, "bfloat16", repeats);
  }
  return 0;
}
