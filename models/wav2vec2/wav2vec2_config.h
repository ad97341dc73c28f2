#pragma once
// The wav2vec2 configuration (Hugging Face config.json names), apart from the network so that
// torch-free code (the memory estimate the GUI shows) can read it. No LibTorch here.

#include <cstdint>
#include <string>
#include <vector>

namespace s2v::wav2vec2 {

constexpr double kWav2Vec2Rate = 50.0;  // hidden-state frames per second at 16 kHz

// Defaults are wav2vec2-large-xlsr-53(-english); names follow HF's config.json.
struct Wav2Vec2Config {
  std::vector<int64_t> conv_dim = {512, 512, 512, 512, 512, 512, 512};
  std::vector<int64_t> conv_kernel = {10, 3, 3, 3, 3, 2, 2};
  std::vector<int64_t> conv_stride = {5, 2, 2, 2, 2, 2, 2};
  bool conv_bias = true;
  int64_t hidden_size = 1024;
  int64_t num_hidden_layers = 24;
  int64_t num_attention_heads = 16;
  int64_t intermediate_size = 4096;
  int64_t num_conv_pos_embeddings = 128;
  int64_t num_conv_pos_embedding_groups = 16;
  double layer_norm_eps = 1e-5;
  // Only the xlsr-53 flavour is implemented; from_json rejects others.
  std::string feat_extract_norm = "layer";
  bool do_stable_layer_norm = true;

  // From HF config.json text (absent keys keep the defaults). Throws s2v::Error(InvalidArgument
  // / Unsupported) for malformed JSON or a flavour other than layer-norm + stable layer norm.
  static Wav2Vec2Config from_json(const std::string& json_text);
  // Number of output frames (50 Hz for 16 kHz input) the conv stack yields for `samples` inputs.
  int64_t num_frames(int64_t samples) const;
};

}  // namespace s2v::wav2vec2
