#pragma once
// The parameters of one generation job (job kind "generate"), shared by the CLI (`s2v generate`),
// the Generate workspace and the job journal (job.json "params"). Names follow the official
// generate.py flags where the meaning is the same; defaults are the official S2V-14B defaults
// (wan/configs/wan_s2v_14B.py). No LibTorch, no Qt: the UI includes this header.

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace s2v::generate {

inline constexpr const char* kGenerateKind = "generate";

// The official default negative prompt of the S2V-14B config (used when negative_prompt is empty).
const std::string& official_negative_prompt();

// Files that replace one component of the model folder (s2v generate --dit/--text_encoder/--vae/
// --audio_encoder/--tokenizer); empty = the folder's own. Each alone swaps one part.
struct ComponentOverrides {
  std::string dit;            // DiT: safetensors (bf16/fp16/fp8 scaled, prefixed or not), GGUF, .pth
  std::string text_encoder;   // umT5: official names (.pth/.safetensors) or Hugging Face T5 names
  std::string vae;            // Wan 2.1 VAE: .pth or safetensors, official names
  std::string audio_encoder;  // wav2vec2: Hugging Face names, one file or a folder with config.json
  std::string tokenizer;      // google/umt5-xxl folder or a spiece.model file
  bool empty() const {
    return dit.empty() && text_encoder.empty() && vae.empty() && audio_encoder.empty() && tokenizer.empty();
  }
  bool operator==(const ComponentOverrides&) const = default;
};

struct GenerateParams {
  std::string ckpt_dir;          // --ckpt_dir: official Wan2.2-S2V-14B folder, a ComfyUI models/
                                 // folder, or the demo model (docs/model-folder.md)
  ComponentOverrides components; // --dit --text_encoder --vae --audio_encoder --tokenizer
  std::string image;             // --image: reference portrait
  std::string audio;             // --audio: driving speech / song
  double audio_start_s = 0.0;    // trim: the audio used starts here ...
  double audio_end_s = -1.0;     // ... and ends here (-1: the end of the file)
  std::string prompt;            // --prompt
  std::string negative_prompt;   // empty: official_negative_prompt()
  std::string pose_video;        // --pose_video: optional DWPose skeleton video
  int num_clip = 0;              // --num_clip: 0 = as many clips as the audio needs
  int infer_frames = 80;         // --infer_frames: frames per clip, a multiple of 4
  int sample_steps = 40;         // --sample_steps
  double sample_shift = 3.0;     // --sample_shift
  double sample_guide_scale = 4.5;  // --sample_guide_scale (CFG off when <= 1)
  std::string sample_solver = "unipc";  // --sample_solver: unipc | dpm++
  int64_t base_seed = -1;        // --base_seed: -1 = random (the job records the seed it drew)
  std::string size = "1024*704"; // --size: the pixel area W*H the output may use (aspect from portrait)
  bool offload_model = true;     // --offload_model: encoders/VAE off the GPU while the DiT runs
  bool offload_blocks = false;   // --offload_blocks: DiT blocks streamed from CPU (small GPUs)
  double vram_gb = 0.0;          // --vram: plan offloading for a GPU of this many GB (0: as given)
  bool init_first_frame = false; // --start_from_ref: the portrait is the first frame
  std::string device = "auto";   // --device: auto | cpu | cuda | cuda:N
  std::string dtype = "auto";    // --dtype: auto (bf16 on CUDA, float32 on CPU) | float32 | bfloat16 | float16
  std::string out;               // --out: final MP4 (empty: <job folder>/output.mp4)

  // Pixel area of `size` ("1024*704" -> 720896). Throws s2v::Error(InvalidArgument).
  int64_t max_area() const;

  nlohmann::json to_json() const;
  // Missing keys keep their defaults. Throws s2v::Error(InvalidArgument) naming the bad field
  // (infer_frames not a positive multiple of 4, steps < 1, unknown solver, malformed size, ...).
  static GenerateParams from_json(const nlohmann::json& j);
  // The same checks on this object.
  void validate() const;
};

// as WanS2V.get_size_less_than_area: the largest (height, width) for the picture's aspect ratio
// whose size, padded up to multiples of 64, fits target_area.
struct FrameSize {
  int height = 0, width = 0;
};
FrameSize size_less_than_area(int height, int width, int64_t target_area, int divisor = 64);

// Frames the pipeline produces for `clips` clips: the first clip loses 3 frames when its motion is
// dropped (drop_first_motion and not init_first_frame), as speech2video.py trims it.
int64_t output_frames(int clips, int infer_frames, bool init_first_frame);

// Seconds of audio wav2vec2 encodes for `clips` clips of infer_frames: their span at 16 fps plus one
// second of right context, never more than audio_s. The official code encodes the whole file; for
// a long file and --num_clip 1 that only costs memory (2 h of audio: gigabytes of attention).
double audio_seconds_for_clips(int clips, int infer_frames, double audio_s);

// Clips an audio of `seconds` needs (wav2vec2 at 16 kHz -> 50 Hz -> 30 Hz -> 16 fps buckets of
// infer_frames), as speech2video.py's num_repeat; at least 1.
int clips_for_audio_seconds(double seconds, int infer_frames);

inline constexpr double kOutputFps = 16.0;  // sample_fps of the official config
// The DiT's RoPE table has 1024 positions per axis; a clip of n frames has (n + 76) / 4 - 19
// latent frames (after the 73 motion frames), which stays within it up to n = 4096.
inline constexpr int kMaxInferFrames = 4096;
inline constexpr int kMotionFrames = 73;    // transformer.motion_frames

}  // namespace s2v::generate
