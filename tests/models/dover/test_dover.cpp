// DOVER: parity with the official code (tests/data/parity/dover_*, written by
// scripts/parity/make_dover_parity.py from VQAssessment/DOVER) on tiny configs, the views, the
// names and shapes of the real checkpoint, loading, and the curation ClarityModel.
#include <QtTest>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "common/parity.h"
#include "models/dover/dover.h"
#include "models/dover/dover_clarity.h"
#include "models/dover/dover_views.h"
#include "models/weights/checkpoint.h"
#include "models/weights/safetensors.h"
#include "models/weights/validate.h"

using namespace s2v::dover;
namespace fs = std::filesystem;
using s2v::test::rel_error;

namespace {

fs::path data_dir() { return fs::path(S2V_SOURCE_DIR) / "tests" / "data" / "parity"; }

// The tiny configuration of make_dover_parity.py.
DoverConfig tiny_config() {
  DoverConfig c;
  c.technical.embed_dim = 4;
  c.technical.depths = {2, 2, 2, 2};
  c.technical.num_heads = {1, 1, 2, 2};
  c.technical.window_size = {2, 3, 3};
  c.technical.frag_biases = {true, true, true, false};
  c.aesthetic.depths = {2, 3, 1, 1};
  c.aesthetic.dims = {4, 8, 16, 32};
  c.head_in = 32;
  c.head_hidden = 8;
  return c;
}

// The tiny model's weights under their native names.
std::vector<std::pair<std::string, torch::Tensor>> tiny_state(const s2v::weights::SafetensorsFile& f) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& n : f.names())
    if (n.rfind("model.", 0) == 0) out.emplace_back(n.substr(6), f.tensor(n).clone());
  return out;
}

// uint8 [3, T, H, W] RGB -> BGR Mats
std::vector<cv::Mat> to_bgr(const torch::Tensor& video) {
  std::vector<cv::Mat> out;
  for (int64_t t = 0; t < video.size(1); ++t) {
    auto hwc = video.select(1, t).permute({1, 2, 0}).contiguous();
    cv::Mat rgb(int(hwc.size(0)), int(hwc.size(1)), CV_8UC3, hwc.data_ptr());
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    out.push_back(bgr);
  }
  return out;
}

// A textured BGR frame that drifts with t.
cv::Mat synthetic_frame(int w, int h, int t) {
  cv::Mat f(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      f.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar((x * 3 + t * 5) % 256), uchar((y * 2 + x) % 256),
                                        uchar(((x / 8 + y / 8) % 2) * 200 + t));
  return f;
}

}  // namespace

class TestDover : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<s2v::weights::SafetensorsFile> ref_;
  Dover tiny_{nullptr};

  std::string path(const char* name) { return dir_.filePath(name).toStdString(); }
  torch::Tensor ref(const std::string& name) { return ref_->tensor(name); }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    torch::manual_seed(3);
    ref_ = std::make_unique<s2v::weights::SafetensorsFile>(
        s2v::weights::SafetensorsFile::open(data_dir() / "dover_tiny.safetensors"));
    tiny_ = Dover(tiny_config());
    // the parity file names the weights "model.<state_dict name>": the key map strips it
    load_dover(*tiny_, s2v::weights::open_checkpoint(data_dir() / "dover_tiny.safetensors"));
  }

  void swinStagesMatchOfficial() {
    torch::NoGradGuard g;
    auto& swin = tiny_->technical_backbone;
    for (size_t i = 0; i < swin->layers->size(); ++i) {
      const std::string key = "sub.technical_backbone.layers." + std::to_string(i);
      const auto out = swin->layers[i]->as<BasicLayerImpl>()->forward(ref(key + ".in"));
      const double err = rel_error(out, ref(key + ".out"));
      qInfo("Swin3D stage %zu (shifted windows, fragment bias, mask): rel error %.3g", i, err);
      QVERIFY2(err <= 1e-5, key.c_str());
    }
    const double err = rel_error(swin->forward(ref("in.technical")), ref("sub.technical_backbone.out"));
    qInfo("Swin3D technical backbone: rel error %.3g", err);
    QVERIFY(err <= 1e-5);
  }

  void convnextBranchMatchesOfficial() {
    torch::NoGradGuard g;
    const auto out = tiny_->aesthetic_backbone->forward(ref("in.aesthetic"));
    const double err = rel_error(out, ref("sub.aesthetic_backbone.out"));
    qInfo("ConvNeXt3D aesthetic backbone: rel error %.3g", err);
    QVERIFY(err <= 1e-5);
  }

  void fusedModelMatchesOfficial() {
    torch::NoGradGuard g;
    const auto s = tiny_->forward(ref("in.technical"), ref("in.aesthetic"));
    const double et = rel_error(s.technical, ref("out.technical_score"));
    const double ea = rel_error(s.aesthetic, ref("out.aesthetic_score"));
    const double t = s.technical.mean().item<float>(), a = s.aesthetic.mean().item<float>();
    const double fused = fuse_scores(t, a);
    const double want = ref("out.fused").item<double>();
    const double ef = std::abs(fused - want) / std::abs(want);
    qInfo("DOVER heads: technical %.3g, aesthetic %.3g; fused %.9g vs %.9g: rel error %.3g", et, ea,
          fused, want, ef);
    QVERIFY(et <= 1e-5);
    QVERIFY(ea <= 1e-5);
    QVERIFY(ef <= 1e-5);
    // the fusion itself: the standardised scores at DOVER's means give 0.5
    QCOMPARE(fuse_scores(0.1107, -0.08285), 0.5);
    QVERIFY(fuse_scores(0.2, 0.0) > fuse_scores(0.1, 0.0));
  }

  void configIsInferredFromShapes() {
    const auto c = infer_dover_config(*s2v::weights::open_checkpoint(data_dir() / "dover_tiny.safetensors"));
    const auto want = tiny_config();
    QCOMPARE(c.technical.embed_dim, want.technical.embed_dim);
    QCOMPARE(c.technical.depths, want.technical.depths);
    QCOMPARE(c.technical.num_heads, want.technical.num_heads);
    QCOMPARE(c.technical.frag_biases, want.technical.frag_biases);
    QCOMPARE(c.technical.window_size, want.technical.window_size);
    QCOMPARE(c.aesthetic.depths, want.aesthetic.depths);
    QCOMPARE(c.aesthetic.dims, want.aesthetic.dims);
    QCOMPARE(c.head_in, want.head_in);
    QCOMPARE(c.head_hidden, want.head_hidden);
  }

  void shiftedWindowMaskFollowsPythonSlices() {
    // a 4-token axis, window 2, shift 1: regions [0,2), [2,3), [3,4) on h; d and w unshifted
    const auto m = shifted_window_mask({1, 4, 2}, {1, 2, 2}, {0, 1, 0});
    QCOMPARE(m.sizes().vec(), (std::vector<int64_t>{2, 4, 4}));
    QCOMPARE(m[0].abs().sum().item<float>(), 0.0f);  // first window: one region
    // second window holds rows 2 and 3 (different regions): -100 between them
    QCOMPARE(m[1][0][2].item<float>(), -100.0f);
    QCOMPARE(m[1][0][1].item<float>(), 0.0f);
    // the fragment gate: 0 within a fragment, 1 across one boundary
    const auto g = fragment_gate({1, 6, 6}, {1, 3, 3}, {0, 0, 0});  // 3×3 fragments of 2×2 tokens
    QCOMPARE(g.sizes().vec(), (std::vector<int64_t>{4, 9, 9}));
    QCOMPARE(g[0][0][1].item<float>(), 0.0f);  // tokens (0,0), (0,1): fragment (0,0)
    QCOMPARE(g[0][0][2].item<float>(), 1.0f);  // (0,2): fragment (0,1)
    QCOMPARE(g[0][0][8].item<float>(), 2.0f);  // (2,2): fragment (1,1)
  }

  void viewsMatchOfficialSampling() {
    const auto f = s2v::weights::SafetensorsFile::open(data_dir() / "dover_views.safetensors");
    for (const char* name : {"video0", "video1", "video2"}) {
      const std::string n = name;
      const auto video = f.tensor("in." + n);
      const auto cfg = f.tensor("cfg." + n + ".fragments");
      FragmentOptions o;
      o.fragments_h = cfg[0].item<int64_t>();
      o.fragments_w = cfg[1].item<int64_t>();
      o.fsize_h = cfg[2].item<int64_t>();
      o.fsize_w = cfg[3].item<int64_t>();
      const auto want_t = f.tensor("out." + n + ".technical").to(torch::kFloat32);
      const auto got_t = technical_fragments(video, o);
      QCOMPARE(got_t.sizes().vec(), want_t.sizes().vec());
      const double dt = (got_t - want_t).abs().max().item<double>();
      // the same view from BGR frames (patches cropped straight from the frames)
      const auto got_m = technical_fragments(to_bgr(video), o);
      const double dm = (got_m - want_t).abs().max().item<double>();
      const auto want_a = f.tensor("out." + n + ".aesthetic");
      const auto got_a = aesthetic_resize(video, cfg[4].item<int64_t>(), cfg[5].item<int64_t>());
      QCOMPARE(got_a.sizes().vec(), want_a.sizes().vec());
      const double da = (got_a.to(torch::kInt32) - want_a.to(torch::kInt32)).abs().max().item<double>();
      const auto got_am = aesthetic_resize(to_bgr(video), cfg[4].item<int64_t>(), cfg[5].item<int64_t>());
      const double dam = (got_am.to(torch::kInt32) - want_a.to(torch::kInt32)).abs().max().item<double>();
      qInfo("%s %lldx%lld: fragments max |diff| %g (tensor) %g (frames); resize %g (tensor) %g (frames)",
            name, (long long)video.size(3), (long long)video.size(2), dt, dm, da, dam);
      QCOMPARE(dt, 0.0);
      QCOMPARE(dm, 0.0);
      QCOMPARE(da, 0.0);
      QCOMPARE(dam, 0.0);
    }
    // the official 7×7 grid on a 1920×1080 frame: cells of 154×274 px, patches at their centres
    const auto l = fragment_layout(1080, 1920);
    QCOMPARE(l.upscale, 0.0);
    QCOMPARE(l.top, (std::vector<int64_t>{61, 215, 369, 523, 677, 831, 985}));
    QCOMPARE(l.left.front(), int64_t(121));
    QCOMPARE(l.left.back(), int64_t(6 * 274 + 121));
    // a 320×180 frame is upsampled by 224/180 first
    QVERIFY(std::abs(fragment_layout(180, 320).upscale - 224.0 / 180.0) < 1e-12);
    // normalisation: ImageNet mean/std on 0..255
    const auto v = normalise_view(torch::full({3, 1, 1, 1}, 123.675f));
    QVERIFY(std::abs(v[0].item<float>()) < 1e-6);
    QVERIFY(std::abs(v[2].item<float>() - (123.675f - 103.53f) / 57.375f) < 1e-5);
    QCOMPARE(spread_indices(4, 8), (std::vector<int64_t>{0, 0, 1, 1, 2, 2, 3, 3}));
    QCOMPARE(spread_indices(64, 4), (std::vector<int64_t>{8, 24, 40, 56}));
  }

  void fullSizeNamesMatchOfficialManifest() {
    std::ifstream in(data_dir() / "dover_manifest.json");
    QVERIFY(in.good());
    const auto m = nlohmann::json::parse(in);
    Dover full;  // dover.yml
    std::map<std::string, std::vector<int64_t>> ours;
    std::set<std::string> integral;
    int64_t params = 0;
    for (const auto& p : full->named_parameters(true)) {
      ours[p.key()] = p.value().sizes().vec();
      params += p.value().numel();
    }
    for (const auto& b : full->named_buffers(true)) {
      ours[b.key()] = b.value().sizes().vec();
      if (!b.value().is_floating_point()) integral.insert(b.key());
    }
    std::vector<std::string> problems;
    for (const auto& [name, shape] : m["shapes"].items()) {
      auto it = ours.find(name);
      if (it == ours.end()) problems.push_back("missing " + name);
      else if (it->second != shape.get<std::vector<int64_t>>()) problems.push_back("shape " + name);
    }
    for (const auto& [name, shape] : ours)
      if (!m["shapes"].contains(name)) problems.push_back("extra " + name);
    for (const auto& p : problems) qWarning("%s", p.c_str());
    QVERIFY(problems.empty());
    QCOMPARE(ours.size(), m["shapes"].size());
    QCOMPARE(params, m["num_parameters"].get<int64_t>());
    QCOMPARE(integral, m["integral"].get<std::set<std::string>>());
    qInfo("DOVER (dover.yml): %zu tensors, %lld parameters", ours.size(), (long long)params);
  }

  void pthAndSafetensorsLoadIdentically() {
    torch::NoGradGuard g;
    // the official state_dict written by torch.save, and the same tensors nested under
    // "state_dict." in a safetensors file
    auto state = tiny_state(*ref_);
    for (auto& [k, v] : state) k = "state_dict." + k;
    s2v::weights::save_safetensors(path("nested.safetensors"), state);
    Dover a(tiny_config()), b(tiny_config());
    load_dover(*a, s2v::weights::open_checkpoint(data_dir() / "dover_tiny.pth"));
    load_dover(*b, s2v::weights::open_checkpoint(path("nested.safetensors")));
    const auto sa = a->forward(ref("in.technical"), ref("in.aesthetic"));
    const auto sb = b->forward(ref("in.technical"), ref("in.aesthetic"));
    QVERIFY(torch::equal(sa.technical, sb.technical));
    QVERIFY(torch::equal(sa.aesthetic, sb.aesthetic));
    QVERIFY(rel_error(sa.technical, ref("out.technical_score")) <= 1e-5);
    // the factory infers the tiny configuration from the .pth
    auto clarity = make_clarity_model(data_dir() / "dover_tiny.pth");
    QCOMPARE(clarity->model()->config().technical.window_size, (Dims3{2, 3, 3}));
  }

  void missingAndMisshapedTensorsAreNamed() {
    auto state = tiny_state(*ref_);
    const std::string gone = "technical_backbone.layers.1.blocks.1.attn.fragment_position_bias_table";
    const std::string bent = "aesthetic_backbone.stages.1.1.dwconv.weight";
    std::erase_if(state, [&](const auto& kv) { return kv.first == gone; });
    for (auto& [k, v] : state)
      if (k == bent) v = torch::zeros({8, 1, 1, 7, 7});  // a 1×7×7 kernel where '131' wants 3×7×7
    s2v::weights::save_safetensors(path("broken.safetensors"), state);
    Dover m(tiny_config());
    try {
      load_dover(*m, s2v::weights::open_checkpoint(path("broken.safetensors")));
      QFAIL("a broken checkpoint was accepted");
    } catch (const s2v::weights::ValidationError& e) {
      const std::string what = e.what();
      QVERIFY2(what.find(gone) != std::string::npos, e.what());
      QVERIFY2(what.find(bent) != std::string::npos, e.what());
      QCOMPARE(e.issues().size(), size_t(2));
    }
    s2v::weights::save_safetensors(path("other.safetensors"), {{"w", torch::zeros({2})}});
    QVERIFY_THROWS_EXCEPTION(s2v::Error, make_clarity_model(path("other.safetensors")));
  }

  void clarityModelScoresSyntheticClip() {
    DoverClarity clarity(tiny_);
    QCOMPARE(clarity.native_frames_wanted(), 32);
    QCOMPARE(clarity.native_stride(), 2);
    s2v::curation::ClipFrames clip;
    clip.path = "synthetic.mp4";
    clip.width = 320;
    clip.height = 240;
    clip.native_stride = 2;
    for (int t = 0; t < 32; ++t) clip.native_frames.push_back(synthetic_frame(320, 240, t));
    for (int t = 0; t < 6; ++t) clip.frames.push_back(synthetic_frame(288, 216, 4 * t));
    std::vector<double> series(6, 7.0);
    const auto t0 = std::chrono::steady_clock::now();
    const auto m = clarity.score(clip, &series);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    qInfo("tiny DOVER on a 32-frame clip: clarity %.4f in %.2f s (%s)", *m.value, secs, m.method.c_str());
    QVERIFY(m.available());
    QCOMPARE(m.method, std::string("DOVER (technical+aesthetic fused, x100)"));
    QCOMPARE(clarity.method(), m.method);
    const auto r = clarity.evaluate(clip);
    QVERIFY(std::abs(*m.value - r.fused * 100.0) < 1e-9);
    QCOMPARE(r.fused, fuse_scores(r.technical, r.aesthetic));
    QVERIFY(*m.value >= 0.0 && *m.value <= 100.0);
    QCOMPARE(series, std::vector<double>(6, 7.0));  // no per-frame series
    // deterministic: the same clip gives the same score
    QCOMPARE(*clarity.score(clip, nullptr).value, *m.value);
    // without source-resolution frames the sampled ones are used, and the method says so
    clip.native_frames.clear();
    const auto fb = clarity.score(clip, nullptr);
    QVERIFY(fb.available());
    QVERIFY2(fb.method.find("sampled working-resolution frames") != std::string::npos, fb.method.c_str());
    // frames smaller than one fragment: n/a with a reason
    clip.native_frames.assign(32, synthetic_frame(24, 20, 0));
    const auto small = clarity.score(clip, nullptr);
    QVERIFY(!small.available());
    QVERIFY2(small.na_reason.find("32x32 fragment") != std::string::npos, small.na_reason.c_str());
    // no frames at all: n/a with a reason
    clip.native_frames.clear();
    clip.frames.clear();
    const auto na = clarity.score(clip, nullptr);
    QVERIFY(!na.available());
    QVERIFY(!na.na_reason.empty());
  }
};

QTEST_GUILESS_MAIN(TestDover)
#include "test_dover.moc"
