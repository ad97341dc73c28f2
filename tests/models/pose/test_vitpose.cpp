// ViTPose whole-body: tiny random configs (the real weights are not on this machine).
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <set>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "models/pose/pose_estimator.h"
#include "models/pose/topdown.h"
#include "models/pose/vitpose.h"
#include "models/weights/checkpoint.h"
#include "models/weights/safetensors.h"
#include "models/weights/validate.h"

using namespace s2v::pose;
namespace fs = std::filesystem;

namespace {

// 64×48 input, 4×3 patches, 16×12 heatmaps with the classic head.
ViTPoseConfig tiny(int64_t out = 133) {
  ViTPoseConfig c;
  c.img_h = 64;
  c.img_w = 48;
  c.embed_dim = 64;
  c.depth = 2;
  c.num_heads = 1;  // what infer_vitpose_config gives a 64-wide model
  c.deconv_filters = {16, 16};
  c.out_channels = out;
  return c;
}

std::vector<std::pair<std::string, torch::Tensor>> state_of(torch::nn::Module& m,
                                                             const std::string& prefix = {}) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& p : m.named_parameters(true)) out.emplace_back(prefix + p.key(), p.value().detach().clone());
  for (auto& b : m.named_buffers(true)) out.emplace_back(prefix + b.key(), b.value().detach().clone());
  return out;
}

void randomise(torch::nn::Module& m) {
  torch::NoGradGuard g;
  for (auto& p : m.named_parameters(true)) p.value().normal_(0.0, 0.1);
  for (auto& b : m.named_buffers(true)) {
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
    else if (b.key().find("running_mean") != std::string::npos) b.value().normal_(0.0, 0.1);
  }
}

// A Gaussian bump centred at (cx, cy) on an [H, W] map.
torch::Tensor bump(int64_t h, int64_t w, double cx, double cy, double sigma = 1.5) {
  auto ys = torch::arange(h, torch::kFloat64).view({h, 1});
  auto xs = torch::arange(w, torch::kFloat64).view({1, w});
  return torch::exp(-((xs - cx).pow(2) + (ys - cy).pow(2)) / (2 * sigma * sigma)).to(torch::kFloat32);
}

}  // namespace

class TestViTPose : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

  std::string path(const char* name) { return dir_.filePath(name).toStdString(); }

 private slots:
  void initTestCase() {
    torch::manual_seed(7);
    QVERIFY(dir_.isValid());
  }

  void outputShapesFollowConfig() {
    torch::NoGradGuard g;
    ViTPose classic(tiny());
    QCOMPARE(classic->config().grid_h(), int64_t(4));
    QCOMPARE(classic->config().grid_w(), int64_t(3));
    auto feat = classic->backbone(torch::randn({2, 3, 64, 48}));
    QCOMPARE(feat.sizes().vec(), (std::vector<int64_t>{2, 64, 4, 3}));
    auto hm = classic->forward(torch::randn({2, 3, 64, 48}));
    QCOMPARE(hm.sizes().vec(), (std::vector<int64_t>{2, 133, 16, 12}));
    // the simple decoder: ReLU, ×4 bilinear, 3×3 conv
    auto c = tiny(17);
    c.deconv_filters.clear();
    c.deconv_kernels.clear();
    c.upsample = 4;
    c.final_conv_kernel = 3;
    ViTPose simple(c);
    QCOMPARE(simple->forward(torch::randn({1, 3, 64, 48})).sizes().vec(),
             (std::vector<int64_t>{1, 17, 16, 12}));
    QCOMPARE(c.heatmap_h(), int64_t(16));
    // the real configs: 256×192 -> 16×12 patches, 64×48 heatmaps
    const auto h = ViTPoseConfig::huge_wholebody();
    QCOMPARE(h.grid_h() * h.grid_w(), int64_t(192));
    QCOMPARE(h.heatmap_h(), int64_t(64));
    QCOMPARE(h.heatmap_w(), int64_t(48));
  }

  void parameterNamesAreMmposeCheckpointNames() {
    ViTPose m(tiny());
    std::set<std::string> names;
    for (auto& p : m->named_parameters(true)) names.insert(p.key());
    for (auto& b : m->named_buffers(true)) names.insert(b.key());
    for (const char* want :
         {"backbone.patch_embed.proj.weight", "backbone.patch_embed.proj.bias", "backbone.pos_embed",
          "backbone.blocks.1.norm1.weight", "backbone.blocks.1.attn.qkv.weight",
          "backbone.blocks.1.attn.qkv.bias", "backbone.blocks.1.attn.proj.bias",
          "backbone.blocks.0.norm2.bias", "backbone.blocks.0.mlp.fc1.weight",
          "backbone.blocks.0.mlp.fc2.bias", "backbone.last_norm.weight",
          "keypoint_head.deconv_layers.0.weight", "keypoint_head.deconv_layers.1.running_var",
          "keypoint_head.deconv_layers.1.num_batches_tracked",
          "keypoint_head.deconv_layers.3.weight", "keypoint_head.deconv_layers.4.bias",
          "keypoint_head.final_layer.weight", "keypoint_head.final_layer.bias"})
      QVERIFY2(names.count(want), want);
    QVERIFY(!names.count("keypoint_head.deconv_layers.0.bias"));  // deconvs have no bias
    // patch conv 2 + pos_embed 1 + 12 per block + last_norm 2; head: (deconv 1 + BN 5) × 2 + final 2
    QCOMPARE(names.size(), size_t(3 + 12 * 2 + 2 + (1 + 5) * 2 + 2));
    QCOMPARE(m->backbone->pos_embed.sizes().vec(), (std::vector<int64_t>{1, 13, 64}));
  }

  void loaderAcceptsSyntheticCheckpoint() {
    torch::NoGradGuard g;
    ViTPose a(tiny());
    randomise(*a);
    // mmpose .pth files nest the weights under "state_dict."; test that layout in safetensors
    const auto file = path("vitpose_tiny.safetensors");
    s2v::weights::save_safetensors(file, state_of(*a, "state_dict."));
    const auto source = s2v::weights::open_checkpoint(file);
    const auto config = infer_vitpose_config(*source);
    QCOMPARE(config.embed_dim, int64_t(64));
    QCOMPARE(config.depth, int64_t(2));
    QCOMPARE(config.img_h, int64_t(64));
    QCOMPARE(config.img_w, int64_t(48));
    QCOMPARE(config.deconv_filters, (std::vector<int64_t>{16, 16}));
    QCOMPARE(config.out_channels, int64_t(133));
    ViTPose b(config);
    load_vitpose(*b, source);
    const auto x = torch::randn({1, 3, 64, 48});
    const auto ya = a->forward(x), yb = b->forward(x);
    const double err = ((ya - yb).norm() / ya.norm()).item<double>();
    qInfo("loaded vs original heatmaps: rel error %.3g", err);
    QVERIFY(err < 1e-6);
    // the estimator built from the file
    auto est = make_pose_model(file);
    QVERIFY(est->method().find("ViTPose-64") != std::string::npos);
  }

  void rejectsMissingTensorByName() {
    ViTPose a(tiny());
    auto state = state_of(*a);
    const std::string gone = "backbone.blocks.1.attn.qkv.weight";
    std::erase_if(state, [&](const auto& kv) { return kv.first == gone; });
    const auto file = path("vitpose_missing.safetensors");
    s2v::weights::save_safetensors(file, state);
    ViTPose b(tiny());
    try {
      load_vitpose(*b, s2v::weights::open_checkpoint(file));
      QFAIL("a checkpoint without a tensor was accepted");
    } catch (const s2v::weights::ValidationError& e) {
      QVERIFY2(std::string(e.what()).find(gone) != std::string::npos, e.what());
      QCOMPARE(e.issues().size(), size_t(1));
    }
    // and a file that is no ViTPose at all
    s2v::weights::save_safetensors(path("other.safetensors"), {{"w", torch::zeros({2})}});
    QVERIFY_THROWS_EXCEPTION(s2v::Error, make_pose_model(path("other.safetensors")));
  }

  void boxIsFittedToTheInputAspect() {
    // a square 100 px box at aspect 192:256 grows in height: 100 × 133.3, then × 1.25
    const auto cs = box_to_center_scale(cv::Rect2d(50, 20, 100, 100), cv::Size(192, 256));
    QCOMPARE(cs.center, cv::Point2d(100, 70));
    QVERIFY(std::abs(cs.scale.x - 100.0 / 200 * 1.25) < 1e-12);
    QVERIFY(std::abs(cs.scale.y - 100.0 / 0.75 / 200 * 1.25) < 1e-12);
    // the affine maps the box centre to the input centre and the box width to 192 / 1.25 px
    const cv::Mat m = affine_to_input(cs, cv::Size(192, 256));
    const double qx = m.at<double>(0, 0) * 100 + m.at<double>(0, 2);
    const double qy = m.at<double>(1, 1) * 70 + m.at<double>(1, 2);
    QVERIFY(std::abs(qx - 96) < 1e-9 && std::abs(qy - 128) < 1e-9);
    QVERIFY(std::abs(m.at<double>(0, 0) * 100 - 192 / 1.25) < 1e-9);
  }

  void cropIsNormalisedRgb() {
    cv::Mat img(200, 300, CV_8UC3, cv::Scalar(10, 128, 250));  // BGR
    const auto cs = box_to_center_scale(cv::Rect2d(100, 50, 60, 80), cv::Size(48, 64));
    const auto t = crop_person(img, cs, cv::Size(48, 64));
    QCOMPARE(t.sizes().vec(), (std::vector<int64_t>{3, 64, 48}));
    // channel 0 is red (250), normalised with the ImageNet mean/std
    QVERIFY(std::abs(t[0][32][24].item<float>() - (250 / 255.0f - 0.485f) / 0.229f) < 1e-5);
    QVERIFY(std::abs(t[2][32][24].item<float>() - (10 / 255.0f - 0.406f) / 0.225f) < 1e-5);
  }

  void decodingRecoversPlantedPeaks() {
    // heatmaps 64×48 for a 192×256 input: image points -> input -> heatmap (÷4), planted as
    // bumps; decoding must map them back to the image points
    const cv::Size input(192, 256);
    const auto cs = box_to_center_scale(cv::Rect2d(400, 120, 150, 300), input);
    const cv::Mat m = affine_to_input(cs, input);
    const std::vector<cv::Point2d> pts = {{430.0, 150.0}, {475.3, 260.8}, {520.0, 400.6}};
    auto hm = torch::zeros({3, 64, 48});
    for (size_t i = 0; i < pts.size(); ++i) {
      const double hx = (m.at<double>(0, 0) * pts[i].x + m.at<double>(0, 2)) / 4.0;
      const double hy = (m.at<double>(1, 1) * pts[i].y + m.at<double>(1, 2)) / 4.0;
      hm[static_cast<int64_t>(i)] = bump(64, 48, hx, hy) * 0.9;
    }
    const auto kps = decode_heatmaps(hm, cs);
    QCOMPARE(kps.size(), size_t(3));
    // one heatmap pixel is scale·200/48 image pixels; the quarter shift leaves ≤ 1/4 of it
    const double px = cs.scale.x * 200.0 / 48.0;
    for (size_t i = 0; i < pts.size(); ++i) {
      const double dx = kps[i].x - pts[i].x, dy = kps[i].y - pts[i].y;
      qInfo("peak %zu: decoded (%.2f, %.2f), planted (%.2f, %.2f), heatmap px = %.2f image px", i,
            kps[i].x, kps[i].y, pts[i].x, pts[i].y, px);
      QVERIFY(std::abs(dx) <= 0.25 * px + 1e-3);
      QVERIFY(std::abs(dy) <= 0.25 * px + 1e-3);
      QVERIFY(std::abs(kps[i].score - 0.9f) < 0.1f);
    }
    // an integer peak with equal neighbours decodes exactly (no shift)
    auto exact = torch::zeros({1, 64, 48});
    exact[0][20][10] = 1.0f;
    const auto k = decode_heatmaps(exact, cs)[0];
    QVERIFY(std::abs(k.x - (10 * px + cs.center.x - cs.scale.x * 100.0)) < 1e-3);
    // the quarter shift toward the higher neighbour
    exact[0][20][11] = 0.5f;
    const auto ks = decode_heatmaps(exact, cs)[0];
    QVERIFY(std::abs((ks.x - k.x) - 0.25 * px) < 1e-3);
    QCOMPARE(ks.y, k.y);
  }

  void flipPermutationMirrorsWholeBody() {
    const auto& p = wholebody_flip_permutation();
    QCOMPARE(p.size(), size_t(133));
    for (size_t i = 0; i < p.size(); ++i) QCOMPARE(p[static_cast<size_t>(p[i])], int64_t(i));
    QCOMPARE(p[0], int64_t(0));     // nose
    QCOMPARE(p[5], int64_t(6));     // shoulders
    QCOMPARE(p[17], int64_t(20));   // big toes
    QCOMPARE(p[23], int64_t(39));   // face-0 <-> face-16
    QCOMPARE(p[31], int64_t(31));   // face-8, the chin
    QCOMPARE(p[63], int64_t(70));   // face-40 <-> face-47
    QCOMPARE(p[88], int64_t(90));   // face-65 <-> face-67
    QCOMPARE(p[91], int64_t(112));  // hand roots
    QCOMPARE(p[132], int64_t(111));
  }

  void flipBackSwapsMirrorsAndShifts() {
    auto hm = torch::zeros({1, 133, 8, 6});
    hm[0][5][2][1] = 1.0f;  // left shoulder channel, x = 1 in the flipped crop
    const auto back = flip_back(hm, wholebody_flip_permutation());
    // -> right shoulder channel, x = 6 - 1 - 1 = 4, shifted one right to 5
    QCOMPARE(back[0][6][2][5].item<float>(), 1.0f);
    QCOMPARE(back[0][5].abs().sum().item<float>(), 0.0f);
    const auto no_shift = flip_back(hm, wholebody_flip_permutation(), false);
    QCOMPARE(no_shift[0][6][2][4].item<float>(), 1.0f);
  }

  void estimatorReturnsOnePosePerBox() {
    ViTPose model(tiny());
    ViTPoseEstimator est(model, "ViTPose-tiny");
    cv::Mat frame(240, 320, CV_8UC3);
    cv::randu(frame, 0, 255);
    const std::vector<cv::Rect> boxes = {{20, 30, 80, 160}, {180, 40, 100, 150}};
    const auto poses = est.estimate(frame, boxes);
    QCOMPARE(poses.size(), size_t(2));
    QCOMPARE(poses[1].box, cv::Rect2f(boxes[1]));
    const auto raw = est.estimate_wholebody(frame, boxes);
    QCOMPARE(raw[0].size(), size_t(133));
    // every decoded point lies in the padded box of its person (heatmap grid inside the crop)
    for (size_t b = 0; b < boxes.size(); ++b) {
      const auto cs = box_to_center_scale(cv::Rect2d(boxes[b]), cv::Size(48, 64));
      for (const auto& k : raw[b]) {
        if (k.score <= 0) continue;
        QVERIFY(std::abs(k.x - cs.center.x) <= cs.scale.x * 100.0 + 1e-3);
        QVERIFY(std::abs(k.y - cs.center.y) <= cs.scale.y * 100.0 + 1e-3);
      }
    }
    // no boxes: the whole frame is one person box
    const auto whole = est.estimate(frame, {});
    QCOMPARE(whole.size(), size_t(1));
    QCOMPARE(whole[0].box, cv::Rect2f(0, 0, 320, 240));
    // flip test: same shapes, scores still the heatmap maxima of the averaged maps
    PoseEstimatorOptions flip;
    flip.flip_test = true;
    ViTPoseEstimator est_flip(model, "ViTPose-tiny", flip);
    const auto flipped = est_flip.estimate_wholebody(frame, boxes);
    QCOMPARE(flipped.size(), size_t(2));
    QCOMPARE(flipped[1].size(), size_t(133));
    // a model with another keypoint set cannot give DWPose poses
    ViTPoseEstimator coco(ViTPose(tiny(17)), "ViTPose-coco");
    QVERIFY_THROWS_EXCEPTION(s2v::Error, coco.estimate(frame, boxes));
  }
};

QTEST_GUILESS_MAIN(TestViTPose)
#include "test_vitpose.moc"
