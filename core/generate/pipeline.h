#pragma once
// Internal to s2v_generate: the stages of WanS2V.generate (wan/speech2video.py) on loaded models.
// generate_job.cpp strings them together with progress and resume; tests and bench/generate call
// them directly. Cancellation is the pipeline's own: the job's CancelToken, given at construction,
// is checked while each model loads (per tensor), in the encoders (per layer / block), in every
// VAE chunk and tile, between the two CFG branches and after every denoising step; a stage stops
// with s2v::Cancelled.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/generate/generate_params.h"
#include "core/generate/model_files.h"
#include "core/media/audio.h"
#include "core/media/video_reader.h"
#include "models/base/cancel.h"
#include "models/t5/tokenizer.h"

namespace s2v::generate {

// Where and in which precision the models run. Throws s2v::Error(Unsupported / InvalidArgument)
// for a request this build or machine cannot honour (CUDA without CUDA, float16 on CPU, ...).
struct Placement {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;  // DiT and umT5 weights (VAE and wav2vec2: float32)
  bool offload_model = false;  // encoders and VAE leave the device while the DiT runs
  bool offload_blocks = false;  // DiT blocks streamed from host memory
  // Initial noise drawn on the device in `dtype` from its generator seeded with the clip's seed, as
  // the official GPU path does (resolve_placement: on CUDA); otherwise from a CPU generator in
  // float32, the same numbers on any device (and the CPU parity of the pipeline tests).
  bool device_noise = false;
};
Placement resolve_placement(const GenerateParams& params);

// The checked inputs: portrait, audio at 16 kHz (trimmed), the output size.
struct PipelineInputs {
  media::RgbFrame portrait;
  media::AudioBuffer audio;
  int height = 0, width = 0;
};
// Throws s2v::Error naming the file: a portrait that is not a picture, an audio file without
// sound, too short (< 0.1 s) or silent.
PipelineInputs load_inputs(const GenerateParams& params);

struct EncodedAudioClips {
  torch::Tensor embed;     // [1, layers, C, N] on the device
  int64_t num_repeat = 0;  // clips the audio fills
};

// What the next clip continues from.
struct ClipState {
  torch::Tensor motion_latents;  // [1, 16, 19, h, w] float32
  torch::Tensor last_frames;     // [1, 3, 73, H, W] float32: the motion video (videos_last_frames)
};

// What one denoising step saw and produced, for tests and debugging: the latent fed to the DiT
// [1, 16, T, h, w] (at step 0 the clip's noise), the timestep, and the conditional and
// unconditional predictions [16, T, h, w] (uncond undefined without CFG).
struct StepTrace {
  int step = 0;
  int64_t timestep = 0;
  torch::Tensor latent, cond, uncond;
};

struct ClipRequest {
  int index = 0;
  int64_t seed = 0;
  int infer_frames = 80;
  int steps = 40;
  double shift = 3.0, guide_scale = 4.5;
  std::string solver = "unipc";
  bool drop_motion = false;  // drop_first_motion and r == 0
  bool use_pose = false;
  torch::Tensor context, context_null, audio, pose;
  std::function<void(const StepTrace&)> on_model_output;  // optional, called before each step's update
};

class S2VPipeline {
 public:
  // cancel must outlive the pipeline.
  S2VPipeline(ModelFiles files, Placement where, const CancelToken& cancel = CancelToken::none());
  ~S2VPipeline();

  const ModelConfigs& configs() const { return configs_; }
  const Placement& placement() const { return where_; }

  // wav2vec2 (loaded, run, freed) -> bucketed features and the clip count. With max_clips > 0
  // only the audio those clips need is encoded (audio_seconds_for_clips), so num_repeat is then
  // counted over that span. hidden_50hz, when given, receives the hidden states of every layer
  // [layers + 1, F50, C] (tests).
  EncodedAudioClips encode_audio(const media::AudioBuffer& audio, int infer_frames, int max_clips = 0,
                                 torch::Tensor* hidden_50hz = nullptr);
  // umT5 (loaded, run, freed) -> [L, dim] contexts for the prompt and the negative prompt.
  std::pair<torch::Tensor, torch::Tensor> encode_prompts(const std::string& prompt, const std::string& negative);
  // VAE: the reference latent and the motion latents of an all-zero (or portrait-ended) motion video.
  ClipState initial_state(const PipelineInputs& in, bool init_first_frame);
  const torch::Tensor& ref_latents() const { return ref_latents_; }
  // Replaces the reference latent [1, 16, 1, h, w] (tests feed a reference implementation's).
  void set_ref_latents(const torch::Tensor& latents) { ref_latents_ = latents; }
  // The initial noise of a clip, [1, 16, T, h, w] float32 on the device: torch.randn from a CPU
  // generator seeded with req.seed, as speech2video.py draws it (same values on any device).
  torch::Tensor clip_noise(const ClipRequest& req) const;
  // as load_pose_cond: per-clip pose latents [16, F/4, h, w]; without a pose video one zero latent.
  std::vector<torch::Tensor> pose_latents(const std::string& pose_video, int clips, int infer_frames, int height,
                                          int width);
  void load_dit();
  // The denoising loop of one clip -> latents [1, 16, T, h, w]. on_step(i) after each step (progress).
  torch::Tensor denoise(const ClipRequest& req, const ClipState& state,
                        const std::function<void(int)>& on_step = {});
  // VAE decode of [motion | new] latents -> the clip's frames [3, F', H, W] in [-1, 1]; updates
  // state with the new motion latents.
  torch::Tensor decode_clip(const torch::Tensor& latents, const ClipRequest& req, ClipState& state);

  // with_frames: also the motion video, which carries frames of earlier clips only when a clip is
  // shorter than the 73 motion frames (otherwise the next clip does not read it).
  void save_state(const ClipState& state, const std::filesystem::path& file, bool with_frames) const;
  ClipState load_state(const std::filesystem::path& file) const;
  void release();  // frees every model

 private:
  t5::Tokenizer make_tokenizer() const;
  struct Models;
  ModelFiles files_;
  ModelConfigs configs_;
  Placement where_;
  const CancelToken* cancel_;
  std::unique_ptr<Models> m_;
  torch::Tensor ref_latents_, ref_pixels_;
};

}  // namespace s2v::generate
