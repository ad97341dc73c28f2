// bench_formats: the S2V DiT in the weight formats people download.
//
// Part 1 (measured, this machine): the bundled demo model's DiT loaded from each file of
// <demo>/variants and from its official bf16 shards, on the CPU in float32: bytes its weights
// occupy (parameters + packed data, counted from the tensors) and seconds per denoising step
// (CFG: two forwards) at --size 256*256, 80 frames.
// Part 2 (formula, estimate_memory + plan_memory): the 14B model at 480p and 720p x 80 frames in
// each format on 16 / 24 / 48 / 80 GB cards: whether it fits, with which settings, and the cost
// class of those settings.
//
// Usage: bench_formats [--demo DIR] [--steps N] [--size W*H] [--plan-only]
//   --plan-only  part 2 alone (the formula; no demo model, seconds)
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <map>
#include <string>

#include <torch/torch.h>

#include "core/generate/demo_model.h"
#include "core/generate/generate_params.h"
#include "core/generate/model_files.h"
#include "core/generate/model_folder.h"
#include "models/wan/dit_config.h"
#include "models/wan/dit_s2v.h"
#include "models/t5/umt5.h"
#include "models/wan/vae.h"
#include "models/wav2vec2/wav2vec2.h"
#include "models/weights/checkpoint.h"
#include "models/weights/inspect.h"
#include "models/weights/validate.h"

namespace fs = std::filesystem;
using namespace s2v;

namespace {

uint64_t weight_bytes(wan::WanModelS2VImpl& m) {
  uint64_t n = 0;
  for (const auto& p : m.parameters()) n += static_cast<uint64_t>(p.numel() * p.element_size());
  return n + (m.packed ? m.packed->packed_bytes() : 0);
}

wan::DiTInputs inputs(const wan::DiTConfig& c, int64_t frames, int64_t h, int64_t w) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  wan::DiTInputs in;
  const int64_t lat_t = (frames - 1) / 4 + 1;
  in.x = torch::randn({c.in_dim, lat_t, h, w}, f32);
  in.t = torch::full({1}, 999.0, f32);
  in.context = torch::randn({64, c.text_dim}, f32);
  in.ref_latents = torch::randn({c.in_dim, 1, h, w}, f32);
  in.motion_latents = torch::randn({c.in_dim, 19, h, w}, f32);
  in.cond_states = torch::zeros({c.cond_dim, lat_t, h, w}, f32);
  in.audio_input = torch::randn({1, c.audio_num_layers, c.audio_dim, lat_t * 4}, f32);
  return in;
}

// Bytes of the 14B DiT in a format: the block and audio-injector matrices in `bytes_per_value`
// (the packed part), everything else in bf16.
generate::ModelComponent dit_component(const std::string& format, double bytes_per_value) {
  generate::ModelComponent c{"DiT"};
  for (const auto& [name, shape] : wan::expected_parameters(wan::DiTConfig{})) {
    const auto n = static_cast<uint64_t>(shape_numel(shape));
    c.parameters += n;
    const bool matrix = shape.size() == 2 && (name.rfind("blocks.", 0) == 0 || name.rfind("audio_injector.", 0) == 0);
    if (format != "bf16" && matrix) {
      c.packed_parameters += n;
      c.packed_bytes += static_cast<uint64_t>(static_cast<double>(n) * bytes_per_value);
    }
  }
  c.format = format;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path demo;
  int steps = 2;
  std::string size = "256*256";
  bool plan_only = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--plan-only")) plan_only = true;
    else if (!std::strcmp(argv[i], "--demo") && i + 1 < argc) demo = argv[++i];
    else if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) steps = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--size") && i + 1 < argc) size = argv[++i];
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  torch::NoGradGuard no_grad;
  if (demo.empty() && !plan_only) demo = generate::find_demo_model();
  if (!plan_only && (demo.empty() || !fs::exists(demo / "variants"))) {
    demo = fs::temp_directory_path() / "s2v-bench-demo";
    generate::make_demo_model(demo);
  }

  // ---- part 1: the demo DiT in each format ----
  if (!plan_only) {
  generate::GenerateParams gp;
  gp.size = size;
  const int64_t area = gp.max_area();
  const int64_t side = static_cast<int64_t>(std::sqrt(static_cast<double>(area)));
  const int64_t h = side / 8, w = side / 8;
  std::printf("demo DiT (%s), CPU float32, %s, 80 frames, CFG (2 forwards per step), %d steps, %d thread(s)\n",
              demo.string().c_str(), size.c_str(), steps, torch::get_num_threads());
  std::printf("%-28s %-22s %14s %14s %12s\n", "file", "format", "weights (MB)", "packed (MB)", "s/step");
  std::vector<fs::path> files = {demo / "diffusion_pytorch_model.safetensors.index.json"};
  for (const char* v : {"dit_fp8_scaled.safetensors", "dit_q8_0.gguf", "dit_q6_k.gguf", "dit_q4_k.gguf"})
    files.push_back(demo / "variants" / v);
  for (const auto& f : files) {
    generate::ComponentOverrides o;
    if (f.parent_path().filename() == "variants") o.dit = f.string();
    const auto mf = generate::locate_model_files(demo, o);
    const auto cfg = generate::read_model_configs(mf);
    auto src = generate::open_component(mf, generate::Component::DiT);
    wan::WanModelS2V model(cfg.dit, torch::kFloat32, wan::keep_packed(*src));
    wan::load_dit_weights(*model, *src, torch::kCPU);
    const auto in = inputs(cfg.dit, 80, h, w);
    model->forward(in);  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    for (int s = 0; s < steps; ++s) {
      model->forward(in);
      model->forward(in);
    }
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
    generate::ModelComponent comp;
    std::map<std::string, uint64_t> mix;
    for (const auto& n : src->names()) mix[src->meta(n).dtype] += src->meta(n).numel();
    std::string format;
    for (const auto& [d, n] : mix) format += (format.empty() ? "" : "+") + d;
    std::printf("%-28s %-22s %14.2f %14.2f %12.3f\n", f.filename().string().c_str(), format.c_str(),
                weight_bytes(*model) / 1e6, model->packed ? model->packed->packed_bytes() / 1e6 : 0.0, sec);
  }

  }

  // ---- part 2: the 14B model per format and card ----
  generate::ModelFolder m;
  m.dit = wan::DiTConfig{};
  {
    // parameter counts of the official encoders and VAE (shapes only; the VAE is built once)
    generate::ModelComponent t5{"umT5"}, w2v{"wav2vec2"}, vae{"VAE"};
    const t5::UMT5Config tc;  // T5Encoder's state_dict: embedding, per block 4 attention + 3 FFN matrices,
    t5.parameters = static_cast<uint64_t>(tc.vocab * tc.dim + tc.dim +  // two norms and a position bias
                                          tc.num_layers * (4 * tc.dim * tc.dim_attn + 3 * tc.dim * tc.dim_ffn +
                                                           2 * tc.dim + tc.num_buckets * tc.num_heads));
    wan::WanVae v;
    for (const auto& p : v.module().parameters()) vae.parameters += static_cast<uint64_t>(p.numel());
    wav2vec2::Wav2Vec2Encoder a(wav2vec2::Wav2Vec2Config{});
    for (const auto& p : a->parameters()) w2v.parameters += static_cast<uint64_t>(p.numel());
    m.components = {generate::ModelComponent{"DiT"}, t5, vae, w2v};
  }
  struct Format {
    const char* name;
    double bytes;  // per packed value
  };
  const Format formats[] = {{"bf16", 2.0}, {"fp8 scaled", 1.0}, {"Q8_0", 34.0 / 32}, {"Q6_K", 210.0 / 256},
                            {"Q4_K", 144.0 / 256}};
  const std::pair<const char*, std::pair<int, int>> sizes[] = {{"480p", {480, 832}}, {"720p", {720, 1280}}};
  std::printf("\n14B at 80 frames, CFG, bf16 compute, fused attention: peak GPU memory and the plan per card\n");
  std::printf("%-6s %-10s %10s %12s %12s %12s | %-34s %-34s %-34s %-34s\n", "size", "format", "DiT GB", "resident",
              "offload_mdl", "offload_blk", "16 GB", "24 GB", "48 GB", "80 GB");
  for (const auto& [label, hw] : sizes) {
    for (const auto& f : formats) {
      m.components[0] = dit_component(f.name, f.bytes);
      generate::GenerateParams p;
      p.device = "cuda";
      p.infer_frames = 80;
      const auto e = generate::estimate_memory(m, p, hw.first, hw.second, 1, "bfloat16");
      std::printf("%-6s %-10s %10.1f %12.1f %12.1f %12.1f |", label, f.name, e.dit_weights / 1e9, e.peak_device / 1e9,
                  e.peak_offload_model / 1e9, e.peak_offload_blocks / 1e9);
      for (int gb : {16, 24, 48, 80}) {
        const auto plan = generate::plan_memory(e, gb);
        // cost class: streaming moves the block weights over PCIe (about 25 GB/s) twice per step
        std::string cell = plan.fits ? plan.settings : "does not fit";
        if (plan.fits && plan.offload_blocks) {
          char buf[48];
          std::snprintf(buf, sizeof buf, " (+%.1f s/step PCIe)", 2.0 * e.dit_weights / 25e9);
          cell += buf;
        }
        std::printf(" %-34s", cell.c_str());
      }
      std::printf("\n");
    }
  }
  return 0;
}
