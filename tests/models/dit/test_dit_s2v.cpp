// Parity of WanModel_S2V (models/wan/dit_s2v.*) with the official Wan2.2 implementation: every
// dit_s2v_*.safetensors vector in the parity folder is run (config and call arguments from its
// metadata), and the 14B checkpoint manifest is checked against expected_parameters().

#include <fstream>
#include <set>

#include <QtTest/QtTest>

#include "common/parity.h"
#include "common/weights_files.h"
#include "models/base/error.h"
#include "models/wan/dit_config.h"
#include "models/wan/audio_encoder.h"
#include "models/wan/dit_s2v.h"
#include "models/wan/frame_pack.h"
#include "models/wan/rope.h"
#include "models/wan/sinusoidal.h"
#include "models/weights/validate.h"

using namespace s2v;
using namespace s2v::wan;

namespace {

constexpr double kBar = 1e-5;

std::vector<std::filesystem::path> dit_vectors() { return test::parity_files("dit_s2v_"); }

// complex128 [S, c] -> its real view broadcast over the heads, [S, n, c, 2], as the reference stores it
torch::Tensor rope_as_stored(const torch::Tensor& factors, int64_t heads) {
  return torch::view_as_real(factors.contiguous()).unsqueeze(1).expand({-1, heads, -1, -1});
}

DiTInputs inputs_of(const weights::SafetensorsFile& f, const nlohmann::json& call) {
  DiTInputs in;
  in.x = f.tensor("in.x");
  in.t = f.tensor("in.t");
  in.context = f.tensor("in.context");
  in.ref_latents = f.tensor("in.ref_latents");
  in.motion_latents = f.tensor("in.motion_latents");
  in.cond_states = f.tensor("in.cond_states");
  in.audio_input = f.tensor("in.audio_input");
  if (call.contains("motion_frames"))
    in.motion_frames = {call["motion_frames"][0].get<int64_t>(), call["motion_frames"][1].get<int64_t>()};
  if (call.contains("add_last_motion")) in.add_last_motion = call["add_last_motion"].get<int64_t>();
  if (call.contains("drop_motion_frames")) in.drop_motion_frames = call["drop_motion_frames"].get<bool>();
  return in;
}

WanModelS2V model_of(const weights::SafetensorsFile& f, const DiTConfig& config) {
  WanModelS2V model(config);
  load_dit_weights(*model, *test::model_weights(f), torch::kCPU);  // as S2VPipeline::load_dit
  model->options.attention.backend = AttentionBackend::Math;
  return model;
}

}  // namespace

class TestDiTS2V : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { torch::manual_seed(0); }

  void parityFilesExist() {
    S2V_REQUIRE_DATA(dit_vectors(), "dit_s2v_*.safetensors in " + test::parity_dir().string());
    S2V_REQUIRE_DATA(test::parity_files("s2v_part_"), "s2v_part_*.safetensors in " + test::parity_dir().string());
  }

  // Every dit_s2v_* vector: the whole forward and each named intermediate within 1e-5.
  void forwardMatchesOfficial_data() { test::add_file_rows(dit_vectors()); }
  void forwardMatchesOfficial() {
    S2V_FETCH_FILE(path, "dit_s2v_*.safetensors in " + test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(path);
    const auto config = DiTConfig::from_json(test::metadata_json(f, "config"));
    const auto call = test::metadata_json(f, "call");
    auto model = model_of(f, config);
    DiTTrace trace;
    const auto out = model->forward(inputs_of(f, call), &trace);

    std::set<std::string> checked;
    auto compare = [&](const std::string& name, const torch::Tensor& ours, const torch::Tensor& ref) {
      const double err = test::rel_error(ours, ref);
      checked.insert(name);
      qInfo("%s %s: relative error %.3g", path.filename().c_str(), name.c_str(), err);
      QVERIFY2(err <= kBar, qPrintable(QString("%1 %2: relative error %3 > 1e-5")
                                           .arg(path.filename().c_str(), name.c_str()).arg(err)));
    };
    compare("out.video", out, f.tensor("out.video"));
    if (f.contains("sub.audio_encoder.in"))
      compare("sub.audio_encoder.in", trace.audio_input, f.tensor("sub.audio_encoder.in"));
    if (f.contains("sub.audio_encoder.global"))
      compare("sub.audio_encoder.global", trace.audio_global, f.tensor("sub.audio_encoder.global"));
    if (f.contains("sub.audio_encoder.local"))
      compare("sub.audio_encoder.local", trace.audio_local, f.tensor("sub.audio_encoder.local"));
    if (f.contains("sub.frame_packer.tokens"))
      compare("sub.frame_packer.tokens", trace.frame_packer_tokens, f.tensor("sub.frame_packer.tokens"));
    if (f.contains("sub.frame_packer.rope")) {
      const auto ref = f.tensor("sub.frame_packer.rope");  // [1, Lm, n, c, 2]
      compare("sub.frame_packer.rope", rope_as_stored(trace.frame_packer_rope, ref.size(2)).unsqueeze(0), ref);
    }
    if (f.contains("sub.rope.freqs")) {
      const auto ref = f.tensor("sub.rope.freqs");  // [S, n, c, 2]
      compare("sub.rope.freqs", rope_as_stored(trace.rope, ref.size(1)), ref);
    }
    if (f.contains("sub.sinusoidal_embedding_1d.out")) {
      const auto pos = f.tensor("sub.sinusoidal_embedding_1d.in");
      const auto ref = f.tensor("sub.sinusoidal_embedding_1d.out");
      compare("sub.sinusoidal_embedding_1d.in", trace.timesteps, pos);
      compare("sub.sinusoidal_embedding_1d.out", sinusoidal_embedding_1d(ref.size(1), pos), ref);
      compare("sub.sinusoidal_embedding_1d.out (in the forward)", trace.sinusoid, ref);
    }
    // every sub.* tensor of the file was checked
    for (const auto& name : f.names())
      if (name.rfind("sub.", 0) == 0)
        QVERIFY2(checked.count(name), qPrintable(QString("%1 is not checked").arg(name.c_str())));
  }

  // Every s2v_part_* vector (one sub-module alone, see the parity README), chosen by the name
  // after the prefix, with its configuration and call from the metadata. Bars: float64
  // computations (RoPE factors, the sinusoidal embedding) to 1e-12 absolute, since their arguments
  // are at most ~1000 rad and a handful of float64 operations round them by ~1e-13 on any CPU;
  // float32 networks to the README's 1e-5 relative (their own rounding is ~1e-7). A part this
  // suite does not know fails with its name.
  void partsMatchOfficial_data() { test::add_file_rows(test::parity_files("s2v_part_")); }
  void partsMatchOfficial() {
    torch::NoGradGuard no_grad;
    S2V_FETCH_FILE(path, "s2v_part_*.safetensors in " + test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(path);
    const std::string name = path.stem().string();
    const std::string part = name.substr(std::string("s2v_part_").size());
    std::set<std::string> checked;
    bool ok = true;
    auto compare = [&](const std::string& key, const torch::Tensor& ours, double bar, bool absolute = false) {
      const auto ref = f.tensor(key);
      const double err = absolute ? test::max_abs_error(ours, ref) : test::rel_error(ours, ref);
      checked.insert(key);
      qInfo("%s %s: %s error %.3g (bar %.0e)", name.c_str(), key.c_str(), absolute ? "max abs" : "relative", err, bar);
      if (!(err <= bar)) {
        ok = false;
        qWarning("%s %s: error %.3g above %.0e", name.c_str(), key.c_str(), err, bar);
      }
    };
    if (part.rfind("rope_precompute", 0) == 0) {
      const auto call = test::metadata_json(f, "call");
      QVERIFY2(call.is_object() && call.contains("x_shape"), (name + ": no call.x_shape in the metadata").c_str());
      const auto x_shape = call.at("x_shape").get<std::vector<int64_t>>();
      const int64_t heads = x_shape.at(2), head_dim = x_shape.at(3);
      const auto g = f.tensor("in.grid_sizes");  // [G, 3, 3]: start, end, range per segment
      std::vector<RopeGrid> grids;
      for (int64_t i = 0; i < g.size(0); ++i) {
        RopeGrid r;
        for (int k = 0; k < 3; ++k) {
          r.start[k] = g[i][0][k].item<int64_t>();
          r.end[k] = g[i][1][k].item<int64_t>();
          r.range[k] = g[i][2][k].item<int64_t>();
        }
        grids.push_back(r);
      }
      const auto table = rope_freqs(head_dim);
      const auto ref_table = f.tensor("out.freqs_table");
      compare("out.freqs_table", torch::view_as_real(table.narrow(0, 0, ref_table.size(0)).contiguous()), 1e-12, true);
      compare("out.freqs", rope_as_stored(rope_precompute(grids, table), heads).unsqueeze(0), 1e-12, true);
    } else if (part == "sinusoidal_embedding_1d") {
      const auto pos = f.tensor("in.position");
      for (const auto& key : f.names()) {
        if (key.rfind("out.dim", 0) != 0) continue;
        const int64_t dim = std::stoll(key.substr(7));
        compare(key, sinusoidal_embedding_1d(dim, pos), 1e-12, true);
      }
    } else if (part == "audio_encoder") {
      const auto c = test::metadata_json(f, "config");
      CausalAudioEncoder enc(c.at("dim").get<int64_t>(), c.at("num_layers").get<int64_t>(),
                             c.at("out_dim").get<int64_t>(), c.at("num_token").get<int64_t>(),
                             c.at("need_global").get<bool>());
      weights::load_module(*enc, *test::model_weights(f), "audio encoder");
      const auto out = enc->forward(f.tensor("in.features"));
      compare("out.global", out.global, kBar);
      compare("out.local", out.local, kBar);
    } else if (part == "framepack") {
      const auto c = test::metadata_json(f, "config");
      FramePackMotioner fp(c.at("inner_dim").get<int64_t>(), c.at("num_heads").get<int64_t>(),
                           c.at("zip_frame_buckets").get<std::vector<int64_t>>(), c.at("drop_mode").get<std::string>());
      weights::load_module(*fp, *test::model_weights(f), "FramePack motioner");
      const auto call = test::metadata_json(f, "call");
      QVERIFY2(call.is_object() && !call.empty(), (name + ": no call entries in the metadata").c_str());
      for (const auto& [out, how] : call.items()) {
        const auto r = fp->forward(f.tensor(how.at("input").get<std::string>()), how.at("add_last_motion").get<int64_t>());
        compare(out + ".tokens", r.tokens, kBar);
        const auto ref_rope = f.tensor(out + ".rope");  // [1, Lm, n, c, 2]
        compare(out + ".rope", rope_as_stored(r.rope, ref_rope.size(2)).unsqueeze(0), 1e-12, true);
      }
    } else if (part == "block") {
      const auto c = test::metadata_json(f, "config");
      DiTConfig config;
      config.dim = c.at("dim");
      config.ffn_dim = c.at("ffn_dim");
      config.num_heads = c.at("num_heads");
      config.qk_norm = c.at("qk_norm");
      config.cross_attn_norm = c.at("cross_attn_norm");
      config.eps = c.at("eps");
      WanS2VAttentionBlock block(config);
      weights::load_module(*block, *test::model_weights(f), "S2V attention block");
      const auto x = f.tensor("in.x");
      QCOMPARE(f.tensor("in.seq_lens").item<int64_t>(), x.size(1));  // self-attention over every token
      // in.freqs: [1, L, n, c, 2] float64, the same factors for every head
      const auto factors = torch::view_as_complex(f.tensor("in.freqs")[0].select(1, 0).contiguous());
      DiTOptions options;
      options.attention.backend = AttentionBackend::Math;
      const auto y = block->forward(x, f.tensor("in.e0"), f.tensor("in.seg_idx").item<int64_t>(),
                                    rope_table(factors, torch::kFloat64, torch::kCPU), f.tensor("in.context"), options);
      compare("out.x", y, kBar);
    } else {
      QFAIL((name + ": unknown sub-module '" + part + "' (this suite checks rope_precompute*, "
             "sinusoidal_embedding_1d, audio_encoder, framepack, block)").c_str());
    }
    for (const auto& key : f.names())
      if (key.rfind("out.", 0) == 0)
        QVERIFY2(checked.count(key), (name + ": " + key + " is not checked").c_str());
    QVERIFY2(ok, (name + ": see the warnings above").c_str());
  }

  // Dropping the motion frames must change nothing but remove the motion tokens: the output with
  // zeroed motion latents and drop_motion_frames equals the output with other motion latents.
  void dropMotionIgnoresMotionLatents_data() { test::add_file_rows(dit_vectors()); }
  void dropMotionIgnoresMotionLatents() {
    S2V_FETCH_FILE(path, "dit_s2v_*.safetensors in " + test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(path);
    const auto config = DiTConfig::from_json(test::metadata_json(f, "config"));
    auto model = model_of(f, config);
    auto in = inputs_of(f, test::metadata_json(f, "call"));
    in.drop_motion_frames = true;
    const auto a = model->forward(in);
    in.motion_latents = torch::randn_like(in.motion_latents);
    const auto b = model->forward(in);
    QCOMPARE(test::rel_error(a, b), 0.0);
    in.drop_motion_frames = false;
    const auto c = model->forward(in);
    QVERIFY(test::rel_error(a, c) > 1e-3);  // the motion tokens do matter when kept
    return;  // one file is enough
  }

  void linspaceMatchesNumpy() {
    // values numpy.linspace(...).astype(int) gives
    QCOMPARE(linspace_int(19, 4, 4), (std::vector<int64_t>{19, 14, 9, 4}));
    QCOMPARE(linspace_int(0, 3, 2), (std::vector<int64_t>{0, 3}));
    QCOMPARE(linspace_int(30, 30, 1), (std::vector<int64_t>{30}));
    QCOMPARE(linspace_int(0, 7, 3), (std::vector<int64_t>{0, 3, 7}));
    QCOMPARE(linspace_int(0, 9, 4), (std::vector<int64_t>{0, 3, 6, 9}));
    QCOMPARE(linspace_int(0, 25, 13), (std::vector<int64_t>{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 25}));
  }

  // expected_parameters() of the real config equals the 14B checkpoint manifest, name by name.
  void expectedParametersMatch14BManifest() {
    const auto path = test::parity_dir() / "dit_s2v_14b_manifest.json";
    const std::vector<std::filesystem::path> manifest_files =
        std::filesystem::exists(path) ? std::vector<std::filesystem::path>{path} : std::vector<std::filesystem::path>{};
    S2V_REQUIRE_DATA(manifest_files, "dit_s2v_14b_manifest.json in " + test::parity_dir().string());
    std::ifstream in(path);
    const auto manifest = nlohmann::json::parse(in);
    const auto found = weights::load_manifest(path);
    const DiTConfig config;  // defaults = the real 14B
    const auto expected = expected_parameters(config);
    QCOMPARE(found.size(), expected.size());
    for (const auto& [name, shape] : expected) {
      const auto it = found.find(name);
      QVERIFY2(it != found.end(), name.c_str());
      QVERIFY2(it->second.shape == shape, name.c_str());
    }
    QCOMPARE(parameter_count(config), manifest["num_parameters"].get<int64_t>());
    qInfo("14B: %zu tensors, %lld parameters", found.size(), static_cast<long long>(parameter_count(config)));
  }

  // A module built from a (tiny) config registers exactly expected_parameters(config).
  void moduleNamesEqualExpectedParameters_data() { test::add_file_rows(dit_vectors()); }
  void moduleNamesEqualExpectedParameters() {
    S2V_FETCH_FILE(path, "dit_s2v_*.safetensors in " + test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(path);
    const auto config = DiTConfig::from_json(test::metadata_json(f, "config"));
    WanModelS2V model(config);
    const auto expected = expected_parameters(config);
    const auto actual = weights::expected_from_module(*model);
    QCOMPARE(actual.size(), expected.size());
    for (const auto& [name, shape] : expected) {
      const auto it = actual.find(name);
      QVERIFY2(it != actual.end(), name.c_str());
      QVERIFY2(it->second.shape == shape, name.c_str());
    }
    // and equals the file's model.* names, as the app's loader checks them
    const auto issues = weights::validate(weights::ExpectedTensors(actual), *test::model_weights(f));
    QVERIFY2(issues.empty(), issues.empty() ? "" : issues.front().name.c_str());
  }

  // The parameter dtype chosen at construction applies to every parameter.
  void buildsInRequestedDtype() {
    S2V_REQUIRE_DATA(dit_vectors(), "dit_s2v_*.safetensors in " + test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(dit_vectors().front());
    const auto config = DiTConfig::from_json(test::metadata_json(f, "config"));
    WanModelS2V model(config, torch::kBFloat16);
    for (const auto& p : model->named_parameters())
      QVERIFY2(p.value().scalar_type() == torch::kBFloat16, p.key().c_str());
    load_dit_weights(*model, *test::model_weights(f), torch::kCPU);  // converts while copying
    QCOMPARE(model->named_parameters()["blocks.0.modulation"].scalar_type(), torch::kBFloat16);
  }

  // A broken checkpoint is reported with every bad name in one error.
  void loaderReportsEveryProblemAtOnce() {
    const auto vectors = dit_vectors();
    auto f = weights::SafetensorsFile::open(vectors.front());
    const auto config = DiTConfig::from_json(test::metadata_json(f, "config"));
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& name : f.names()) {
      if (name.rfind("model.", 0) != 0) continue;
      if (name == "model.blocks.1.ffn.0.weight" || name == "model.head.modulation") continue;  // missing
      auto t = f.tensor(name);
      if (name == "model.blocks.2.self_attn.q.weight") t = t.narrow(0, 0, t.size(0) - 1);  // mis-shaped
      tensors.emplace_back(name, t);
    }
    tensors.emplace_back("model.blocks.9.extra", torch::zeros({2}));  // unexpected
    QTemporaryDir dir;
    const std::filesystem::path broken = dir.filePath("broken.safetensors").toStdString();
    weights::save_safetensors(broken, tensors);
    auto bf = weights::SafetensorsFile::open(broken);
    WanModelS2V model(config);
    try {
      load_dit_weights(*model, *test::model_weights(bf), torch::kCPU);
      QFAIL("load_dit_weights accepted a broken file");
    } catch (const s2v::Error& e) {
      const std::string msg = e.what();
      qInfo("%s", msg.c_str());
      QCOMPARE(e.kind(), ErrorKind::Corrupt);
      for (const char* name : {"blocks.1.ffn.0.weight", "head.modulation", "blocks.2.self_attn.q.weight",
                               "blocks.9.extra", "broken.safetensors"})
        QVERIFY2(msg.find(name) != std::string::npos, name);
    }
  }

  void configReadsOfficialKeys() {
    const auto j = nlohmann::json::parse(R"({"dim": 64, "num_heads": 4, "num_layers": 4,
        "audio_inject_layers": [0, 2, 3], "patch_size": [1, 2, 2], "framepack_drop_mode": "drop",
        "enable_adain": false, "zero_timestep": false, "model_type": "s2v", "unknown_key": 1})");
    const auto c = DiTConfig::from_json(j);
    QCOMPARE(c.dim, int64_t(64));
    QCOMPARE(c.head_dim(), int64_t(16));
    QCOMPARE(c.audio_inject_layers, (std::vector<int64_t>{0, 2, 3}));
    QCOMPARE(c.framepack_drop_mode, std::string("drop"));
    QVERIFY(!c.enable_adain && !c.zero_timestep);
    QCOMPARE(c.ffn_dim, int64_t(13824));  // default kept
    QVERIFY_EXCEPTION_THROWN(DiTConfig::from_json(nlohmann::json::parse(R"({"dim": 65})")), s2v::Error);
    QVERIFY_EXCEPTION_THROWN(DiTConfig::from_json(nlohmann::json::parse(R"({"enable_motioner": true})")), s2v::Error);
    const auto round = DiTConfig::from_json(c.to_json());
    QCOMPARE(round.to_json(), c.to_json());
  }

  // The official substring matching of block names: id 1 also matches blocks 10..19.
  void injectorMapFollowsOfficialMatching() {
    const auto real = audio_injector_map(40, {0, 4, 8, 12, 16, 20, 24, 27, 30, 33, 36, 39});
    QCOMPARE(real.count, int64_t(12));
    QCOMPARE(real.after_block.at(27), int64_t(7));
    const auto odd = audio_injector_map(12, {1});
    QCOMPARE(odd.count, int64_t(3));             // blocks 1, 10, 11
    QCOMPARE(odd.after_block.size(), size_t(1));
    QCOMPARE(odd.after_block.at(1), int64_t(2));  // the last one created
  }

  // The frame packer keeps the nearest frames finest; drop mode removes, padd mode zeroes.
  void framePackerTokenCounts() {
    torch::NoGradGuard g;
    const std::vector<int64_t> buckets{1, 2, 16};
    FramePackMotioner padd(64, 4, buckets, std::string("padd")), drop(64, 4, buckets, std::string("drop"));
    const auto m = torch::randn({16, 19, 16, 24});
    // post: 8x12 = 96, 2x: 1 x 4x6 = 24, 4x: 4 x 2x3 = 24
    QCOMPARE(padd->forward(m, 2).tokens.size(1), int64_t(96 + 24 + 24));
    QCOMPARE(padd->forward(m, 0).tokens.size(1), int64_t(96 + 24 + 24));
    QCOMPARE(drop->forward(m, 1).tokens.size(1), int64_t(24 + 24));
    QCOMPARE(drop->forward(m, 0).tokens.size(1), int64_t(24));
    QCOMPARE(drop->forward(m, 0).rope.size(0), int64_t(24));
    // padd mode with add_last_motion 0: the tokens equal those of zeroed nearest 3 frames
    auto z = m.clone();
    z.narrow(1, 16, 3).zero_();
    QCOMPARE(test::rel_error(padd->forward(m, 0).tokens, padd->forward(z, 2).tokens), 0.0);
  }

  void rejectsMismatchedInputs() {
    const auto vectors = dit_vectors();
    auto f = weights::SafetensorsFile::open(vectors.front());
    const auto config = DiTConfig::from_json(test::metadata_json(f, "config"));
    auto model = model_of(f, config);
    auto in = inputs_of(f, test::metadata_json(f, "call"));
    in.context = torch::zeros({config.text_len + 1, config.text_dim});
    QVERIFY_EXCEPTION_THROWN(model->forward(in), s2v::Error);
    in = inputs_of(f, test::metadata_json(f, "call"));
    in.audio_input = in.audio_input.narrow(3, 0, in.audio_input.size(3) - 4);  // one latent frame short
    QVERIFY_EXCEPTION_THROWN(model->forward(in), s2v::Error);
  }
};

QTEST_APPLESS_MAIN(TestDiTS2V)
#include "test_dit_s2v.moc"
