// bench_vae: seconds per Wan 2.1 VAE encode and decode on the CPU (float32, random weights,
// chunked and causal as in the pipeline), ours beside the official WanVAE_ (wan/modules/vae2_1.py)
// run on the same machine, shapes and thread count by Debian's python3-torch, the LibTorch 1.13
// that S2V links (scripts/bench/wan_vae_official.py). Prints a table: wall and CPU seconds of
// both, the ratio official / ours, and frames per second.
//
// Cases: the demo model's VAE (width 8, what a CPU user renders with) decoding one clip (39 latent
// frames: 19 of motion + 20 new, as decode_clip) and encoding the 73 motion frames, at 256x256
// and 480x832; with --real also the real Wan 2.1 VAE (width 96) on 5 frames at 256x256. When CUDA
// is available, the S2V motion clip at 480x832 in bf16 (ours only).
//
// Usage: bench_vae [--threads N] [--repeats N] [--official DIR] [--python EXE] [--real]
//                  [--only 256|480] [--profile FILE]
//   --official DIR  a checkout of github.com/Wan-Video/Wan2.2 (default: $S2V_WAN22_DIR); without
//                   it, or without python3-torch, the official columns say why they are empty.
//   --threads N     LibTorch threads for both sides (default: LibTorch's own default).
//   --profile FILE  also write LibTorch's profiler trace of our runs (Chrome trace JSON) to FILE;
//                   scripts/bench/profile_summary.py prints the time per operator from it.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include "models/wan/vae.h"

using s2v::wan::WanVae;
using s2v::wan::WanVaeConfig;

namespace {

struct Case {
  std::string label;
  std::string op;  // encode | decode | decode_tiled
  int64_t dim = 8;
  int64_t frames = 0;  // video frames (encode) or latent frames (decode)
  int64_t h = 0, w = 0;

  int64_t video_frames() const { return op == "encode" ? frames : 1 + 4 * (frames - 1); }
  std::string key() const {
    return op + ":" + std::to_string(dim) + ":" + std::to_string(frames) + ":" + std::to_string(h) + "x" +
           std::to_string(w);
  }
};

struct Timing {
  double wall = 0, cpu = 0;
};

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

Timing time_it(const std::function<void()>& fn, int repeats, bool cuda) {
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_now();
  for (int i = 0; i < repeats; ++i) fn();
  if (cuda) torch::cuda::synchronize();
  Timing t;
  t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
  t.cpu = (cpu_now() - c0) / repeats;
  return t;
}

WanVaeConfig config_of_width(int64_t dim) {
  WanVaeConfig c;  // the Wan 2.1 configuration; the demo model changes only the width
  c.dim = dim;
  return c;
}

Timing run_ours(std::map<int64_t, WanVae>& vaes, const Case& c, int repeats, torch::Device dev) {
  auto it = vaes.find(c.dim);
  if (it == vaes.end()) {
    torch::manual_seed(0);
    it = vaes.emplace(c.dim, WanVae(config_of_width(c.dim))).first;
  }
  WanVae& vae = it->second;
  const bool cuda = dev.is_cuda();
  if (c.op == "encode") {
    auto video = (torch::rand({1, 3, c.frames, c.h, c.w}) * 2 - 1).to(dev);
    return time_it([&] { vae.encode(video); }, repeats, cuda);
  }
  auto latents = torch::randn({1, 16, c.frames, c.h / 8, c.w / 8}).to(dev);
  if (c.op == "decode_tiled") return time_it([&] { vae.decode_tiled(latents, {32, 8}); }, repeats, cuda);
  return time_it([&] { vae.decode(latents); }, repeats, cuda);
}

// Runs scripts/bench/wan_vae_official.py on the cases it can time; returns the timings by case key
// and, when it cannot run, why.
std::map<std::string, Timing> run_official(const std::vector<Case>& cases, const std::string& python,
                                           const std::string& wan_dir, int threads, int repeats,
                                           std::string& why_not) {
  std::map<std::string, Timing> out;
  if (wan_dir.empty()) {
    why_not = "no Wan2.2 checkout (--official DIR or $S2V_WAN22_DIR)";
    return out;
  }
  const std::string probe = "'" + python + "' -c 'import torch' >/dev/null 2>&1";
  if (std::system(probe.c_str()) != 0) {
    why_not = python + " cannot import torch (apt-get install python3-torch)";
    return out;
  }
  std::string cmd = "'" + python + "' '" + std::string(S2V_SOURCE_DIR) + "/scripts/bench/wan_vae_official.py' --wan '" +
                    wan_dir + "' --threads " + std::to_string(threads) + " --repeats " + std::to_string(repeats);
  for (const auto& c : cases)
    if (c.op != "decode_tiled") cmd += " " + c.key();
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    why_not = "cannot start " + python;
    return out;
  }
  char line[4096];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    try {
      const auto j = nlohmann::json::parse(line);
      out[j.at("case").get<std::string>()] = {j.at("seconds").get<double>(), j.at("cpu_seconds").get<double>()};
    } catch (const nlohmann::json::exception&) {
      std::fputs(line, stderr);  // not a result line: pass it on
    }
  }
  if (pclose(p) != 0 && out.empty()) why_not = "the official script failed (see above)";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 1, threads = 0;
  bool real = false;
  std::string only, profile;
  const char* env_dir = std::getenv("S2V_WAN22_DIR");
  std::string wan_dir = env_dir ? env_dir : "", python = "/usr/bin/python3";
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_vae: %s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--repeats") repeats = std::max(1, std::atoi(value().c_str()));
    else if (k == "--threads") threads = std::max(0, std::atoi(value().c_str()));
    else if (k == "--official") wan_dir = value();
    else if (k == "--python") python = value();
    else if (k == "--only") only = value();
    else if (k == "--profile") profile = value();
    else if (k == "--real") real = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_vae [--threads N] [--repeats N] [--official DIR] [--python EXE] [--real] "
                   "[--only 256|480] [--profile FILE]\n");
      return 2;
    }
  }
  if (threads > 0) torch::set_num_threads(threads);

  std::vector<Case> cases;
  if (only.empty() || only == "256") {
    cases.push_back({"demo VAE, one clip decode", "decode", 8, 39, 256, 256});
    cases.push_back({"demo VAE, motion encode", "encode", 8, 73, 256, 256});
  }
  if (only.empty() || only == "480") {
    cases.push_back({"demo VAE, one clip decode", "decode", 8, 39, 480, 832});
    cases.push_back({"demo VAE, one clip tiled decode", "decode_tiled", 8, 39, 480, 832});
    cases.push_back({"demo VAE, motion encode", "encode", 8, 73, 480, 832});
  }
  if (real) {
    cases.push_back({"Wan2.1 VAE, decode", "decode", 96, 2, 256, 256});
    cases.push_back({"Wan2.1 VAE, encode", "encode", 96, 5, 256, 256});
  }

  std::printf("CPU float32, %d LibTorch thread(s), mean of %d run(s); ratio = official / ours (wall)\n\n",
              torch::get_num_threads(), repeats);
  std::map<int64_t, WanVae> vaes;
  std::vector<Timing> ours;
  {
    std::optional<torch::autograd::profiler::RecordProfile> trace;
    if (!profile.empty()) trace.emplace(profile);
    for (const auto& c : cases) ours.push_back(run_ours(vaes, c, repeats, torch::kCPU));
  }
  std::string why_not;
  const auto official = run_official(cases, python, wan_dir, torch::get_num_threads(), repeats, why_not);

  std::printf("| case | width | frames | size | ours s (CPU s) | official s (CPU s) | ratio | ours fps | official fps |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const double frames = static_cast<double>(c.video_frames());
    char off[64] = "—", ratio[32] = "—", off_fps[32] = "—";
    if (auto it = official.find(c.key()); it != official.end()) {
      std::snprintf(off, sizeof off, "%.2f (%.2f)", it->second.wall, it->second.cpu);
      std::snprintf(ratio, sizeof ratio, "%.1fx", it->second.wall / ours[i].wall);
      std::snprintf(off_fps, sizeof off_fps, "%.2f", frames / it->second.wall);
    }
    std::printf("| %s | %lld | %lld | %lldx%lld | %.2f (%.2f) | %s | %s | %.2f | %s |\n", c.label.c_str(),
                static_cast<long long>(c.dim), static_cast<long long>(c.video_frames()),
                static_cast<long long>(c.w), static_cast<long long>(c.h), ours[i].wall, ours[i].cpu, off, ratio,
                frames / ours[i].wall, off_fps);
  }
  if (!why_not.empty()) std::printf("\nofficial column skipped: %s\n", why_not.c_str());

  if (torch::cuda::is_available()) {
    std::map<int64_t, WanVae> gpu;
    gpu.emplace(96, WanVae());
    gpu.at(96).to(torch::kCUDA, torch::kBFloat16);
    const Case motion{"S2V motion, 480p", "encode", 96, 73, 480, 832};
    const Case clip{"S2V clip decode, 480p", "decode", 96, 19, 480, 832};
    std::printf("\nCUDA bfloat16, Wan2.1 VAE\n| case | frames | seconds |\n|---|---|---|\n");
    for (const auto& c : {motion, clip})
      std::printf("| %s | %lld | %.3f |\n", c.label.c_str(), static_cast<long long>(c.video_frames()),
                  run_ours(gpu, c, repeats, torch::kCUDA).wall);
  }
  return 0;
}
