#pragma once
// Internal to s2v_generate: where each component of a model is, how to read it under the official
// names, and the configurations of the four networks (docs/model-folder.md).
//
// A model is found in one of two folder layouts, and any component can be replaced by a file:
//   official  Wan-AI/Wan2.2-S2V-14B: config.json, diffusion_pytorch_model*.safetensors (+ index),
//             Wan2.1_VAE.pth, models_t5_umt5-xxl-enc-bf16.pth, google/umt5-xxl/,
//             wav2vec2-large-xlsr-53-english/ (the bundled demo model has this layout);
//   ComfyUI   a models/ folder: diffusion_models/, text_encoders/, vae/, audio_encoders/. Each
//             component is the file there whose tensors are that network (names, not file names,
//             decide: a Wan T2V DiT or a T5-XXL encoder beside them is skipped with a note).
// Configurations come, in this order, from s2v_model.json at the root ("dit", "t5", "vae",
// "wav2vec2", "text_len"), the official config files, and the tensor shapes themselves.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/generate/generate_params.h"
#include "models/wan/dit_config.h"

namespace s2v::weights {
class TensorSource;
}

namespace s2v::generate {

enum class Component { DiT, TextEncoder, Vae, AudioEncoder };
const char* to_string(Component c);  // "DiT", "umT5", "VAE", "wav2vec2"

struct ModelFiles {
  std::filesystem::path root;
  std::string layout;  // "official folder", "ComfyUI models folder"
  std::filesystem::path dit, dit_config, vae, t5, tokenizer, wav2vec2_config, wav2vec2_weights, overrides;
  bool dit_replaced = false;          // the DiT is a file of its own (--dit): its shapes come first
  bool tokenizer_embedded = false;    // the umT5 file carries the sentencepiece model (spiece_model)
  std::vector<std::string> notes;     // choices made: which of several files, what was skipped
  std::vector<std::string> problems;  // a component that was not found, one sentence each
};

// Never throws for a bad folder: what is missing is listed in problems.
ModelFiles locate_model_files(const std::filesystem::path& root, const ComponentOverrides& overrides = {});

// The component's weights under the official names: prefixes stripped, Hugging Face T5 names
// mapped, ComfyUI's scaled FP8 read as weight * scale. Throws s2v::Error naming the file.
std::shared_ptr<weights::TensorSource> open_component(const ModelFiles& files, Component c);

struct ModelConfigs {
  bool demo = false;
  std::string label;
  int64_t text_len = 512;
  wan::DiTConfig dit;
  std::string vae_json, t5_json;  // T5Encoder / WanVAE_ arguments (empty: the official ones)
  std::string wav2vec2_json;      // Hugging Face config.json text
};
// Throws s2v::Error naming the file for a missing or malformed configuration.
ModelConfigs read_model_configs(const ModelFiles& files);

}  // namespace s2v::generate
