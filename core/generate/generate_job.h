#pragma once
// The "generate" job: GenerateParams (job.json params) -> <job folder>/clips/clip_NNNN.mp4 as each
// clip finishes (announced through Progress::preview), then the final MP4 with the trimmed audio.
// Resumable: state.json records the finished clips and the motion state saved beside them, so a
// resumed job continues at the next clip and yields the frames an uninterrupted run would.
// No LibTorch in this header.

#include <filesystem>
#include <optional>
#include <string>

#include "core/generate/generate_params.h"
#include "core/generate/model_folder.h"
#include "core/jobs/job.h"

namespace s2v::generate {

// Every check that can fail before a model is loaded: device and dtype, the model folder (all
// problems at once), the portrait (a picture), the audio (present, long enough, not silent), the
// output size; and what the render will be. Throws s2v::Error with a sentence naming the input.
struct Preflight {
  ModelFolder model;
  std::string device, dtype;    // resolved: "cpu" / "cuda:0", "float32" / "bfloat16" / "float16"
  int height = 0, width = 0;    // output frame size
  double audio_s = 0.0;         // after trimming
  int clips = 0;                // clips that will be rendered
  int64_t frames = 0;           // output frames (16 fps)
  MemoryEstimate estimate;
  std::optional<MemoryPlan> plan;  // with params.vram_gb: the settings chosen for that GPU
};
Preflight preflight(const GenerateParams& params);

// The motion state of a job's last finished clip (<job>/state/motion_NNNN.safetensors, the
// highest NNNN); empty when none was saved.
std::filesystem::path last_motion_state(const std::filesystem::path& job_folder);

// The runner registered under kGenerateKind (CLI and UI both register it).
std::string run_generate_job(jobs::JobContext& ctx);

// A job spec for params (title from the prompt or the audio file name).
jobs::JobSpec make_generate_spec(const GenerateParams& params);

}  // namespace s2v::generate
