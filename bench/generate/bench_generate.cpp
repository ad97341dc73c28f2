// bench_generate: seconds of each stage of the speech-to-video pipeline (core/generate) on a model
// folder, by default the bundled demo model on the CPU. Prints a table.
//   bench_generate [--ckpt_dir DIR] [--image F --audio F] [--size W*H] [--steps N] [--frames N]
//                  [--clips N] [--device cpu|cuda] [--dtype float32|bfloat16]
// Without --image/--audio a synthetic portrait and a 6 s tone are used. The real 14B shapes on a
// GPU are measured by bench_dit (one denoising step = two DiT forwards with CFG).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "core/generate/generate_job.h"
#include "core/generate/model_files.h"
#include "core/generate/model_folder.h"
#include "core/generate/pipeline.h"
#include "core/media/audio.h"
#include "core/media/mux.h"

namespace fs = std::filesystem;
using namespace s2v::generate;
using Clock = std::chrono::steady_clock;

namespace {
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

int main(int argc, char** argv) {
  GenerateParams p;
  p.ckpt_dir = find_demo_model().string();
  p.size = "256*256";
  p.sample_steps = 10;
  p.device = "cpu";
  p.prompt = "a person talking";
  p.base_seed = 1;
  int clips = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--ckpt_dir") p.ckpt_dir = v;
    else if (k == "--image") p.image = v;
    else if (k == "--audio") p.audio = v;
    else if (k == "--size") p.size = v;
    else if (k == "--steps") p.sample_steps = std::stoi(v);
    else if (k == "--frames") p.infer_frames = std::stoi(v);
    else if (k == "--clips") clips = std::stoi(v);
    else if (k == "--device") p.device = v;
    else if (k == "--dtype") p.dtype = v;
  }
  const fs::path tmp = fs::temp_directory_path() / "s2v_bench_generate";
  fs::create_directories(tmp);
  if (p.image.empty()) {
    std::vector<uint8_t> rgb(256 * 256 * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 7) % 251);
    p.image = (tmp / "portrait.png").string();
    s2v::media::write_png(p.image, rgb.data(), 256, 256, 256 * 3);
  }
  if (p.audio.empty()) {
    s2v::media::AudioBuffer a;
    a.samples.resize(16000 * 6);
    for (size_t i = 0; i < a.samples.size(); ++i) a.samples[i] = 0.4f * std::sin(0.09f * static_cast<float>(i));
    p.audio = (tmp / "tone.wav").string();
    s2v::media::write_wav(p.audio, a);
  }
  p.num_clip = clips;

  const auto t_pre = Clock::now();
  const Preflight pre = preflight(p);
  const double s_pre = since(t_pre);
  const Placement where = resolve_placement(p);
  const PipelineInputs in = load_inputs(p);
  S2VPipeline pipe(locate_model_files(p.ckpt_dir, p.components), where);

  std::printf("model: %s\nrender: %dx%d, %d clip(s) of %d frames, %d steps, CFG %.1f, %s on %s, %d threads\n\n",
              pre.model.label.c_str(), in.width, in.height, pre.clips, p.infer_frames, p.sample_steps,
              p.sample_guide_scale, pre.dtype.c_str(), pre.device.c_str(), torch::get_num_threads());
  std::printf("| stage | seconds |\n|---|---|\n");
  std::printf("| preflight (folder check, inputs) | %.3f |\n", s_pre);
  auto t = Clock::now();
  auto audio = pipe.encode_audio(in.audio, p.infer_frames);
  std::printf("| wav2vec2 + buckets (%.1f s audio) | %.3f |\n", in.audio.duration_s(), since(t));
  t = Clock::now();
  auto [ctx, ctx_null] = pipe.encode_prompts(p.prompt, official_negative_prompt());
  std::printf("| umT5 prompt + negative prompt | %.3f |\n", since(t));
  t = Clock::now();
  ClipState cs = pipe.initial_state(in, false);
  auto pose = pipe.pose_latents("", pre.clips, p.infer_frames, in.height, in.width);
  std::printf("| VAE reference + motion latents | %.3f |\n", since(t));
  t = Clock::now();
  pipe.load_dit();
  std::printf("| DiT load | %.3f |\n", since(t));

  double step_total = 0, decode_total = 0;
  int step_count = 0;
  for (int r = 0; r < pre.clips; ++r) {
    ClipRequest req;
    req.index = r;
    req.seed = p.base_seed + r;
    req.infer_frames = p.infer_frames;
    req.steps = p.sample_steps;
    req.shift = p.sample_shift;
    req.guide_scale = p.sample_guide_scale;
    req.drop_motion = r == 0;
    req.context = ctx;
    req.context_null = ctx_null;
    req.audio = audio.embed;
    req.pose = pose[0];
    auto last = Clock::now();
    auto latents = pipe.denoise(req, cs, [&](int) {
      step_total += since(last);
      ++step_count;
      last = Clock::now();
    });
    t = Clock::now();
    auto video = pipe.decode_clip(latents, req, cs);
    decode_total += since(t);
    (void)video;
  }
  std::printf("| denoising step (2 DiT forwards with CFG), mean of %d | %.3f |\n", step_count,
              step_count ? step_total / step_count : 0.0);
  std::printf("| VAE decode + motion re-encode per clip, mean of %d | %.3f |\n", pre.clips,
              decode_total / std::max(1, pre.clips));
  std::printf("| whole clip (steps + decode), mean | %.3f |\n",
              (step_total + decode_total) / std::max(1, pre.clips));
  return 0;
}
