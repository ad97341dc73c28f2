// The Wan 2.1 video VAE against wan/modules/vae2_1.py (testdata/parity vae_2_1_*): parameter
// names, chunked causal encode and decode, weight validation, causality and tiled decode.

#include <QTemporaryDir>
#include <QtTest>

#include <set>

#include "common/parity.h"
#include "common/weights_files.h"
#include "models/base/cancel.h"
#include "models/base/error.h"
#include "models/wan/vae.h"
#include "models/wan/vae_alloc.h"
#include "models/wan/vae_blocks.h"
#include "models/weights/checkpoint.h"
#include "models/weights/safetensors.h"
#include "models/weights/source_views.h"

#include <torch/nn/module.h>

using namespace s2v;
using s2v::wan::WanVae;
using s2v::wan::WanVaeConfig;

namespace {

std::vector<std::filesystem::path> vae_files() { return test::parity_files("vae_2_1_"); }

WanVaeConfig config_of(const weights::SafetensorsFile& f) {
  return WanVaeConfig::from_json(test::metadata_json(f, "config").dump());
}

std::vector<float> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// A VAE built from a parity file: its config, its scale tensors and its "model." weights.
WanVae vae_from(const weights::SafetensorsFile& f) {
  WanVae vae(config_of(f), to_vector(f.tensor("scale.mean")), to_vector(f.tensor("scale.std")));
  vae.load(*test::model_weights(f));  // as the app loads
  return vae;
}

WanVaeConfig tiny_config() {
  WanVaeConfig c;
  c.dim = 4;
  return c;
}

}  // namespace

class TestWanVae : public QObject {
  Q_OBJECT

 private slots:
  // two threads unless the run chooses (the ctest variants set OMP_NUM_THREADS)
  void initTestCase() {
    if (!std::getenv("OMP_NUM_THREADS")) torch::set_num_threads(2);
  }

  void defaultConfigIsWan21() {
    const WanVaeConfig c;
    QCOMPARE(c.dim, int64_t(96));
    QCOMPARE(c.z_dim, int64_t(16));
    QCOMPARE(c.dim_mult, (std::vector<int64_t>{1, 2, 4, 4}));
    QCOMPARE(c.num_res_blocks, int64_t(2));
    QVERIFY(c.attn_scales.empty());
    QCOMPARE(c.temperal_downsample, (std::vector<bool>{false, true, true}));
    QCOMPARE(wan::wan21_latent_mean()[7], 1.5508f);
    QCOMPARE(wan::wan21_latent_std()[8], 3.2687f);

    WanVae vae;  // the real-size network (random weights)
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& p : vae.module().named_parameters())
      shapes[p.key()] = p.value().sizes().vec();
    QCOMPARE(shapes.at("encoder.conv1.weight"), (std::vector<int64_t>{96, 3, 3, 3, 3}));
    QCOMPARE(shapes.at("encoder.head.2.weight"), (std::vector<int64_t>{32, 384, 3, 3, 3}));
    QCOMPARE(shapes.at("conv1.weight"), (std::vector<int64_t>{32, 32, 1, 1, 1}));
    QCOMPARE(shapes.at("decoder.conv1.weight"), (std::vector<int64_t>{384, 16, 3, 3, 3}));
    QCOMPARE(shapes.at("decoder.upsamples.3.time_conv.weight"),
             (std::vector<int64_t>{768, 384, 3, 1, 1}));
    QCOMPARE(shapes.at("decoder.head.2.weight"), (std::vector<int64_t>{3, 96, 3, 3, 3}));
    QCOMPARE(shapes.at("decoder.middle.1.norm.gamma"), (std::vector<int64_t>{384, 1, 1}));
    QCOMPARE(shapes.size(), size_t(194));
  }

  void parameterNamesAreCheckpointKeys_data() { test::add_file_rows(vae_files()); }
  void parameterNamesAreCheckpointKeys() {
    S2V_FETCH_FILE(path, "vae_2_1_*.safetensors in " + test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(path);
    std::set<std::string> expected;
    for (const auto& n : f.names())
      if (n.rfind("model.", 0) == 0) expected.insert(n.substr(6));
    WanVae vae(config_of(f));
    const auto names = vae.parameter_names();
    QCOMPARE(std::set<std::string>(names.begin(), names.end()), expected);
  }

  void parityStatsAreTheRealConstants_data() { test::add_file_rows(vae_files()); }
  void parityStatsAreTheRealConstants() {
    S2V_FETCH_FILE(path, "vae_2_1_*.safetensors in " + test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(path);
    const auto mean = to_vector(f.tensor("scale.mean")), std = to_vector(f.tensor("scale.std"));
    QCOMPARE(mean.size(), size_t(16));
    for (size_t i = 0; i < 16; ++i) {
      QCOMPARE(mean[i], wan::wan21_latent_mean()[i]);
      QCOMPARE(std[i], wan::wan21_latent_std()[i]);
    }
  }

  void encodeMatchesReference_data() { test::add_file_rows(vae_files()); }
  void encodeMatchesReference() {
    S2V_FETCH_FILE(path, "vae_2_1_*.safetensors in " + test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(path);
    auto vae = vae_from(f);
    const auto latent = vae.encode(f.tensor("in.video"));
    const double err = test::rel_error(latent, f.tensor("out.latent"));
    qInfo("%s encode out.latent %s: rel err %.3g", path.filename().c_str(),
          c10::str(latent.sizes()).c_str(), err);
    QVERIFY(err <= 1e-5);
  }

  void decodeMatchesReference_data() { test::add_file_rows(vae_files()); }
  void decodeMatchesReference() {
    S2V_FETCH_FILE(path, "vae_2_1_*.safetensors in " + test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(path);
    auto vae = vae_from(f);
    const auto ref = f.tensor("out.decoded");
    const auto video = vae.decode_unclamped(f.tensor("out.latent"));
    const double err = test::rel_error(video, ref);
    const auto clamped = vae.decode(f.tensor("out.latent"));
    const double err_clamped = test::rel_error(clamped, ref.clamp(-1, 1));
    qInfo("%s decode out.decoded %s: rel err %.3g (clamped %.3g)", path.filename().c_str(),
          c10::str(video.sizes()).c_str(), err, err_clamped);
    QVERIFY(err <= 1e-4);
    QVERIFY(err_clamped <= 1e-4);
    QVERIFY(clamped.abs().max().item<float>() <= 1.0f);
  }

  // Causality: the latents of the first 1 + 4k frames do not depend on later frames.
  void encodeIsCausalAcrossChunks() {
    torch::manual_seed(7);
    WanVae vae(tiny_config());
    auto video = torch::rand({1, 3, 9, 16, 16}) * 2 - 1;
    auto full = vae.encode(video);
    auto head = vae.encode(video.narrow(2, 0, 5));
    QCOMPARE(full.sizes().vec(), (std::vector<int64_t>{1, 16, 3, 2, 2}));
    QCOMPARE(head.sizes().vec(), (std::vector<int64_t>{1, 16, 2, 2, 2}));
    QVERIFY(test::rel_error(full.narrow(2, 0, 2), head) < 1e-6);
    auto decoded = vae.decode(full);
    QCOMPARE(decoded.sizes().vec(), (std::vector<int64_t>{1, 3, 9, 16, 16}));
    auto decoded_head = vae.decode(full.narrow(2, 0, 2));
    QVERIFY(test::rel_error(decoded.narrow(2, 0, 5), decoded_head) < 1e-6);
  }

  // A requested token stops an encode, a decode and a tiled decode at their first chunk (the
  // generation job's cancel); a token nobody requests changes nothing.
  void cancelStopsAtAChunk() {
    torch::manual_seed(7);
    WanVae vae(tiny_config());
    CancelToken cancel;
    cancel.request();
    QVERIFY_THROWS_EXCEPTION(s2v::Cancelled, vae.encode(torch::zeros({1, 3, 5, 16, 16}), cancel));
    QVERIFY_THROWS_EXCEPTION(s2v::Cancelled, vae.decode(torch::zeros({1, 16, 2, 2, 2}), cancel));
    QVERIFY_THROWS_EXCEPTION(s2v::Cancelled, vae.decode_tiled(torch::zeros({1, 16, 1, 4, 4}), {2, 1}, cancel));
    const auto z = torch::rand({1, 16, 2, 2, 2});
    CancelToken idle;
    QVERIFY(torch::equal(vae.decode(z, idle), vae.decode(z)));
  }

  void loadListsEveryProblemByName() {
    S2V_REQUIRE_DATA(vae_files(), "vae_2_1_*.safetensors in " + test::parity_dir().string());
    auto path = vae_files().front();
    auto f = weights::SafetensorsFile::open(path);
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& n : f.names())
      if (n.rfind("model.", 0) == 0) tensors.emplace(n.substr(6), f.tensor(n));
    tensors.erase("decoder.head.2.bias");
    tensors.erase("encoder.middle.1.to_qkv.weight");
    tensors["conv2.weight"] = torch::zeros({16, 16, 3, 1, 1});
    tensors["encoder.extra.weight"] = torch::zeros({1});
    QTemporaryDir dir;
    const std::filesystem::path broken = dir.filePath("broken.safetensors").toStdString();
    weights::save_safetensors(broken, std::vector<std::pair<std::string, torch::Tensor>>(tensors.begin(), tensors.end()));
    WanVae vae(config_of(f));
    try {
      vae.load(*weights::open_checkpoint(broken));
      QFAIL("load accepted broken weights");
    } catch (const s2v::Error& e) {
      const QString msg = e.what();
      qInfo("%s", e.what());
      QVERIFY(msg.contains("broken.safetensors"));
      QVERIFY(msg.contains("2 missing tensors"));
      QVERIFY(msg.contains("decoder.head.2.bias"));
      QVERIFY(msg.contains("encoder.middle.1.to_qkv.weight"));
      QVERIFY(msg.contains("conv2.weight: found [16, 16, 3, 1, 1], expected [16, 16, 1, 1, 1]"));
      QVERIFY(msg.contains("encoder.extra.weight"));
      QCOMPARE(e.kind(), ErrorKind::Corrupt);
    }
  }

  void rejectsWrongInputShape() {
    WanVae vae(tiny_config());
    QVERIFY_THROWS_EXCEPTION(s2v::Error, vae.encode(torch::zeros({1, 4, 1, 8, 8})));
    QVERIFY_THROWS_EXCEPTION(s2v::Error, vae.decode(torch::zeros({1, 3, 1, 2, 2})));
    QVERIFY_THROWS_EXCEPTION(s2v::Error, WanVae(tiny_config(), {1.f, 2.f}));
  }

  void configReadsParityMetadata() {
    auto c = WanVaeConfig::from_json(
        R"({"dim": 8, "z_dim": 4, "dim_mult": [1, 2], "temperal_downsample": [true]})");
    QCOMPARE(c.dim, int64_t(8));
    QCOMPARE(c.z_dim, int64_t(4));
    QCOMPARE(c.dim_mult, (std::vector<int64_t>{1, 2}));
    QCOMPARE(c.temperal_downsample, (std::vector<bool>{true}));
    QCOMPARE(c.num_res_blocks, int64_t(2));  // default kept
    QVERIFY_THROWS_EXCEPTION(s2v::Error, WanVaeConfig::from_json("{\"dim\": \"x\"}"));
  }

  // The causal 3x3x3 convolution (oneDNN on the CPU, bench/vae) run chunk by chunk through its
  // frame cache, as the encoder runs it (1, 4, 4 frames), equals LibTorch's conv3d of the whole
  // clip with two zero frames before it. Bound: both sum the same 27 * C = 432 float32 products in
  // different orders; the relative error of such sums is a few ulp times sqrt(432) ~ 2e-6 at
  // worst, far below the parity bound 1e-5 (DESIGN.md).
  void causalConvChunksMatchWholeClip() {
    torch::NoGradGuard no_grad;
    torch::manual_seed(3);
    const int64_t c = 16;
    wan::vae::CausalConv3d conv(c, 8, std::array<int64_t, 3>{3, 3, 3}, std::array<int64_t, 3>{1, 1, 1},
                                std::array<int64_t, 3>{1, 1, 1});
    auto x = torch::randn({1, c, 9, 20, 28});
    auto whole = torch::conv3d(torch::constant_pad_nd(x, {1, 1, 1, 1, 2, 0}), conv->weight, conv->bias);
    wan::vae::FeatCache cache;
    std::vector<torch::Tensor> parts;
    for (auto [begin, len] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 4}, {5, 4}}) {
      cache.index = 0;
      parts.push_back(wan::vae::cached_conv(*conv, x.narrow(2, begin, len), &cache));
    }
    const auto chunked = torch::cat(parts, 2);
    QCOMPARE(chunked.sizes(), whole.sizes());
    const double err = test::rel_error(chunked, whole);
    qInfo("chunked causal conv vs whole-clip conv3d: rel err %.3g", err);
    QVERIFY(err <= 1e-5);
    // the 1x1x1 shortcut (a GEMM) and RMS_norm against their plain definitions
    wan::vae::CausalConv3d pointwise(c, 8, std::array<int64_t, 3>{1, 1, 1});
    const double err_1x1 = test::rel_error(pointwise->forward(x), torch::conv3d(x, pointwise->weight, pointwise->bias));
    wan::vae::RMSNorm norm(c, false);
    norm->gamma.uniform_(0.5, 1.5);
    const auto ref = x / x.norm(2, {1}, true).clamp_min(1e-12) * std::sqrt(double(c)) * norm->gamma;
    const double err_norm = test::rel_error(norm->forward(x), ref);
    qInfo("1x1x1 conv rel err %.3g, RMS_norm rel err %.3g", err_1x1, err_norm);
    QVERIFY(err_1x1 <= 1e-5);
    QVERIFY(err_norm <= 1e-6);  // one float32 norm of 16 squares: a few ulp
  }

  // Inside a CpuBlockReuse scope a freed large block is handed out again; the VAE's results do not
  // depend on the scope (the blocks hold no state).
  void cpuBlocksAreReusedInsideAPass() {
    {
      // 64 MiB: above glibc's largest mmap threshold (32 MiB), so without reuse the block goes
      // back to the kernel and a new one arrives zero-filled; a reused one keeps its contents
      wan::vae::CpuBlockReuse reuse;
      void* first = nullptr;
      {
        auto t = torch::full({int64_t(1) << 24}, 7.0f);
        first = t.data_ptr();
      }
      auto again = torch::empty({int64_t(1) << 24});
      QCOMPARE(again.data_ptr(), first);
      QCOMPARE(again[12345].item<float>(), 7.0f);
    }
    torch::manual_seed(5);
    WanVae vae(tiny_config());
    auto latents = torch::randn({1, 16, 2, 4, 4});
    const auto a = vae.decode(latents);
    torch::Tensor b;
    {
      wan::vae::CpuBlockReuse outer;  // blocks of the first decode are reused by the second
      vae.decode(latents);
      b = vae.decode(latents);
    }
    QCOMPARE(test::rel_error(a, b), 0.0);
  }

  // Spatial tiles with linear blending approach the untiled decode as the overlap grows (the
  // decoder's receptive field is wide, and these weights are random, so tiles differ at the
  // seams); a tile covering the whole latent is exactly the untiled decode. (A last tile is
  // placed flush with the edge, so the effective overlap can exceed the requested one.)
  void tiledDecodeApproximatesUntiled() {
    S2V_REQUIRE_DATA(vae_files(), "vae_2_1_*.safetensors in " + test::parity_dir().string());
    auto path = vae_files().front();
    auto f = weights::SafetensorsFile::open(path);
    auto vae = vae_from(f);
    torch::manual_seed(11);
    auto latents = torch::randn({1, 16, 2, 24, 24});
    auto full = vae.decode(latents);
    auto same = vae.decode_tiled(latents, {24, 4});
    QCOMPARE(test::rel_error(same, full), 0.0);
    std::vector<double> errs;
    for (auto [tile, overlap] : std::vector<std::pair<int64_t, int64_t>>{{16, 8}, {16, 12}}) {
      auto tiled = vae.decode_tiled(latents, {tile, overlap});
      QCOMPARE(tiled.sizes(), full.sizes());
      errs.push_back(test::rel_error(tiled, full));
      qInfo("tiled (tile %lld, overlap %lld latent px) vs untiled: rel err %.3g",
            static_cast<long long>(tile), static_cast<long long>(overlap), errs.back());
    }
    // measured: 0.0617 (overlap 8), 0.0569 (overlap 12)
    QVERIFY(errs[1] < errs[0]);
    QVERIFY(errs[0] < 0.1);
    QVERIFY_THROWS_EXCEPTION(s2v::Error, vae.decode_tiled(latents, {4, 4}));
  }
};

QTEST_APPLESS_MAIN(TestWanVae)
#include "test_wan_vae.moc"
