// bench_dit: seconds per WanModel_S2V forward / denoising step.
//
// Without --shape (the CPU table of docs/performance.md):
//   bench_dit [repeats=3]
//   the tiny parity configuration (dim 64, 4 layers) on CPU, float32, both attention backends, and
//   the tiny configuration at the 480p frame size.
//
// With --shape (one configuration, the GPU device check of scripts/device-check.sh):
//   bench_dit --shape 14b|tiny [--size W*H] [--frames N] [--cfg] [--dtype float32|bfloat16]
//             [--device cpu|cuda] [--steps N] [--warmup N] [--layers N] [--offload_blocks]
//             [--attention auto|math|sdpa] [--sdpa_kernel any|flash|efficient|math|cudnn]
//             [--rope_dtype float64|float32] [--json FILE] [--save_output FILE] [--packed q8_0|q4_k]
//   One step = one forward, or two (conditional + unconditional) with --cfg, as speech2video.py's
//   loop; the scheduler update is left out (microseconds). Prints seconds per step, the achieved
//   TFLOP/s against the step's work from models/wan/dit_cost.h (the formula of the UI's memory
//   estimate), and on CUDA the peak memory of the caching allocator against that estimate.
//
// Weights and inputs are "named random": each parameter (by its checkpoint name) and each input
// draws torch.randn from a generator of the run's device seeded with FNV-1a-64(name) >> 1 (see
// named_randn), scaled as below. scripts/device/official_forward.py draws the same tensors for the
// official WanModel_S2V, so both run the same function on the same numbers and their outputs can be
// compared (--save_output). The weights are filled on the device: a 14B bf16 model never exists in
// host memory (with --offload_blocks the blocks move to host memory after the fill).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/base/error.h"
#include "models/wan/dit_cost.h"
#include "models/wan/dit_s2v.h"
#include "models/wan/packed_weights.h"
#include "models/weights/ggml_quant.h"
#include "models/weights/safetensors.h"
#include "s2v_torch_features.h"

#if S2V_TORCH_CUDA_MEMSTATS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

using namespace s2v::wan;

namespace {

// ------------------------------------------------------------------------------------------------
// legacy table (no --shape)

DiTConfig tiny_config() {
  DiTConfig tiny;
  tiny.dim = 64; tiny.ffn_dim = 128; tiny.freq_dim = 32; tiny.text_dim = 32; tiny.text_len = 16;
  tiny.num_heads = 4; tiny.num_layers = 4; tiny.audio_dim = 32; tiny.audio_inject_layers = {0, 2, 3};
  return tiny;
}

DiTInputs random_inputs(const DiTConfig& c, int64_t frames, int64_t h, int64_t w, torch::Device dev) {
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
  return in;
}

double seconds_per_forward(WanModelS2V& model, const DiTInputs& in, int repeats) {
  model->forward(in);  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) model->forward(in);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
}

int legacy_table(int repeats) {
  std::printf("%-34s %-8s %-9s %-7s %10s %12s\n", "case", "device", "dtype", "attn", "tokens", "s/forward");
  const auto tiny = tiny_config();
  for (auto backend : {AttentionBackend::Math, AttentionBackend::Sdpa}) {
    if (backend == AttentionBackend::Sdpa && !sdpa_available()) continue;
    WanModelS2V model(tiny);
    model->options.attention.backend = backend;
    auto in = random_inputs(tiny, 9, 8, 8, torch::kCPU);
    const int64_t tokens = 3 * 16 + 16 + 24;
    std::printf("%-34s %-8s %-9s %-7s %10lld %12.4f\n", "tiny parity (dim 64, 4 layers)", "cpu", "float32",
                to_string(backend), static_cast<long long>(tokens), seconds_per_forward(model, in, repeats));
  }
  // tiny config at the 480p frame size: exercises the long-sequence (chunked) path on CPU
  WanModelS2V model(tiny);
  model->options.attention.backend = AttentionBackend::Math;
  auto in = random_inputs(tiny, 5, 60, 104, torch::kCPU);
  const int64_t tokens = 2 * 30 * 52 + 30 * 52 + 30 * 52 + 15 * 26 + 4 * 7 * 13;
  std::printf("%-34s %-8s %-9s %-7s %10lld %12.4f\n", "tiny, 480p, 5 frames", "cpu", "float32", "math",
              static_cast<long long>(tokens), seconds_per_forward(model, in, 1));
  std::printf("(the 14B / 480p / 80-frame GPU step: bench_dit --shape 14b --device cuda --dtype bfloat16 --cfg)\n");
  return 0;
}

// ------------------------------------------------------------------------------------------------
// one configuration (--shape)

struct Args {
  std::string shape;
  int64_t width = 0, height = 0;  // pixels; 0: the shape's default
  int64_t frames = 80;
  bool cfg = false, offload_blocks = false;
  std::string dtype = "float32", device = "cpu", attention = "auto", sdpa_kernel = "any", rope_dtype = "float64";
  int steps = 2, warmup = 1;
  int64_t layers = 0;
  std::string json, save_output, packed;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "bench_dit: %s\n(see the head of bench/dit/bench_dit.cpp for the options)\n", why.c_str());
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(k + " needs a value");
      return argv[++i];
    };
    if (k == "--shape") a.shape = value();
    else if (k == "--size") {
      const auto v = value();
      const auto star = v.find('*');
      if (star == std::string::npos) usage("--size is W*H, e.g. 832*480");
      a.width = std::atoll(v.substr(0, star).c_str());
      a.height = std::atoll(v.substr(star + 1).c_str());
    } else if (k == "--frames") a.frames = std::atoll(value().c_str());
    else if (k == "--cfg") a.cfg = true;
    else if (k == "--offload_blocks") a.offload_blocks = true;
    else if (k == "--dtype") a.dtype = value();
    else if (k == "--device") a.device = value();
    else if (k == "--attention") a.attention = value();
    else if (k == "--sdpa_kernel") a.sdpa_kernel = value();
    else if (k == "--rope_dtype") a.rope_dtype = value();
    else if (k == "--steps") a.steps = std::max(1, std::atoi(value().c_str()));
    else if (k == "--warmup") a.warmup = std::max(0, std::atoi(value().c_str()));
    else if (k == "--layers") a.layers = std::atoll(value().c_str());
    else if (k == "--json") a.json = value();
    else if (k == "--save_output") a.save_output = value();
    else if (k == "--packed") a.packed = value();
    else usage("unknown option " + k);
  }
  if (a.shape != "14b" && a.shape != "tiny") usage("--shape is 14b or tiny");
  if (a.dtype != "float32" && a.dtype != "bfloat16") usage("--dtype is float32 or bfloat16");
  if (a.width <= 0 || a.height <= 0) {
    a.width = a.shape == "14b" ? 832 : 64;
    a.height = a.shape == "14b" ? 480 : 48;
  }
  if (a.width % 16 || a.height % 16) usage("--size must be multiples of 16 (8x VAE, 2x patch)");
  return a;
}

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// torch.randn(shape) in float32 from a fresh generator state of `device` seeded with
// FNV-1a-64(name) >> 1 (a generator of that device type: Philox on CUDA, mt19937 on CPU).
torch::Tensor named_randn(const std::string& name, at::IntArrayRef shape, torch::Device device) {
  auto gen = at::globalContext().defaultGenerator(device);
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(fnv1a64(name) >> 1);
  }
  return torch::randn(shape, gen, torch::TensorOptions().dtype(torch::kFloat32).device(device));
}

// The scale of a named random parameter: 1/sqrt(fan_in) for matrices and kernels (fan_in = numel /
// out), 1 + 0.05 z for 1-D "*weight" (norm scales), 0.02 z for other 1-D tensors (biases).
void fill_named_random(torch::nn::Module& model, torch::Device device) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    auto& t = p.value();
    auto z = named_randn(p.key(), t.sizes(), device);
    if (t.dim() >= 2) {
      z.mul_(1.0 / std::sqrt(static_cast<double>(t.numel() / t.size(0))));
    } else if (p.key().size() >= 6 && p.key().compare(p.key().size() - 6, 6, "weight") == 0) {
      z.mul_(0.05).add_(1.0);
    } else {
      z.mul_(0.02);
    }
    t.copy_(z);
  }
}

DiTInputs named_inputs(const DiTConfig& c, const DiTCost& cost, int64_t h, int64_t w, torch::Device dev,
                       bool uncond) {
  DiTInputs in;
  const int64_t lat_t = cost.latent_frames;
  in.x = named_randn("in.x", {c.in_dim, lat_t, h, w}, dev);
  in.t = torch::full({1}, 999, torch::TensorOptions().dtype(torch::kInt64).device(dev));
  const int64_t text = std::min<int64_t>(c.text_len, 120);
  in.context = named_randn(uncond ? "in.context_null" : "in.context", {text, c.text_dim}, dev);
  in.ref_latents = named_randn("in.ref_latents", {c.in_dim, 1, h, w}, dev);
  in.motion_latents = named_randn("in.motion_latents", {c.in_dim, 19, h, w}, dev);
  in.cond_states = named_randn("in.cond_states", {c.cond_dim, lat_t, h, w}, dev);
  in.audio_input = named_randn("in.audio_input", {1, c.audio_num_layers, c.audio_dim, lat_t * 4}, dev);
  if (uncond) in.audio_input.zero_();  // the negative branch zeroes the audio (speech2video.py)
  in.motion_frames = {73, 19};
  in.add_last_motion = 2;
  in.drop_motion_frames = false;
  return in;
}

void sync(torch::Device dev) {
  if (dev.is_cuda()) torch::cuda::synchronize();
}

struct Peak {
  double allocated = -1, reserved = -1;  // bytes; -1: not measurable in this build
};

void reset_peak(torch::Device dev) {
#if S2V_TORCH_CUDA_MEMSTATS
  if (dev.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(dev.index() < 0 ? 0 : dev.index());
#else
  (void)dev;
#endif
}

Peak read_peak(torch::Device dev) {
  Peak p;
#if S2V_TORCH_CUDA_MEMSTATS
  if (dev.is_cuda()) {
    const auto s = c10::cuda::CUDACachingAllocator::getDeviceStats(dev.index() < 0 ? 0 : dev.index());
    p.allocated = static_cast<double>(s.allocated_bytes[0].peak);  // [0]: StatType::AGGREGATE
    p.reserved = static_cast<double>(s.reserved_bytes[0].peak);
  }
#else
  (void)dev;
#endif
  return p;
}

double gib(double bytes) { return bytes / (1024.0 * 1024.0 * 1024.0); }

int one_configuration(const Args& a) {
  if (!a.packed.empty() && a.packed != "q8_0" && a.packed != "q4_k") usage("--packed is q8_0 or q4_k");
  const torch::Device dev(a.device);
  if (dev.is_cuda() && !torch::cuda::is_available()) {
    std::fprintf(stderr, "bench_dit: --device %s but CUDA is not available (LibTorch %s)\n", a.device.c_str(),
                 TORCH_VERSION);
    return 3;
  }
  const auto dtype = a.dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  DiTConfig c = a.shape == "14b" ? DiTConfig{} : tiny_config();
  if (a.layers > 0 && a.layers < c.num_layers) {
    c.num_layers = a.layers;
    std::vector<int64_t> inject;
    for (auto l : c.audio_inject_layers)
      if (l < a.layers) inject.push_back(l);
    c.audio_inject_layers = inject;
  }

  DiTCostInputs ci;
  ci.height = a.height;
  ci.width = a.width;
  ci.infer_frames = a.frames;
  ci.dim = c.dim;
  ci.ffn_dim = c.ffn_dim;
  ci.num_heads = c.num_heads;
  ci.num_layers = c.num_layers;
  ci.parameters = parameter_count(c);
  ci.cfg = a.cfg;
  ci.bytes_per_value = dtype == torch::kFloat32 ? 4 : 2;
  const auto backend = a.attention == "math" ? AttentionBackend::Math
                       : a.attention == "sdpa" ? AttentionBackend::Sdpa
                                               : AttentionBackend::Auto;
  ci.fused_attention = backend == AttentionBackend::Sdpa || (backend == AttentionBackend::Auto && sdpa_available());
  const auto cost = dit_cost(ci);
  const int64_t h = a.height / 8, w = a.width / 8;

  // --- build: the blocks' linear layers straight on the device, uninitialised; then the fill ---
  const auto t_build = std::chrono::steady_clock::now();
  WanModelS2V model(nullptr);
  {
    SkipInitGuard skip(dev, dtype);
    model = WanModelS2V(c, dtype);
  }
  model->to(dev);
  fill_named_random(*model, dev);
  double packed_bytes = 0, packed_params = 0, quant_error = 0;
  if (!a.packed.empty()) {
    // the GGUF path: the block and audio-injector matrices quantised on the device and kept packed,
    // each block dequantised before it runs (models/wan/packed_weights.h), streamed from host
    // memory with --offload_blocks
    const auto type = a.packed == "q8_0" ? s2v::weights::GgmlType::Q8_0 : s2v::weights::GgmlType::Q4_K;
    const int64_t block = s2v::weights::ggml_type_info(type).block_values;
    auto packed = std::make_shared<PackedWeights>(dev, a.offload_blocks);
    for (auto& p : model->named_parameters()) {
      const auto& key = p.key();
      if (p.value().dim() != 2 || p.value().size(1) % block != 0) continue;
      if (key.rfind("blocks.", 0) != 0 && key.rfind("audio_injector.", 0) != 0) continue;
      auto q = s2v::weights::quantize(p.value(), type);
      if (key == "blocks.0.self_attn.q.weight") {  // how far the packed weights are from the fill
        auto back = s2v::weights::dequantize(q, torch::kFloat32).to(torch::kFloat32);
        auto ref = p.value().to(torch::kFloat32);
        quant_error = ((back - ref).norm() / ref.norm()).item<double>();
      }
      packed_bytes += static_cast<double>(q.data.numel());
      packed_params += static_cast<double>(p.value().numel());
      packed->attach(key, p.value(), std::move(q), p.value().sizes().vec());
    }
    model->packed = packed;
  }
  if (a.offload_blocks && a.packed.empty()) {
    // as S2VPipeline::load_dit with offload_blocks: everything but the blocks on the device
    for (const auto& b : *model->blocks) b->to(torch::kCPU);
    model->options.stream_blocks = true;
  }
  sync(dev);
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_build).count();
  model->options.attention.backend = backend;
  model->options.attention.sdpa_kernel = parse_sdpa_kernel(a.sdpa_kernel);
  model->options.rope_dtype = a.rope_dtype == "float32" ? torch::kFloat32 : torch::kFloat64;

  const auto cond = named_inputs(c, cost, h, w, dev, false);
  const auto uncond = a.cfg ? named_inputs(c, cost, h, w, dev, true) : DiTInputs{};
  torch::Tensor out_cond, out_uncond;
  auto step = [&] {
    out_cond = model->forward(cond);
    if (a.cfg) {
      out_uncond = model->forward(uncond);
      return out_uncond + 4.5 * (out_cond - out_uncond);  // cfg_combine with the official 4.5
    }
    return out_cond;
  };
  for (int i = 0; i < a.warmup; ++i) step();
  sync(dev);
  reset_peak(dev);
  std::vector<double> times;
  for (int i = 0; i < a.steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    sync(dev);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  const auto peak = read_peak(dev);
  const double tflops = cost.flop_per_step / median / 1e12;
  const double weight_bytes = static_cast<double>(ci.parameters) * static_cast<double>(ci.bytes_per_value);
  // the estimate of estimate_memory: resident weights (with offload: all but the blocks, plus two
  // blocks in flight) + one block's activations
  double blocks_params = 0;
  for (const auto& b : *model->blocks)
    for (const auto& p : b->parameters()) blocks_params += static_cast<double>(p.numel());
  double resident_weights =
      a.offload_blocks ? weight_bytes - blocks_params * static_cast<double>(ci.bytes_per_value) +
                             2.0 * blocks_params / c.num_layers * static_cast<double>(ci.bytes_per_value)
                       : weight_bytes;
  if (!a.packed.empty()) {
    // packed: the packed bytes (or two blocks of them in flight when streamed), the rest as stored,
    // and one block dequantised into the compute dtype
    const double bpv = static_cast<double>(ci.bytes_per_value);
    resident_weights = weight_bytes - packed_params * bpv +
                       (a.offload_blocks ? 2.0 * packed_bytes / c.num_layers : packed_bytes) +
                       packed_params / c.num_layers * bpv;
  }
  const double estimate = resident_weights + cost.activation_bytes;

  const std::string name = std::string(a.shape == "14b" ? "14B" : "tiny") + " " + std::to_string(a.width) + "x" +
                           std::to_string(a.height) + " " + std::to_string(a.frames) + "f" + (a.cfg ? " cfg" : "") +
                           (a.offload_blocks ? " offload" : "") + (a.packed.empty() ? "" : " " + a.packed);
  std::printf("%-34s %-6s %-9s %-6s %-9s %8s %10s %10s %9s %11s %11s\n", "case", "device", "dtype", "attn", "kernel",
              "tokens", "s/step", "TFLOP/st", "TFLOP/s", "peak GiB", "est. GiB");
  std::printf("%-34s %-6s %-9s %-6s %-9s %8lld %10.4g %10.4g %9.4g %11s %11.3g\n", name.c_str(), dev.str().c_str(),
              a.dtype.c_str(), to_string(backend), a.sdpa_kernel.c_str(), static_cast<long long>(cost.tokens), median,
              cost.flop_per_step / 1e12, tflops,
              peak.allocated < 0 ? "n/a" : std::to_string(gib(peak.allocated)).substr(0, 6).c_str(), gib(estimate));
  std::printf("build + fill %.1f s; steps:", build_s);
  for (double t : times) std::printf(" %.3f", t);
  std::printf(" s; LibTorch %s\n", TORCH_VERSION);
  if (!a.packed.empty())
    std::printf("packed %s: %.2f GB of block weights kept packed (%.3g bytes per value); quantisation error of "
                "blocks.0.self_attn.q.weight %.3g\n",
                a.packed.c_str(), packed_bytes / 1e9, packed_params > 0 ? packed_bytes / packed_params : 0.0, quant_error);

  if (!a.save_output.empty()) {
    s2v::weights::save_safetensors(a.save_output, {{"out.cond", out_cond.to(torch::kCPU, torch::kFloat32).contiguous()},
                                                   {"out.uncond", a.cfg ? out_uncond.to(torch::kCPU, torch::kFloat32).contiguous()
                                                                        : out_cond.to(torch::kCPU, torch::kFloat32).contiguous()}});
  }
  if (!a.json.empty()) {
    nlohmann::json j{{"case", name},
                     {"implementation", "s2v-studio"},
                     {"libtorch", TORCH_VERSION},
                     {"device", dev.str()},
                     {"dtype", a.dtype},
                     {"attention", to_string(backend)},
                     {"sdpa_kernel", a.sdpa_kernel},
                     {"rope_dtype", a.rope_dtype},
                     {"cfg", a.cfg},
                     {"offload_blocks", a.offload_blocks},
                     {"packed", a.packed},
                     {"packed_bytes", packed_bytes},
                     {"quantisation_error", quant_error},
                     {"width", a.width},
                     {"height", a.height},
                     {"frames", a.frames},
                     {"latent_frames", cost.latent_frames},
                     {"tokens_formula", cost.tokens},
                     {"parameters", ci.parameters},
                     {"parameter_tensors", model->named_parameters().size()},
                     {"tflop_per_step_formula", cost.flop_per_step / 1e12},
                     {"seconds_per_step", times},
                     {"seconds_per_step_median", median},
                     {"tflops_achieved", tflops},
                     {"build_and_fill_seconds", build_s},
                     {"peak_allocated_bytes", peak.allocated},
                     {"peak_reserved_bytes", peak.reserved},
                     {"estimate_bytes", estimate},
                     {"config", c.to_json()}};
    std::ofstream(a.json) << j.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  torch::manual_seed(0);
  bool configured = false;
  for (int i = 1; i < argc; ++i) configured |= std::strncmp(argv[i], "--", 2) == 0;
  try {
    if (!configured) return legacy_table(argc > 1 ? std::max(1, std::atoi(argv[1])) : 3);
    return one_configuration(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_dit: %s\n", e.what());
    return 1;
  }
}
