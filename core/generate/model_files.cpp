// Where each component of a model is and how to read it (see model_files.h, docs/model-folder.md).
#include "core/generate/model_files.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/generate/model_folder.h"
#include "models/base/error.h"
#include "models/t5/umt5_names.h"
#include "models/wan/dit_config.h"
#include "models/wav2vec2/wav2vec2_names.h"
#include "models/weights/checkpoint.h"
#include "models/weights/key_map.h"
#include "models/weights/source_views.h"

namespace fs = std::filesystem;

namespace s2v::generate {

const char* to_string(Component c) {
  switch (c) {
    case Component::DiT: return "DiT";
    case Component::TextEncoder: return "umT5";
    case Component::Vae: return "VAE";
    case Component::AudioEncoder: return "wav2vec2";
  }
  return "?";
}

namespace {

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error("cannot read " + quoted(p), ErrorKind::NotFound, p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json read_json(const fs::path& p) {
  try {
    return nlohmann::json::parse(read_text(p));
  } catch (const nlohmann::json::exception& e) {
    throw Error(quoted(p) + " is not valid JSON: " + e.what(), ErrorKind::Corrupt, p.string());
  }
}

// ---- how each network's names are read ----------------------------------------------------

std::vector<std::string> official_dit_names() {
  std::vector<std::string> out;
  for (const auto& [name, _] : wan::expected_parameters(wan::DiTConfig{})) out.push_back(name);
  return out;
}

std::shared_ptr<weights::TensorSource> dit_view(std::shared_ptr<weights::TensorSource> src) {
  src = weights::apply_scaled_fp8(std::move(src));
  return weights::apply_key_map(src, weights::detect_key_map(src->names(), official_dit_names()));
}

std::shared_ptr<weights::TensorSource> t5_view(std::shared_ptr<weights::TensorSource> src) {
  src = weights::apply_scaled_fp8(std::move(src));
  const auto names = src->names();
  const bool embedded = std::find(names.begin(), names.end(), t5::kEmbeddedTokenizer) != names.end();
  if (!t5::has_hf_t5_names(names) && !embedded) return src;
  return weights::apply_rename(src, t5::umt5_name_from_hf, "Hugging Face T5 names");
}

std::shared_ptr<weights::TensorSource> plain_view(std::shared_ptr<weights::TensorSource> src) {
  return weights::apply_scaled_fp8(std::move(src));
}

ShapeMap wav2vec2_shapes(const weights::TensorSource& src) {
  ShapeMap out;
  for (const auto& n : src.names()) out.emplace(wav2vec2::canonical_name(n), src.meta(n).shape);
  return out;
}

// ---- recognising a file by its tensors ------------------------------------------------------

struct Recognised {
  std::optional<Component> kind;
  std::string not_this;  // why a file that looks like a network is not the one S2V needs
};

Recognised recognise(const fs::path& file) {
  Recognised r;
  auto raw = weights::open_checkpoint(file);
  {
    auto dit = dit_view(raw);
    bool s2v = false;
    if (wan::looks_like_wan_dit(weights::shapes_of(*dit), &s2v)) {
      if (s2v) r.kind = Component::DiT;
      else r.not_this = "a Wan DiT without the speech-to-video audio layers (T2V / I2V), not Wan2.2-S2V";
      return r;
    }
  }
  {
    const auto kind = t5::detect_umt5(weights::shapes_of(*t5_view(raw)));
    if (kind == t5::T5Kind::UMT5) r.kind = Component::TextEncoder;
    if (kind == t5::T5Kind::T5) r.not_this = "a T5 text encoder, not umT5 (its blocks share one position bias)";
    if (kind != t5::T5Kind::NotT5) return r;
  }
  const auto shapes = weights::shapes_of(*raw);
  if (shapes.count("encoder.conv1.weight") && shapes.count("decoder.conv1.weight") && shapes.count("conv1.weight")) {
    const auto& conv1 = shapes.at("conv1.weight");
    if (!conv1.empty() && conv1[0] == 32) r.kind = Component::Vae;
    else r.not_this = "a video VAE with " + std::to_string(conv1.empty() ? 0 : conv1[0] / 2) +
                      " latent channels (Wan2.2-S2V uses the Wan 2.1 VAE, 16)";
    return r;
  }
  if (wav2vec2::looks_like_wav2vec2(wav2vec2_shapes(*raw))) r.kind = Component::AudioEncoder;
  return r;
}

bool is_weight_file(const fs::path& p) {
  static const char* exts[] = {".safetensors", ".gguf", ".pth", ".pt", ".bin", ".ckpt"};
  const auto e = p.extension().string();
  return std::any_of(std::begin(exts), std::end(exts), [&](const char* x) { return e == x; });
}

// Weight files under folder (two levels of sub-folders, as ComfyUI allows), sorted.
std::vector<fs::path> weight_files(const fs::path& folder) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it.depth() > 2) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && is_weight_file(it->path()) && it->path().filename().string().rfind(".", 0) != 0)
      out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct ComfyFolder {
  Component kind;
  const char* folder;
  const char* what;
};
const ComfyFolder kComfyFolders[] = {
    {Component::DiT, "diffusion_models", "the Wan2.2-S2V DiT"},
    {Component::TextEncoder, "text_encoders", "the umT5-XXL text encoder"},
    {Component::Vae, "vae", "the Wan 2.1 VAE"},
    {Component::AudioEncoder, "audio_encoders", "the wav2vec2 audio encoder"},
};

bool is_comfy_tree(const fs::path& root) {
  std::error_code ec;
  for (const auto& f : kComfyFolders)
    if (fs::is_directory(root / f.folder, ec)) return true;
  return false;
}

// Chooses each component of a ComfyUI models/ folder by what its files hold.
void locate_comfy(ModelFiles& f, const ComponentOverrides& o) {
  std::map<Component, std::vector<fs::path>> found;
  for (const auto& cf : kComfyFolders) {
    for (const auto& file : weight_files(f.root / cf.folder)) {
      try {
        const auto r = recognise(file);
        if (r.kind) found[*r.kind].push_back(file);
        else if (!r.not_this.empty()) f.notes.push_back(quoted(file) + " skipped: " + r.not_this);
      } catch (const std::exception& e) {
        f.notes.push_back(quoted(file) + " skipped: " + e.what());
      }
    }
  }
  auto choose = [&](const ComfyFolder& cf, fs::path& target, const std::string& flag, bool overridden) {
    if (overridden) return;
    const auto& files = found[cf.kind];
    if (files.empty()) {
      f.problems.push_back("no file in " + quoted(f.root / cf.folder) + " holds " + cf.what + " (or name one with --" +
                           flag + ")");
      return;
    }
    target = files.front();
    if (files.size() > 1) {
      std::string others;
      for (size_t i = 1; i < files.size(); ++i) others += (i > 1 ? ", " : "") + files[i].filename().string();
      f.notes.push_back("using " + files.front().filename().string() + " for " + cf.what + "; also found " + others +
                        " (choose with --" + flag + ")");
    }
  };
  choose(kComfyFolders[0], f.dit, "dit", !o.dit.empty());
  choose(kComfyFolders[1], f.t5, "text_encoder", !o.text_encoder.empty());
  choose(kComfyFolders[2], f.vae, "vae", !o.vae.empty());
  choose(kComfyFolders[3], f.wav2vec2_weights, "audio_encoder", !o.audio_encoder.empty());
}

void locate_official(ModelFiles& f) {
  const fs::path& root = f.root;
  std::error_code ec;
  if (!fs::exists(root / "config.json", ec) && !fs::exists(root / "diffusion_pytorch_model.safetensors.index.json", ec) &&
      !fs::exists(root / "diffusion_pytorch_model.safetensors", ec))
    f.problems.push_back("'" + root.string() +
                         "' is neither a Wan2.2-S2V-14B folder (config.json, diffusion_pytorch_model*.safetensors, "
                         "Wan2.1_VAE.pth, ...) nor a ComfyUI models folder (diffusion_models/, text_encoders/, vae/, "
                         "audio_encoders/)");
  const fs::path index = root / "diffusion_pytorch_model.safetensors.index.json";
  f.dit = fs::exists(index) ? index : root / "diffusion_pytorch_model.safetensors";
  if (fs::exists(root / "config.json")) f.dit_config = root / "config.json";
  for (const char* name : {"Wan2.1_VAE.pth", "Wan2.1_VAE.safetensors"})
    if (fs::exists(root / name)) f.vae = root / name;
  if (f.vae.empty()) f.vae = root / "Wan2.1_VAE.pth";
  for (const char* name : {"models_t5_umt5-xxl-enc-bf16.pth", "models_t5_umt5-xxl-enc-bf16.safetensors"})
    if (fs::exists(root / name)) f.t5 = root / name;
  if (f.t5.empty()) f.t5 = root / "models_t5_umt5-xxl-enc-bf16.pth";
  const fs::path w2v = root / "wav2vec2-large-xlsr-53-english";
  f.wav2vec2_config = w2v / "config.json";
  for (const char* name : {"model.safetensors", "pytorch_model.bin"})
    if (fs::exists(w2v / name)) f.wav2vec2_weights = w2v / name;
  if (f.wav2vec2_weights.empty()) f.wav2vec2_weights = w2v / "model.safetensors";
}

bool has_embedded_tokenizer(const fs::path& t5) {
  try {
    return weights::open_checkpoint(t5)->contains(t5::kEmbeddedTokenizer);
  } catch (const std::exception&) {
    return false;  // the component check reports an unreadable file
  }
}

}  // namespace

ModelFiles locate_model_files(const fs::path& root_in, const ComponentOverrides& o) {
  ModelFiles f;
  f.root = root_in;
  std::error_code ec;
  // a ComfyUI install folder holds its models/ folder
  if (!is_comfy_tree(f.root) && is_comfy_tree(f.root / "models")) f.root = f.root / "models";
  f.overrides = f.root / "s2v_model.json";
  if (!root_in.empty() && !fs::is_directory(root_in, ec)) {
    f.problems.push_back("the model folder " + quoted(root_in) + " does not exist");
  } else if (!root_in.empty() && is_comfy_tree(f.root)) {
    f.layout = "ComfyUI models folder";
    locate_comfy(f, o);
  } else if (!root_in.empty()) {
    f.layout = "official folder";
    locate_official(f);
  }

  // per-component files replace the folder's
  if (!o.dit.empty()) {
    f.dit = o.dit;
    f.dit_replaced = true;
  }
  if (!o.text_encoder.empty()) f.t5 = o.text_encoder;
  if (!o.vae.empty()) f.vae = o.vae;
  if (!o.audio_encoder.empty()) {
    fs::path a = o.audio_encoder;
    if (fs::is_directory(a, ec)) {  // a Hugging Face folder
      f.wav2vec2_config = a / "config.json";
      f.wav2vec2_weights = fs::exists(a / "model.safetensors") ? a / "model.safetensors" : a / "pytorch_model.bin";
    } else {
      f.wav2vec2_weights = a;
      f.wav2vec2_config = fs::exists(a.parent_path() / "config.json") ? a.parent_path() / "config.json" : fs::path();
    }
  }
  if (!f.root.empty() && f.layout.empty()) f.layout = "component files";

  // the tokenizer: --tokenizer, the official folder, embedded in the umT5 file, or beside the tree
  if (!o.tokenizer.empty()) {
    f.tokenizer = o.tokenizer;
  } else if (!f.t5.empty() && has_embedded_tokenizer(f.t5)) {
    f.tokenizer_embedded = true;
  } else {
    for (const fs::path& c : {f.root / "google" / "umt5-xxl", f.root.parent_path() / "google" / "umt5-xxl",
                              f.t5.parent_path() / "google" / "umt5-xxl"})
      if (fs::exists(c / "spiece.model", ec)) {
        f.tokenizer = c;
        break;
      }
    if (f.tokenizer.empty()) f.tokenizer = f.root / "google" / "umt5-xxl";
  }
  return f;
}

std::shared_ptr<weights::TensorSource> open_component(const ModelFiles& f, Component c) {
  switch (c) {
    case Component::DiT: return dit_view(weights::open_checkpoint(f.dit));
    case Component::TextEncoder: return t5_view(weights::open_checkpoint(f.t5));
    case Component::Vae: return plain_view(weights::open_checkpoint(f.vae));
    case Component::AudioEncoder: return plain_view(weights::open_checkpoint(f.wav2vec2_weights));
  }
  throw Error("unknown model component", ErrorKind::InvalidArgument);
}

ModelConfigs read_model_configs(const ModelFiles& files) {
  ModelConfigs c;
  nlohmann::json overrides = nlohmann::json::object();
  if (!files.overrides.empty() && fs::exists(files.overrides)) {
    overrides = read_json(files.overrides);
    if (!overrides.is_object()) throw Error(quoted(files.overrides) + " is not a JSON object", ErrorKind::Corrupt);
    c.demo = overrides.value("demo", false);
    c.label = overrides.value("label", std::string());
  }

  // DiT: s2v_model.json "dit", the file's own configuration (safetensors metadata "config", GGUF
  // "s2v.config"), config.json, or its shapes. A DiT given with --dit is read off its shapes before
  // the folder's config.json, which describes the folder's own DiT.
  auto dit = open_component(files, Component::DiT);
  const auto meta = dit->metadata();
  auto meta_config = [&]() -> std::optional<std::string> {
    for (const char* key : {"config", "s2v.config"})
      if (auto it = meta.find(key); it != meta.end()) return it->second;
    return std::nullopt;
  };
  auto from_config_json = [&] { return wan::DiTConfig::from_json(read_json(files.dit_config)); };
  const bool have_config_json = !files.dit_config.empty() && fs::exists(files.dit_config);
  if (overrides.contains("dit")) {
    c.dit = wan::DiTConfig::from_json(overrides["dit"]);
  } else if (auto text = meta_config()) {
    try {
      c.dit = wan::DiTConfig::from_json(nlohmann::json::parse(*text));
    } catch (const nlohmann::json::exception& e) {
      throw Error("the DiT " + dit->describe() + " has a configuration entry that is not JSON: " + e.what(),
                  ErrorKind::Corrupt, files.dit.string());
    }
  } else if (have_config_json && !files.dit_replaced) {
    c.dit = from_config_json();
  } else if (!have_config_json) {
    c.dit = wan::infer_dit_config(weights::shapes_of(*dit));
  } else {
    try {
      c.dit = wan::infer_dit_config(weights::shapes_of(*dit));
    } catch (const Error&) {
      c.dit = from_config_json();  // shapes do not tell everything: the folder's DiT configuration
    }
  }
  c.dit.validate();
  c.text_len = overrides.value("text_len", c.dit.text_len);

  // umT5: s2v_model.json "t5", or its shapes
  if (overrides.contains("t5")) c.t5_json = overrides["t5"].dump();
  else c.t5_json = t5::infer_umt5_config(weights::shapes_of(*open_component(files, Component::TextEncoder))).dump();

  if (overrides.contains("vae")) c.vae_json = overrides["vae"].dump();

  // wav2vec2: s2v_model.json "wav2vec2", its config.json, or its shapes
  if (overrides.contains("wav2vec2")) c.wav2vec2_json = overrides["wav2vec2"].dump();
  else if (!files.wav2vec2_config.empty() && fs::exists(files.wav2vec2_config))
    c.wav2vec2_json = read_text(files.wav2vec2_config);
  else
    c.wav2vec2_json =
        wav2vec2::infer_wav2vec2_config(wav2vec2_shapes(*open_component(files, Component::AudioEncoder))).dump();

  if (c.label.empty()) {
    const auto name = files.root.empty() ? files.dit.stem() : files.root.filename();
    c.label = c.demo ? kDemoModelLabel : "Wan2.2-S2V (" + name.string() + ")";
  }
  if (c.demo) c.label = kDemoModelLabel;  // whatever the file says, a demo is labelled as one
  return c;
}

}  // namespace s2v::generate
