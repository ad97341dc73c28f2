#pragma once
// wav2vec2 weights as single files (ComfyUI's audio_encoders/wav2vec2_large_english_fp16.safetensors,
// a Hugging Face model.safetensors): the names with or without the "wav2vec2." prefix, the
// positional convolution's weight norm as weight_g/weight_v or
// parametrizations.weight.original0/original1; and the Hugging Face config.json values that the
// tensor shapes determine. No LibTorch here.

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "models/base/shape_map.h"

namespace s2v::wav2vec2 {

// A stored name in one spelling: no "wav2vec2." prefix, weight norm as weight_g / weight_v.
std::string canonical_name(const std::string& stored);

// True when the (canonical) names hold a wav2vec2 feature extractor and encoder.
bool looks_like_wav2vec2(const ShapeMap& canonical_shapes);

// Hugging Face config.json keys read off canonical-named shapes: conv_dim, conv_kernel,
// conv_bias, hidden_size, num_hidden_layers, intermediate_size, num_conv_pos_embeddings,
// num_conv_pos_embedding_groups, feat_extract_norm; num_attention_heads as hidden_size / 64 (the
// head size of every released wav2vec2), conv_stride and the flags as xlsr-53's. Throws
// s2v::Error(Corrupt) naming a missing tensor.
nlohmann::json infer_wav2vec2_config(const ShapeMap& canonical_shapes);

}  // namespace s2v::wav2vec2
