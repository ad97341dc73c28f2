#include "models/wan/dit_config.h"

#include <nlohmann/json.hpp>

#include "models/base/error.h"

namespace s2v::wan {

namespace {

template <typename T>
void read(const nlohmann::json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("cannot read the DiT config: key '") + key + "' has the wrong type (" +
                    e.what() + ")",
                ErrorKind::InvalidArgument, key);
  }
}

template <size_t N>
void read_array(const nlohmann::json& j, const char* key, std::array<int64_t, N>& out) {
  std::vector<int64_t> v;
  read(j, key, v);
  if (v.empty() && !j.contains(key)) return;
  if (v.size() != N)
    throw Error(std::string("cannot read the DiT config: key '") + key + "' must have " +
                    std::to_string(N) + " entries",
                ErrorKind::InvalidArgument, key);
  for (size_t i = 0; i < N; ++i) out[i] = v[i];
}

void check(bool ok, const std::string& what, ErrorKind kind = ErrorKind::InvalidArgument) {
  if (!ok) throw Error("invalid DiT config: " + what, kind);
}

}  // namespace

DiTConfig DiTConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object())
    throw Error("cannot read the DiT config: expected a JSON object", ErrorKind::InvalidArgument);
  DiTConfig c;
  read_array(j, "patch_size", c.patch_size);
  read(j, "text_len", c.text_len);
  read(j, "in_dim", c.in_dim);
  read(j, "dim", c.dim);
  read(j, "ffn_dim", c.ffn_dim);
  read(j, "freq_dim", c.freq_dim);
  read(j, "text_dim", c.text_dim);
  read(j, "out_dim", c.out_dim);
  read(j, "num_heads", c.num_heads);
  read(j, "num_layers", c.num_layers);
  read_array(j, "window_size", c.window_size);
  read(j, "qk_norm", c.qk_norm);
  read(j, "cross_attn_norm", c.cross_attn_norm);
  read(j, "eps", c.eps);
  read(j, "cond_dim", c.cond_dim);
  read(j, "audio_dim", c.audio_dim);
  read(j, "num_audio_token", c.num_audio_token);
  read(j, "audio_num_layers", c.audio_num_layers);  // not an official argument (fixed at 25 there)
  read(j, "enable_adain", c.enable_adain);
  read(j, "adain_mode", c.adain_mode);
  read(j, "audio_inject_layers", c.audio_inject_layers);
  read(j, "zero_init", c.zero_init);
  read(j, "zero_timestep", c.zero_timestep);
  read(j, "enable_motioner", c.enable_motioner);
  read(j, "add_last_motion", c.add_last_motion);
  read(j, "enable_tsm", c.enable_tsm);
  read(j, "trainable_token_pos_emb", c.trainable_token_pos_emb);
  read(j, "motion_token_num", c.motion_token_num);
  read(j, "enable_framepack", c.enable_framepack);
  read(j, "framepack_drop_mode", c.framepack_drop_mode);
  if (j.contains("model_type") && j["model_type"] != "s2v")
    throw Error("cannot read the DiT config: model_type must be 's2v'", ErrorKind::Unsupported,
                "model_type");
  c.validate();
  return c;
}

nlohmann::json DiTConfig::to_json() const {
  return nlohmann::json{{"model_type", "s2v"},
                        {"patch_size", patch_size},
                        {"text_len", text_len},
                        {"in_dim", in_dim},
                        {"dim", dim},
                        {"ffn_dim", ffn_dim},
                        {"freq_dim", freq_dim},
                        {"text_dim", text_dim},
                        {"out_dim", out_dim},
                        {"num_heads", num_heads},
                        {"num_layers", num_layers},
                        {"window_size", window_size},
                        {"qk_norm", qk_norm},
                        {"cross_attn_norm", cross_attn_norm},
                        {"eps", eps},
                        {"cond_dim", cond_dim},
                        {"audio_dim", audio_dim},
                        {"num_audio_token", num_audio_token},
                        {"audio_num_layers", audio_num_layers},
                        {"enable_adain", enable_adain},
                        {"adain_mode", adain_mode},
                        {"audio_inject_layers", audio_inject_layers},
                        {"zero_init", zero_init},
                        {"zero_timestep", zero_timestep},
                        {"enable_motioner", enable_motioner},
                        {"add_last_motion", add_last_motion},
                        {"enable_tsm", enable_tsm},
                        {"trainable_token_pos_emb", trainable_token_pos_emb},
                        {"motion_token_num", motion_token_num},
                        {"enable_framepack", enable_framepack},
                        {"framepack_drop_mode", framepack_drop_mode}};
}

void DiTConfig::validate() const {
  // Sane upper bounds (far above the 14B model's) before anything is sized from these numbers: a
  // config.json saying num_layers 1000000000 made the expected-parameter list grow to gigabytes.
  struct Bound {
    const char* name;
    int64_t value, limit;
  };
  const Bound bounds[] = {{"num_layers", num_layers, 1024},      {"num_heads", num_heads, 1024},
                          {"dim", dim, 65536},                   {"ffn_dim", ffn_dim, 262144},
                          {"freq_dim", freq_dim, 65536},         {"text_dim", text_dim, 65536},
                          {"text_len", text_len, 65536},         {"in_dim", in_dim, 4096},
                          {"out_dim", out_dim, 4096},            {"cond_dim", cond_dim, 4096},
                          {"audio_dim", audio_dim, 65536},       {"num_audio_token", num_audio_token, 4096},
                          {"audio_num_layers", audio_num_layers, 1024}, {"motion_token_num", motion_token_num, 1 << 20}};
  for (const auto& b : bounds)
    check(b.value <= b.limit, std::string(b.name) + " is " + std::to_string(b.value) + ", above the sane limit of " +
                                  std::to_string(b.limit) + " (is config.json damaged?)");
  for (auto p : patch_size) check(p <= 64, "patch_size entries must be at most 64");
  check(audio_inject_layers.size() <= 1024, "audio_inject_layers has more entries than a model has blocks");
  check(dim > 0 && num_heads > 0 && dim % num_heads == 0,
        "dim (" + std::to_string(dim) + ") must be a multiple of num_heads (" +
            std::to_string(num_heads) + ")");
  check(head_dim() % 2 == 0, "the head dimension must be even");
  check(num_layers > 0 && ffn_dim > 0 && freq_dim > 0 && freq_dim % 2 == 0,
        "num_layers, ffn_dim and freq_dim must be positive, freq_dim even");
  check(in_dim > 0 && out_dim > 0 && text_dim > 0 && text_len > 0 && audio_dim > 0,
        "in_dim, out_dim, text_dim, text_len and audio_dim must be positive");
  for (auto p : patch_size) check(p > 0, "patch_size entries must be positive");
  check(dim % 4 == 0, "dim must be a multiple of 4 (the audio encoder uses dim/4 channels)");
  check(num_audio_token > 0, "num_audio_token must be positive");
  for (auto l : audio_inject_layers)
    check(l >= 0 && l < num_layers, "audio_inject_layers entry " + std::to_string(l) +
                                        " is not a block index");
  check(window_size[0] == -1 && window_size[1] == -1,
        "only global attention (window_size (-1, -1)) is supported", ErrorKind::Unsupported);
  check(!enable_motioner, "enable_motioner (MotionerTransformers) is not supported; the S2V "
                          "checkpoints use enable_framepack",
        ErrorKind::Unsupported);
  check(!(enable_motioner && enable_framepack),
        "enable_motioner and enable_framepack are mutually exclusive");
}

ParameterShapes expected_parameters(const DiTConfig& c) {
  ParameterShapes out;
  const int64_t d = c.dim;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    out.emplace_back(std::move(name), std::move(shape));
  };
  auto linear = [&](const std::string& name, int64_t in, int64_t o) {
    add(name + ".weight", {o, in});
    add(name + ".bias", {o});
  };
  auto conv3d = [&](const std::string& name, int64_t in, int64_t o, std::array<int64_t, 3> k) {
    add(name + ".weight", {o, in, k[0], k[1], k[2]});
    add(name + ".bias", {o});
  };
  auto attention = [&](const std::string& p, bool qk_norm) {
    for (const char* n : {"q", "k", "v", "o"}) linear(p + "." + n, d, d);
    if (qk_norm) {
      add(p + ".norm_q.weight", {d});
      add(p + ".norm_k.weight", {d});
    }
  };

  conv3d("patch_embedding", c.in_dim, d, c.patch_size);
  linear("text_embedding.0", c.text_dim, d);
  linear("text_embedding.2", d, d);
  linear("time_embedding.0", c.freq_dim, d);
  linear("time_embedding.2", d, d);
  linear("time_projection.1", d, 6 * d);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string b = "blocks." + std::to_string(i);
    add(b + ".modulation", {1, 6, d});
    attention(b + ".self_attn", c.qk_norm);
    if (c.cross_attn_norm) {
      add(b + ".norm3.weight", {d});
      add(b + ".norm3.bias", {d});
    }
    attention(b + ".cross_attn", c.qk_norm);
    linear(b + ".ffn.0", d, c.ffn_dim);
    linear(b + ".ffn.2", c.ffn_dim, d);
  }
  add("head.modulation", {1, 2, d});
  linear("head.head", d, c.patch_size[0] * c.patch_size[1] * c.patch_size[2] * c.out_dim);
  if (c.cond_dim > 0) conv3d("cond_encoder", c.cond_dim, d, c.patch_size);

  // CausalAudioEncoder(dim=audio_dim, out_dim=dim, num_token, need_global=enable_adain)
  add("casual_audio_encoder.weights", {1, c.audio_num_layers, 1, 1});
  const std::string enc = "casual_audio_encoder.encoder.";
  add(enc + "padding_tokens", {1, 1, 1, d});
  auto conv1d = [&](const std::string& name, int64_t in, int64_t o) {
    add(name + ".weight", {o, in, 3});
    add(name + ".bias", {o});
  };
  conv1d(enc + "conv1_local.conv", c.audio_dim, d / 4 * c.num_audio_token);
  if (c.enable_adain) conv1d(enc + "conv1_global.conv", c.audio_dim, d / 4);
  conv1d(enc + "conv2.conv", d / 4, d / 2);
  conv1d(enc + "conv3.conv", d / 2, d);
  if (c.enable_adain) linear(enc + "final_linear", d, d);

  // AudioInjector_WAN
  const int64_t injectors = audio_injector_map(c.num_layers, c.audio_inject_layers).count;
  for (int64_t i = 0; i < injectors; ++i)
    attention("audio_injector.injector." + std::to_string(i), true);
  if (c.enable_adain) {
    for (int64_t i = 0; i < injectors; ++i)
      linear("audio_injector.injector_adain_layers." + std::to_string(i) + ".linear", d, 2 * d);
    if (c.adain_mode != "attn_norm")
      for (int64_t i = 0; i < injectors; ++i)
        linear("audio_injector.injector_adain_output_layers." + std::to_string(i), d, d);
  }

  add("trainable_cond_mask.weight", {3, d});
  if (c.enable_framepack) {
    conv3d("frame_packer.proj", 16, d, {1, 2, 2});
    conv3d("frame_packer.proj_2x", 16, d, {2, 4, 4});
    conv3d("frame_packer.proj_4x", 16, d, {4, 8, 8});
  }
  return out;
}

AudioInjectorMap audio_injector_map(int64_t num_layers, const std::vector<int64_t>& inject_layers) {
  AudioInjectorMap m;
  for (int64_t block = 0; block < num_layers; ++block) {
    const std::string name = std::to_string(block);
    for (int64_t id : inject_layers) {
      const std::string prefix = std::to_string(id);
      if (name.compare(0, prefix.size(), prefix) == 0) m.after_block[id] = m.count++;
    }
  }
  return m;
}

int64_t parameter_count(const DiTConfig& config) {
  int64_t n = 0;
  for (const auto& [name, shape] : expected_parameters(config)) {
    int64_t e = 1;
    for (auto s : shape) e *= s;
    n += e;
  }
  return n;
}

}  // namespace s2v::wan

namespace s2v::wan {

namespace {

const std::vector<int64_t>& need_shape(const ShapeMap& s, const std::string& name) {
  auto it = s.find(name);
  if (it == s.end()) throw Error("the DiT weights have no '" + name + "'", ErrorKind::Corrupt, name);
  return it->second;
}

// The dimensions of a shape that are not 1 (GGUF writers drop leading size-1 dimensions).
std::vector<int64_t> squeezed(const std::vector<int64_t>& shape) {
  std::vector<int64_t> out;
  for (auto d : shape)
    if (d != 1) out.push_back(d);
  return out;
}

// Rows and columns of a Linear weight [out, in].
std::pair<int64_t, int64_t> linear_shape(const ShapeMap& s, const std::string& name) {
  const auto& w = need_shape(s, name);
  if (w.size() != 2)
    throw Error("the DiT tensor '" + name + "' is not a matrix (shape has " + std::to_string(w.size()) + " dimensions)",
                ErrorKind::Corrupt, name);
  return {w[0], w[1]};
}

int64_t count_prefix(const ShapeMap& s, const std::string& prefix, const std::string& leaf) {
  int64_t n = 0;
  while (s.count(prefix + std::to_string(n) + leaf)) ++n;
  return n;
}

}  // namespace

bool looks_like_wan_dit(const ShapeMap& s, bool* s2v) {
  const bool dit = s.count("patch_embedding.weight") && s.count("blocks.0.self_attn.q.weight") &&
                   s.count("head.head.weight");
  if (s2v) *s2v = dit && s.count("casual_audio_encoder.weights") && s.count("audio_injector.injector.0.q.weight");
  return dit;
}

DiTConfig infer_dit_config(const ShapeMap& s, DiTConfig c) {
  const auto& patch = need_shape(s, "patch_embedding.weight");
  if (patch.size() != 5)
    throw Error("the DiT tensor 'patch_embedding.weight' must have 5 dimensions [dim, in_dim, pt, ph, pw]",
                ErrorKind::Corrupt, "patch_embedding.weight");
  c.dim = patch[0];
  c.in_dim = patch[1];
  c.patch_size = {patch[2], patch[3], patch[4]};
  c.num_heads = c.dim / 128 > 0 ? c.dim / 128 : 1;
  if (c.dim % 128 != 0)
    throw Error("cannot tell the DiT's head count from its width " + std::to_string(c.dim) +
                    " (not a multiple of 128); give its config.json as \"dit\" in s2v_model.json",
                ErrorKind::Corrupt, "patch_embedding.weight");
  c.text_dim = linear_shape(s, "text_embedding.0.weight").second;
  c.freq_dim = linear_shape(s, "time_embedding.0.weight").second;
  c.num_layers = count_prefix(s, "blocks.", ".self_attn.q.weight");
  if (c.num_layers == 0) throw Error("the DiT weights have no blocks", ErrorKind::Corrupt, "blocks.0.self_attn.q.weight");
  for (int64_t i = 0; i < c.num_layers; ++i)
    for (const char* leaf : {".ffn.0.weight", ".cross_attn.q.weight", ".modulation"})
      need_shape(s, "blocks." + std::to_string(i) + leaf);
  c.ffn_dim = linear_shape(s, "blocks.0.ffn.0.weight").first;
  const int64_t head_out = linear_shape(s, "head.head.weight").first;
  const int64_t patch_volume = c.patch_size[0] * c.patch_size[1] * c.patch_size[2];
  if (head_out % patch_volume != 0)
    throw Error("the DiT tensor 'head.head.weight' has " + std::to_string(head_out) +
                    " rows, not a multiple of the patch volume " + std::to_string(patch_volume),
                ErrorKind::Corrupt, "head.head.weight");
  c.out_dim = head_out / patch_volume;
  c.qk_norm = s.count("blocks.0.self_attn.norm_q.weight") != 0;
  c.cross_attn_norm = s.count("blocks.0.norm3.weight") != 0;
  c.cond_dim = s.count("cond_encoder.weight") ? need_shape(s, "cond_encoder.weight")[1] : 0;

  // CausalAudioEncoder: weights [1, layers, 1, 1]; conv1_local [dim/4 * tokens, audio_dim, 3]
  c.audio_num_layers = shape_numel(need_shape(s, "casual_audio_encoder.weights"));
  const auto local = squeezed(need_shape(s, "casual_audio_encoder.encoder.conv1_local.conv.weight"));
  if (local.size() != 3 || c.dim / 4 == 0 || local[0] % (c.dim / 4) != 0)
    throw Error("the DiT tensor 'casual_audio_encoder.encoder.conv1_local.conv.weight' does not fit a width of " +
                    std::to_string(c.dim),
                ErrorKind::Corrupt, "casual_audio_encoder.encoder.conv1_local.conv.weight");
  c.num_audio_token = local[0] / (c.dim / 4);
  c.audio_dim = local[1];
  c.enable_adain = s.count("casual_audio_encoder.encoder.conv1_global.conv.weight") != 0;
  // every adain_mode but "attn_norm" adds the output layers (AudioInjector_WAN)
  c.adain_mode = s.count("audio_injector.injector_adain_output_layers.0.weight") ? "adain" : "attn_norm";
  c.enable_framepack = s.count("frame_packer.proj.weight") != 0;

  const int64_t injectors = count_prefix(s, "audio_injector.injector.", ".q.weight");
  if (audio_injector_map(c.num_layers, c.audio_inject_layers).count != injectors) {
    const DiTConfig official;
    if (audio_injector_map(c.num_layers, official.audio_inject_layers).count == injectors)
      c.audio_inject_layers = official.audio_inject_layers;
    else
      throw Error("cannot tell after which blocks the DiT's " + std::to_string(injectors) +
                      " audio injectors run (the official list has 12 for 40 blocks); give its config.json as "
                      "\"dit\" in s2v_model.json",
                  ErrorKind::Corrupt, "audio_injector.injector.0.q.weight");
  }
  c.validate();
  return c;
}

}  // namespace s2v::wan
