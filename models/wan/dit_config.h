#pragma once
// DiTConfig: the constructor arguments of WanModel_S2V (wan/modules/s2v/model_s2v.py), with the
// real Wan2.2-S2V-14B values as defaults (wan/configs/wan_s2v_14B.py), and the list of parameter
// names and shapes that configuration implies. No LibTorch here: the loader's validation and the
// memory estimate work from this header alone.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "models/base/shape_map.h"

namespace s2v::wan {

struct DiTConfig {
  // Names and meanings follow the official constructor arguments.
  std::array<int64_t, 3> patch_size{1, 2, 2};
  int64_t text_len = 512;
  int64_t in_dim = 16;
  int64_t dim = 5120;
  int64_t ffn_dim = 13824;
  int64_t freq_dim = 256;
  int64_t text_dim = 4096;
  int64_t out_dim = 16;
  int64_t num_heads = 40;
  int64_t num_layers = 40;
  std::array<int64_t, 2> window_size{-1, -1};  // only global attention (-1, -1) is supported
  bool qk_norm = true;
  bool cross_attn_norm = true;
  double eps = 1e-6;

  // S2V specifics.
  int64_t cond_dim = 16;  // 0: no cond_encoder (pose) branch
  int64_t audio_dim = 1024;
  int64_t num_audio_token = 4;
  int64_t audio_num_layers = 25;  // wav2vec2 hidden states (24 layers + features); fixed upstream
  bool enable_adain = true;
  std::string adain_mode = "attn_norm";
  std::vector<int64_t> audio_inject_layers{0, 4, 8, 12, 16, 20, 24, 27, 30, 33, 36, 39};
  bool zero_init = true;       // initialisation only; no effect on a loaded model
  bool zero_timestep = true;   // ref/motion tokens modulated with t = 0
  bool enable_motioner = false;  // MotionerTransformers: not supported here
  bool add_last_motion = true;
  bool enable_tsm = false;
  bool trainable_token_pos_emb = false;
  int64_t motion_token_num = 1024;
  bool enable_framepack = true;
  std::string framepack_drop_mode = "padd";  // "drop" or anything else (= pad with zeros)
  std::vector<int64_t> zip_frame_buckets{1, 2, 16};  // FramePackMotioner default

  int64_t head_dim() const { return dim / num_heads; }

  // Reads the official constructor-argument names (as in the parity metadata `config` or a
  // checkpoint's config.json); keys that are absent keep their defaults, unknown keys are ignored.
  // Throws s2v::Error(InvalidArgument) for values of the wrong type or an inconsistent config.
  static DiTConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;

  // Throws s2v::Error(InvalidArgument / Unsupported) naming the first problem.
  void validate() const;
};

// One entry per parameter of WanModel_S2V for this config, in the official state_dict names.
using ParameterShapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;
ParameterShapes expected_parameters(const DiTConfig& config);

// Which audio injector follows which block, as AudioInjector_WAN builds it: a block counts for an
// entry `id` of inject_layers when its module name "transformer_blocks.<i>" contains
// "transformer_blocks.<id>" (a textual prefix match: id 1 also matches blocks 10..19), each match
// creates one injector, and after block `id` the last injector created for `id` runs. For the real
// config ([0, 4, ..., 39] over 40 blocks) this is the identity order 0..11.
struct AudioInjectorMap {
  int64_t count = 0;                          // injectors created (= checkpoint entries)
  std::map<int64_t, int64_t> after_block;     // block index -> injector index
};
AudioInjectorMap audio_injector_map(int64_t num_layers, const std::vector<int64_t>& inject_layers);

// The configuration read off a checkpoint's tensor shapes (official names, no prefix), as ComfyUI
// reads its single files: dim, in_dim and patch_size from patch_embedding, text_dim, freq_dim,
// ffn_dim, out_dim, num_layers, cond_dim, the audio encoder's sizes, qk_norm / cross_attn_norm /
// enable_adain / framepack by presence; num_heads as dim / 128 (the head size of every Wan DiT).
// audio_inject_layers cannot be read off names: the official list is used when the number of
// injectors matches it, otherwise s2v::Error asks for the configuration (s2v_model.json "dit").
// text_len is not in the weights and stays 512 unless `defaults` says otherwise. Shapes may lack
// size-1 dimensions (GGUF writers drop them): sizes are read from dimensions that are not 1 or from
// element counts. Throws s2v::Error(Corrupt) naming the first missing or inconsistent tensor.
DiTConfig infer_dit_config(const ShapeMap& shapes, DiTConfig defaults = {});

// True when the shapes hold a Wan DiT (patch_embedding and blocks); s2v tells whether it has the
// speech-to-video audio layers (a Wan T2V / I2V DiT does not).
bool looks_like_wan_dit(const ShapeMap& shapes, bool* s2v = nullptr);

// Total number of elements over expected_parameters(config).
int64_t parameter_count(const DiTConfig& config);

}  // namespace s2v::wan
