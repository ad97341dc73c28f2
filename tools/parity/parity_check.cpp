// parity_check: the parity vectors of ../shared/testdata/parity run through our modules on any
// device and dtype, without Qt (the engine-only build of a bare GPU machine has no Qt Test). The Qt
// suites under tests/models and tests/core/sampling check the same vectors on CPU in float32 with
// more detail; this runner is their device-side counterpart.
//
// usage: parity_check [--dir DIR] [--device cpu|cuda] [--dtype float32|bfloat16]
//                     [--attention auto|math|sdpa] [--sdpa_kernel any|flash|efficient|math|cudnn]
//                     [--only PREFIX[,PREFIX...]] [--json FILE]
//   DIR: the parity folder (default $S2V_PARITY_DIR, else $S2V_SHARED_DIR/testdata/parity, else
//   ../shared/testdata/parity beside the source tree). Every *.safetensors file is run, chosen by
//   its prefix, with config and call arguments from its metadata (nothing hard-coded per file):
//     dit_s2v_*       WanModel_S2V.forward -> out.video
//     vae_2_1_*       WanVAE_.encode -> out.latent, .decode -> out.decoded
//     umt5_encoder_*  T5Encoder(ids, mask) -> out.hidden
//     wav2vec2_*      hidden states of every layer -> out.hidden_states
//     sched_*         every UniPC / DPM++ step fed the stored model output -> stepNN.latent (worst)
// Prints one row per output: file, module, device, dtype, relative error |out - ref| / |ref|,
// bound, PASS/FAIL; exits 1 when a row fails (or nothing ran), 2 for bad arguments.
//
// Bounds. float32: 1e-5 (1e-4 for the VAE decode), as the Qt suites and DESIGN.md. On CUDA, TF32
// is switched off for cuBLAS and cuDNN first (LibTorch enables it for cuDNN convolutions by
// default, which alone costs ~1e-3). bfloat16 is run only for the modules the pipeline runs in
// bfloat16 (the DiT and umT5; VAE, wav2vec2 and the samplers stay float32 there and are checked
// in float32): each rounding to bf16 (8 significant bits: unit roundoff u = 2^-8) adds a
// relative error uniform in [-u, u], of RMS u/sqrt(3); independent roundings add in quadrature,
// so k roundings in sequence give an RMS relative error of sqrt(k) u / sqrt(3), and the bound is
// three times that (3 sigma): sqrt(3 k) u. k is counted from the config, the roundings a value
// meets on its way through one block: DiT (float32 residual stream, as the official autocast
// regions) 12 per block (self-attention q, its RMSNorm, RoPE's cast back, the attention, o;
// cross-attention q, its RMSNorm, the attention, o; ffn.0, gelu, ffn.2) + 6 per audio injector +
// 10 (embeddings, audio encoder, head); umT5 (bf16 residual stream, as the official T5 in bf16)
// 13 per layer (norm1, q, scores, softmax, attention, o, residual add, norm2, gate, gelu, the
// gated product, fc2, residual add) + 2 (embedding, final norm).

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/sampling/scheduler.h"
#include "models/base/error.h"
#include "models/t5/umt5.h"
#include "models/wan/dit_config.h"
#include "models/wan/dit_s2v.h"
#include "models/wan/vae.h"
#include "models/wav2vec2/wav2vec2.h"
#include "models/weights/checkpoint.h"
#include "models/weights/safetensors.h"
#include "models/weights/source_views.h"

namespace fs = std::filesystem;
using namespace s2v;

namespace {

struct Options {
  fs::path dir;
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
  wan::AttentionBackend attention = wan::AttentionBackend::Math;
  wan::SdpaKernel sdpa_kernel = wan::SdpaKernel::Any;
  std::string only, json;
};

struct Row {
  std::string file, module, output, dtype;
  double error = 0, bound = 0;
  bool pass = false;
  std::string note;
};

constexpr double kBf16Unit = 1.0 / 256.0;  // 2^-8
double bf16_bound(double roundings) { return std::sqrt(3.0 * roundings) * kBf16Unit; }

double rel_error(const torch::Tensor& out, const torch::Tensor& ref) {
  auto o = out.detach().to(torch::kCPU, torch::kFloat64);
  auto r = ref.detach().to(torch::kCPU, torch::kFloat64);
  if (o.sizes() != r.sizes()) return std::numeric_limits<double>::infinity();
  const double denom = r.norm().item<double>();
  const double num = (o - r).norm().item<double>();
  if (std::isnan(num)) return std::numeric_limits<double>::infinity();
  return denom == 0 ? num : num / denom;
}

nlohmann::json meta(const weights::SafetensorsFile& f, const std::string& key) {
  auto it = f.metadata().find(key);
  if (it == f.metadata().end()) return nullptr;
  try {
    return nlohmann::json::parse(it->second);
  } catch (...) {
    return it->second;
  }
}

std::vector<float> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

fs::path default_dir() {
  if (const char* env = std::getenv("S2V_PARITY_DIR"); env && *env) return env;
  if (const char* env = std::getenv("S2V_SHARED_DIR"); env && *env) return fs::path(env) / "testdata" / "parity";
  return fs::path(S2V_SOURCE_DIR) / ".." / "shared" / "testdata" / "parity";
}

// ------------------------------------------------------------------------------------------------

using Emit = std::function<void(const std::string& output, double error, double bound)>;

void run_dit(const weights::SafetensorsFile& f, const Options& o, const Emit& emit) {
  const auto config = wan::DiTConfig::from_json(meta(f, "config"));
  const auto call = meta(f, "call");
  wan::WanModelS2V model(config, o.dtype);
  // The app's loader (as S2VPipeline::load_dit), on the file's "model." tensors.
  wan::load_dit_weights(*model, *weights::under_prefix(weights::open_checkpoint(f.path()), "model."), torch::kCPU);
  model->to(o.device);
  model->options.attention.backend = o.attention;
  model->options.attention.sdpa_kernel = o.sdpa_kernel;
  wan::DiTInputs in;
  auto t = [&](const char* name) { return f.tensor(name).to(o.device); };
  in.x = t("in.x");
  in.t = t("in.t");
  in.context = t("in.context");
  in.ref_latents = t("in.ref_latents");
  in.motion_latents = t("in.motion_latents");
  in.cond_states = t("in.cond_states");
  in.audio_input = t("in.audio_input");
  if (call.contains("motion_frames"))
    in.motion_frames = {call["motion_frames"][0].get<int64_t>(), call["motion_frames"][1].get<int64_t>()};
  if (call.contains("add_last_motion")) in.add_last_motion = call["add_last_motion"].get<int64_t>();
  if (call.contains("drop_motion_frames")) in.drop_motion_frames = call["drop_motion_frames"].get<bool>();
  const auto out = model->forward(in);
  const auto injectors = wan::audio_injector_map(config.num_layers, config.audio_inject_layers).count;
  const double k = 12.0 * static_cast<double>(config.num_layers) + 6.0 * static_cast<double>(injectors) + 10.0;
  emit("out.video", rel_error(out, f.tensor("out.video")), o.dtype == torch::kFloat32 ? 1e-5 : bf16_bound(k));
}

void run_vae(const weights::SafetensorsFile& f, const Options& o, const Emit& emit) {
  wan::WanVae vae(wan::WanVaeConfig::from_json(meta(f, "config").dump()), to_vector(f.tensor("scale.mean")),
                  to_vector(f.tensor("scale.std")));
  vae.load(*weights::under_prefix(weights::open_checkpoint(f.path()), "model."));
  vae.to(o.device, torch::kFloat32);
  torch::NoGradGuard ng;
  emit("out.latent", rel_error(vae.encode(f.tensor("in.video").to(o.device)), f.tensor("out.latent")), 1e-5);
  emit("out.decoded", rel_error(vae.decode_unclamped(f.tensor("out.latent").to(o.device)), f.tensor("out.decoded")),
       1e-4);
}

void run_umt5(const weights::SafetensorsFile& f, const Options& o, const Emit& emit) {
  const auto cfg = t5::UMT5Config::from_json(meta(f, "config").dump());
  t5::UMT5Encoder model(cfg);
  t5::load_umt5(*model, *weights::under_prefix(weights::open_checkpoint(f.path()), "model."));
  model->to(o.device, o.dtype);
  torch::NoGradGuard ng;
  const auto out = model(f.tensor("in.ids").to(o.device), f.tensor("in.mask").to(o.device));
  const double k = 13.0 * static_cast<double>(cfg.num_layers) + 2.0;
  emit("out.hidden", rel_error(out, f.tensor("out.hidden")), o.dtype == torch::kFloat32 ? 1e-5 : bf16_bound(k));
}

void run_wav2vec2(const weights::SafetensorsFile& f, const Options& o, const Emit& emit) {
  const auto cfg = wav2vec2::Wav2Vec2Config::from_json(meta(f, "hf_config").dump());
  wav2vec2::Wav2Vec2Encoder model(cfg);
  wav2vec2::load_wav2vec2(*model, weights::under_prefix(weights::open_checkpoint(f.path()), "model."));
  model->to(o.device);
  torch::NoGradGuard ng;
  const auto out = model(f.tensor("in.normalized").unsqueeze(0).to(o.device)).squeeze(1);
  emit("out.hidden_states", rel_error(out, f.tensor("out.hidden_states")), 1e-5);
}

void run_sched(const weights::SafetensorsFile& f, const fs::path& path, const Options& o, const Emit& emit) {
  const auto name = path.filename().string();
  const auto kind = name.rfind("sched_unipc", 0) == 0 ? sampling::SolverKind::UniPC : sampling::SolverKind::DpmPP;
  const auto plan = meta(f, "set_timesteps");
  auto sched = sampling::make_scheduler(kind);
  sched->set_timesteps(plan.at("steps").get<int>(), plan.at("shift").get<double>());
  auto latent = f.tensor("in.latent").to(o.device);
  double worst = 0;
  int i = 0;
  for (const int64_t t : sched->timestep_values()) {
    char key[32];
    std::snprintf(key, sizeof key, "step%02d.", i++);
    latent = sched->step(f.tensor(std::string(key) + "model_output").to(o.device), t, latent);
    worst = std::max(worst, rel_error(latent, f.tensor(std::string(key) + "latent")));
  }
  emit("stepNN.latent (worst of " + std::to_string(i) + ")", worst, 1e-5);
}

Options parse(int argc, char** argv) {
  Options o;
  o.dir = default_dir();
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "parity_check: %s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--dir") o.dir = value();
    else if (k == "--device") o.device = torch::Device(value());
    else if (k == "--dtype") {
      const auto d = value();
      if (d == "float32") o.dtype = torch::kFloat32;
      else if (d == "bfloat16") o.dtype = torch::kBFloat16;
      else {
        std::fprintf(stderr, "parity_check: --dtype is float32 or bfloat16\n");
        std::exit(2);
      }
    } else if (k == "--attention") {
      const auto a = value();
      o.attention = a == "sdpa" ? wan::AttentionBackend::Sdpa
                    : a == "auto" ? wan::AttentionBackend::Auto
                                  : wan::AttentionBackend::Math;
    } else if (k == "--sdpa_kernel") o.sdpa_kernel = wan::parse_sdpa_kernel(value());
    else if (k == "--only") o.only = value();
    else if (k == "--json") o.json = value();
    else {
      std::fprintf(stderr, "parity_check: unknown option %s (see the head of tools/parity/parity_check.cpp)\n",
                   k.c_str());
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parity_check: %s\n", e.what());
    return 2;
  }
  if (o.device.is_cuda()) {
    if (!torch::cuda::is_available()) {
      std::fprintf(stderr, "parity_check: --device %s but CUDA is not available\n", o.device.str().c_str());
      return 2;
    }
    // exact float32: no TF32 in cuBLAS matmuls or cuDNN convolutions
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
  torch::manual_seed(0);
  const char* dtype_name = o.dtype == torch::kFloat32 ? "float32" : "bfloat16";
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(o.dir, ec))
    if (e.path().extension() == ".safetensors") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "parity_check: no *.safetensors in %s\n", o.dir.c_str());
    return 1;
  }
  std::printf("parity folder %s; device %s, dtype %s, attention %s (sdpa kernel %s), LibTorch %s\n", o.dir.c_str(),
              o.device.str().c_str(), dtype_name, wan::to_string(o.attention), wan::to_string(o.sdpa_kernel),
              TORCH_VERSION);
  std::printf("%-44s %-9s %-34s %-6s %-9s %10s %9s %s\n", "file", "module", "output", "device", "dtype", "rel error",
              "bound", "result");
  std::vector<Row> rows;
  for (const auto& path : files) {
    const auto name = path.filename().string();
    if (!o.only.empty()) {
      bool wanted = false;
      for (size_t a = 0; a <= o.only.size();) {
        const size_t b = std::min(o.only.find(',', a), o.only.size());
        const auto prefix = o.only.substr(a, b - a);
        wanted |= !prefix.empty() && name.rfind(prefix, 0) == 0;
        a = b + 1;
      }
      if (!wanted) continue;
    }
    std::string module;
    bool bf16_capable = false;
    if (name.rfind("dit_s2v_", 0) == 0) module = "dit", bf16_capable = true;
    else if (name.rfind("vae_2_1_", 0) == 0) module = "vae";
    else if (name.rfind("umt5_encoder_", 0) == 0) module = "umt5", bf16_capable = true;
    else if (name.rfind("wav2vec2_", 0) == 0) module = "wav2vec2";
    else if (name.rfind("sched_", 0) == 0) module = "sampler";
    else continue;
    // the float32-only modules are checked in float32 whatever --dtype says (see the head)
    Options run = o;
    if (!bf16_capable) run.dtype = torch::kFloat32;
    const char* run_dtype = run.dtype == torch::kFloat32 ? "float32" : "bfloat16";
    auto emit = [&](const std::string& output, double error, double bound) {
      Row r{name, module, output, run_dtype, error, bound, error <= bound, ""};
      std::printf("%-44s %-9s %-34s %-6s %-9s %10.3g %9.3g %s\n", name.c_str(), module.c_str(), output.c_str(),
                  o.device.str().c_str(), run_dtype, error, bound, r.pass ? "PASS" : "FAIL");
      rows.push_back(r);
    };
    try {
      auto f = weights::SafetensorsFile::open(path);
      torch::NoGradGuard ng;
      if (module == "dit") run_dit(f, run, emit);
      else if (module == "vae") run_vae(f, run, emit);
      else if (module == "umt5") run_umt5(f, run, emit);
      else if (module == "wav2vec2") run_wav2vec2(f, run, emit);
      else run_sched(f, path, run, emit);
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (const auto nl = what.find('\n'); nl != std::string::npos) what = what.substr(0, nl);
      std::printf("%-44s %-9s %-34s %-6s %-9s %10s %9s FAIL (%s)\n", name.c_str(), module.c_str(), "-",
                  o.device.str().c_str(), run_dtype, "-", "-", what.c_str());
      rows.push_back(Row{name, module, "-", run_dtype, std::numeric_limits<double>::infinity(), 0, false, what});
    }
  }
  int failed = 0;
  for (const auto& r : rows) failed += r.pass ? 0 : 1;
  std::printf("parity: %zu rows within their bound, %d outside or failed\n", rows.size() - failed, failed);
  if (!o.json.empty()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : rows)
      j.push_back({{"file", r.file}, {"module", r.module}, {"output", r.output}, {"device", o.device.str()},
                   {"dtype", r.dtype}, {"rel_error", std::isfinite(r.error) ? nlohmann::json(r.error) : nlohmann::json()},
                   {"bound", r.bound}, {"pass", r.pass}, {"note", r.note}});
    std::ofstream(o.json) << j.dump(2) << "\n";
  }
  return rows.empty() || failed ? 1 : 0;
}
