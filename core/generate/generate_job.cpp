// The speech-to-video pipeline of wan/speech2video.py (WanS2V.generate) as a resumable queue job.
//
// Order of work, every check before any model is loaded:
//   params -> device/dtype -> model folder (every problem at once) -> portrait -> audio (length,
//   silence) -> output size -> memory estimate;
//   wav2vec2 -> audio buckets + clip count (freed), umT5 -> prompt / negative prompt (freed),
//   VAE -> reference latent, initial motion latent, pose latents; DiT -> per clip: noise (seed + r),
//   UniPC / DPM++ with CFG (negative prompt + zeroed audio), VAE decode of motion + new latents,
//   the clip written at once, motion latents re-encoded from the last 73 frames, state saved;
//   finally the clips joined with the (trimmed) audio.
#include "core/generate/generate_job.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/generate/model_files.h"
#include "core/generate/model_folder.h"
#include "core/generate/pipeline.h"
#include "core/media/audio.h"
#include "core/media/mux.h"
#include "core/media/probe.h"
#include "core/media/tensor.h"
#include "core/media/video_reader.h"
#include "core/sampling/guidance.h"
#include "core/sampling/scheduler.h"
#include "models/base/atomic_file.h"
#include "models/base/error.h"
#include "models/weights/inspect.h"
#include "models/weights/safetensors.h"
#include "models/weights/threads.h"

namespace fs = std::filesystem;

namespace s2v::generate {

namespace {

// The final video's name and place, checked before anything renders (a render can take hours):
// a container FFmpeg writes video to, never a folder, device or input, in a place that takes files.
void check_output(const GenerateParams& p) {
  if (p.out.empty()) return;  // the job folder's output.mp4
  const fs::path out = p.out;
  std::string ext = out.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext != ".mp4" && ext != ".mov" && ext != ".mkv")
    throw Error("--out '" + p.out + "' must end in .mp4, .mov or .mkv (the video container)", ErrorKind::InvalidArgument,
                p.out);
  check_output_target(out, {p.image, p.audio, p.pose_video});
  // the job creates missing folders: the nearest existing one must be a folder that takes files
  fs::path dir = out.parent_path();
  std::error_code ec;
  while (!dir.empty() && !fs::exists(dir, ec) && dir != dir.parent_path()) dir = dir.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec))
    throw Error("--out '" + p.out + "' cannot be written: '" + dir.string() + "' is a file, not a folder",
                ErrorKind::InvalidArgument, p.out);
  if (::access(dir.c_str(), W_OK) != 0)
    throw Error("--out '" + p.out + "' cannot be written: the folder '" + dir.string() + "' is not writable (" +
                    std::strerror(errno) + ")",
                ErrorKind::PermissionDenied, p.out);
}

// The pose video must give frames: not a sound file, not a damaged picture.
void check_pose_video(const std::string& pose_video) {
  if (pose_video.empty()) return;
  const auto info = media::probe(pose_video);
  if (!info.has_video)
    throw Error("the pose video '" + pose_video + "' has no video stream (it holds " + media::to_string(info.kind) + ")",
                ErrorKind::InvalidArgument, pose_video);
  media::VideoReader reader(pose_video);
  media::RgbFrame frame;
  if (!reader.read(frame))
    throw Error("the pose video '" + pose_video + "' has no frame that decodes", ErrorKind::Corrupt, pose_video);
}

}  // namespace

Preflight preflight(const GenerateParams& params) {
  params.validate();
  check_output(params);
  Preflight pre;
  const Placement where = resolve_placement(params);
  pre.device = where.device.str();
  pre.dtype = where.dtype == torch::kFloat32 ? "float32" : where.dtype == torch::kBFloat16 ? "bfloat16" : "float16";
  pre.model = inspect_model_folder(params.ckpt_dir, /*deep=*/true, params.components);
  if (!pre.model.ok()) {
    std::string msg = "the model folder '" + params.ckpt_dir + "' cannot be used: ";
    for (size_t i = 0; i < pre.model.problems.size(); ++i) msg += (i ? "; " : "") + pre.model.problems[i];
    throw Error(msg, ErrorKind::NotFound, params.ckpt_dir);
  }
  const PipelineInputs in = load_inputs(params);
  check_pose_video(params.pose_video);
  pre.height = in.height;
  pre.width = in.width;
  pre.audio_s = in.audio.duration_s();
  pre.clips = clips_for_audio_seconds(pre.audio_s, params.infer_frames);
  if (params.num_clip > 0) pre.clips = std::min(pre.clips, params.num_clip);
  pre.frames = output_frames(pre.clips, params.infer_frames, params.init_first_frame);
  pre.estimate = estimate_memory(pre.model, params, in.height, in.width, pre.clips, pre.dtype, pre.audio_s);
  if (params.vram_gb > 0.0) {
    // planned for the GPU: bf16 unless a dtype is asked for, fused attention
    GenerateParams gpu = params;
    gpu.device = "cuda";
    const std::string dtype = params.dtype == "auto" ? "bfloat16" : params.dtype;
    pre.plan = plan_memory(estimate_memory(pre.model, gpu, in.height, in.width, pre.clips, dtype, pre.audio_s),
                           params.vram_gb);
  }
  return pre;
}

namespace {

std::string clip_name(int r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "clip_%04d.mp4", r);
  return buf;
}

// The motion state after `done` clips. The name carries the count so that it commits together
// with state.json: a kill after the file is written but before state.json says so leaves the
// state the journal names (motion_<done>) in place, and the next clip's file is simply unused.
std::string motion_name(int done);

}  // namespace

fs::path last_motion_state(const fs::path& job_folder) {
  fs::path best;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(job_folder / "state", ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind("motion_", 0) == 0 && e.path().extension() == ".safetensors" && name > best.filename().string())
      best = e.path();
  }
  return best;
}

namespace {

std::string motion_name(int done) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "motion_%04d.safetensors", done);
  return buf;
}

// Raises a clear, typed error for an out-of-memory failure inside LibTorch.
[[noreturn]] void rethrow_oom(const c10::Error& e, const MemoryEstimate& est, const Placement& where) {
  const std::string what = e.what_without_backtrace();
  if (what.find("out of memory") != std::string::npos || what.find("CUDA out of memory") != std::string::npos ||
      what.find("DefaultCPUAllocator: can't allocate") != std::string::npos) {
    throw Error("out of memory on " + where.device.str() + " (the estimate was " +
                    weights::human_bytes(where.offload_blocks  ? est.peak_offload_blocks
                                         : where.offload_model ? est.peak_offload_model
                                                               : est.peak_device) +
                    "); try --offload_model, --offload_blocks, a smaller --size or --dtype bfloat16",
                ErrorKind::OutOfMemory, where.device.str());
  }
  throw Error(what, ErrorKind::Generic, "generate");
}

}  // namespace

std::string run_generate_job(jobs::JobContext& ctx) {
  torch::NoGradGuard no_grad;
  apply_torch_threads_setting();  // S2V_THREADS on this worker thread (weights/threads.h)
  GenerateParams p = GenerateParams::from_json(ctx.params());
  nlohmann::json state = ctx.state();
  if (!state.is_object()) state = nlohmann::json::object();

  // Crash tests (tests/core/generate/test_resume.cpp): S2V_HOLD_AT_STAGE=<stage> keeps the job
  // at that stage for up to a minute (still cancellable) right after reporting it, so that a test
  // can kill -9 the process at a known moment.
  const char* hold_env = std::getenv("S2V_HOLD_AT_STAGE");
  const std::string hold = hold_env ? hold_env : "";
  auto report = [&](const std::string& stage, const std::string& message, double done, double total) {
    jobs::Progress pr;
    pr.stage = stage;
    pr.message = message;
    ctx.report(pr, done, total);
    for (int i = 0; !hold.empty() && stage == hold && i < 600; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ctx.check_cancelled();
    }
  };

  // ---- checks before any heavy work ----
  report("checking", "checking the model folder and the inputs", 0, 1);
  const Preflight pre = preflight(p);
  if (pre.plan) {
    if (!pre.plan->fits) throw Error("--vram " + std::to_string(p.vram_gb) + ": " + pre.plan->reason, ErrorKind::OutOfMemory);
    p.offload_model = pre.plan->offload_model;
    p.offload_blocks = pre.plan->offload_blocks;
  }
  const Placement where = resolve_placement(p);
  const PipelineInputs in = load_inputs(p);
  report("checking", pre.model.label + "\n" + pre.estimate.summary(), 0, 1);
  const MemoryEstimate& est = pre.estimate;
  ctx.check_cancelled();

  // the seed is drawn once and journaled, so a resume reuses it
  if (!state.contains("seed")) {
    int64_t seed = p.base_seed;
    if (seed < 0) seed = static_cast<int64_t>(std::random_device{}() & 0x7fffffff);
    state["seed"] = seed;
    ctx.save_state(state);
  }
  const int64_t seed = state["seed"].get<int64_t>();

  // the job's token reaches every stage: model loads, encoders, VAE chunks, denoising steps
  S2VPipeline pipe(locate_model_files(p.ckpt_dir, p.components), where, ctx.cancel());

  try {
    // ---- encoders ----
    report("encoding audio", "wav2vec2 features", 0, 1);
    EncodedAudioClips audio = pipe.encode_audio(in.audio, p.infer_frames, p.num_clip);
    int clips = static_cast<int>(audio.num_repeat);
    if (p.num_clip > 0 && p.num_clip < clips) clips = p.num_clip;
    ctx.check_cancelled();

    report("encoding prompt", "umT5 prompt embeddings", 0, 1);
    const auto [context, context_null] =
        pipe.encode_prompts(p.prompt, p.negative_prompt.empty() ? official_negative_prompt() : p.negative_prompt);
    ctx.check_cancelled();

    // ---- reference, motion and pose latents ----
    report("encoding reference", "VAE: reference and motion latents", 0, 1);
    ClipState cs = pipe.initial_state(in, p.init_first_frame);
    const std::vector<torch::Tensor> pose = pipe.pose_latents(p.pose_video, clips, p.infer_frames, in.height, in.width);
    ctx.check_cancelled();

    // ---- resume ----
    const fs::path clip_dir = ctx.folder() / "clips";
    const fs::path state_dir = ctx.folder() / "state";
    fs::create_directories(clip_dir);
    fs::create_directories(state_dir);
    int done = state.value("clips_done", 0);
    if (done > 0) {
      bool ok = fs::exists(state_dir / motion_name(done));
      for (int r = 0; r < done && ok; ++r) ok = fs::exists(clip_dir / clip_name(r));
      if (ok) {
        cs = pipe.load_state(state_dir / motion_name(done));
      } else {
        done = 0;  // the saved state is incomplete: start over
      }
    }
    done = std::min(done, clips);

    // ---- the clip loop ----
    pipe.load_dit();
    const int steps = p.sample_steps;
    const double units_per_clip = steps + 1.0;  // denoising steps + decode
    const double total_units = clips * units_per_clip;
    for (int r = done; r < clips; ++r) {
      ClipRequest req;
      req.index = r;
      req.seed = seed + r;
      req.infer_frames = p.infer_frames;
      req.steps = steps;
      req.shift = p.sample_shift;
      req.guide_scale = p.sample_guide_scale;
      req.solver = p.sample_solver;
      req.drop_motion = !p.init_first_frame && r == 0;  // drop_first_motion and r == 0
      req.context = context;
      req.context_null = context_null;
      req.audio = audio.embed;
      req.pose = pose.empty() ? torch::Tensor() : pose[static_cast<size_t>(std::min<int>(r, int(pose.size()) - 1))];
      req.use_pose = !p.pose_video.empty();

      auto on_step = [&](int i) {
        jobs::Progress pr;
        pr.stage = "denoising";
        pr.step = i;
        pr.steps = steps;
        pr.clip = r + 1;
        pr.clips = clips;
        ctx.report(pr, r * units_per_clip + i, total_units);  // the pipeline checks the job's token itself
      };
      torch::Tensor latents = pipe.denoise(req, cs, on_step);

      {
        jobs::Progress pr;
        pr.stage = "decoding";
        pr.clip = r + 1;
        pr.clips = clips;
        ctx.report(pr, r * units_per_clip + steps, total_units);
      }
      torch::Tensor video = pipe.decode_clip(latents, req, cs);  // [3, frames, H, W], updates cs

      media::VideoWriterOptions vo;
      vo.fps = kOutputFps;
      vo.crf = 18;
      // one encoder thread: x264's threaded encode can differ run to run under load, and a resumed
      // job must give the same file bytes an uninterrupted one does (the DiT step dwarfs this)
      vo.threads = 1;
      media::write_video_tensor(video, clip_dir / clip_name(r), vo);
      pipe.save_state(cs, state_dir / motion_name(r + 1), p.infer_frames < kMotionFrames);
      state["clips_done"] = r + 1;
      state["clips"] = clips;
      ctx.save_state(state);  // the commit point: from here on motion_<r+1> is the state
      std::error_code ec;
      fs::remove(state_dir / motion_name(r), ec);

      jobs::Progress pr;
      pr.stage = "clip done";
      pr.clip = r + 1;
      pr.clips = clips;
      pr.preview = (clip_dir / clip_name(r)).string();
      pr.message = "clip " + std::to_string(r + 1) + " of " + std::to_string(clips) + " written";
      ctx.report(pr, (r + 1) * units_per_clip, total_units);
    }
    pipe.release();

    // ---- the final video with the audio the clips were driven by ----
    report("muxing", "joining the clips with the audio", total_units, total_units);
    std::vector<fs::path> segments;
    for (int r = 0; r < clips; ++r) segments.push_back(clip_dir / clip_name(r));
    media::ExportOptions eo;
    eo.audio = p.audio;
    eo.audio_start_s = p.audio_start_s;
    if (p.audio_end_s >= 0.0) {
      // a trim end: the exported audio stops there (48 kHz mono; silence pads the last clip)
      media::AudioReadOptions ro;
      ro.sample_rate = 48000;
      ro.start_s = p.audio_start_s;
      ro.end_s = p.audio_end_s;
      eo.audio = ctx.folder() / "audio_trimmed.wav";
      eo.audio_start_s = 0.0;
      media::write_wav(eo.audio, media::read_audio(p.audio, ro));
    }
    fs::path out = p.out.empty() ? ctx.folder() / "output.mp4" : fs::path(p.out);
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
    media::concat_segments(segments, out, eo);
    return out.string();
  } catch (const c10::Error& e) {
    rethrow_oom(e, est, where);
  }
}

}  // namespace s2v::generate
