// Model folder discovery, validation and memory estimates (see model_folder.h, docs/model-folder.md).
#include "core/generate/model_folder.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
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
#include "models/wav2vec2/wav2vec2.h"
#include "models/weights/checkpoint.h"
#include "models/weights/inspect.h"
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

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error("cannot read '" + p.string() + "'", ErrorKind::NotFound, p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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

void sum_source(const weights::TensorSource& src, ModelComponent& comp) {
  for (const auto& n : src.names()) {
    const auto m = src.meta(n);
    comp.parameters += m.numel();
    comp.stored_bytes += weights::memory_bytes(m.numel(), m.dtype);
  }
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

ModelFiles locate_model_files(const fs::path& root) {
  ModelFiles f;
  f.root = root;
  const fs::path index = root / "diffusion_pytorch_model.safetensors.index.json";
  f.dit = fs::exists(index) ? index : root / "diffusion_pytorch_model.safetensors";
  f.dit_config = root / "config.json";
  for (const char* name : {"Wan2.1_VAE.pth", "Wan2.1_VAE.safetensors"})
    if (fs::exists(root / name)) f.vae = root / name;
  if (f.vae.empty()) f.vae = root / "Wan2.1_VAE.pth";
  for (const char* name : {"models_t5_umt5-xxl-enc-bf16.pth", "models_t5_umt5-xxl-enc-bf16.safetensors"})
    if (fs::exists(root / name)) f.t5 = root / name;
  if (f.t5.empty()) f.t5 = root / "models_t5_umt5-xxl-enc-bf16.pth";
  f.tokenizer = root / "google" / "umt5-xxl";
  f.wav2vec2 = root / "wav2vec2-large-xlsr-53-english";
  for (const char* name : {"model.safetensors", "pytorch_model.bin"})
    if (fs::exists(f.wav2vec2 / name)) f.wav2vec2_weights = f.wav2vec2 / name;
  if (f.wav2vec2_weights.empty()) f.wav2vec2_weights = f.wav2vec2 / "model.safetensors";
  f.overrides = root / "s2v_model.json";
  return f;
}

ModelConfigs read_model_configs(const ModelFiles& files) {
  ModelConfigs c;
  nlohmann::json overrides = nlohmann::json::object();
  if (fs::exists(files.overrides)) {
    try {
      overrides = nlohmann::json::parse(read_text(files.overrides));
    } catch (const nlohmann::json::exception& e) {
      throw Error("'" + files.overrides.string() + "' is not valid JSON: " + e.what(), ErrorKind::Corrupt,
                  files.overrides.string());
    }
    c.demo = overrides.value("demo", false);
    c.label = overrides.value("label", std::string());
    c.text_len = overrides.value("text_len", c.text_len);
  }
  try {
    c.dit = wan::DiTConfig::from_json(nlohmann::json::parse(read_text(files.dit_config)));
  } catch (const nlohmann::json::exception& e) {
    throw Error("'" + files.dit_config.string() + "' is not valid JSON: " + e.what(), ErrorKind::Corrupt,
                files.dit_config.string());
  }
  c.dit.validate();
  if (overrides.contains("vae")) c.vae_json = overrides["vae"].dump();
  if (overrides.contains("t5")) c.t5_json = overrides["t5"].dump();
  c.wav2vec2_json = read_text(files.wav2vec2 / "config.json");
  if (c.label.empty()) c.label = c.demo ? kDemoModelLabel : "Wan2.2-S2V (" + files.root.filename().string() + ")";
  if (c.demo) c.label = kDemoModelLabel;  // whatever the file says, a demo is labelled as one
  return c;
}

ModelFolder inspect_model_folder(const fs::path& root, bool deep) {
  ModelFolder m;
  m.root = root;
  if (!fs::is_directory(root)) {
    m.problems.push_back("the model folder '" + root.string() + "' does not exist");
    return m;
  }
  const ModelFiles files = locate_model_files(root);
  ModelConfigs configs;
  bool have_configs = false;
  collect(m.problems, [&] {
    configs = read_model_configs(files);
    have_configs = true;
  });
  m.demo = have_configs && configs.demo;
  m.label = have_configs ? configs.label : "unreadable model folder";

  auto check = [&](const std::string& name, const fs::path& path, auto&& expected_fn) {
    ModelComponent comp{name, path, 0, 0};
    if (!fs::exists(path)) {
      m.problems.push_back("the " + name + " weights are missing: expected '" + path.string() + "'");
      m.components.push_back(comp);
      return;
    }
    collect(m.problems, [&] {
      auto src = weights::open_checkpoint(path);
      sum_source(*src, comp);
      if (deep && have_configs) {
        weights::require_valid(expected_fn(), *src, name);
      }
    });
    m.components.push_back(comp);
  };

  check("DiT", files.dit, [&] { return expected_dit(configs.dit); });
  check("VAE", files.vae, [&] {
    wan::WanVae vae(configs.vae_json.empty() ? wan::WanVaeConfig{} : wan::WanVaeConfig::from_json(configs.vae_json));
    return weights::expected_from_module(vae.module());
  });
  check("umT5", files.t5, [&] {
    return expected_umt5(configs.t5_json.empty() ? t5::UMT5Config{} : t5::UMT5Config::from_json(configs.t5_json));
  });
  {
    // wav2vec2: weight-norm spellings and the optional "wav2vec2." prefix vary between exports, so
    // the deep check is the loader itself on a model built from the folder's config.json.
    ModelComponent comp{"wav2vec2", files.wav2vec2_weights, 0, 0};
    if (!fs::exists(files.wav2vec2_weights)) {
      m.problems.push_back("the wav2vec2 weights are missing: expected '" + files.wav2vec2_weights.string() + "'");
    } else {
      collect(m.problems, [&] {
        auto src = weights::open_checkpoint(files.wav2vec2_weights);
        sum_source(*src, comp);
        if (deep && have_configs) {
          torch::NoGradGuard no_grad;
          wav2vec2::Wav2Vec2Encoder model(wav2vec2::Wav2Vec2Config::from_json(configs.wav2vec2_json));
          wav2vec2::load_wav2vec2(*model, state_source(*src));
        }
      });
    }
    m.components.push_back(comp);
  }
  ModelComponent tok{"tokenizer", files.tokenizer / "spiece.model", 0, 0};
  if (!fs::exists(tok.path)) m.problems.push_back("the umT5 tokenizer is missing: expected '" + tok.path.string() + "'");
  m.components.push_back(tok);

  if (have_configs && deep) {
    // cross-model consistency: what the DiT consumes must be what the encoders produce
    collect(m.problems, [&] {
      const auto t5c = configs.t5_json.empty() ? t5::UMT5Config{} : t5::UMT5Config::from_json(configs.t5_json);
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
                               int clips, const std::string& dtype) {
  MemoryEstimate e;
  e.height = height;
  e.width = width;
  e.clips = clips;
  const uint64_t b = dtype_bytes(dtype);
  auto params_of = [&](const char* name) -> uint64_t {
    const auto* c = model.component(name);
    return c ? c->parameters : 0;
  };
  e.dit_weights = params_of("DiT") * b;
  e.t5_weights = params_of("umT5") * b;
  e.vae_weights = params_of("VAE") * 4;  // the VAE runs in float32, as the reference
  e.wav2vec2_weights = params_of("wav2vec2") * 4;

  wan::DiTConfig dit;
  try {
    dit = read_model_configs(locate_model_files(model.root)).dit;
  } catch (const std::exception&) {
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
  // VAE decode streams one latent frame (4 video frames) at a time; the widest full-resolution
  // stage has dim (96 for the real VAE) channels, with a few live copies plus the output clip
  const double px = static_cast<double>(height) * width;
  const double vae_dim = model.demo ? 8.0 : 96.0;
  const double out_frames = 4.0 * ((kMotionFrames + 3) / 4 + lat_frames) - 3.0;
  e.vae_activations = static_cast<uint64_t>(4.0 * px * vae_dim * 4.0 * 6.0 + out_frames * 3.0 * px * 4.0);

  const uint64_t encoders = e.t5_weights + e.wav2vec2_weights;
  e.peak_device = e.dit_weights + encoders + e.vae_weights + std::max(e.dit_activations, e.vae_activations);
  e.peak_offload_model = std::max(e.dit_weights + e.dit_activations, e.vae_weights + e.vae_activations);
  e.peak_offload_model = std::max(e.peak_offload_model, e.t5_weights);
  const uint64_t per_block = dit.num_layers > 0 ? e.dit_weights / static_cast<uint64_t>(dit.num_layers) : 0;
  e.peak_offload_blocks = std::max<uint64_t>({2 * per_block + e.dit_activations, e.vae_weights + e.vae_activations,
                                              e.t5_weights});
  e.tflops_per_step = cost.flop_per_step / 1e12;
  return e;
}

std::string MemoryEstimate::summary() const {
  std::ostringstream s;
  s << width << "x" << height << ", " << clips << " clip(s), " << tokens << " DiT tokens, "
    << tflops_per_step << " TFLOP per step\n"
    << "weights: DiT " << weights::human_bytes(dit_weights) << ", umT5 " << weights::human_bytes(t5_weights)
    << ", VAE " << weights::human_bytes(vae_weights) << ", wav2vec2 " << weights::human_bytes(wav2vec2_weights)
    << "\n"
    << "peak memory: " << weights::human_bytes(peak_device) << " all resident, "
    << weights::human_bytes(peak_offload_model) << " with --offload_model, "
    << weights::human_bytes(peak_offload_blocks) << " with --offload_blocks";
  return s.str();
}

}  // namespace s2v::generate
