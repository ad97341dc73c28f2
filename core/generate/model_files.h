#pragma once
// Internal to s2v_generate: where each file of a model folder is, and the configurations read from
// config.json, s2v_model.json and the wav2vec2 config (docs/model-folder.md).

#include <filesystem>
#include <string>

#include "models/wan/dit_config.h"

namespace s2v::generate {

struct ModelFiles {
  std::filesystem::path root, dit, dit_config, vae, t5, tokenizer, wav2vec2, wav2vec2_weights, overrides;
};
ModelFiles locate_model_files(const std::filesystem::path& root);

struct ModelConfigs {
  bool demo = false;
  std::string label;
  int64_t text_len = 512;
  wan::DiTConfig dit;
  std::string vae_json, t5_json;  // empty: the official configurations
  std::string wav2vec2_json;      // the Hugging Face config.json text
};
// Throws s2v::Error naming the file for a missing or malformed configuration.
ModelConfigs read_model_configs(const ModelFiles& files);

}  // namespace s2v::generate
