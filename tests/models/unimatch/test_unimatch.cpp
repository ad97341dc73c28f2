// UniMatch flow: parity with the official code (tests/data/parity/unimatch_*, made by
// scripts/parity/make_unimatch_parity.py), the real model's checkpoint names, loading, and the
// curation MotionModel on synthetic clips. The real weights are not on this machine.
#include <QtTest>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "common/parity.h"
#include "models/unimatch/matching.h"
#include "models/unimatch/unimatch.h"
#include "models/unimatch/unimatch_motion.h"
#include "models/weights/checkpoint.h"
#include "models/weights/safetensors.h"
#include "models/weights/validate.h"

using namespace s2v::unimatch;
namespace fs = std::filesystem;

namespace {

// How far apart two float32 evaluations of the flow may land, in units of the spread measured
// under half-ulp roundings of inputs and weights (see matchesOfficialFlowOnTinyConfigs): one
// evaluation's own rounding is comparable to that spread, two evaluations (ours, the
// reference's) add up, and x4 covers a less favourable summation order.
constexpr double kRoundingSpread = 8.0;

fs::path data_dir() { return fs::path(S2V_SOURCE_DIR) / "tests" / "data" / "parity"; }

std::vector<fs::path> parity_files() {
  std::vector<fs::path> out;
  for (auto& e : fs::directory_iterator(data_dir())) {
    const auto name = e.path().filename().string();
    if (e.path().extension() == ".safetensors" && name.rfind("unimatch_", 0) == 0) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The weights of make_unimatch_parity.py's formula_weights: tensor k of the sorted names,
// t = arange(numel), s = sin(0.61803 t + 1.1e-4 t² + 1.7 (k + 1)); LayerNorm weights 1 + 0.1 s,
// other 1-D tensors 0.1 s, others s·sqrt(2 / fan_in).
std::map<std::string, double> formula_weights(torch::nn::Module& m) {
  torch::NoGradGuard g;
  std::map<std::string, torch::Tensor> params;
  for (auto& p : m.named_parameters(true)) params.emplace(p.key(), p.value());
  std::map<std::string, double> sums;
  int64_t k = 0;
  for (auto& [name, p] : params) {
    const int64_t n = p.numel();
    const auto t = torch::arange(n, torch::kFloat64);
    const auto s = torch::sin(t * 0.61803 + t * t * 1.1e-4 + 1.7 * double(k + 1));
    const bool norm_weight = p.dim() == 1 && (name.size() >= 12 && (name.compare(name.size() - 12, 12, "norm1.weight") == 0 ||
                                                                    name.compare(name.size() - 12, 12, "norm2.weight") == 0));
    torch::Tensor v;
    if (norm_weight) v = 1.0 + 0.1 * s;
    else if (p.dim() <= 1) v = 0.1 * s;
    else v = s * std::sqrt(2.0 / (double(n) / double(p.size(0))));
    v = v.to(torch::kFloat32).view(p.sizes());
    p.copy_(v);
    sums[name] = v.to(torch::kFloat64).sum().item<double>();
    ++k;
  }
  return sums;
}

UniMatchConfig config_from_json(const nlohmann::json& j) {
  UniMatchConfig c;
  c.feature_channels = j.at("feature_channels");
  c.num_scales = j.at("num_scales");
  c.upsample_factor = j.at("upsample_factor");
  c.num_head = j.at("num_head");
  c.ffn_dim_expansion = j.at("ffn_dim_expansion");
  c.num_transformer_layers = j.at("num_transformer_layers");
  c.reg_refine = j.at("reg_refine");
  return c;
}

UniMatchRun run_from_json(const nlohmann::json& j) {
  UniMatchRun r;
  r.attn_splits_list = j.at("attn_splits_list").get<std::vector<int64_t>>();
  r.corr_radius_list = j.at("corr_radius_list").get<std::vector<int64_t>>();
  r.prop_radius_list = j.at("prop_radius_list").get<std::vector<int64_t>>();
  r.num_reg_refine = j.at("num_reg_refine");
  return r;
}

// A small model without the refinement (whose widths are fixed at 128) for loader tests.
UniMatchConfig tiny() {
  UniMatchConfig c;
  c.feature_channels = 32;
  c.num_transformer_layers = 1;
  c.ffn_dim_expansion = 2;
  c.reg_refine = false;
  return c;
}

std::vector<std::pair<std::string, torch::Tensor>> state_of(torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& p : m.named_parameters(true)) out.emplace_back(p.key(), p.value().detach().clone());
  return out;
}

void randomise(torch::nn::Module& m) {
  torch::NoGradGuard g;
  for (auto& p : m.named_parameters(true)) p.value().normal_(0.0, 0.1);
}

// A .pth laid out as the official files: {'model': state_dict, 'step': int}.
void write_official_pth(const fs::path& path, const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  c10::Dict<std::string, torch::Tensor> model;
  for (const auto& [name, t] : state) model.insert(name, t.contiguous());
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert("model", model);
  root.insert("step", int64_t(100000));
  const auto bytes = torch::pickle_save(root);
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// A textured BGR frame shifted by (dx, dy) pixels.
cv::Mat textured(int w, int h, int dx, int dy) {
  cv::Mat big(h + 40, w + 40, CV_8UC3);
  cv::RNG rng(5);
  rng.fill(big, cv::RNG::UNIFORM, 0, 255);
  cv::GaussianBlur(big, big, cv::Size(7, 7), 2.0);
  return big(cv::Rect(20 + dx, 20 + dy, w, h)).clone();
}

}  // namespace

class TestUniMatch : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

  std::string path(const char* name) { return dir_.filePath(name).toStdString(); }

 private slots:
  void initTestCase() {
    torch::manual_seed(3);
    QVERIFY(dir_.isValid());
  }

  // The vectors cover the three kinds of network: scale 2 with refinement, scale 2, scale 1.
  void parityFilesCoverEveryKind() {
    const auto files = parity_files();
    QCOMPARE(files.size(), size_t(3));
    std::set<std::pair<int64_t, bool>> kinds;
    for (const auto& file : files) {
      const auto f = s2v::weights::SafetensorsFile::open(file);
      const auto config = config_from_json(s2v::test::metadata_json(f, "config"));
      kinds.insert({config.num_scales, config.reg_refine});
    }
    QVERIFY(kinds.count({2, true}) && kinds.count({2, false}) && kinds.count({1, false}));
  }

  void matchesOfficialFlowOnTinyConfigs_data() { s2v::test::add_file_rows(parity_files()); }
  void matchesOfficialFlowOnTinyConfigs() {
    torch::NoGradGuard g;
    S2V_FETCH_FILE(file, "unimatch_*.safetensors in " + data_dir().string());
    const auto f = s2v::weights::SafetensorsFile::open(file);
    const auto config = config_from_json(s2v::test::metadata_json(f, "config"));
    const auto run = run_from_json(s2v::test::metadata_json(f, "call"));
    UniMatch model(config);
    const auto sums = formula_weights(*model);
    // the same weights as the script: every tensor's sum
    for (const auto& [name, sum] : sums) {
      QVERIFY2(f.contains("wsum." + name), name.c_str());
      const double ref = f.tensor("wsum." + name).item<double>();
      QVERIFY2(std::abs(sum - ref) <= 1e-9 * std::max(1.0, std::abs(ref)), name.c_str());
    }
    size_t wsums = 0;
    for (const auto& n : f.names()) wsums += n.rfind("wsum.", 0) == 0;
    QCOMPARE(wsums, sums.size());  // and no tensor the official model has and ours lacks

    const auto img0 = f.tensor("in.img0"), img1 = f.tensor("in.img1");
    // intermediate results: backbone (lowest resolution) and the first transformer pass
    auto [f0, f1] = model->extract_feature(img0, img1);
    const auto low = "sub.backbone." + std::to_string(config.num_scales - 1);
    const double e_backbone = s2v::test::rel_error(torch::cat({f0[0], f1[0]}, 0), f.tensor(low));
    auto [p0, p1] = feature_add_position(f0[0], f1[0], run.attn_splits_list[0]);
    const double e_transformer = s2v::test::rel_error(
        model->transformer->forward(p0, p1, run.attn_splits_list[0]).first, f.tensor("sub.transformer.scale0.feature0"));
    const auto t0 = std::chrono::steady_clock::now();
    const auto flow = model->forward(img0, img1, run);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto ref_flow = f.tensor("out.flow");
    const double e_flow = s2v::test::rel_error(flow, ref_flow);
    // The bound on the flow comes from the network itself. The refinement steps amplify
    // rounding: the stored reference is a float32 computation, and float32 on another CPU or
    // with another thread count rounds differently (2.9e-5 was seen on an AMD EPYC against
    // 6.2e-7 here), so a fixed 1e-5 does not travel. `sens`: the largest change of our float32
    // flow when every input pixel and every weight is moved by half a float32 ulp (2^-24
    // relative, random signs; two draws): how far apart two float32 evaluations that round
    // differently can land. The reference and ours are two such evaluations, so
    // |ours - ref| <= kRoundingSpread * sens, with a floor of 1e-5 (the parity bar) for
    // networks that barely amplify rounding. A real mistake moves the flow by far more
    // (the checks above and below localise it).
    double sens = 0, portrait_sens = 0;
    torch::Tensor pflow;
    if (f.contains("out.portrait_flow")) pflow = model->estimate_flow(f.tensor("in.portrait0"), f.tensor("in.portrait1"), run, 32);
    {
      torch::manual_seed(11);
      const auto ulp = std::ldexp(1.0, -24);
      for (int draw = 0; draw < 2; ++draw) {
        UniMatch m2(config);
        formula_weights(*m2);
        for (auto& p : m2->named_parameters(true))
          p.value().mul_(1.0 + ulp * torch::randn_like(p.value()).sign());
        const auto jitter = [&](const torch::Tensor& x) { return x * (1.0 + ulp * torch::randn_like(x).sign()); };
        sens = std::max(sens, s2v::test::rel_error(m2->forward(jitter(img0), jitter(img1), run), flow));
        if (pflow.defined())
          portrait_sens = std::max(portrait_sens, s2v::test::rel_error(m2->estimate_flow(jitter(f.tensor("in.portrait0")),
                                                                                          jitter(f.tensor("in.portrait1")), run, 32),
                                                                       pflow));
      }
    }
    const double bound = std::max(1e-5, kRoundingSpread * sens);
    qInfo("%s: backbone %.3g, transformer %.3g, flow %.3g (bound %.3g = max(1e-5, %.0f x spread %.3g under "
          "half-ulp roundings)) (%.2f s)",
          file.filename().string().c_str(), e_backbone, e_transformer, e_flow, bound, kRoundingSpread, sens, secs);
    QVERIFY(e_backbone <= 1e-5);
    QVERIFY(e_transformer <= 1e-5);
    QVERIFY(e_flow <= bound);
    if (pflow.defined()) {
      const double e = s2v::test::rel_error(pflow, f.tensor("out.portrait_flow"));
      const double pbound = std::max(1e-5, kRoundingSpread * portrait_sens);
      qInfo("%s: portrait 70x50 through the official inference resizing: flow %.3g (bound %.3g, spread %.3g)",
            file.filename().string().c_str(), e, pbound, portrait_sens);
      QVERIFY(e <= pbound);
    }
  }

  void checkpointNamesEqualOfficialManifest() {
    UniMatch model(UniMatchConfig::gmflow_scale2_regrefine6());
    const auto ours = s2v::weights::expected_from_module(*model);
    const auto official = s2v::weights::load_manifest(data_dir() / "unimatch_manifest.json");
    QCOMPARE(ours.size(), official.size());
    for (const auto& [name, t] : official) {
      auto it = ours.find(name);
      QVERIFY2(it != ours.end(), name.c_str());
      QVERIFY2(it->second.shape == t.shape, name.c_str());
    }
    QCOMPARE(s2v::weights::parameter_count(ours), uint64_t(7360688));
    // the default run is Open-Sora's
    const auto run = UniMatchRun::defaults(model->config());
    QCOMPARE(run.attn_splits_list, (std::vector<int64_t>{2, 8}));
    QCOMPARE(run.corr_radius_list, (std::vector<int64_t>{-1, 4}));
    QCOMPARE(run.prop_radius_list, (std::vector<int64_t>{-1, 1}));
    QCOMPARE(run.num_reg_refine, int64_t(6));
  }

  void pthAndSafetensorsLoadAlike() {
    torch::NoGradGuard g;
    UniMatch a(tiny());
    randomise(*a);
    const auto state = state_of(*a);
    s2v::weights::save_safetensors(path("unimatch_tiny.safetensors"), state);
    write_official_pth(path("unimatch_tiny.pth"), state);
    const auto st = make_motion_model(path("unimatch_tiny.safetensors"));
    const auto pth = make_motion_model(path("unimatch_tiny.pth"));
    for (const auto& m : {st->model(), pth->model()}) {
      const auto& c = m->config();
      QCOMPARE(c.feature_channels, int64_t(32));
      QCOMPARE(c.num_scales, int64_t(2));
      QCOMPARE(c.num_transformer_layers, int64_t(1));
      QCOMPARE(c.ffn_dim_expansion, int64_t(2));
      QCOMPARE(c.upsample_factor, int64_t(4));
      QVERIFY(!c.reg_refine);
    }
    const auto x0 = torch::rand({1, 3, 64, 96}) * 255, x1 = torch::rand({1, 3, 64, 96}) * 255;
    const auto run = UniMatchRun::defaults(tiny());
    const auto ya = a->forward(x0, x1, run);
    const auto ys = st->model()->forward(x0, x1, run);
    const auto yp = pth->model()->forward(x0, x1, run);
    QVERIFY(torch::equal(ys, yp));
    QVERIFY(torch::equal(ya, ys));
  }

  void missingAndMisshapenTensorsAreNamed() {
    UniMatch a(tiny());
    auto state = state_of(*a);
    const std::string gone = "transformer.layers.0.cross_attn_ffn.mlp.2.weight";
    const std::string bent = "feature_flow_attn.k_proj.bias";
    std::erase_if(state, [&](const auto& kv) { return kv.first == gone; });
    for (auto& [name, t] : state)
      if (name == bent) t = torch::zeros({7});
    s2v::weights::save_safetensors(path("unimatch_broken.safetensors"), state);
    try {
      make_motion_model(path("unimatch_broken.safetensors"));
      QFAIL("a broken checkpoint was accepted");
    } catch (const s2v::weights::ValidationError& e) {
      const std::string what = e.what();
      QVERIFY2(what.find(gone) != std::string::npos, e.what());
      QVERIFY2(what.find(bent) != std::string::npos, e.what());
      QCOMPARE(e.issues().size(), size_t(2));
    }
    s2v::weights::save_safetensors(path("other.safetensors"), {{"w", torch::zeros({2})}});
    QVERIFY_THROWS_EXCEPTION(s2v::Error, make_motion_model(path("other.safetensors")));
  }

  void inputIsOpenSoraRgbResize() {
    UniMatchMotion m{UniMatch(tiny())};
    cv::Mat land(324, 576, CV_8UC3, cv::Scalar(10, 128, 250));  // BGR
    const auto t = m.to_input(land);
    QCOMPARE(t.sizes().vec(), (std::vector<int64_t>{3, 320, 576}));
    QVERIFY(std::abs(t[0][100][100].item<float>() - 250.0f) < 1e-3);  // red first
    QVERIFY(std::abs(t[2][100][100].item<float>() - 10.0f) < 1e-3);
    // portrait: transposed, so the top-right corner lands bottom-left
    cv::Mat port(576, 324, CV_8UC3, cv::Scalar(0, 0, 0));
    port.at<cv::Vec3b>(0, 323) = cv::Vec3b(0, 0, 255);
    const auto p = m.to_input(port);
    QCOMPARE(p.sizes().vec(), (std::vector<int64_t>{3, 320, 576}));
    QVERIFY(std::abs(p[0][319][0].item<float>() - 255.0f) < 0.01);  // align_corners keeps corners
    QCOMPARE(p[0][0][575].item<float>(), 0.0f);
  }

  void pairsAreSpreadEvenly() {
    QCOMPARE(UniMatchMotion::chosen_pairs(5, 8), (std::vector<int>{1, 2, 3, 4}));
    QCOMPARE(UniMatchMotion::chosen_pairs(21, 5), (std::vector<int>{1, 6, 11, 15, 20}));
    QCOMPARE(UniMatchMotion::chosen_pairs(10, 1), (std::vector<int>{5}));
    QCOMPARE(UniMatchMotion::chosen_pairs(1, 8), (std::vector<int>{}));
  }

  void motionModelScoresSyntheticClip() {
    UniMatch model(tiny());
    randomise(*model);
    UniMatchMotionOptions o;
    o.input_h = 64;
    o.input_w = 96;
    o.max_pairs = 2;
    o.pairs_per_batch = 2;
    UniMatchMotion motion(model, o);
    s2v::curation::ClipFrames clip;
    for (int i = 0; i < 5; ++i) {
      clip.frames.push_back(textured(192, 108, 2 * i, i));
      clip.timestamps.push_back(i / 4.0);
    }
    const auto m = motion.score(clip);
    QVERIFY(m.motion.available());
    QCOMPARE(m.series.size(), size_t(5));
    QVERIFY(std::isnan(m.series[0]));
    QVERIFY(std::isfinite(m.series[1]) && std::isfinite(m.series[4]));  // pairs (0,1) and (3,4)
    QVERIFY(std::isnan(m.series[2]) && std::isnan(m.series[3]));         // skipped
    QVERIFY(std::abs(*m.motion.value - (m.series[1] + m.series[4]) / 2) < 1e-12);
    // the value is the flow of the pair, normalised by the input diagonal
    const auto f = motion.flow(motion.to_input(clip.frames[0]).unsqueeze(0), motion.to_input(clip.frames[1]).unsqueeze(0));
    const double raw = f[0].norm(2, {0}).mean().item<double>();
    QVERIFY(std::abs(m.series[1] - raw / std::hypot(64.0, 96.0) * 1000.0) < 1e-6 * std::max(1.0, m.series[1]));
    QCOMPARE(QString::fromStdString(m.motion.method), QString::fromStdString(motion.method()));
    // too few frames
    s2v::curation::ClipFrames one;
    one.frames.push_back(clip.frames[0]);
    const auto na = motion.score(one);
    QVERIFY(!na.motion.available());
    QVERIFY(!na.motion.na_reason.empty());
    QCOMPARE(na.series.size(), size_t(1));
    // the method string of the real configuration
    UniMatchMotion full{UniMatch(UniMatchConfig{})};
    QCOMPARE(QString::fromStdString(full.method()),
             QString("UniMatch GMFlow scale-2 refine-6 at 320x576, mean |flow| / diagonal x1000 "
                     "(Open-Sora's raw score = value x 0.659)"));
  }
};

QTEST_GUILESS_MAIN(TestUniMatch)
#include "test_unimatch.moc"
