#include "models/t5/umt5_names.h"

#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "models/base/error.h"

namespace s2v::t5 {

namespace {

const std::vector<int64_t>* find(const ShapeMap& s, const std::string& name) {
  auto it = s.find(name);
  return it == s.end() ? nullptr : &it->second;
}

const std::vector<int64_t>& need(const ShapeMap& s, const std::string& name, size_t rank) {
  const auto* shape = find(s, name);
  if (!shape) throw Error("the umT5 weights have no '" + name + "'", ErrorKind::Corrupt, name);
  if (shape->size() != rank)
    throw Error("the umT5 tensor '" + name + "' has " + std::to_string(shape->size()) + " dimensions, not " +
                    std::to_string(rank),
                ErrorKind::Corrupt, name);
  return *shape;
}

}  // namespace

bool has_hf_t5_names(const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (n.find("encoder.block.0.layer.0.SelfAttention.") != std::string::npos) return true;
  return false;
}

std::string umt5_name_from_hf(const std::string& name) {
  static const std::regex block(R"(^encoder\.block\.(\d+)\.layer\.([01])\.(.+)$)");
  if (name == kEmbeddedTokenizer || name.rfind("decoder.", 0) == 0 || name.rfind("lm_head.", 0) == 0) return {};
  // drop a bundle's prefix ("text_encoders.umt5xxl.transformer.", ...)
  std::string n = name;
  for (const char* anchor : {"encoder.", "shared."}) {
    const auto pos = n.find(anchor);
    if (pos != std::string::npos && pos > 0 && n[pos - 1] == '.' && n.find("blocks.") != 0) {
      n = n.substr(pos);
      break;
    }
  }
  if (n == "shared.weight") return "token_embedding.weight";
  if (n == "encoder.embed_tokens.weight") return {};  // tied to shared.weight
  if (n == "encoder.final_layer_norm.weight") return "norm.weight";
  std::smatch m;
  if (!std::regex_match(n, m, block)) return n;  // official or unknown: validation reports it
  const std::string b = "blocks." + m[1].str() + ".";
  const std::string rest = m[3].str();
  if (m[2] == "0") {
    if (rest == "layer_norm.weight") return b + "norm1.weight";
    if (rest == "SelfAttention.relative_attention_bias.weight") return b + "pos_embedding.embedding.weight";
    for (const char* p : {"q", "k", "v", "o"})
      if (rest == std::string("SelfAttention.") + p + ".weight") return b + "attn." + p + ".weight";
  } else {
    if (rest == "layer_norm.weight") return b + "norm2.weight";
    if (rest == "DenseReluDense.wi_0.weight") return b + "ffn.gate.0.weight";
    if (rest == "DenseReluDense.wi_1.weight") return b + "ffn.fc1.weight";
    if (rest == "DenseReluDense.wo.weight") return b + "ffn.fc2.weight";
  }
  return n;
}

T5Kind detect_umt5(const ShapeMap& s) {
  if (!find(s, "token_embedding.weight") || !find(s, "blocks.0.attn.q.weight")) return T5Kind::NotT5;
  if (find(s, "blocks.1.attn.q.weight") && !find(s, "blocks.1.pos_embedding.embedding.weight")) return T5Kind::T5;
  return T5Kind::UMT5;
}

nlohmann::json infer_umt5_config(const ShapeMap& s) {
  const auto& emb = need(s, "token_embedding.weight", 2);
  const auto& q = need(s, "blocks.0.attn.q.weight", 2);
  const auto& gate = need(s, "blocks.0.ffn.gate.0.weight", 2);
  const bool shared_pos = find(s, "pos_embedding.embedding.weight") != nullptr;
  const auto& pos = need(s, shared_pos ? "pos_embedding.embedding.weight" : "blocks.0.pos_embedding.embedding.weight", 2);
  std::set<int64_t> blocks;
  static const std::regex block(R"(^blocks\.(\d+)\.)");
  for (const auto& [name, _] : s) {
    std::smatch m;
    if (std::regex_search(name, m, block)) blocks.insert(std::stoll(m[1].str()));
  }
  const int64_t layers = blocks.empty() ? 0 : *blocks.rbegin() + 1;
  for (int64_t i = 0; i < layers; ++i)
    if (!blocks.count(i))
      throw Error("the umT5 weights have no block " + std::to_string(i) + " (blocks 0.." + std::to_string(layers - 1) +
                      " expected)",
                  ErrorKind::Corrupt, "blocks." + std::to_string(i));
  return nlohmann::json{{"vocab", emb[0]},          {"dim", emb[1]},         {"dim_attn", q[0]},
                        {"dim_ffn", gate[0]},       {"num_heads", pos[1]},   {"num_layers", layers},
                        {"num_buckets", pos[0]},    {"shared_pos", shared_pos}};
}

}  // namespace s2v::t5
