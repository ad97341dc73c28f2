// Model folder discovery, validation and memory estimates (see model_folder.h, docs/model-folder.md).
#include "core/generate/model_folder.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/generate/model_files.h"
#include "models/base/error.h"
#include "models/t5/checkpoint_source.h"
#include "models/t5/umt5.h"
#include "models/wan/dit_config.h"
#include "models/wan/dit_cost.h"
#include "models/wan/vae.h"
#include "models/wav2vec2/audio_bucket.h"
#include "models/wav2vec2/wav2vec2.h"
#include "models/weights/checkpoint.h"
#include "models/weights/inspect.h"
#include "models/weights/source_views.h"
#include "models/weights/validate.h"

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

namespace {


weights::ExpectedTensors expected_dit(const wan::DiTConfig& c) {
  weights::ExpectedTensors e;
  for (const auto& [name, shape] : wan::expected_parameters(c)) e[name] = {shape, weights::DtypeClass::Floating};
  return e;
}

// T5Encoder's state_dict (shared_pos false) from its configuration alone: the XXL encoder is
// 5.7B parameters, too many to build just to list names.
weights::ExpectedTensors expected_umt5(const t5::UMT5Config& c) {
  weights::ExpectedTensors e;
  auto put = [&](const std::string& n, std::vector<int64_t> s) { e[n] = {std::move(s), weights::DtypeClass::Floating}; };
  put("token_embedding.weight", {c.vocab, c.dim});
  if (c.shared_pos) put("pos_embedding.embedding.weight", {c.num_buckets, c.num_heads});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    put(b + "norm1.weight", {c.dim});
    put(b + "attn.q.weight", {c.dim_attn, c.dim});
    put(b + "attn.k.weight", {c.dim_attn, c.dim});
    put(b + "attn.v.weight", {c.dim_attn, c.dim});
    put(b + "attn.o.weight", {c.dim, c.dim_attn});
    put(b + "norm2.weight", {c.dim});
    put(b + "ffn.gate.0.weight", {c.dim_ffn, c.dim});
    put(b + "ffn.fc1.weight", {c.dim_ffn, c.dim});
    put(b + "ffn.fc2.weight", {c.dim, c.dim_ffn});
    if (!c.shared_pos) put(b + "pos_embedding.embedding.weight", {c.num_buckets, c.num_heads});
  }
  put("norm.weight", {c.dim});
  return e;
}

// Fills parameters, stored bytes, packed bytes and the format line of a component.
void describe_source(const weights::TensorSource& src, const fs::path& path, ModelComponent& comp) {
  std::map<std::string, uint64_t> by_dtype;  // elements per stored dtype
  for (const auto& n : src.names()) {
    const auto m = src.meta(n);
    const uint64_t numel = m.numel();
    comp.parameters += numel;
    const uint64_t bytes = weights::memory_bytes(numel, m.dtype);
    comp.stored_bytes += bytes;
    if (weights::is_packed_dtype(m.dtype)) {
      comp.packed_parameters += numel;
      comp.packed_bytes += bytes;
    }
    by_dtype[m.dtype] += numel;
  }
  std::vector<std::pair<uint64_t, std::string>> order;
  for (const auto& [d, n] : by_dtype) order.emplace_back(n, d);
  std::sort(order.rbegin(), order.rend());
  std::string container = weights::container_name(path);
  std::string mix;
  for (size_t i = 0; i < order.size() && i < 3; ++i) {
    const double pct = comp.parameters ? 100.0 * double(order[i].first) / double(comp.parameters) : 0.0;
    char buf[64];
    std::snprintf(buf, sizeof buf, order.size() == 1 ? "%s" : "%s %.0f%%", order[i].second.c_str(), pct);
    mix += (i ? ", " : "") + std::string(buf);
  }
  comp.format = container + ": " + mix;
}

// Runs f, turning any exception into one problem sentence.
template <typename F>
void collect(std::vector<std::string>& problems, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    problems.emplace_back(e.what());
  }
}

}  // namespace

uint64_t ModelComponent::memory_bytes(const std::string& dtype) const {
  const uint64_t b = dtype == "float32" ? 4 : 2;
  return (parameters - packed_parameters) * b + packed_bytes;
}

ModelFolder inspect_model_folder(const fs::path& root, bool deep, const ComponentOverrides& overrides) {
  ModelFolder m;
  m.root = root;
  const ModelFiles files = locate_model_files(root, overrides);
  m.layout = files.layout;
  m.notes = files.notes;
  m.problems = files.problems;
  if (root.empty() && overrides.empty()) m.problems.push_back("no model folder was given");
  // configurations are read off the files: only when every component is there
  bool all_there = true;
  for (const auto* f : {&files.dit, &files.vae, &files.t5, &files.wav2vec2_weights})
    all_there = all_there && !f->empty() && fs::exists(*f);
  ModelConfigs configs;
  bool have_configs = false;
  if (m.problems.empty() && all_there)
    collect(m.problems, [&] {
      configs = read_model_configs(files);
      have_configs = true;
    });
  m.demo = have_configs && configs.demo;
  m.label = have_configs ? configs.label : "unusable model";
  if (have_configs) {
    m.dit = configs.dit;
    m.wav2vec2_config = configs.wav2vec2_json;
  }

  auto check = [&](Component which, const fs::path& path, auto&& verify) {
    ModelComponent comp{to_string(which), path};
    if (path.empty()) {
      m.components.push_back(comp);
      return;
    }
    if (!fs::exists(path)) {
      m.problems.push_back("the " + comp.name + " weights are missing: expected '" + path.string() + "'");
      m.components.push_back(comp);
      return;
    }
    collect(m.problems, [&] {
      auto src = open_component(files, which);
      describe_source(*src, path, comp);
      if (deep && have_configs) verify(*src);
    });
    m.components.push_back(comp);
  };

  check(Component::DiT, files.dit, [&](const weights::TensorSource& src) {
    weights::require_valid(expected_dit(configs.dit), src, "the S2V DiT");
  });
  check(Component::Vae, files.vae, [&](const weights::TensorSource& src) {
    wan::WanVae vae(configs.vae_json.empty() ? wan::WanVaeConfig{} : wan::WanVaeConfig::from_json(configs.vae_json));
    weights::require_valid(weights::expected_from_module(vae.module()), src, "the Wan 2.1 VAE");
  });
  check(Component::TextEncoder, files.t5, [&](const weights::TensorSource& src) {
    weights::require_valid(expected_umt5(t5::UMT5Config::from_json(configs.t5_json)), src, "the umT5 encoder");
  });
  // wav2vec2: weight-norm spellings and the optional "wav2vec2." prefix vary between exports, so the
  // deep check is the loader itself on a model built from the configuration.
  check(Component::AudioEncoder, files.wav2vec2_weights, [&](const weights::TensorSource& src) {
    torch::NoGradGuard no_grad;
    wav2vec2::Wav2Vec2Encoder model(wav2vec2::Wav2Vec2Config::from_json(configs.wav2vec2_json));
    wav2vec2::load_wav2vec2(*model, state_source(src));
  });
  ModelComponent tok{"tokenizer", files.tokenizer_embedded ? files.t5 : files.tokenizer};
  if (files.tokenizer_embedded) {
    tok.format = "embedded in the umT5 file (spiece_model)";
  } else {
    const fs::path spiece = fs::is_directory(files.tokenizer) ? files.tokenizer / "spiece.model" : files.tokenizer;
    tok.path = spiece;
    tok.format = "sentencepiece model";
    if (!fs::exists(spiece))
      m.problems.push_back("the umT5 tokenizer is missing: expected '" + spiece.string() +
                           "' (the google/umt5-xxl folder; name it with --tokenizer)");
  }
  m.components.push_back(tok);

  if (have_configs && deep) {
    // cross-model consistency: what the DiT consumes must be what the encoders produce
    collect(m.problems, [&] {
      const auto t5c = t5::UMT5Config::from_json(configs.t5_json);
      const auto w2v = wav2vec2::Wav2Vec2Config::from_json(configs.wav2vec2_json);
      if (t5c.dim != configs.dit.text_dim)
        m.problems.push_back("the umT5 width " + std::to_string(t5c.dim) + " does not match the DiT's text_dim " +
                             std::to_string(configs.dit.text_dim));
      if (w2v.hidden_size != configs.dit.audio_dim)
        m.problems.push_back("the wav2vec2 width " + std::to_string(w2v.hidden_size) +
                             " does not match the DiT's audio_dim " + std::to_string(configs.dit.audio_dim));
      if (w2v.num_hidden_layers + 1 != configs.dit.audio_num_layers)
        m.problems.push_back("wav2vec2 has " + std::to_string(w2v.num_hidden_layers + 1) +
                             " hidden states but the DiT's audio encoder mixes " +
                             std::to_string(configs.dit.audio_num_layers));
    });
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
  const uint64_t per_block = dit.num_layers > 0 ? e.dit_weights / static_cast<uint64_t>(dit.num_layers) : 0;
  e.peak_offload_blocks = std::max<uint64_t>({2 * per_block + e.dit_activations, e.vae_weights + e.vae_activations,
                                              e.t5_weights});
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
      plan.reason = std::string(o.settings) + ": " + weights::human_bytes(o.peak) + " of the " +
                    weights::human_bytes(plan.usable) + " usable on a " + std::to_string(static_cast<int>(vram_gb)) +
                    " GB card; " + o.why;
      return plan;
    }
  }
  plan.needed = options[2].peak;
  plan.settings = "none";
  plan.reason = "does not fit a " + std::to_string(static_cast<int>(vram_gb)) + " GB card even with --offload_blocks (" +
                weights::human_bytes(plan.needed) + " needed, " + weights::human_bytes(plan.usable) +
                " usable): choose a smaller --size, fewer --infer_frames, or a smaller DiT file (GGUF Q8_0 / Q4_K)";
  return plan;
}

std::string MemoryEstimate::summary() const {
  std::ostringstream s;
  s << width << "x" << height << ", " << clips << " clip(s), " << tokens << " DiT tokens, "
    << tflops_per_step << " TFLOP per step\n"
    << "weights: DiT " << weights::human_bytes(dit_weights) << ", umT5 " << weights::human_bytes(t5_weights)
    << ", VAE " << weights::human_bytes(vae_weights) << ", wav2vec2 " << weights::human_bytes(wav2vec2_weights)
    << "\n"
    << "audio: wav2vec2 over " << audio_encoded_s << " s (" << weights::human_bytes(audio_activations)
    << "), decoded audio " << weights::human_bytes(audio_samples) << "\n"
    << "peak memory: " << weights::human_bytes(peak_device) << " all resident, "
    << weights::human_bytes(peak_offload_model) << " with --offload_model, "
    << weights::human_bytes(peak_offload_blocks) << " with --offload_blocks";
  return s.str();
}

}  // namespace s2v::generate
