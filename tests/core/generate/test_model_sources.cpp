// The model files users already have: a ComfyUI models/ folder (prefixed DiT, Hugging Face-named
// umT5 with its tokenizer inside, single-file wav2vec2, VAE safetensors), ComfyUI's scaled FP8 in
// both conventions, GGUF DiTs kept packed, configurations read off tensor shapes, and components
// replaced one at a time. The reference renders are the official-layout case folders of
// ../shared/testdata/pipeline (every folder with a case.json) and the bundled demo model.
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/media_files.h"
#include "core/generate/demo_model.h"
#include "core/generate/generate_job.h"
#include "core/generate/generate_params.h"
#include "core/generate/model_files.h"
#include "core/generate/model_folder.h"
#include "core/jobs/job_queue.h"
#include "core/media/video_reader.h"
#include "models/base/error.h"
#include "models/t5/umt5_names.h"
#include "models/wan/dit_config.h"
#include "models/weights/checkpoint.h"
#include "models/weights/ggml_quant.h"
#include "models/weights/quant_write.h"
#include "models/weights/safetensors.h"
#include "models/weights/source_views.h"

namespace fs = std::filesystem;
using namespace s2v;

namespace {

fs::path pipeline_dir() {
  if (const char* env = std::getenv("S2V_PIPELINE_DIR")) return env;
  if (const char* env = std::getenv("S2V_SHARED_DIR")) return fs::path(env) / "testdata" / "pipeline";
  return fs::path(S2V_SHARED_DIR) / "testdata" / "pipeline";
}

std::vector<fs::path> case_folders() {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(pipeline_dir(), ec))
    if (fs::exists(e.path() / "case.json")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using Named = std::vector<std::pair<std::string, torch::Tensor>>;

Named all_of(const weights::TensorSource& src, const std::function<std::string(const std::string&)>& rename) {
  Named out;
  for (const auto& n : src.names()) {
    const auto to = rename(n);
    if (!to.empty()) out.emplace_back(to, src.tensor(n).clone());
  }
  return out;
}

// The official umT5 name -> the Hugging Face one (the inverse of umt5_name_from_hf).
std::string hf_t5_name(const std::string& n) {
  if (n == "token_embedding.weight") return "shared.weight";
  if (n == "norm.weight") return "encoder.final_layer_norm.weight";
  const auto dot = n.find('.', 7);
  const std::string b = "encoder.block." + n.substr(7, dot - 7) + ".", rest = n.substr(dot + 1);
  static const std::map<std::string, std::string> map = {
      {"norm1.weight", "layer.0.layer_norm.weight"},
      {"attn.q.weight", "layer.0.SelfAttention.q.weight"},
      {"attn.k.weight", "layer.0.SelfAttention.k.weight"},
      {"attn.v.weight", "layer.0.SelfAttention.v.weight"},
      {"attn.o.weight", "layer.0.SelfAttention.o.weight"},
      {"pos_embedding.embedding.weight", "layer.0.SelfAttention.relative_attention_bias.weight"},
      {"norm2.weight", "layer.1.layer_norm.weight"},
      {"ffn.gate.0.weight", "layer.1.DenseReluDense.wi_0.weight"},
      {"ffn.fc1.weight", "layer.1.DenseReluDense.wi_1.weight"},
      {"ffn.fc2.weight", "layer.1.DenseReluDense.wo.weight"}};
  return b + map.at(rest);
}

torch::Tensor u8_tensor(const std::string& bytes) {
  return torch::from_blob(const_cast<char*>(bytes.data()), {static_cast<int64_t>(bytes.size())}, torch::kUInt8).clone();
}

// Repackages an official-layout folder as ComfyUI's models/ folder, with a decoy beside each
// component that the tensors (not the names) must reject.
void write_comfy_tree(const fs::path& official, const fs::path& tree) {
  for (const char* d : {"diffusion_models", "text_encoders", "vae", "audio_encoders"}) fs::create_directories(tree / d);
  const auto files = generate::locate_model_files(official);
  {
    auto src = weights::open_checkpoint(files.dit);
    weights::save_safetensors(tree / "diffusion_models" / "wan2.2_s2v_test_bf16.safetensors",
                              all_of(*src, [](const std::string& n) { return "model.diffusion_model." + n; }));
    // a Wan DiT without the audio layers (a T2V model)
    weights::save_safetensors(tree / "diffusion_models" / "a_wan2.1_t2v_decoy.safetensors",
                              {{"patch_embedding.weight", torch::zeros({8, 16, 1, 2, 2})},
                               {"blocks.0.self_attn.q.weight", torch::zeros({8, 8})},
                               {"head.head.weight", torch::zeros({64, 8})}});
  }
  {
    auto src = weights::open_checkpoint(files.t5);
    auto t = all_of(*src, hf_t5_name);
    t.emplace_back(t5::kEmbeddedTokenizer, u8_tensor(read_bytes(files.tokenizer / "spiece.model")));
    weights::save_safetensors(tree / "text_encoders" / "umt5_test.safetensors", t);
    // a T5 v1.1 encoder: a position bias in block 0 only
    weights::save_safetensors(tree / "text_encoders" / "a_t5xxl_decoy.safetensors",
                              {{"shared.weight", torch::zeros({16, 8})},
                               {"encoder.block.0.layer.0.SelfAttention.q.weight", torch::zeros({8, 8})},
                               {"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", torch::zeros({32, 2})},
                               {"encoder.block.1.layer.0.SelfAttention.q.weight", torch::zeros({8, 8})}});
  }
  {
    auto src = weights::open_checkpoint(files.vae);
    weights::save_safetensors(tree / "vae" / "wan_2.1_vae.safetensors", all_of(*src, [](const std::string& n) { return n; }));
  }
  {
    auto src = weights::open_checkpoint(files.wav2vec2_weights);
    weights::save_safetensors(tree / "audio_encoders" / "wav2vec2_test.safetensors", all_of(*src, [](std::string n) {
      if (n.rfind("lm_head.", 0) == 0 || n.find("masked_spec_embed") != std::string::npos) return std::string();
      if (n.rfind("wav2vec2.", 0) == 0) n = n.substr(9);
      for (const auto& [from, to] : {std::pair<std::string, std::string>{"weight_g", "parametrizations.weight.original0"},
                                     {"weight_v", "parametrizations.weight.original1"}}) {
        const auto pos = n.find(from);
        if (pos != std::string::npos) n.replace(pos, from.size(), to);
      }
      return n;
    }));
  }
  auto meta = fs::exists(official / "s2v_model.json") ? read_json(official / "s2v_model.json") : nlohmann::json::object();
  meta["dit"] = read_json(official / "config.json");
  meta["wav2vec2"] = read_json(files.wav2vec2_config);
  std::ofstream(tree / "s2v_model.json") << meta.dump(2);
}

// Runs one generation job to its end in a fresh queue under root.
jobs::JobRecord render(const fs::path& root, const generate::GenerateParams& p) {
  jobs::JobStore store(root);
  jobs::JobRegistry reg;
  reg.add(generate::kGenerateKind, generate::run_generate_job);
  jobs::JobQueue queue(store, reg);
  const auto id = queue.submit(generate::make_generate_spec(p));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (!queue.wait_until_idle(std::chrono::milliseconds(100)))
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("render did not finish in 10 minutes");
  return *queue.job(id);
}

double rel_error(const torch::Tensor& out, const torch::Tensor& ref) {
  auto o = out.to(torch::kFloat64), r = ref.to(torch::kFloat64);
  return (o - r).norm().item<double>() / std::max(r.norm().item<double>(), 1e-30);
}

torch::Tensor motion_state(const fs::path& job_folder) {
  return weights::SafetensorsFile::open(generate::last_motion_state(job_folder)).tensor("motion_latents").clone();
}

// The case's flags as generation parameters, paths relative to the case folder.
generate::GenerateParams case_params(const fs::path& folder) {
  const auto flags = read_json(folder / "case.json")["flags"];
  generate::GenerateParams p;
  p.ckpt_dir = folder.string();
  p.image = (folder / "portrait.png").string();
  p.audio = (folder / "speech.wav").string();
  p.prompt = flags.value("prompt", std::string());
  p.negative_prompt = flags.value("negative_prompt", std::string());
  p.size = flags.value("size", p.size);
  p.infer_frames = flags.value("infer_frames", p.infer_frames);
  p.sample_steps = flags.value("sample_steps", p.sample_steps);
  p.sample_shift = flags.value("sample_shift", p.sample_shift);
  p.sample_guide_scale = flags.value("sample_guide_scale", p.sample_guide_scale);
  p.sample_solver = flags.value("sample_solver", p.sample_solver);
  p.base_seed = flags.value("base_seed", p.base_seed);
  p.num_clip = flags.value("num_clip", p.num_clip);
  p.init_first_frame = flags.value("start_from_ref", false);
  if (flags.contains("pose_video") && flags["pose_video"].is_string()) p.pose_video = (folder / flags["pose_video"].get<std::string>()).string();
  p.device = "cpu";
  p.dtype = "float32";
  return p;
}

// Scalar FP8 E4M3FN decoding, written from the format's definition (bias 7, no infinities).
float fp8_e4m3fn(uint8_t v) {
  const int s = v >> 7, e = (v >> 3) & 15, m = v & 7;
  if (e == 15 && m == 7) return std::nanf("");
  const float a = e == 0 ? std::ldexp(m / 8.0f, -6) : std::ldexp(1.0f + m / 8.0f, e - 7);
  return s ? -a : a;
}

float half_at(const uint8_t* p) {
  c10::Half h;
  std::memcpy(&h.x, p, 2);
  return static_cast<float>(h);
}

// The dequantisation of one row of blocks, element by element from ../shared/testdata/gguf's
// README (ggml's order, float32): Q8_0, Q4_K and Q6_K, the types the demo variants use.
std::vector<float> reference_dequant(const std::string& type, const uint8_t* b, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n));
  if (type == "Q8_0") {
    for (int64_t i = 0; i < n / 32; ++i, b += 34)
      for (int j = 0; j < 32; ++j) y[i * 32 + j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * half_at(b);
  } else if (type == "Q4_K") {
    for (int64_t i = 0; i < n / 256; ++i, b += 144) {
      const float d = half_at(b), dmin = half_at(b + 2);
      const uint8_t* q = b + 4;
      auto scale_min = [&](int j, int& sc, int& m) {
        if (j < 4) sc = q[j] & 63, m = q[j + 4] & 63;
        else sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4), m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
      };
      for (int c = 0; c < 4; ++c) {
        int sc1, m1, sc2, m2;
        scale_min(2 * c, sc1, m1);
        scale_min(2 * c + 1, sc2, m2);
        const float d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
        for (int l = 0; l < 32; ++l) {
          y[i * 256 + 64 * c + l] = d1 * (b[16 + 32 * c + l] & 15) - mm1;
          y[i * 256 + 64 * c + 32 + l] = d2 * (b[16 + 32 * c + l] >> 4) - mm2;
        }
      }
    }
  } else if (type == "Q6_K") {
    for (int64_t i = 0; i < n / 256; ++i, b += 210) {
      const float d = half_at(b + 208);
      const uint8_t *ql = b, *qh = b + 128;
      const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
      for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8)
        for (int l = 0; l < 32; ++l) {
          const int is = l / 16;
          const int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
          const int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
          const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
          const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
          float* o = &y[static_cast<size_t>(i * 256 + 128 * half)];
          o[l] = d * sc[is + 0] * q1;
          o[l + 32] = d * sc[is + 2] * q2;
          o[l + 64] = d * sc[is + 4] * q3;
          o[l + 96] = d * sc[is + 6] * q4;
        }
    }
  }
  return y;
}

}  // namespace

class TestModelSources : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path demo_;

  fs::path dir() const { return tmp_.path().toStdString(); }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    demo_ = dir() / "demo";
    generate::make_demo_model(demo_);
  }

  void ditConfigIsReadOffTheShapes() {
    // the 14B shapes, and the same with leading size-1 dimensions dropped as GGUF writers do
    const wan::DiTConfig official;
    ShapeMap shapes, squeezed;
    for (const auto& [name, shape] : wan::expected_parameters(official)) {
      shapes[name] = shape;
      auto s = shape;
      while (s.size() > 1 && s.front() == 1) s.erase(s.begin());
      squeezed[name] = s;
    }
    for (const auto* s : {&shapes, &squeezed}) {
      const auto c = wan::infer_dit_config(*s);
      QCOMPARE(c.to_json().dump(), official.to_json().dump());
    }
    // a DiT whose injectors do not fit the official list asks for its configuration
    ShapeMap odd = shapes;
    for (auto it = odd.begin(); it != odd.end();)
      it = it->first.rfind("audio_injector.injector.11.", 0) == 0 ? odd.erase(it) : std::next(it);
    try {
      wan::infer_dit_config(odd);
      QFAIL("an unknown injector layout was accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("s2v_model.json") != std::string::npos, e.what());
    }
  }

  void huggingFaceT5NamesAndAMissingBlock() {
    QCOMPARE(t5::umt5_name_from_hf("encoder.block.3.layer.1.DenseReluDense.wi_0.weight"),
             std::string("blocks.3.ffn.gate.0.weight"));
    QCOMPARE(t5::umt5_name_from_hf("encoder.block.3.layer.1.DenseReluDense.wi_1.weight"),
             std::string("blocks.3.ffn.fc1.weight"));
    QCOMPARE(t5::umt5_name_from_hf("text_encoders.umt5xxl.transformer.encoder.block.0.layer.0.SelfAttention."
                                   "relative_attention_bias.weight"),
             std::string("blocks.0.pos_embedding.embedding.weight"));
    QCOMPARE(t5::umt5_name_from_hf("shared.weight"), std::string("token_embedding.weight"));
    QCOMPARE(t5::umt5_name_from_hf("encoder.final_layer_norm.weight"), std::string("norm.weight"));
    QCOMPARE(t5::umt5_name_from_hf(t5::kEmbeddedTokenizer), std::string());
    QCOMPARE(t5::umt5_name_from_hf("blocks.2.attn.q.weight"), std::string("blocks.2.attn.q.weight"));
    // a file missing block 1 of 3 is named
    ShapeMap s;
    for (int b : {0, 2}) {
      const std::string p = "blocks." + std::to_string(b) + ".";
      s[p + "attn.q.weight"] = {8, 8};
      s[p + "ffn.gate.0.weight"] = {16, 8};
      s[p + "pos_embedding.embedding.weight"] = {32, 2};
    }
    s["token_embedding.weight"] = {64, 8};
    try {
      t5::infer_umt5_config(s);
      QFAIL("a missing block was accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("block 1") != std::string::npos, e.what());
    }
  }

  void scaledFp8InBothConventions() {
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> byte(0, 255);
    auto random_fp8 = [&](size_t n) {
      std::vector<uint8_t> v(n);
      for (auto& b : v) {
        do b = static_cast<uint8_t>(byte(rng));
        while ((b & 0x7F) == 0x7F);  // no NaN codes
      }
      return v;
    };
    auto f32 = [](std::vector<float> v) {
      std::vector<uint8_t> b(v.size() * 4);
      std::memcpy(b.data(), v.data(), b.size());
      return b;
    };
    const auto w_new = random_fp8(12 * 8), w_old = random_fp8(6 * 4);
    const std::vector<float> row_scales = {0.5f, 0.25f, 1.5f, 3.0f, 0.125f, 2.0f};
    const std::string marker = R"({"format": "float8_e4m3fn"})";
    // new convention, one scale per tensor
    weights::write_safetensors_raw(dir() / "new.safetensors",
                                   {{"layer.weight", "F8_E4M3", {12, 8}, w_new},
                                    {"layer.weight_scale", "F32", {}, f32({0.0371f})},
                                    {"layer.input_scale", "F32", {}, f32({1.0f})},
                                    {"layer.comfy_quant", "U8", {int64_t(marker.size())}, {marker.begin(), marker.end()}},
                                    {"layer.bias", "F32", {12}, f32(std::vector<float>(12, 0.5f))}});
    // old convention, one scale per row, with the marker tensor
    weights::write_safetensors_raw(dir() / "old.safetensors",
                                   {{"scaled_fp8", "F8_E4M3", {0}, {}},
                                    {"proj.weight", "F8_E4M3", {6, 4}, w_old},
                                    {"proj.scale_weight", "F32", {6}, f32(row_scales)},
                                    {"proj.scale_input", "F32", {}, f32({1.0f})}});
    {
      auto src = weights::apply_scaled_fp8(weights::open_checkpoint(dir() / "new.safetensors"));
      QCOMPARE(src->names(), (std::vector<std::string>{"layer.bias", "layer.weight"}));
      QCOMPARE(src->meta("layer.weight").dtype, std::string("F8_E4M3"));
      const auto w = src->tensor_as("layer.weight", torch::kFloat32);
      for (int64_t i = 0; i < w.numel(); ++i)
        QCOMPARE(w.view(-1)[i].item<float>(), fp8_e4m3fn(w_new[static_cast<size_t>(i)]) * 0.0371f);
      QVERIFY(torch::equal(src->tensor_as("layer.weight", torch::kBFloat16), w.to(torch::kBFloat16)));
    }
    {
      auto src = weights::apply_scaled_fp8(weights::open_checkpoint(dir() / "old.safetensors"));
      QCOMPARE(src->names(), (std::vector<std::string>{"proj.weight"}));
      const auto w = src->tensor("proj.weight");
      for (int64_t r = 0; r < 6; ++r)
        for (int64_t c = 0; c < 4; ++c)
          QCOMPARE(w[r][c].item<float>(), fp8_e4m3fn(w_old[static_cast<size_t>(r * 4 + c)]) * row_scales[size_t(r)]);
    }
    // an FP8 weight without its scale, and a format other than FP8, are named
    weights::write_safetensors_raw(dir() / "noscale.safetensors",
                                   {{"scaled_fp8", "F8_E4M3", {0}, {}}, {"a.weight", "F8_E4M3", {2, 2}, random_fp8(4)}});
    weights::write_safetensors_raw(dir() / "nvfp4.safetensors",
                                   {{"b.weight", "U8", {2, 2}, random_fp8(4)},
                                    {"b.comfy_quant", "U8", {18}, {'{', '"', 'f', 'o', 'r', 'm', 'a', 't', '"', ':', '"', 'n', 'v', 'f', 'p', '4', '"', '}'}}});
    for (const auto& [file, needle] : {std::pair<std::string, std::string>{"noscale.safetensors", "'a.weight' has no scale"},
                                       {"nvfp4.safetensors", "nvfp4"}}) {
      try {
        weights::apply_scaled_fp8(weights::open_checkpoint(dir() / file));
        QFAIL(("accepted " + file).c_str());
      } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
        QVERIFY2(std::string(e.what()).find(file) != std::string::npos, e.what());
      }
    }
  }

  void comfyTreeIsReadByWhatItsTensorsAre() {
    const auto cases = case_folders();
    QVERIFY2(!cases.empty(), ("no case folder in " + pipeline_dir().string()).c_str());
    for (const auto& c : cases) {
      const fs::path tree = dir() / ("comfy-" + c.filename().string()) / "models";
      write_comfy_tree(c, tree);
      // the ComfyUI install folder (the models/ folder's parent) is accepted too
      for (const auto& root : {tree, tree.parent_path()}) {
        const auto m = generate::inspect_model_folder(root);
        std::string problems;
        for (const auto& p : m.problems) problems += p + "; ";
        QVERIFY2(m.ok(), problems.c_str());
        QCOMPARE(m.layout, std::string("ComfyUI models folder"));
        QCOMPARE(m.component("DiT")->path.filename().string(), std::string("wan2.2_s2v_test_bf16.safetensors"));
        QCOMPARE(m.component("umT5")->path.filename().string(), std::string("umt5_test.safetensors"));
        QVERIFY(m.component("tokenizer")->format.find("embedded") != std::string::npos);
        QCOMPARE(m.component("wav2vec2")->path.filename().string(), std::string("wav2vec2_test.safetensors"));
        std::string notes;
        for (const auto& n : m.notes) notes += n + "\n";
        QVERIFY2(notes.find("a_wan2.1_t2v_decoy.safetensors' skipped: a Wan DiT without") != std::string::npos, notes.c_str());
        QVERIFY2(notes.find("a_t5xxl_decoy.safetensors' skipped: a T5 text encoder, not umT5") != std::string::npos,
                 notes.c_str());
        // the same networks as the official folder (whose wav2vec2 file also holds the CTC head)
        const auto official = generate::inspect_model_folder(c);
        for (const char* part : {"DiT", "umT5", "VAE"})
          QCOMPARE(m.component(part)->parameters, official.component(part)->parameters);
        QVERIFY(m.component("wav2vec2")->parameters > 0);
      }
    }
  }

  void comfyTreeRendersTheSameVideoAsTheOfficialFolder() {
    for (const auto& c : case_folders()) {
      const fs::path tree = dir() / ("comfy-" + c.filename().string()) / "models";
      if (!fs::exists(tree)) write_comfy_tree(c, tree);
      auto p = case_params(c);
      p.out = (dir() / (c.filename().string() + "-official.mp4")).string();
      const auto a = render(dir() / "jobs-official", p);
      QVERIFY2(a.state == jobs::JobState::Done, a.error.c_str());
      p.ckpt_dir = tree.string();
      p.out = (dir() / (c.filename().string() + "-comfy.mp4")).string();
      const auto b = render(dir() / "jobs-comfy", p);
      QVERIFY2(b.state == jobs::JobState::Done, b.error.c_str());
      // the same weights in another layout: the same numbers, bit for bit
      const auto ma = motion_state(dir() / "jobs-official" / a.id), mb = motion_state(dir() / "jobs-comfy" / b.id);
      QVERIFY(torch::equal(ma, mb));
      const auto fa = test::all_frames(dir() / (c.filename().string() + "-official.mp4"));
      const auto fb = test::all_frames(p.out);
      QCOMPARE(fa.size(), fb.size());
      for (size_t i = 0; i < fa.size(); ++i) QVERIFY2(fa[i].rgb == fb[i].rgb, ("frame " + std::to_string(i)).c_str());
      // and what the official pipeline computed (pipeline/README.md: final.motion_latents <= 1e-4)
      auto expected = weights::SafetensorsFile::open(c / "expected.safetensors");
      const double err = rel_error(mb.squeeze(0), expected.tensor("final.motion_latents"));
      qInfo("%s: final motion latents relative error %.3g (bound 1e-4)", c.filename().string().c_str(), err);
      QVERIFY2(err <= 1e-4, std::to_string(err).c_str());
      QCOMPARE(static_cast<int64_t>(fa.size()), expected.info("out.video").shape[1]);
    }
  }

  void demoVariantsDequantiseToTheReferenceFormula() {
    for (const char* v : {"dit_q8_0.gguf", "dit_q6_k.gguf", "dit_q4_k.gguf", "dit_fp8_scaled.safetensors"}) {
      const fs::path file = demo_ / "variants" / v;
      QVERIFY2(fs::exists(file), file.c_str());
      auto src = generate::open_component(generate::locate_model_files(demo_, {file.string()}), generate::Component::DiT);
      int packed = 0;
      for (const auto& name : src->names()) {
        const auto meta = src->meta(name);
        if (!weights::is_packed_dtype(meta.dtype)) continue;
        ++packed;
        if (weights::is_fp8(meta.dtype)) continue;  // FP8: scaledFp8InBothConventions checks the formula
        const auto got = src->tensor_as(name, torch::kFloat32).contiguous();
        const auto p = src->packed(name);
        QVERIFY2(p.has_value(), name.c_str());
        const auto want = reference_dequant(meta.dtype, p->data.data_ptr<uint8_t>(), static_cast<int64_t>(meta.numel()));
        QVERIFY2(std::memcmp(want.data(), got.data_ptr<float>(), want.size() * 4) == 0, (std::string(v) + ": " + name).c_str());
      }
      QVERIFY2(packed > 0, v);
    }
  }

  void packedRenderEqualsTheDequantisedRender() {
    // one clip at 64x64: each packed DiT against the same weights dequantised into a float file
    generate::GenerateParams p;
    p.ckpt_dir = demo_.string();
    const auto cases = case_folders();
    QVERIFY(!cases.empty());
    p.image = (cases[0] / "portrait.png").string();  // any portrait and speech will do
    p.audio = (cases[0] / "speech.wav").string();
    p.prompt = "a person talking";
    p.infer_frames = 16;
    p.num_clip = 1;
    p.sample_steps = 2;
    p.size = "64*64";
    p.base_seed = 3;
    p.device = "cpu";
    for (const char* v : {"dit_q4_k.gguf", "dit_fp8_scaled.safetensors"}) {
      const fs::path packed = demo_ / "variants" / v;
      // the dequantised copy: every tensor as float32 under the official names
      const fs::path plain = dir() / (std::string(v) + ".float.safetensors");
      {
        auto src = generate::open_component(generate::locate_model_files(demo_, {packed.string()}), generate::Component::DiT);
        Named t;
        for (const auto& n : src->names()) t.emplace_back(n, src->tensor_as(n, torch::kFloat32));
        weights::save_safetensors(plain, t);
      }
      p.components.dit = packed.string();
      p.out = (dir() / (std::string(v) + ".mp4")).string();
      const auto a = render(dir() / "jobs-packed", p);
      QVERIFY2(a.state == jobs::JobState::Done, a.error.c_str());
      p.components.dit = plain.string();
      p.out = (dir() / (std::string(v) + ".float.mp4")).string();
      const auto b = render(dir() / "jobs-float", p);
      QVERIFY2(b.state == jobs::JobState::Done, b.error.c_str());
      const double err = rel_error(motion_state(dir() / "jobs-packed" / a.id), motion_state(dir() / "jobs-float" / b.id));
      qInfo("%s: packed vs dequantised render, motion latents relative error %.3g (bound 1e-5)", v, err);
      QVERIFY2(err <= 1e-5, std::to_string(err).c_str());
    }
  }

  void deviceQuantisersRoundTrip() {
    // Gaussian rows quantised by the tensor-op encoders (what bench_dit --packed uses on a GPU) and
    // read back by dequantize(). Bounds from the formats: Q8_0 rounds to d/2 = max|x|/254 per value,
    // and a 32-value Gaussian block has max|x| < 4 sigma, so the RMS error is < 4/254/sqrt(3) ~ 0.9%;
    // Q4_K rounds to (max - min)/15/2 per value with max - min < 8 sigma, < 8/30/sqrt(3) ~ 15%, plus
    // the 6-bit rounding of each sub-block's scale and min (< 1/63 of the largest), so under 20%.
    torch::manual_seed(11);
    const auto w = torch::randn({64, 512}) * 0.05;
    for (const auto& [type, bound] : {std::pair{weights::GgmlType::Q8_0, 0.01}, std::pair{weights::GgmlType::Q4_K, 0.2}}) {
      const auto packed = weights::quantize(w, type);
      QCOMPARE(static_cast<uint64_t>(packed.data.numel()), weights::ggml_bytes(type, static_cast<uint64_t>(w.numel())));
      const auto back = weights::dequantize(packed, torch::kFloat32);
      const double err = rel_error(back, w);
      qInfo("%s round trip: relative error %.4g (bound %.2g)", weights::ggml_type_info(type).name, err, bound);
      QVERIFY2(err < bound, std::to_string(err).c_str());
      // the same blocks the CPU writer makes decode the same way (both follow ggml's layout)
      const auto cpu = weights::quantize_rows(static_cast<uint32_t>(type), w.contiguous().data_ptr<float>(), 64, 512);
      weights::PackedTensor scalar{type, {64, 512}, torch::from_blob(const_cast<uint8_t*>(cpu.data()),
                                                                      {static_cast<int64_t>(cpu.size())}, torch::kUInt8)};
      QVERIFY(rel_error(weights::dequantize(scalar, torch::kFloat32), w) < bound);
    }
    // rows that are not whole blocks are refused
    try {
      weights::quantize(torch::randn({4, 100}), weights::GgmlType::Q4_K);
      QFAIL("a 100-value row was quantised as Q4_K");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("blocks") != std::string::npos, e.what());
    }
  }

  void oneComponentIsReplacedAlone() {
    // the demo folder with its DiT swapped for the Q8_0 GGUF
    generate::ComponentOverrides o;
    o.dit = (demo_ / "variants" / "dit_q8_0.gguf").string();
    const auto m = generate::inspect_model_folder(demo_, true, o);
    std::string problems;
    for (const auto& pr : m.problems) problems += pr + "; ";
    QVERIFY2(m.ok(), problems.c_str());
    QCOMPARE(m.component("DiT")->path.string(), o.dit);
    QVERIFY2(m.component("DiT")->format.rfind("GGUF: Q8_0", 0) == 0, m.component("DiT")->format.c_str());
    QVERIFY(m.component("DiT")->packed_bytes > 0);
    QVERIFY(m.component("DiT")->memory_bytes("bfloat16") < m.component("DiT")->parameters * 2);
    QCOMPARE(m.component("VAE")->path.string(), (demo_ / "Wan2.1_VAE.pth").string());
    // a file that is not the component is reported as a problem, not loaded
    o.dit = (demo_ / "Wan2.1_VAE.pth").string();
    const auto bad = generate::inspect_model_folder(demo_, true, o);
    QVERIFY(!bad.ok());
  }
};

QTEST_GUILESS_MAIN(TestModelSources)
#include "test_model_sources.moc"
