#pragma once
// The umT5 encoder under foreign names, and its configuration from tensor shapes alone. No
// LibTorch here.
//
// Hugging Face (and ComfyUI's text_encoders/umt5_xxl_*.safetensors) store the T5 encoder as
//   shared.weight                                              -> token_embedding.weight
//   encoder.block.N.layer.0.SelfAttention.{q,k,v,o}.weight     -> blocks.N.attn.{q,k,v,o}.weight
//   encoder.block.N.layer.0.SelfAttention.relative_attention_bias.weight
//                                                              -> blocks.N.pos_embedding.embedding.weight
//   encoder.block.N.layer.0.layer_norm.weight                  -> blocks.N.norm1.weight
//   encoder.block.N.layer.1.DenseReluDense.wi_0.weight         -> blocks.N.ffn.gate.0.weight
//   encoder.block.N.layer.1.DenseReluDense.wi_1.weight         -> blocks.N.ffn.fc1.weight
//   encoder.block.N.layer.1.DenseReluDense.wo.weight           -> blocks.N.ffn.fc2.weight
//   encoder.block.N.layer.1.layer_norm.weight                  -> blocks.N.norm2.weight
//   encoder.final_layer_norm.weight                            -> norm.weight
// (the gated FFN is gelu(wi_0 x) * wi_1 x, which is gate(x) * fc1(x) in wan/modules/t5.py).
// umT5 differs from T5 v1.1 in having a relative position bias in every block, which is how
// detect_umt5 tells them apart.

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "models/base/shape_map.h"

namespace s2v::t5 {

// The tensor ComfyUI embeds the sentencepiece model in (uint8 bytes of the .model file).
inline constexpr const char* kEmbeddedTokenizer = "spiece_model";

// True when the names are a T5 encoder under Hugging Face names (possibly under a prefix).
bool has_hf_t5_names(const std::vector<std::string>& names);

// The official name of a Hugging Face T5 encoder tensor, "" for tensors the encoder does not use
// (the decoder, lm_head, the embedded tokenizer, a duplicate encoder.embed_tokens). Anything before
// "encoder." / "shared." (a bundle's prefix) is dropped. Names already official pass unchanged.
std::string umt5_name_from_hf(const std::string& name);

enum class T5Kind { NotT5, UMT5, T5 };
// What official-named shapes hold: an umT5 encoder, a plain T5 encoder (position bias in block 0
// only), or neither.
T5Kind detect_umt5(const ShapeMap& official_shapes);

// T5Encoder arguments (vocab, dim, dim_attn, dim_ffn, num_heads, num_layers, num_buckets,
// shared_pos) read off official-named shapes. Throws s2v::Error(Corrupt) naming the tensor that is
// missing or inconsistent (a file missing a block, say).
nlohmann::json infer_umt5_config(const ShapeMap& official_shapes);

}  // namespace s2v::t5
