#include "models/wav2vec2/wav2vec2_names.h"

#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "models/base/error.h"

namespace s2v::wav2vec2 {

namespace {

const std::vector<int64_t>& need(const ShapeMap& s, const std::string& name, size_t rank) {
  auto it = s.find(name);
  if (it == s.end()) throw Error("the wav2vec2 weights have no '" + name + "'", ErrorKind::Corrupt, name);
  if (it->second.size() != rank)
    throw Error("the wav2vec2 tensor '" + name + "' has " + std::to_string(it->second.size()) +
                    " dimensions, not " + std::to_string(rank),
                ErrorKind::Corrupt, name);
  return it->second;
}

// Indices N of "<prefix>N." names, which must run 0..count-1 without gaps.
int64_t count_indexed(const ShapeMap& s, const std::string& prefix, const std::string& what) {
  std::set<int64_t> seen;
  const std::regex re("^" + std::regex_replace(prefix, std::regex(R"(\.)"), R"(\.)") + R"((\d+)\.)");
  for (const auto& [name, _] : s) {
    std::smatch m;
    if (std::regex_search(name, m, re)) seen.insert(std::stoll(m[1].str()));
  }
  const int64_t count = seen.empty() ? 0 : *seen.rbegin() + 1;
  for (int64_t i = 0; i < count; ++i)
    if (!seen.count(i))
      throw Error("the wav2vec2 weights have no " + what + " " + std::to_string(i), ErrorKind::Corrupt,
                  prefix + std::to_string(i));
  return count;
}

}  // namespace

std::string canonical_name(const std::string& stored) {
  std::string n = stored.rfind("wav2vec2.", 0) == 0 ? stored.substr(9) : stored;
  static const std::pair<const char*, const char*> renames[] = {
      {"parametrizations.weight.original0", "weight_g"}, {"parametrizations.weight.original1", "weight_v"}};
  for (const auto& [from, to] : renames) {
    const auto pos = n.find(from);
    if (pos != std::string::npos) n.replace(pos, std::string(from).size(), to);
  }
  return n;
}

bool looks_like_wav2vec2(const ShapeMap& s) {
  return s.count("feature_extractor.conv_layers.0.conv.weight") && s.count("encoder.layers.0.attention.q_proj.weight");
}

nlohmann::json infer_wav2vec2_config(const ShapeMap& s) {
  const int64_t conv_layers = count_indexed(s, "feature_extractor.conv_layers.", "feature-extractor layer");
  if (conv_layers == 0)
    throw Error("the wav2vec2 weights have no feature extractor", ErrorKind::Corrupt,
                "feature_extractor.conv_layers.0.conv.weight");
  std::vector<int64_t> conv_dim, conv_kernel;
  for (int64_t i = 0; i < conv_layers; ++i) {
    const auto& w = need(s, "feature_extractor.conv_layers." + std::to_string(i) + ".conv.weight", 3);
    conv_dim.push_back(w[0]);
    conv_kernel.push_back(w[2]);
  }
  const bool layer_norm = s.count("feature_extractor.conv_layers.1.layer_norm.weight") != 0;
  const auto& proj = need(s, "feature_projection.projection.weight", 2);
  const int64_t hidden = proj[0];
  const auto& ffn = need(s, "encoder.layers.0.feed_forward.intermediate_dense.weight", 2);
  const auto& pos = need(s, "encoder.pos_conv_embed.conv.weight_v", 3);
  nlohmann::json j{{"conv_dim", conv_dim},
                   {"conv_kernel", conv_kernel},
                   {"conv_bias", s.count("feature_extractor.conv_layers.0.conv.bias") != 0},
                   {"hidden_size", hidden},
                   {"num_hidden_layers", count_indexed(s, "encoder.layers.", "encoder layer")},
                   {"intermediate_size", ffn[0]},
                   {"num_conv_pos_embeddings", pos[2]},
                   {"num_conv_pos_embedding_groups", pos[1] > 0 ? hidden / pos[1] : 0},
                   {"feat_extract_norm", layer_norm ? "layer" : "group"},
                   {"do_stable_layer_norm", true}};
  if (hidden % 64 == 0) j["num_attention_heads"] = hidden / 64;
  else
    throw Error("cannot tell the wav2vec2 head count from its width " + std::to_string(hidden) +
                    " (not a multiple of 64); give the Hugging Face config as \"wav2vec2\" in s2v_model.json",
                ErrorKind::Corrupt, "encoder.layers.0.attention.q_proj.weight");
  return j;
}

}  // namespace s2v::wav2vec2
