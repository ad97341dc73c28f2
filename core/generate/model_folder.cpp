// Model folder discovery and validation (see model_folder.h, docs/model-folder.md); the value types,
// their JSON form and the memory estimate are in model_folder_info.cpp (no LibTorch).
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
#include "models/t5/umt5.h"
#include "models/wan/dit_config.h"
#include "models/wan/vae.h"
#include "models/wav2vec2/audio_bucket.h"
#include "models/wav2vec2/wav2vec2.h"
#include "models/weights/checkpoint.h"
#include "models/weights/inspect.h"
#include "models/weights/source_views.h"
#include "models/weights/validate.h"

namespace fs = std::filesystem;

namespace s2v::generate {

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
    // (a non-owning pointer: the source outlives this call)
    wav2vec2::load_wav2vec2(*model, std::shared_ptr<weights::TensorSource>(std::shared_ptr<weights::TensorSource>(), const_cast<weights::TensorSource*>(&src)));
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

}  // namespace s2v::generate
