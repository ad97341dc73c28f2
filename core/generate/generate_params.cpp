#include "core/generate/generate_params.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/generate/generate_job.h"
#include "models/base/error.h"
#include "models/base/utf8.h"

namespace s2v::generate {

const std::string& official_negative_prompt() {
  // sample_neg_prompt of wan/configs/wan_s2v_14B.py: the text the model was tuned with.
  static const std::string text =
      "画面模糊，最差质量，画面模糊，细节模糊不清，情绪激动剧烈，手快速抖动，字幕，丑陋的，残缺的，"
      "多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，"
      "静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走";
  return text;
}

namespace {

Error invalid(const std::string& msg) { return Error(msg, ErrorKind::InvalidArgument, "generate"); }

std::pair<int64_t, int64_t> parse_size(const std::string& size) {
  const auto star = size.find_first_of("*x");
  if (star == std::string::npos || star == 0 || star + 1 >= size.size())
    throw invalid("size '" + size + "' is not of the form WIDTH*HEIGHT (e.g. 1024*704)");
  try {
    size_t a = 0, b = 0;
    const long long w = std::stoll(size.substr(0, star), &a);
    const long long h = std::stoll(size.substr(star + 1), &b);
    if (a != star || b != size.size() - star - 1 || w < 64 || h < 64 || w > 8192 || h > 8192)
      throw std::invalid_argument("range");
    return {w, h};
  } catch (const std::exception&) {
    throw invalid("size '" + size + "' is not of the form WIDTH*HEIGHT with sides 64..8192");
  }
}

}  // namespace

int64_t GenerateParams::max_area() const {
  const auto [w, h] = parse_size(size);
  return w * h;
}

void GenerateParams::validate() const {
  if (infer_frames < 4 || infer_frames % 4 != 0)
    throw invalid("infer_frames must be a positive multiple of 4 (got " +
                  std::to_string(infer_frames) + ")");
  if (infer_frames > kMaxInferFrames)
    throw invalid("infer_frames must be at most " + std::to_string(kMaxInferFrames) +
                  ": the DiT's rotary position table has 1024 latent-frame positions (got " +
                  std::to_string(infer_frames) + ")");
  // NaN passes every "<" test and infinity every ">" test: check finiteness first
  const std::pair<const char*, double> numbers[] = {{"audio_start", audio_start_s},
                                                    {"audio_end", audio_end_s},
                                                    {"sample_shift", sample_shift},
                                                    {"sample_guide_scale", sample_guide_scale}};
  for (const auto& [name, v] : numbers)
    if (!std::isfinite(v)) throw invalid(std::string(name) + " must be a finite number (got " + std::to_string(v) + ")");
  // job records are JSON text, which holds UTF-8 only
  if (!is_valid_utf8(prompt) || !is_valid_utf8(negative_prompt))
    throw invalid("the prompt or negative prompt is not valid UTF-8 text");
  const std::pair<const char*, const std::string*> paths[] = {
      {"ckpt_dir", &ckpt_dir}, {"image", &image}, {"audio", &audio}, {"pose_video", &pose_video}, {"out", &out}};
  for (const auto& [name, path] : paths)
    if (!is_valid_utf8(*path))
      throw invalid(std::string("the --") + name + " path '" + *path +
                    "' is not valid UTF-8; rename it (job records are JSON text, which cannot hold it)");
  if (sample_steps < 1 || sample_steps > 1000)
    throw invalid("sample_steps must be between 1 and 1000 (got " + std::to_string(sample_steps) + ")");
  if (!(sample_shift > 0.0)) throw invalid("sample_shift must be positive");
  if (!(sample_guide_scale >= 0.0)) throw invalid("sample_guide_scale must not be negative");
  if (sample_solver != "unipc" && sample_solver != "dpm++")
    throw invalid("sample_solver '" + sample_solver + "' is not one of unipc, dpm++");
  if (num_clip < 0) throw invalid("num_clip must be 0 (as the audio needs) or positive");
  if (base_seed < -1) throw invalid("base_seed must be -1 (random) or a non-negative number");
  if (audio_start_s < 0.0) throw invalid("the audio trim start must not be negative");
  if (audio_end_s >= 0.0 && audio_end_s <= audio_start_s)
    throw invalid("the audio trim end must be after its start");
  static const char* dtypes[] = {"auto", "float32", "bfloat16", "float16"};
  if (std::find(std::begin(dtypes), std::end(dtypes), dtype) == std::end(dtypes))
    throw invalid("dtype '" + dtype + "' is not one of auto, float32, bfloat16, float16");
  if (device != "auto" && device != "cpu" && device.rfind("cuda", 0) != 0)
    throw invalid("device '" + device + "' is not one of auto, cpu, cuda, cuda:N");
  if (!(vram_gb >= 0.0) || vram_gb > 100000.0)
    throw invalid("vram must be a number of gigabytes (0: no plan)");
  (void)max_area();
}

nlohmann::json GenerateParams::to_json() const {
  return {{"ckpt_dir", ckpt_dir},
          {"dit", components.dit},
          {"text_encoder", components.text_encoder},
          {"vae", components.vae},
          {"audio_encoder", components.audio_encoder},
          {"tokenizer", components.tokenizer},
          {"vram_gb", vram_gb},
          {"image", image},
          {"audio", audio},
          {"audio_start_s", audio_start_s},
          {"audio_end_s", audio_end_s},
          {"prompt", prompt},
          {"negative_prompt", negative_prompt},
          {"pose_video", pose_video},
          {"num_clip", num_clip},
          {"infer_frames", infer_frames},
          {"sample_steps", sample_steps},
          {"sample_shift", sample_shift},
          {"sample_guide_scale", sample_guide_scale},
          {"sample_solver", sample_solver},
          {"base_seed", base_seed},
          {"size", size},
          {"offload_model", offload_model},
          {"offload_blocks", offload_blocks},
          {"init_first_frame", init_first_frame},
          {"device", device},
          {"dtype", dtype},
          {"out", out}};
}

GenerateParams GenerateParams::from_json(const nlohmann::json& j) {
  GenerateParams p;
  if (!j.is_object()) throw invalid("generation parameters must be a JSON object");
  auto get = [&](const char* key, auto& field) {
    if (!j.contains(key) || j[key].is_null()) return;
    try {
      j[key].get_to(field);
    } catch (const nlohmann::json::exception&) {
      throw invalid(std::string("generation parameter '") + key + "' has the wrong type");
    }
  };
  get("ckpt_dir", p.ckpt_dir);
  get("dit", p.components.dit);
  get("text_encoder", p.components.text_encoder);
  get("vae", p.components.vae);
  get("audio_encoder", p.components.audio_encoder);
  get("tokenizer", p.components.tokenizer);
  get("vram_gb", p.vram_gb);
  get("image", p.image);
  get("audio", p.audio);
  get("audio_start_s", p.audio_start_s);
  get("audio_end_s", p.audio_end_s);
  get("prompt", p.prompt);
  get("negative_prompt", p.negative_prompt);
  get("pose_video", p.pose_video);
  get("num_clip", p.num_clip);
  get("infer_frames", p.infer_frames);
  get("sample_steps", p.sample_steps);
  get("sample_shift", p.sample_shift);
  get("sample_guide_scale", p.sample_guide_scale);
  get("sample_solver", p.sample_solver);
  get("base_seed", p.base_seed);
  get("size", p.size);
  get("offload_model", p.offload_model);
  get("offload_blocks", p.offload_blocks);
  get("init_first_frame", p.init_first_frame);
  get("device", p.device);
  get("dtype", p.dtype);
  get("out", p.out);
  p.validate();
  return p;
}

FrameSize size_less_than_area(int height, int width, int64_t target_area, int divisor) {
  // as WanS2V.get_size_less_than_area: scan scales from the no-padding scale down toward the
  // scale that leaves room for maximal padding; take the first whose padded size fits.
  const double h = height, w = width;
  double min_scale = 0.1, max_scale = 1.0;
  if (h * w > static_cast<double>(target_area)) {
    const double d = divisor - 1;
    const double b = d * (h + w), a = h * w, c = d * d - static_cast<double>(target_area);
    min_scale = (-b + std::sqrt(b * b - 2 * a * c)) / (2 * a);
    max_scale = std::sqrt(static_cast<double>(target_area) / (h * w));
  }
  for (int i = 0; i < 100; ++i) {
    const double scale = max_scale - (max_scale - min_scale) * i / 100;
    const int64_t nh = static_cast<int64_t>(h * scale), nw = static_cast<int64_t>(w * scale);
    // the reference pads to multiples of 64 here whatever the divisor
    const int64_t ph = nh + (64 - nh % 64) % 64, pw = nw + (64 - nw % 64) % 64;
    if (ph * pw <= target_area) return {static_cast<int>(ph), static_cast<int>(pw)};
  }
  const double aspect = w / h;
  int64_t tw = static_cast<int64_t>(std::floor(std::sqrt(target_area * aspect) / divisor) * divisor);
  int64_t th = static_cast<int64_t>(std::floor(std::sqrt(target_area / aspect) / divisor) * divisor);
  if (tw >= width || th >= height) {
    tw = width / divisor * divisor;
    th = height / divisor * divisor;
  }
  return {static_cast<int>(th), static_cast<int>(tw)};
}

int64_t output_frames(int clips, int infer_frames, bool init_first_frame) {
  if (clips <= 0) return 0;
  const int64_t first = init_first_frame ? infer_frames : infer_frames - 3;
  return first + static_cast<int64_t>(clips - 1) * infer_frames;
}

double audio_seconds_for_clips(int clips, int infer_frames, double audio_s) {
  if (clips <= 0) return audio_s;
  return std::min(audio_s, clips * static_cast<double>(infer_frames) / kOutputFps + 1.0);
}

int clips_for_audio_seconds(double seconds, int infer_frames) {
  // wav2vec2's conv stack (kernels 10,3,3,3,3,2,2; strides 5,2,2,2,2,2,2) turns n samples at
  // 16 kHz into frames at 50 Hz; linear_interpolation to 30 Hz; buckets of infer_frames at 16 fps
  // (see models/wav2vec2/audio_bucket.h for the tensor version).
  int64_t n = static_cast<int64_t>(std::llround(std::max(0.0, seconds) * 16000.0));
  const int kernel[] = {10, 3, 3, 3, 3, 2, 2}, stride[] = {5, 2, 2, 2, 2, 2, 2};
  for (int i = 0; i < 7; ++i) n = n < kernel[i] ? 0 : (n - kernel[i]) / stride[i] + 1;
  const int64_t f30 = static_cast<int64_t>(static_cast<double>(n) / 50.0 * 30.0);
  // min_batch_num of get_audio_embed_bucket_fps: int(frames / (infer_frames * 30/16)) + 1
  const double scale = 30.0 / 16.0;
  return static_cast<int>(static_cast<double>(f30) / (infer_frames * scale)) + 1;
}

jobs::JobSpec make_generate_spec(const GenerateParams& params) {
  params.validate();
  jobs::JobSpec spec;
  spec.kind = kGenerateKind;
  std::string title = params.prompt.empty() ? std::filesystem::path(params.audio).filename().string() : params.prompt;
  if (title.size() > 60) title = title.substr(0, 57) + "...";
  spec.title = "Generate: " + title;
  spec.params = params.to_json();
  spec.output = params.out;
  return spec;
}

}  // namespace s2v::generate
