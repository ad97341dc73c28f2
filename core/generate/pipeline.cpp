// The stages of WanS2V.generate (wan/speech2video.py) on LibTorch models; see pipeline.h.
#include "core/generate/pipeline.h"
#include "core/generate/model_folder.h"

#include <unistd.h>

#include <fstream>

#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#if __has_include(<cuda_runtime_api.h>) && __has_include(<ATen/cuda/CUDAContext.h>)
#include <ATen/cuda/CUDAContext.h>
#endif
#include <torch/torch.h>

#include "core/media/probe.h"
#include "core/media/resize.h"
#include "core/media/tensor.h"
#include "core/sampling/guidance.h"
#include "core/sampling/scheduler.h"
#include "models/base/error.h"
#include "models/t5/text_encoder.h"
#include "models/t5/tokenizer.h"
#include "models/t5/umt5.h"
#include "models/t5/umt5_names.h"
#include "models/wan/dit_s2v.h"
#include "models/wan/vae.h"
#include "models/wav2vec2/audio_bucket.h"
#include "models/wav2vec2/wav2vec2.h"
#include "models/weights/checkpoint.h"
#include "models/weights/safetensors.h"

namespace fs = std::filesystem;

namespace s2v::generate {

double detected_gpu_memory_gb() {
#if __has_include(<cuda_runtime_api.h>) && __has_include(<ATen/cuda/CUDAContext.h>)
  if (torch::cuda::is_available()) return static_cast<double>(at::cuda::getDeviceProperties(0)->totalGlobalMem) / 1e9;
#endif
  return 0.0;
}

Placement resolve_placement(const GenerateParams& p) {
  Placement w;
  const bool cuda = torch::cuda::is_available();
  if (p.device == "auto") {
    w.device = cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  } else if (p.device == "cpu") {
    w.device = torch::kCPU;
  } else {
    if (!cuda)
      throw Error("--device " + p.device +
                      " was requested, but this build of S2V Studio or this machine has no CUDA device "
                      "(LibTorch " TORCH_VERSION "); use --device cpu",
                  ErrorKind::Unsupported, p.device);
    try {
      w.device = torch::Device(p.device);
    } catch (const c10::Error&) {
      throw Error("--device '" + p.device + "' is not a device name (cpu, cuda, cuda:N)", ErrorKind::InvalidArgument,
                  p.device);
    }
    if (w.device.has_index() && w.device.index() >= static_cast<int>(torch::cuda::device_count()))
      throw Error("--device " + p.device + " does not exist: this machine has " +
                      std::to_string(torch::cuda::device_count()) + " CUDA device(s)",
                  ErrorKind::InvalidArgument, p.device);
  }
  const bool on_cpu = w.device.is_cpu();
  if (p.dtype == "auto") w.dtype = on_cpu ? torch::kFloat32 : torch::kBFloat16;
  else if (p.dtype == "float32") w.dtype = torch::kFloat32;
  else if (p.dtype == "bfloat16") w.dtype = torch::kBFloat16;
  else if (p.dtype == "float16") w.dtype = torch::kFloat16;
  if (on_cpu && w.dtype == torch::kFloat16)
    throw Error("--dtype float16 is not supported on the CPU (LibTorch has no float16 CPU kernels for the "
                "DiT's convolutions and matmuls); use --dtype float32 or bfloat16, or a CUDA device",
                ErrorKind::Unsupported, "float16");
  // offloading moves weights between the device and host memory: nothing to do on the CPU
  w.offload_model = p.offload_model && !on_cpu;
  w.offload_blocks = p.offload_blocks && !on_cpu;
  w.device_noise = w.device.is_cuda();
  return w;
}

PipelineInputs load_inputs(const GenerateParams& p) {
  PipelineInputs in;
  if (p.image.empty()) throw Error("no portrait was given (--image)", ErrorKind::InvalidArgument, "image");
  if (p.audio.empty()) throw Error("no audio was given (--audio)", ErrorKind::InvalidArgument, "audio");
  const auto img = media::probe(p.image);
  if (img.kind != media::MediaKind::Image)
    throw Error("the portrait '" + p.image + "' is not a picture (it holds " + media::to_string(img.kind) + ")",
                ErrorKind::InvalidArgument, p.image);
  in.portrait = media::read_image(p.image);

  const auto snd = media::probe(p.audio);
  if (!snd.has_audio)
    throw Error("the audio file '" + p.audio + "' has no audio track", ErrorKind::InvalidArgument, p.audio);
  media::AudioReadOptions ro;
  ro.sample_rate = 16000;
  ro.start_s = p.audio_start_s;
  ro.end_s = p.audio_end_s;
  in.audio = media::read_audio(p.audio, ro);
  if (in.audio.duration_s() < 0.1)
    throw Error("the audio '" + p.audio + "' is too short to drive a video (" +
                    std::to_string(in.audio.duration_s()) + " s after trimming; at least 0.1 s)",
                ErrorKind::InvalidArgument, p.audio);
  if (media::audio_stats(in.audio).peak < 1e-4)
    throw Error("the audio '" + p.audio + "' is silent: there is no speech or singing to follow",
                ErrorKind::InvalidArgument, p.audio);

  const FrameSize fs = size_less_than_area(in.portrait.height, in.portrait.width, p.max_area());
  if (fs.height < 64 || fs.width < 64)
    throw Error("--size " + p.size + " leaves no room for a frame of at least 64x64 at the portrait's aspect ratio",
                ErrorKind::InvalidArgument, p.size);
  in.height = fs.height;
  in.width = fs.width;
  return in;
}

struct S2VPipeline::Models {
  std::unique_ptr<wan::WanVae> vae;
  wan::WanModelS2V dit{nullptr};
};

S2VPipeline::S2VPipeline(ModelFiles files, Placement where, const CancelToken& cancel)
    : files_(std::move(files)),
      configs_(read_model_configs(files_)),
      where_(where),
      cancel_(&cancel),
      m_(std::make_unique<Models>()) {}

S2VPipeline::~S2VPipeline() = default;

void S2VPipeline::release() {
  m_ = std::make_unique<Models>();
}

EncodedAudioClips S2VPipeline::encode_audio(const media::AudioBuffer& audio, int infer_frames, int max_clips,
                                            torch::Tensor* hidden_50hz) {
  torch::NoGradGuard no_grad;
  // as AudioEncoder.extract_audio_feat(return_all_layers=True) + get_audio_embed_bucket_fps
  wav2vec2::Wav2Vec2Encoder model(wav2vec2::Wav2Vec2Config::from_json(configs_.wav2vec2_json));
  {
    auto src = open_component(files_, Component::AudioEncoder);
    wav2vec2::load_wav2vec2(*model, src, *cancel_);
  }
  model->to(where_.device);
  // wav2vec2's attention is quadratic in the length: encode only what the clips need
  const auto samples = std::min<int64_t>(
      static_cast<int64_t>(audio.samples.size()),
      std::llround(audio_seconds_for_clips(max_clips, infer_frames, audio.duration_s()) * audio.sample_rate));
  auto wave = torch::from_blob(const_cast<float*>(audio.samples.data()), {samples}, torch::kFloat32)
                  .to(where_.device);
  auto hidden = model->hidden_states(wave, *cancel_);  // [layers + 1, F50, D]
  if (hidden_50hz) *hidden_50hz = hidden;
  auto enc = wav2vec2::encode_audio(hidden, static_cast<int64_t>(kOutputFps), infer_frames, 0);
  EncodedAudioClips out;
  out.embed = enc.audio_embed.to(where_.device, where_.dtype);
  out.num_repeat = enc.num_repeat;
  return out;  // the wav2vec2 model is freed here
}

namespace {
// Prompt embeddings survive the umT5 model: re-rendering with the same prompts on the same
// checkpoint and dtype does not load the 5.7B-parameter encoder again.
t5::PromptCache& prompt_cache() {
  static t5::PromptCache cache(32);
  return cache;
}
}  // namespace

std::pair<torch::Tensor, torch::Tensor> S2VPipeline::encode_prompts(const std::string& prompt,
                                                                    const std::string& negative) {
  torch::NoGradGuard no_grad;
  const std::string dtype = c10::toString(where_.dtype);
  const t5::PromptKey kp{t5::clean_prompt(prompt), fs::absolute(files_.t5).string(), dtype};
  const t5::PromptKey kn{t5::clean_prompt(negative), kp.model_id, dtype};
  auto cp = prompt_cache().find(kp), cn = prompt_cache().find(kn);
  if (cp && cn) return {cp->to(where_.device), cn->to(where_.device)};

  const auto cfg = configs_.t5_json.empty() ? t5::UMT5Config{} : t5::UMT5Config::from_json(configs_.t5_json);
  auto model = std::make_shared<t5::UMT5EncoderImpl>(cfg, where_.dtype);
  {
    auto src = open_component(files_, Component::TextEncoder);
    t5::load_umt5(*model, *src, *cancel_);
  }
  model->to(where_.device);
  t5::TextEncoder encoder(model, make_tokenizer(), kp.model_id);
  auto both = encoder.encode(std::vector<std::string>{prompt, negative}, *cancel_);
  prompt_cache().insert(kp, both[0].to(torch::kCPU));
  prompt_cache().insert(kn, both[1].to(torch::kCPU));
  return {both[0], both[1]};  // the umT5 model is freed here
}

t5::Tokenizer S2VPipeline::make_tokenizer() const {
  if (!files_.tokenizer_embedded) return t5::Tokenizer(files_.tokenizer, configs_.text_len);
  // ComfyUI's umT5 files carry the sentencepiece model as a uint8 tensor: sentencepiece reads
  // models from files, so it is written to a private temporary file, loaded, and removed.
  auto bytes = weights::open_checkpoint(files_.t5)->tensor(t5::kEmbeddedTokenizer).contiguous();
  const fs::path tmp = fs::temp_directory_path() /
                       ("s2v-spiece-" + std::to_string(::getpid()) + "-" + std::to_string(bytes.numel()) + ".model");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data_ptr()), static_cast<std::streamsize>(bytes.numel()));
    if (!out) throw Error("cannot write the embedded tokenizer of '" + files_.t5.string() + "' to '" + tmp.string() + "'",
                          ErrorKind::Io, tmp.string());
  }
  struct Remove {
    fs::path p;
    ~Remove() {
      std::error_code ec;
      fs::remove(p, ec);
    }
  } remove{tmp};
  return t5::Tokenizer(tmp, configs_.text_len);
}


ClipState S2VPipeline::initial_state(const PipelineInputs& in, bool init_first_frame) {
  torch::NoGradGuard no_grad;
  if (!m_->vae) {
    // kept only once loaded whole: a cancelled load leaves no half-filled model behind
    auto vae = std::make_unique<wan::WanVae>(configs_.vae_json.empty() ? wan::WanVaeConfig{}
                                                                        : wan::WanVaeConfig::from_json(configs_.vae_json));
    auto src = open_component(files_, Component::Vae);
    cancel_->throw_if_requested();
    vae->load(*src);  // tensor by tensor (about 500 MB): no second copy of the whole set
    cancel_->throw_if_requested();
    vae->to(where_.device, torch::kFloat32);
    m_->vae = std::move(vae);
  }
  // Resize(min(H, W)) + CenterCrop((H, W)) of the portrait, * 2 - 1: [1, 3, 1, H, W]
  ref_pixels_ = media::preprocess_reference(in.portrait, in.height, in.width)
                    .unsqueeze(1)
                    .unsqueeze(0)
                    .to(where_.device);
  ref_latents_ = m_->vae->encode(ref_pixels_, *cancel_);  // [1, 16, 1, h, w]

  ClipState s;
  s.last_frames = torch::zeros({1, 3, kMotionFrames, in.height, in.width},
                               torch::TensorOptions().dtype(torch::kFloat32).device(where_.device));
  if (init_first_frame) s.last_frames.narrow(2, kMotionFrames - 6, 6).copy_(ref_pixels_.expand({-1, -1, 6, -1, -1}));
  s.motion_latents = m_->vae->encode(s.last_frames, *cancel_);  // [1, 16, 19, h, w]
  return s;
}

std::vector<torch::Tensor> S2VPipeline::pose_latents(const std::string& pose_video, int clips, int infer_frames,
                                                     int height, int width) {
  torch::NoGradGuard no_grad;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(where_.device);
  if (pose_video.empty()) {
    // load_pose_cond without a pose video encodes an all -1 clip and the loop multiplies it by 0:
    // the DiT sees zeros.
    return {torch::zeros({16, infer_frames / 4, height / 8, width / 8}, opts)};
  }
  const auto info = media::probe(pose_video);
  if (!info.has_video)
    throw Error("the pose video '" + pose_video + "' has no video stream", ErrorKind::InvalidArgument, pose_video);
  // as read_last_n_frames(reverse=True): the first infer_frames * clips frames at 16 fps
  auto frames = media::read_last_n_frames(pose_video, static_cast<int64_t>(infer_frames) * clips, kOutputFps,
                                          /*from_start=*/true);
  std::vector<media::RgbFrame> resized;
  resized.reserve(frames.size());
  for (const auto& f : frames) resized.push_back(media::resize_shorter_and_crop(f, width, height));
  const int64_t total = static_cast<int64_t>(infer_frames) * clips;
  auto video = torch::full({3, total, height, width}, -1.0f, torch::kFloat32);
  if (!resized.empty()) video.narrow(1, 0, static_cast<int64_t>(resized.size())).copy_(media::frames_to_tensor(resized));
  std::vector<torch::Tensor> out;
  for (int r = 0; r < clips; ++r) {
    auto chunk = video.narrow(1, static_cast<int64_t>(r) * infer_frames, infer_frames).unsqueeze(0).to(where_.device);
    auto with_first = torch::cat({chunk.narrow(2, 0, 1), chunk}, 2);
    out.push_back(m_->vae->encode(with_first, *cancel_).narrow(2, 1, infer_frames / 4)[0].to(torch::kCPU));
  }
  return out;
}

void S2VPipeline::load_dit() {
  if (m_->dit) return;
  torch::NoGradGuard no_grad;
  wan::WanModelS2V dit{nullptr};
  {
    // GGUF / FP8 block weights stay packed on the device and are dequantised a block at a time
    auto src = open_component(files_, Component::DiT);
    {
      // every parameter is loaded next (load_dit_weights refuses a checkpoint that lacks one): skip
      // the random init, minutes of serial CPU draws for the 14B model
      wan::SkipInitGuard skip_init;
      dit = wan::WanModelS2V(configs_.dit, where_.dtype, wan::keep_packed(*src));
    }
    wan::load_dit_weights(*dit, *src, where_.device, /*stream_packed=*/where_.offload_blocks, *cancel_);
  }
  m_->dit = dit;  // kept only once loaded whole: a cancelled load leaves no half-filled model behind
  // On the CPU, plain attention in query blocks of at most 8 MiB of scores: one block of the whole
  // sequence (up to 1 GiB) is faulted in afresh at every call and streamed through memory three
  // times; at 256x256 that was most of the demo render's time (docs/performance.md, VAE section).
  if (where_.device.is_cpu()) m_->dit->options.attention.max_score_bytes = int64_t(8) << 20;
  if (where_.offload_blocks && !m_->dit->packed) {
    // everything but the 40 blocks on the device; blocks are streamed in forward()
    for (auto& child : m_->dit->named_children())
      if (child.key() != "blocks") child.value()->to(where_.device);
    m_->dit->freqs = m_->dit->freqs.to(where_.device);
    m_->dit->options.stream_blocks = true;
  } else {
    // a packed DiT streams its packed bytes itself (PackedWeights); the rest is small
    m_->dit->to(where_.device);
  }
}

torch::Tensor S2VPipeline::clip_noise(const ClipRequest& req) const {
  const int64_t lat_motion = (kMotionFrames + 3) / 4;
  const int64_t lat_target = (req.infer_frames + 3 + kMotionFrames) / 4 - lat_motion;
  const int64_t h = ref_latents_.size(3), w = ref_latents_.size(4);
  if (where_.device_noise) {
    // as speech2video.py on a GPU: torch.randn(16, T, h, w, dtype=param_dtype, device=cuda,
    // generator=torch.Generator(cuda).manual_seed(seed + r)), the numbers the official code draws on
    // the same GPU (a generator's fresh state: the seed and Philox offset 0)
    auto gen = at::globalContext().defaultGenerator(where_.device);
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(static_cast<uint64_t>(req.seed));
    }
    return torch::randn({16, lat_target, h, w}, gen, torch::TensorOptions().dtype(where_.dtype).device(where_.device))
        .to(torch::kFloat32)
        .unsqueeze(0);
  }
  // noise from a CPU generator seeded with seed + r, so a clip's noise is the same on any device
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(req.seed));
  return torch::randn({1, 16, lat_target, h, w}, gen, torch::TensorOptions().dtype(torch::kFloat32))
      .to(where_.device);
}

torch::Tensor S2VPipeline::denoise(const ClipRequest& req, const ClipState& state,
                                   const std::function<void(int)>& on_step) {
  torch::NoGradGuard no_grad;
  if (!m_->dit) load_dit();
  if (where_.offload_model && m_->vae) m_->vae->to(torch::kCPU, torch::kFloat32);
  if (where_.offload_model && !where_.offload_blocks) m_->dit->to(where_.device);

  const int64_t lat_motion = (kMotionFrames + 3) / 4;
  auto latents = clip_noise(req);
  auto scheduler = sampling::make_scheduler(sampling::parse_solver(req.solver));
  scheduler->set_timesteps(req.steps, req.shift);

  const int64_t left = static_cast<int64_t>(req.index) * req.infer_frames;
  wan::DiTInputs cond;
  cond.context = req.context;
  cond.ref_latents = ref_latents_[0];
  cond.motion_latents = state.motion_latents[0];
  cond.cond_states = req.pose.to(where_.device);
  cond.audio_input = req.audio.narrow(3, left, req.infer_frames);
  cond.motion_frames = {kMotionFrames, lat_motion};
  cond.drop_motion_frames = req.drop_motion;
  wan::DiTInputs uncond = cond;
  uncond.context = req.context_null;
  uncond.audio_input = cond.audio_input * 0.0;
  const bool cfg = sampling::needs_uncond(req.guide_scale);

  int i = 0;
  for (const int64_t t : scheduler->timestep_values()) {
    cond.x = latents[0];
    cond.t = torch::tensor({t}, torch::TensorOptions().dtype(torch::kInt64).device(where_.device));
    auto pred = m_->dit->forward(cond);
    torch::Tensor pred_uncond;
    if (cfg) {
      cancel_->throw_if_requested();
      uncond.x = cond.x;
      uncond.t = cond.t;
      pred_uncond = m_->dit->forward(uncond);
    }
    if (req.on_model_output) req.on_model_output(StepTrace{i, t, latents, pred, pred_uncond});
    if (cfg) pred = sampling::cfg_combine(pred, pred_uncond, req.guide_scale);
    latents = scheduler->step(pred.unsqueeze(0), t, latents);
    // a NaN weight or an overflowing guidance scale makes every later value NaN, which the VAE
    // turns into a black video: stop at the step where it first appears
    if (!torch::isfinite(latents).all().item<bool>())
      throw Error("denoising step " + std::to_string(i + 1) + " of " + std::to_string(req.steps) + " (clip " +
                      std::to_string(req.index + 1) +
                      ") produced values that are not finite (NaN or infinity): the DiT weights may be damaged "
                      "(check them with 's2v inspect') or --sample_guide_scale is too large",
                  ErrorKind::Corrupt, "latents");
    ++i;
    if (on_step) on_step(i);
    cancel_->throw_if_requested();  // cancel takes effect within one step
  }
  if (where_.offload_model && !where_.offload_blocks) m_->dit->to(torch::kCPU);
  return latents;
}

torch::Tensor S2VPipeline::decode_clip(const torch::Tensor& latents, const ClipRequest& req, ClipState& state) {
  torch::NoGradGuard no_grad;
  if (where_.offload_model) m_->vae->to(where_.device, torch::kFloat32);
  auto decode_latents = torch::cat({req.drop_motion ? ref_latents_ : state.motion_latents, latents}, 2);
  auto image = m_->vae->decode(decode_latents, *cancel_);  // [1, 3, frames, H, W]
  const int64_t n = image.size(2);
  image = image.narrow(2, n - std::min<int64_t>(n, req.infer_frames), std::min<int64_t>(n, req.infer_frames));
  if (req.drop_motion) image = image.narrow(2, 3, image.size(2) - 3);

  // the clip's frames, copied out before the VAE runs again (its caches may share memory with them)
  torch::Tensor frames = image[0].to(torch::kCPU, /*non_blocking=*/false, /*copy=*/true);
  // the motion video: the last 73 frames of what was generated so far
  const int64_t overlap = std::min<int64_t>(kMotionFrames, image.size(2));
  auto tail = image.narrow(2, image.size(2) - overlap, overlap);
  if (overlap >= kMotionFrames) {
    state.last_frames = tail.clone();
  } else {
    state.last_frames =
        torch::cat({state.last_frames.narrow(2, overlap, kMotionFrames - overlap).to(tail.device()), tail}, 2);
  }
  state.motion_latents = m_->vae->encode(state.last_frames, *cancel_);
  return frames;
}

void S2VPipeline::save_state(const ClipState& s, const fs::path& file, bool with_frames) const {
  std::vector<std::pair<std::string, torch::Tensor>> t{{"motion_latents", s.motion_latents.to(torch::kCPU)}};
  if (with_frames) t.emplace_back("last_frames", s.last_frames.to(torch::kCPU));
  weights::save_safetensors(file, t, {{"format", "s2v-studio clip state 1"}});
}

ClipState S2VPipeline::load_state(const fs::path& file) const {
  auto f = weights::SafetensorsFile::open(file);
  ClipState s;
  s.motion_latents = f.tensor("motion_latents").clone().to(where_.device);
  if (f.contains("last_frames")) s.last_frames = f.tensor("last_frames").clone().to(where_.device);
  return s;
}

}  // namespace s2v::generate
