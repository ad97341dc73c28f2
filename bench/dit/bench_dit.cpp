// bench_dit: prints a table of seconds per WanModel_S2V forward.
//  - the tiny parity configuration (dim 64, 4 layers) on CPU, float32, both attention backends;
//  - only when CUDA is available at run time: the real 14B shapes (random bf16 weights) at 480p
//    (832x480 -> latent 104x60), 80 frames (20 latent frames), motion latents kept, on one GPU.
// Usage: bench_dit [repeats=3] [--layers N] (N limits the 14B run to N blocks to fit smaller cards)

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <torch/torch.h>

#include "models/wan/dit_s2v.h"

using namespace s2v::wan;

namespace {

DiTInputs make_inputs(const DiTConfig& c, int64_t frames, int64_t h, int64_t w, torch::Device dev) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(dev);
  DiTInputs in;
  const int64_t lat_t = (frames - 1) / 4 + 1;  // latent frames of the clip
  in.x = torch::randn({c.in_dim, lat_t, h, w}, f32);
  in.t = torch::full({1}, 999.0, f32);
  in.context = torch::randn({std::min<int64_t>(c.text_len, 120), c.text_dim}, f32);
  in.ref_latents = torch::randn({c.in_dim, 1, h, w}, f32);
  in.motion_latents = torch::randn({c.in_dim, 19, h, w}, f32);
  in.cond_states = torch::randn({c.cond_dim, lat_t, h, w}, f32);
  in.audio_input = torch::randn({1, c.audio_num_layers, c.audio_dim, lat_t * 4}, f32);
  in.motion_frames = {73, 19};
  in.add_last_motion = 2;
  in.drop_motion_frames = false;
  return in;
}

double seconds_per_forward(WanModelS2V& model, const DiTInputs& in, int repeats, bool cuda) {
  model->forward(in);  // warm-up
  if (cuda) torch::cuda::synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) model->forward(in);
  if (cuda) torch::cuda::synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 3;
  int64_t layers_14b = 40;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--layers") && i + 1 < argc) layers_14b = std::atoll(argv[++i]);
    else repeats = std::max(1, std::atoi(argv[i]));
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  torch::manual_seed(0);
  std::printf("%-34s %-8s %-9s %-7s %10s %12s\n", "case", "device", "dtype", "attn", "tokens", "s/forward");

  // tiny parity config, 3 latent frames of 8x8 (the shapes of testdata/parity/dit_s2v_*)
  DiTConfig tiny;
  tiny.dim = 64; tiny.ffn_dim = 128; tiny.freq_dim = 32; tiny.text_dim = 32; tiny.text_len = 16;
  tiny.num_heads = 4; tiny.num_layers = 4; tiny.audio_dim = 32; tiny.audio_inject_layers = {0, 2, 3};
  for (auto backend : {AttentionBackend::Math, AttentionBackend::Sdpa}) {
    if (backend == AttentionBackend::Sdpa && !sdpa_available()) continue;
    WanModelS2V model(tiny);
    model->options.attention.backend = backend;
    auto in = make_inputs(tiny, 9, 8, 8, torch::kCPU);
    const int64_t tokens = 3 * 16 + 16 + 24;
    std::printf("%-34s %-8s %-9s %-7s %10lld %12.4f\n", "tiny parity (dim 64, 4 layers)", "cpu", "float32",
                to_string(backend), static_cast<long long>(tokens), seconds_per_forward(model, in, repeats, false));
  }
  // tiny config at the 480p frame size: exercises the long-sequence (chunked) path on CPU
  {
    WanModelS2V model(tiny);
    model->options.attention.backend = AttentionBackend::Math;
    auto in = make_inputs(tiny, 5, 60, 104, torch::kCPU);
    const int64_t tokens = 2 * 30 * 52 + 30 * 52 + 30 * 52 + 15 * 26 + 4 * 7 * 13;
    std::printf("%-34s %-8s %-9s %-7s %10lld %12.4f\n", "tiny, 480p, 5 frames", "cpu", "float32", "math",
                static_cast<long long>(tokens), seconds_per_forward(model, in, 1, false));
  }

  if (!torch::cuda::is_available()) {
    std::printf("(CUDA not available: the 14B / 480p / 80-frame row is skipped)\n");
    return 0;
  }
  // real 14B shapes, random bf16 weights, on the GPU
  DiTConfig big;  // defaults = 14B
  big.num_layers = layers_14b;
  std::vector<int64_t> inject;
  for (auto l : big.audio_inject_layers) if (l < layers_14b) inject.push_back(l);
  big.audio_inject_layers = inject;
  torch::Device dev(torch::kCUDA);
  {
    // Build on the GPU in bf16 directly (a float32 CPU build would need 65 GB).
    // Blocks are converted to bf16 as they are built: the host never holds the float32 model.
    WanModelS2V model(big, torch::kBFloat16);
    model->to(dev);
    auto in = make_inputs(big, 80, 60, 104, dev);
    const int64_t lat_t = (80 - 1) / 4 + 1;
    const int64_t tokens = lat_t * 30 * 52 + 30 * 52 + 30 * 52 + 1 * 15 * 26 + 4 * 7 * 13;
    for (auto backend : {AttentionBackend::Sdpa, AttentionBackend::Math}) {
      if (backend == AttentionBackend::Sdpa && !sdpa_available()) continue;
      model->options.attention.backend = backend;
      model->options.rope_dtype = torch::kFloat32;
      const std::string name = "14B, 480p, 80 frames (" + std::to_string(layers_14b) + " layers)";
      std::printf("%-34s %-8s %-9s %-7s %10lld %12.4f\n", name.c_str(), "cuda", "bfloat16", to_string(backend),
                  static_cast<long long>(tokens), seconds_per_forward(model, in, repeats, true));
    }
  }
  return 0;
}
