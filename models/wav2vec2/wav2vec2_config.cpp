#include "models/wav2vec2/wav2vec2_config.h"

#include <type_traits>

#include <nlohmann/json.hpp>

#include "models/base/error.h"

namespace s2v::wav2vec2 {

Wav2Vec2Config Wav2Vec2Config::from_json(const std::string& json_text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const std::exception& e) {
    throw Error(std::string("cannot read the wav2vec2 configuration: ") + e.what(),
                ErrorKind::InvalidArgument);
  }
  Wav2Vec2Config c;
  try {
    auto get = [&](const char* key, auto& field) {
      if (j.contains(key) && !j[key].is_null()) field = j[key].get<std::decay_t<decltype(field)>>();
    };
    get("conv_dim", c.conv_dim);
    get("conv_kernel", c.conv_kernel);
    get("conv_stride", c.conv_stride);
    get("conv_bias", c.conv_bias);
    get("hidden_size", c.hidden_size);
    get("num_hidden_layers", c.num_hidden_layers);
    get("num_attention_heads", c.num_attention_heads);
    get("intermediate_size", c.intermediate_size);
    get("num_conv_pos_embeddings", c.num_conv_pos_embeddings);
    get("num_conv_pos_embedding_groups", c.num_conv_pos_embedding_groups);
    get("layer_norm_eps", c.layer_norm_eps);
    get("feat_extract_norm", c.feat_extract_norm);
    get("do_stable_layer_norm", c.do_stable_layer_norm);
    std::string act = "gelu";
    get("hidden_act", act);
    std::string feat_act = "gelu";
    get("feat_extract_activation", feat_act);
    if (act != "gelu" || feat_act != "gelu")
      throw Error("unsupported wav2vec2 configuration: activation '" + act + "'/'" + feat_act +
                      "' (only 'gelu' is implemented)",
                  ErrorKind::Unsupported);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("invalid wav2vec2 configuration: ") + e.what(),
                ErrorKind::InvalidArgument);
  }
  if (c.feat_extract_norm != "layer" || !c.do_stable_layer_norm)
    throw Error("unsupported wav2vec2 configuration: feat_extract_norm '" + c.feat_extract_norm +
                    "' with do_stable_layer_norm " + (c.do_stable_layer_norm ? "true" : "false") +
                    " (only the xlsr-53 structure, 'layer' + stable layer norm, is implemented)",
                ErrorKind::Unsupported);
  if (c.conv_dim.size() != c.conv_kernel.size() || c.conv_dim.size() != c.conv_stride.size() ||
      c.conv_dim.empty())
    throw Error("invalid wav2vec2 configuration: conv_dim, conv_kernel and conv_stride differ in "
                "length",
                ErrorKind::InvalidArgument);
  if (c.num_attention_heads <= 0 || c.hidden_size % c.num_attention_heads != 0)
    throw Error("invalid wav2vec2 configuration: hidden_size is not a multiple of the heads",
                ErrorKind::InvalidArgument);
  return c;
}

int64_t Wav2Vec2Config::num_frames(int64_t samples) const {
  // as _get_feat_extract_output_lengths: floor((L - k) / s) + 1 per conv
  int64_t len = samples;
  for (size_t i = 0; i < conv_kernel.size(); ++i) {
    if (len < conv_kernel[i]) return 0;
    len = (len - conv_kernel[i]) / conv_stride[i] + 1;
  }
  return len;
}

}  // namespace s2v::wav2vec2
