// The bundled demo model: tiny random weights in the official folder layout (see demo_model.h).
#include "core/generate/demo_model.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/serialize.h>
#include <torch/torch.h>

#include "core/generate/model_folder.h"
#include "models/base/atomic_file.h"
#include "models/base/error.h"
#include "models/t5/tokenizer.h"
#include "models/t5/umt5.h"
#include "models/wan/dit_config.h"
#include "models/wan/dit_s2v.h"
#include "models/wan/vae.h"
#include "models/wav2vec2/wav2vec2.h"
#include "models/weights/quant_write.h"
#include "models/weights/safetensors.h"

namespace fs = std::filesystem;

namespace s2v::generate {
namespace {

std::vector<std::pair<std::string, torch::Tensor>> state_of(const torch::nn::Module& m, torch::ScalarType dtype) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.named_parameters()) out.emplace_back(p.key(), p.value().detach().to(dtype).contiguous());
  for (const auto& b : m.named_buffers()) out.emplace_back(b.key(), b.value().detach().contiguous());
  return out;
}

// A PyTorch zip archive holding {name: tensor}, as torch.save(state_dict) writes; read back by the
// restricted .pth reader (models/weights/pth.h) exactly like the official .pth files.
void write_pth(const fs::path& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t);
  const std::vector<char> bytes = torch::pickle_save(dict);
  write_file_atomically(path, std::string_view(bytes.data(), bytes.size()));
}

// Text for the demo tokenizer: prompt-like English and the official negative prompt, enough for a
// few hundred pieces.
std::string tokenizer_corpus() {
  std::string corpus;
  const char* lines[] = {
      "A woman with long dark hair sings softly in a warmly lit studio, looking at the camera.",
      "A man in a grey suit gives a speech on a stage, gesturing with his hands.",
      "A young girl talks excitedly about her day, smiling, in front of a bookshelf.",
      "An old fisherman tells a story by the sea at sunset, the wind moving his hair.",
      "A singer performs an emotional ballad under a blue spotlight on a dark stage.",
      "The reporter speaks clearly into a microphone on a busy city street in the rain.",
      "A teacher explains a lesson at the blackboard, calm and friendly, natural light.",
      "Close-up portrait, cinematic lighting, realistic skin, shallow depth of field, 4k.",
      "blurry, worst quality, subtitles, ugly, deformed, extra fingers, static frame, messy background",
  };
  for (int rep = 0; rep < 20; ++rep)
    for (const char* l : lines) corpus += std::string(l) + "\n";
  corpus += official_negative_prompt() + "\n";
  return corpus;
}

// The DiT as the files people download besides the official shards: ComfyUI's scaled FP8
// (comfy-kitchen layout, names under model.diffusion_model.) and GGUF Q8_0 / Q6_K / Q4_K as
// city96's ComfyUI-GGUF writes them (bare names, matrices quantised, vectors F32, 5-D convolutions
// F16, leading size-1 dimensions dropped as ggml's writer does). Same values as the shards.
void write_dit_variants(const fs::path& dir, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                        const std::string& config_json) {
  fs::create_directories(dir);
  auto floats = [](const torch::Tensor& t) {
    auto c = t.to(torch::kFloat32).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  auto bytes_of = [](const torch::Tensor& t) {
    auto c = t.contiguous();
    const auto* p = static_cast<const uint8_t*>(c.data_ptr());
    return std::vector<uint8_t>(p, p + c.numel() * c.element_size());
  };
  auto is_matrix = [](const std::string& name, const torch::Tensor& t) {
    return t.dim() == 2 && name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
  };

  // FP8 scaled: weight = fp8 * weight_scale, one scale per tensor (max |w| / 448)
  {
    std::vector<weights::RawTensorOut> out;
    for (const auto& [name, t] : tensors) {
      const std::string stored = "model.diffusion_model." + name;
      if (is_matrix(name, t) && (name.rfind("blocks.", 0) == 0 || name.rfind("audio_injector.", 0) == 0)) {
        const auto v = floats(t);
        float amax = 0.0f;
        for (float x : v) amax = std::max(amax, std::fabs(x));
        const float scale = amax > 0.0f ? amax / 448.0f : 1.0f;
        std::vector<uint8_t> q(v.size());
        for (size_t i = 0; i < v.size(); ++i) q[i] = weights::fp8_e4m3fn_from_float(v[i] / scale);
        out.push_back({stored, "F8_E4M3", t.sizes().vec(), q});
        std::vector<uint8_t> sb(4);
        std::memcpy(sb.data(), &scale, 4);
        const std::string base = stored.substr(0, stored.size() - 7);
        out.push_back({base + ".weight_scale", "F32", {}, sb});
        const std::string marker = R"({"format": "float8_e4m3fn"})";
        out.push_back({base + ".comfy_quant", "U8", {static_cast<int64_t>(marker.size())},
                       std::vector<uint8_t>(marker.begin(), marker.end())});
      } else {
        out.push_back({stored, "BF16", t.sizes().vec(), bytes_of(t.to(torch::kBFloat16))});
      }
    }
    weights::write_safetensors_raw(dir / "dit_fp8_scaled.safetensors", out, {{"format", "pt"}, {"config", config_json}});
  }

  // GGUF
  const std::pair<const char*, uint32_t> kinds[] = {
      {"q8_0", weights::ggml_id::Q8_0}, {"q6_k", weights::ggml_id::Q6_K}, {"q4_k", weights::ggml_id::Q4_K}};
  for (const auto& [label, type] : kinds) {
    std::vector<weights::GgufTensorOut> out;
    for (const auto& [name, t] : tensors) {
      weights::GgufTensorOut g;
      g.name = name;
      g.shape = t.sizes().vec();
      const auto v = floats(t);
      uint32_t ty = weights::ggml_id::F32;
      if (is_matrix(name, t)) {
        const int64_t block = type == weights::ggml_id::Q8_0 ? 32 : 256;
        ty = t.size(1) % block == 0 ? type : t.size(1) % 32 == 0 ? weights::ggml_id::Q8_0 : weights::ggml_id::F16;
      } else if (t.dim() == 5) {
        ty = weights::ggml_id::F16;
      }
      while (g.shape.size() > 1 && g.shape.front() == 1) g.shape.erase(g.shape.begin());
      const int64_t cols = g.shape.empty() ? 1 : g.shape.back();
      g.type = ty;
      g.bytes = weights::quantize_rows(ty, v.data(), static_cast<int64_t>(v.size()) / cols, cols);
      out.push_back(std::move(g));
    }
    weights::write_gguf(dir / ("dit_" + std::string(label) + ".gguf"), 
                        {{"general.architecture", std::string("wan")},
                         {"general.name", std::string("S2V Studio demo DiT (random weights)")},
                         {"s2v.config", config_json}},
                        out);
  }
}

}  // namespace

void make_demo_model(const fs::path& dir, uint64_t seed) {
  torch::NoGradGuard no_grad;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create '" + dir.string() + "': " + ec.message(), ErrorKind::Io, dir.string());
  torch::manual_seed(seed);

  // --- the DiT: the S2V architecture at a tiny width, official names, two shards + index ---
  // head_dim 128 as the real model, and rows of 256 so every GGUF block type fits
  wan::DiTConfig dit;
  dit.dim = 256;
  dit.ffn_dim = 512;
  dit.freq_dim = 32;
  dit.text_dim = 32;
  dit.num_heads = 2;
  dit.num_layers = 2;
  dit.audio_dim = 32;
  dit.audio_num_layers = 3;  // the demo wav2vec2 has 2 layers: 3 hidden states
  dit.audio_inject_layers = {0, 1};
  dit.validate();
  {
    nlohmann::json cfg = dit.to_json();
    cfg["_class_name"] = "WanModel_S2V";
    cfg["_note"] = "S2V Studio demo model: random weights, output is noise";
    write_file_atomically(dir / "config.json", cfg.dump(2));
    wan::WanModelS2V model(dit, torch::kFloat32);
    // random weights with a visible scale (zero_init leaves some projections at 0)
    for (auto& p : model->parameters()) p.normal_(0.0, 0.05);
    auto tensors = state_of(*model, torch::kBFloat16);  // stored in bf16 like the official shards
    const size_t half = tensors.size() / 2;
    nlohmann::json weight_map = nlohmann::json::object();
    const std::string shard_names[2] = {"diffusion_pytorch_model-00001-of-00002.safetensors",
                                        "diffusion_pytorch_model-00002-of-00002.safetensors"};
    std::vector<std::pair<std::string, torch::Tensor>> shard[2];
    for (size_t i = 0; i < tensors.size(); ++i) {
      shard[i < half ? 0 : 1].push_back(tensors[i]);
      weight_map[tensors[i].first] = shard_names[i < half ? 0 : 1];
    }
    uint64_t total = 0;
    for (const auto& [n, t] : tensors) total += static_cast<uint64_t>(t.numel() * t.element_size());
    for (int s = 0; s < 2; ++s) weights::save_safetensors(dir / shard_names[s], shard[s], {{"format", "pt"}});
    nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_file_atomically(dir / "diffusion_pytorch_model.safetensors.index.json", index.dump(2));
    write_dit_variants(dir / "variants", tensors, cfg.dump());
  }

  // --- the VAE (z_dim 16 as the real one, width 8) as a .pth archive ---
  const nlohmann::json vae_cfg = {{"dim", 8}, {"z_dim", 16}, {"dim_mult", {1, 2, 4, 4}}, {"num_res_blocks", 2},
                                  {"attn_scales", nlohmann::json::array()},
                                  {"temperal_downsample", {false, true, true}}, {"dropout", 0.0}};
  {
    wan::WanVae vae(wan::WanVaeConfig::from_json(vae_cfg.dump()));
    write_pth(dir / "Wan2.1_VAE.pth", state_of(vae.module(), torch::kFloat32));
  }

  // --- umT5 (bf16 .pth like models_t5_umt5-xxl-enc-bf16.pth) and its tokenizer ---
  const nlohmann::json t5_cfg = {{"vocab", 256}, {"dim", 32}, {"dim_attn", 32}, {"dim_ffn", 64}, {"num_heads", 4},
                                 {"num_layers", 2}, {"num_buckets", 32}, {"shared_pos", false}};
  {
    t5::UMT5Encoder model(t5::UMT5Config::from_json(t5_cfg.dump()));
    write_pth(dir / "models_t5_umt5-xxl-enc-bf16.pth", state_of(*model, torch::kBFloat16));
  }
  {
    const fs::path tok = dir / "google" / "umt5-xxl";
    fs::create_directories(tok);
    write_file_atomically(tok / "corpus.txt", tokenizer_corpus());
    // umT5's special ids: pad 0, eos 1, unk 2, no bos. The trainer logs its command line to stderr
    // whatever --minloglevel says; keep the build output quiet.
    const int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 2);
    struct Restore {
      int saved, devnull;
      ~Restore() {
        if (saved >= 0) dup2(saved, 2), close(saved);
        if (devnull >= 0) close(devnull);
      }
    } restore{saved, devnull};
    t5::train_sentencepiece("--input=" + (tok / "corpus.txt").string() + " --model_prefix=" +
                            (tok / "spiece").string() +
                            " --vocab_size=200 --hard_vocab_limit=false --pad_id=0 --eos_id=1 --unk_id=2"
                            " --bos_id=-1 --character_coverage=1.0 --minloglevel=2");
    fs::remove(tok / "corpus.txt");
    fs::remove(tok / "spiece.vocab", ec);
  }

  // --- wav2vec2 (Hugging Face folder: config.json + model.safetensors) ---
  {
    const fs::path w = dir / "wav2vec2-large-xlsr-53-english";
    fs::create_directories(w);
    const nlohmann::json hf = {{"architectures", {"Wav2Vec2ForCTC"}},
                               {"feat_extract_norm", "layer"},
                               {"conv_dim", {16, 16, 16, 16, 16, 16, 16}},
                               {"conv_kernel", {10, 3, 3, 3, 3, 2, 2}},
                               {"conv_stride", {5, 2, 2, 2, 2, 2, 2}},
                               {"conv_bias", true},
                               {"hidden_size", 32},
                               {"num_hidden_layers", 2},
                               {"num_attention_heads", 4},
                               {"intermediate_size", 64},
                               {"num_conv_pos_embeddings", 16},
                               {"num_conv_pos_embedding_groups", 4},
                               {"do_stable_layer_norm", true},
                               {"hidden_act", "gelu"},
                               {"layer_norm_eps", 1e-5}};
    write_file_atomically(w / "config.json", hf.dump(2));
    wav2vec2::Wav2Vec2Encoder model(wav2vec2::Wav2Vec2Config::from_json(hf.dump()));
    weights::save_safetensors(w / "model.safetensors", state_of(*model, torch::kFloat32), {{"format", "pt"}});
  }

  const nlohmann::json meta = {{"demo", true},
                               {"label", kDemoModelLabel},
                               {"seed", seed},
                               {"text_len", 512},
                               {"vae", vae_cfg},
                               {"t5", t5_cfg},
                               {"made_by", "s2v make-demo-model"}};
  write_file_atomically(dir / "s2v_model.json", meta.dump(2));
  write_file_atomically(dir / "README.txt",
             std::string(kDemoModelLabel) +
                 "\n\nThis folder has the layout of the official Wan2.2-S2V-14B checkpoint with tiny,\n"
                 "randomly initialised networks. It exercises every loader and the whole pipeline;\n"
                 "the videos it renders are noise. Point --ckpt_dir (or the Generate workspace's\n"
                 "model picker) at a real Wan2.2-S2V-14B folder to render real videos.\n");
}

}  // namespace s2v::generate
