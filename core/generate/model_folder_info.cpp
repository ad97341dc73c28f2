// The torch-free half of model_folder.h: the value types, their JSON form (what
// `s2v inspect-model --json` prints for the GUI), the demo model's place, and the memory estimate
// and plan, which are arithmetic on an inspected folder. inspect_model_folder (model_folder.cpp)
// reads the checkpoints with LibTorch; everything here also runs in the GUI, which links none.
#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/generate/model_folder.h"
#include "models/base/error.h"
#include "models/base/units.h"
#include "models/wan/dit_cost.h"
#include "models/wav2vec2/wav2vec2_config.h"

namespace fs = std::filesystem;

namespace s2v::generate {

const ModelComponent* ModelFolder::component(const std::string& name) const {
  for (const auto& c : components)
    if (c.name == name) return &c;
  return nullptr;
}

uint64_t ModelFolder::total_parameters() const {
  uint64_t n = 0;
  for (const auto& c : components) n += c.parameters;
  return n;
}

uint64_t ModelComponent::memory_bytes(const std::string& dtype) const {
  const uint64_t b = dtype == "float32" ? 4 : 2;
  return (parameters - packed_parameters) * b + packed_bytes;
}

nlohmann::json to_json(const ModelFolder& m) {
  nlohmann::json components = nlohmann::json::array();
  for (const auto& c : m.components)
    components.push_back({{"name", c.name}, {"path", c.path.string()}, {"format", c.format},
                          {"parameters", c.parameters}, {"stored_bytes", c.stored_bytes},
                          {"packed_parameters", c.packed_parameters}, {"packed_bytes", c.packed_bytes}});
  return {{"root", m.root.string()}, {"layout", m.layout}, {"demo", m.demo}, {"label", m.label},
          {"components", components}, {"dit", m.dit.to_json()}, {"wav2vec2_config", m.wav2vec2_config},
          {"notes", m.notes}, {"problems", m.problems}};
}

ModelFolder model_folder_from_json(const nlohmann::json& j) {
  ModelFolder m;
  try {
    m.root = j.at("root").get<std::string>();
    m.layout = j.value("layout", std::string());
    m.demo = j.value("demo", false);
    m.label = j.value("label", std::string());
    for (const auto& c : j.value("components", nlohmann::json::array())) {
      ModelComponent mc;
      mc.name = c.at("name").get<std::string>();
      mc.path = c.value("path", std::string());
      mc.format = c.value("format", std::string());
      mc.parameters = c.value("parameters", uint64_t{0});
      mc.stored_bytes = c.value("stored_bytes", uint64_t{0});
      mc.packed_parameters = c.value("packed_parameters", uint64_t{0});
      mc.packed_bytes = c.value("packed_bytes", uint64_t{0});
      m.components.push_back(std::move(mc));
    }
    if (j.contains("dit")) m.dit = wan::DiTConfig::from_json(j.at("dit"));
    m.wav2vec2_config = j.value("wav2vec2_config", std::string());
    m.notes = j.value("notes", std::vector<std::string>());
    m.problems = j.value("problems", std::vector<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("cannot read a model folder description: ") + e.what(), ErrorKind::Corrupt);
  }
  return m;
}

fs::path find_demo_model() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("S2V_DEMO_MODEL"); env && *env) candidates.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / "share" / "s2v-studio" / "demo-model");
    candidates.push_back(exe.parent_path() / "demo-model");
    candidates.push_back(exe.parent_path().parent_path() / "demo-model");
    candidates.push_back(exe.parent_path().parent_path().parent_path() / "demo-model");
  }
#ifdef S2V_BUILD_TREE_DEMO_MODEL
  candidates.emplace_back(S2V_BUILD_TREE_DEMO_MODEL);
#endif
  for (const auto& c : candidates)
    if (fs::exists(c / "s2v_model.json") && fs::exists(c / "config.json")) return fs::weakly_canonical(c, ec);
  return {};
}

namespace {
uint64_t dtype_bytes(const std::string& dtype) { return dtype == "float32" ? 4 : 2; }
}  // namespace

MemoryEstimate estimate_memory(const ModelFolder& model, const GenerateParams& params, int height, int width,
                               int clips, const std::string& dtype, double audio_s) {
  MemoryEstimate e;
  e.height = height;
  e.width = width;
  e.clips = clips;
  const uint64_t b = dtype_bytes(dtype);
  auto params_of = [&](const char* name) -> uint64_t {
    const auto* c = model.component(name);
    return c ? c->parameters : 0;
  };
  auto memory_of = [&](const char* name, const std::string& at) -> uint64_t {
    const auto* c = model.component(name);
    return c ? c->memory_bytes(at) : 0;
  };
  e.dit_weights = memory_of("DiT", dtype);  // GGUF / FP8 tensors stay packed
  e.t5_weights = params_of("umT5") * b;     // dequantised when loaded (it runs once per job)
  e.vae_weights = params_of("VAE") * 4;     // the VAE runs in float32, as the reference
  e.wav2vec2_weights = params_of("wav2vec2") * 4;
  const wan::DiTConfig& dit = model.dit;
  wav2vec2::Wav2Vec2Config w2v;
  if (!model.wav2vec2_config.empty()) {
    try {
      w2v = wav2vec2::Wav2Vec2Config::from_json(model.wav2vec2_config);
    } catch (const std::exception&) {
    }
  }
  wan::DiTCostInputs ci;
  ci.height = height;
  ci.width = width;
  ci.infer_frames = params.infer_frames;
  ci.motion_frames = kMotionFrames;
  ci.dim = dit.dim;
  ci.ffn_dim = dit.ffn_dim;
  ci.num_heads = dit.num_heads;
  ci.num_layers = dit.num_layers;
  ci.parameters = static_cast<int64_t>(params_of("DiT"));
  ci.cfg = params.sample_guide_scale > 1.0;
  ci.bytes_per_value = b;
  // the plain attention (CPU builds) materialises the scores; SDPA on a GPU does not
  ci.fused_attention = params.device != "cpu" && params.device != "auto";
  const auto cost = wan::dit_cost(ci);
  const int64_t lat_frames = cost.latent_frames;
  e.tokens = cost.tokens;
  e.dit_activations = static_cast<uint64_t>(cost.activation_bytes);
  // a packed DiT dequantises one block's weights at a time into a buffer of the compute dtype
  const auto* dit_c = model.component("DiT");
  if (dit_c && dit_c->packed_parameters && dit.num_layers > 0)
    e.dit_activations += dit_c->packed_parameters / static_cast<uint64_t>(dit.num_layers) * b;
  // VAE decode streams one latent frame (4 video frames) at a time; the widest full-resolution
  // stage has dim (96 for the real VAE) channels, with a few live copies plus the output clip
  const double px = static_cast<double>(height) * width;
  const double vae_dim = model.demo ? 8.0 : 96.0;
  const double out_frames = 4.0 * ((kMotionFrames + 3) / 4 + lat_frames) - 3.0;
  e.vae_activations = static_cast<uint64_t>(4.0 * px * vae_dim * 4.0 * 6.0 + out_frames * 3.0 * px * 4.0);

  // wav2vec2 over the encoded span (16 kHz): the first conv's output (C0 channels at 3.2 kHz, a
  // few live copies), every hidden state (kept for the layer average), one layer's attention
  // scores [heads, T, T] and softmax, its FFN; then the decoded audio, held for the whole job
  e.audio_encoded_s = audio_seconds_for_clips(params.num_clip, params.infer_frames, audio_s);
  const double samples = e.audio_encoded_s * 16000.0, t50 = e.audio_encoded_s * wav2vec2::kWav2Vec2Rate;
  const double hid = static_cast<double>(w2v.hidden_size);
  e.audio_activations = static_cast<uint64_t>(
      4.0 * (samples + 3.0 * static_cast<double>(w2v.conv_dim.empty() ? 512 : w2v.conv_dim[0]) * samples / 5.0 +
             static_cast<double>(w2v.num_hidden_layers + 1) * t50 * hid +
             2.0 * static_cast<double>(w2v.num_attention_heads) * t50 * t50 +
             t50 * static_cast<double>(w2v.intermediate_size)));
  e.audio_samples = static_cast<uint64_t>(audio_s * 16000.0 * 4.0);
  const uint64_t audio_stage = e.wav2vec2_weights + e.audio_activations;

  const uint64_t encoders = e.t5_weights + e.wav2vec2_weights;
  e.peak_device = e.dit_weights + encoders + e.vae_weights + std::max(e.dit_activations, e.vae_activations);
  e.peak_offload_model = std::max(e.dit_weights + e.dit_activations, e.vae_weights + e.vae_activations);
  e.peak_offload_model = std::max(e.peak_offload_model, e.t5_weights);
  // --offload_blocks streams the blocks (two in flight); the rest of the DiT (embeddings, audio
  // injector and encoder, frame packer, head: 2.3e9 of the 14B's 16.3e9 parameters) stays, in the
  // compute dtype. The H200 run measured 14.7 GiB at 14B/480p where blocks alone gave 9.7.
  const double in_blocks = wan::block_parameters(dit.dim, dit.ffn_dim) * static_cast<double>(dit.num_layers);
  const uint64_t non_block =
      std::min<uint64_t>(e.dit_weights, static_cast<uint64_t>(std::max(0.0, static_cast<double>(params_of("DiT")) - in_blocks)) * b);
  const uint64_t per_block =
      dit.num_layers > 0 ? (e.dit_weights - non_block) / static_cast<uint64_t>(dit.num_layers) : 0;
  e.peak_offload_blocks = std::max<uint64_t>({non_block + 2 * per_block + e.dit_activations,
                                              e.vae_weights + e.vae_activations, e.t5_weights});
  for (uint64_t* peak : {&e.peak_device, &e.peak_offload_model, &e.peak_offload_blocks})
    *peak = std::max(*peak, audio_stage) + e.audio_samples;  // the encoders run before the DiT
  e.tflops_per_step = cost.flop_per_step / 1e12;
  return e;
}

MemoryPlan plan_memory(const MemoryEstimate& e, double vram_gb) {
  MemoryPlan plan;
  const double card = vram_gb * 1e9;
  plan.usable = static_cast<uint64_t>(std::max(0.0, card * 0.95 - 1024.0 * 1024.0 * 1024.0));
  struct Option {
    uint64_t peak;
    bool model, blocks;
    const char* settings;
    const char* why;
  };
  const Option options[] = {
      {e.peak_device, false, false, "resident", "every model stays on the GPU (fastest)"},
      {e.peak_offload_model, true, false, "--offload_model",
       "the encoders and the VAE leave the GPU while the DiT runs (a few seconds per clip for the swaps)"},
      {e.peak_offload_blocks, true, true, "--offload_model --offload_blocks",
       "the DiT's blocks are streamed from host memory every step (bound by the PCIe link)"},
  };
  for (const auto& o : options) {
    if (o.peak <= plan.usable) {
      plan.fits = true;
      plan.offload_model = o.model;
      plan.offload_blocks = o.blocks;
      plan.needed = o.peak;
      plan.settings = o.settings;
      plan.reason = std::string(o.settings) + ": " + human_bytes(o.peak) + " of the " +
                    human_bytes(plan.usable) + " usable on a " + std::to_string(static_cast<int>(vram_gb)) +
                    " GB card; " + o.why;
      return plan;
    }
  }
  plan.needed = options[2].peak;
  plan.settings = "none";
  plan.reason = "does not fit a " + std::to_string(static_cast<int>(vram_gb)) + " GB card even with --offload_blocks (" +
                human_bytes(plan.needed) + " needed, " + human_bytes(plan.usable) +
                " usable): choose a smaller --size, fewer --infer_frames, or a smaller DiT file (GGUF Q8_0 / Q4_K)";
  return plan;
}

std::string MemoryEstimate::summary() const {
  std::ostringstream s;
  s << width << "x" << height << ", " << clips << " clip(s), " << tokens << " DiT tokens, "
    << tflops_per_step << " TFLOP per step\n"
    << "weights: DiT " << human_bytes(dit_weights) << ", umT5 " << human_bytes(t5_weights)
    << ", VAE " << human_bytes(vae_weights) << ", wav2vec2 " << human_bytes(wav2vec2_weights)
    << "\n"
    << "audio: wav2vec2 over " << audio_encoded_s << " s (" << human_bytes(audio_activations)
    << "), decoded audio " << human_bytes(audio_samples) << "\n"
    << "peak memory: " << human_bytes(peak_device) << " all resident, "
    << human_bytes(peak_offload_model) << " with --offload_model, "
    << human_bytes(peak_offload_blocks) << " with --offload_blocks";
  return s.str();
}

}  // namespace s2v::generate
