// CLIP image tower and the improved-aesthetic-predictor MLP: tiny random configs (the real
// weights are not on this machine).
#include <QtTest>

#include <cmath>
#include <set>

#include <torch/torch.h>

#include "models/clip/aesthetic.h"
#include "models/clip/clip_vision.h"
#include "models/weights/checkpoint.h"
#include "models/weights/safetensors.h"
#include "models/weights/validate.h"

using namespace s2v::clip;

namespace {

ClipVisionConfig tiny() {
  ClipVisionConfig c;
  c.image_size = 28;
  c.patch_size = 14;
  c.width = 64;
  c.layers = 2;
  c.heads = 1;  // width / 64, as infer_clip_vision_config gives
  c.output_dim = 32;
  return c;
}

std::vector<std::pair<std::string, torch::Tensor>> state_of(torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& p : m.named_parameters(true)) out.emplace_back(p.key(), p.value().detach().clone());
  return out;
}

void randomise(torch::nn::Module& m) {
  torch::NoGradGuard g;
  for (auto& p : m.named_parameters(true)) p.value().normal_(0.0, 0.2);
}

double rel(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).norm() / b.norm()).item<double>();
}

// Constant weights w_i and biases b_i per linear layer, the MLP's value for an input whose
// elements sum to s: every unit of a layer holds the same value v, the next is n·w·v + b.
struct ConstLayer {
  int64_t in;
  double w, b;
};
const std::vector<ConstLayer> kConst = {
    {32, 0.01, 0.1}, {1024, 0.002, -0.05}, {128, -0.03, 0.2}, {64, 0.05, 0.01}, {16, 0.5, 3.0}};

void set_const(AestheticMlpImpl& mlp) {
  torch::NoGradGuard g;
  const int idx[] = {0, 2, 4, 6, 7};
  for (int i = 0; i < 5; ++i) {
    auto* lin = mlp.layers[idx[i]]->as<torch::nn::LinearImpl>();
    lin->weight.fill_(kConst[i].w);
    lin->bias.fill_(kConst[i].b);
  }
}

double const_mlp_value(double sum) {
  double v = kConst[0].w * sum + kConst[0].b;
  for (size_t i = 1; i < kConst.size(); ++i) v = double(kConst[i].in) * kConst[i].w * v + kConst[i].b;
  return v;
}

}  // namespace

class TestClipAesthetics : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::string path(const char* n) { return dir_.filePath(n).toStdString(); }

 private slots:
  void initTestCase() {
    torch::manual_seed(11);
    QVERIFY(dir_.isValid());
  }

  void shapesAndUnitEmbeddings() {
    torch::NoGradGuard g;
    ClipVision clip(tiny());
    const auto x = torch::randn({3, 3, 28, 28});
    QCOMPARE(clip->forward(x).sizes().vec(), (std::vector<int64_t>{3, 32}));
    const auto e = clip->embed(x);
    const auto norms = e.norm(2, -1);
    QVERIFY(torch::allclose(norms, torch::ones({3}), 1e-5, 1e-6));
    QVERIFY(!torch::allclose(clip->forward(x).norm(2, -1), torch::ones({3}), 1e-3, 1e-3));
  }

  void parameterNamesAreOpenAiNames() {
    ClipVision clip(tiny());
    std::map<std::string, std::vector<int64_t>> shapes;
    for (auto& p : clip->named_parameters(true)) shapes[p.key()] = p.value().sizes().vec();
    const std::map<std::string, std::vector<int64_t>> want = {
        {"visual.conv1.weight", {64, 3, 14, 14}},
        {"visual.class_embedding", {64}},
        {"visual.positional_embedding", {5, 64}},
        {"visual.ln_pre.weight", {64}},
        {"visual.transformer.resblocks.1.ln_1.bias", {64}},
        {"visual.transformer.resblocks.1.attn.in_proj_weight", {192, 64}},
        {"visual.transformer.resblocks.1.attn.in_proj_bias", {192}},
        {"visual.transformer.resblocks.0.attn.out_proj.weight", {64, 64}},
        {"visual.transformer.resblocks.0.ln_2.weight", {64}},
        {"visual.transformer.resblocks.0.mlp.c_fc.weight", {256, 64}},
        {"visual.transformer.resblocks.0.mlp.c_proj.bias", {64}},
        {"visual.ln_post.bias", {64}},
        {"visual.proj", {64, 32}}};
    for (const auto& [name, shape] : want) {
      QVERIFY2(shapes.count(name), name.c_str());
      QCOMPARE(shapes[name], shape);
    }
    QVERIFY(!shapes.count("visual.conv1.bias"));
    // conv1, class/positional embeddings, ln_pre ×2, ln_post ×2, proj; 12 per block
    QCOMPARE(shapes.size(), size_t(8 + 2 * 12));
    AestheticMlp mlp(768);
    std::set<std::string> names;
    for (auto& p : mlp->named_parameters(true)) names.insert(p.key());
    QCOMPARE(names, (std::set<std::string>{"layers.0.weight", "layers.0.bias", "layers.2.weight",
                                           "layers.2.bias", "layers.4.weight", "layers.4.bias",
                                           "layers.6.weight", "layers.6.bias", "layers.7.weight",
                                           "layers.7.bias"}));
  }

  void attentionMatchesTorchMultiheadAttention() {
    torch::NoGradGuard g;
    MultiheadAttention ours(64, 4);
    randomise(*ours);
    torch::nn::MultiheadAttention ref(torch::nn::MultiheadAttentionOptions(64, 4));
    ref->in_proj_weight.copy_(ours->in_proj_weight);
    ref->in_proj_bias.copy_(ours->in_proj_bias);
    ref->out_proj->weight.copy_(ours->out_proj->weight);
    ref->out_proj->bias.copy_(ours->out_proj->bias);
    const auto x = torch::randn({2, 7, 64});          // [B, L, D]
    const auto xl = x.transpose(0, 1).contiguous();  // torch's [L, B, D]
    const auto want = std::get<0>(ref->forward(xl, xl, xl)).transpose(0, 1);
    const double err = rel(ours->forward(x), want);
    qInfo("attention vs torch::nn::MultiheadAttention: rel error %.3g", err);
    QVERIFY(err < 1e-6);
  }

  void loaderIgnoresTextTowerAndNamesMissingTensors() {
    torch::NoGradGuard g;
    ClipVision a(tiny());
    randomise(*a);
    auto state = state_of(*a);
    // a full CLIP state dict also has the text tower
    state.emplace_back("token_embedding.weight", torch::randn({10, 8}));
    state.emplace_back("transformer.resblocks.0.attn.in_proj_weight", torch::randn({24, 8}));
    state.emplace_back("logit_scale", torch::ones({}));
    s2v::weights::save_safetensors(path("clip.safetensors"), state);
    const auto src = s2v::weights::open_checkpoint(path("clip.safetensors"));
    const auto c = infer_clip_vision_config(*src);
    QCOMPARE(c.width, int64_t(64));
    QCOMPARE(c.layers, int64_t(2));
    QCOMPARE(c.image_size, int64_t(28));
    QCOMPARE(c.output_dim, int64_t(32));
    ClipVision b(c);
    load_clip_vision(*b, src);
    const auto x = torch::randn({2, 3, 28, 28});
    const double err = rel(b->forward(x), a->forward(x));
    qInfo("loaded vs original CLIP features: rel error %.3g", err);
    QVERIFY(err < 1e-6);

    auto missing = state;
    std::erase_if(missing, [](const auto& kv) { return kv.first == "visual.ln_post.weight"; });
    missing.emplace_back("visual.bogus", torch::zeros({2}));
    s2v::weights::save_safetensors(path("clip_missing.safetensors"), missing);
    ClipVision d(c);
    try {
      load_clip_vision(*d, s2v::weights::open_checkpoint(path("clip_missing.safetensors")));
      QFAIL("a CLIP file without visual.ln_post.weight was accepted");
    } catch (const s2v::weights::ValidationError& e) {
      const std::string msg = e.what();
      QVERIFY2(msg.find("visual.ln_post.weight") != std::string::npos, e.what());
      QVERIFY2(msg.find("visual.bogus") != std::string::npos, e.what());
      QCOMPARE(e.issues().size(), size_t(2));
    }
  }

  void huggingFaceNamesLoadLikeOpenAiNames() {
    torch::NoGradGuard g;
    ClipVision a(tiny());
    randomise(*a);
    std::map<std::string, torch::Tensor> ours;
    for (auto& p : a->named_parameters(true)) ours[p.key()] = p.value().detach().clone();
    // the same weights under CLIPModel's names
    std::vector<std::pair<std::string, torch::Tensor>> hf;
    const std::string e = "vision_model.embeddings.";
    hf.emplace_back(e + "patch_embedding.weight", ours["visual.conv1.weight"]);
    hf.emplace_back(e + "class_embedding", ours["visual.class_embedding"]);
    hf.emplace_back(e + "position_embedding.weight", ours["visual.positional_embedding"]);
    hf.emplace_back(e + "position_ids", torch::arange(5).view({1, 5}));
    for (const char* wb : {"weight", "bias"}) {
      hf.emplace_back(std::string("vision_model.pre_layrnorm.") + wb, ours[std::string("visual.ln_pre.") + wb]);
      hf.emplace_back(std::string("vision_model.post_layernorm.") + wb, ours[std::string("visual.ln_post.") + wb]);
    }
    hf.emplace_back("visual_projection.weight", ours["visual.proj"].t().contiguous());
    hf.emplace_back("text_model.embeddings.token_embedding.weight", torch::randn({10, 8}));
    for (int i = 0; i < 2; ++i) {
      const std::string h = "vision_model.encoder.layers." + std::to_string(i) + ".";
      const std::string o = "visual.transformer.resblocks." + std::to_string(i) + ".";
      const auto w = ours[o + "attn.in_proj_weight"].chunk(3, 0);
      const auto b = ours[o + "attn.in_proj_bias"].chunk(3, 0);
      const char* qkv[] = {"q_proj", "k_proj", "v_proj"};
      for (int j = 0; j < 3; ++j) {
        hf.emplace_back(h + "self_attn." + qkv[j] + ".weight", w[j].contiguous());
        hf.emplace_back(h + "self_attn." + qkv[j] + ".bias", b[j].contiguous());
      }
      for (const char* wb : {"weight", "bias"}) {
        const std::string x = wb;
        hf.emplace_back(h + "self_attn.out_proj." + x, ours[o + "attn.out_proj." + x]);
        hf.emplace_back(h + "layer_norm1." + x, ours[o + "ln_1." + x]);
        hf.emplace_back(h + "layer_norm2." + x, ours[o + "ln_2." + x]);
        hf.emplace_back(h + "mlp.fc1." + x, ours[o + "mlp.c_fc." + x]);
        hf.emplace_back(h + "mlp.fc2." + x, ours[o + "mlp.c_proj." + x]);
      }
    }
    s2v::weights::save_safetensors(path("hf_clip.safetensors"), hf);
    const auto src = s2v::weights::open_checkpoint(path("hf_clip.safetensors"));
    const auto c = infer_clip_vision_config(*src);
    QCOMPARE(c.width, int64_t(64));
    QCOMPARE(c.layers, int64_t(2));
    QCOMPARE(c.image_size, int64_t(28));
    QCOMPARE(c.output_dim, int64_t(32));
    ClipVision b2(c);
    load_clip_vision(*b2, src);
    const auto x = torch::randn({2, 3, 28, 28});
    const double err = rel(b2->forward(x), a->forward(x));
    qInfo("Hugging Face names vs OpenAI names: rel error %.3g", err);
    QVERIFY(err < 1e-6);
    // a missing projection is named as stored
    std::erase_if(hf, [](const auto& kv) { return kv.first == "vision_model.encoder.layers.1.self_attn.k_proj.weight"; });
    s2v::weights::save_safetensors(path("hf_missing.safetensors"), hf);
    ClipVision d(c);
    try {
      load_clip_vision(*d, s2v::weights::open_checkpoint(path("hf_missing.safetensors")));
      QFAIL("a Hugging Face CLIP file without k_proj was accepted");
    } catch (const s2v::weights::ValidationError& err2) {
      QVERIFY2(std::string(err2.what()).find("layers.1.self_attn.k_proj.weight") != std::string::npos,
               err2.what());
    }
  }

  void preprocessResizesShorterSideAndCropsCentre() {
    // 448×224 (w×h): already 224 high, so no resize; the crop keeps columns 112..335
    cv::Mat img(224, 448, CV_8UC3, cv::Scalar(255, 0, 0));               // blue (BGR)
    img(cv::Rect(0, 0, 112, 224)).setTo(cv::Scalar(0, 0, 255));          // red, cropped away
    img(cv::Rect(112, 0, 4, 224)).setTo(cv::Scalar(0, 255, 0));          // green, first columns
    const auto t = preprocess_clip(img);
    QCOMPARE(t.sizes().vec(), (std::vector<int64_t>{3, 224, 224}));
    const float r0 = (0.0f - 0.48145466f) / 0.26862954f, g1 = (1.0f - 0.4578275f) / 0.26130258f;
    const float b1 = (1.0f - 0.40821073f) / 0.27577711f;
    QVERIFY(std::abs(t[1][100][0].item<float>() - g1) < 1e-5);    // green column
    QVERIFY(std::abs(t[2][100][200].item<float>() - b1) < 1e-5);  // blue inside
    QVERIFY(std::abs(t[0][100][200].item<float>() - r0) < 1e-5);  // no red anywhere
    QVERIFY(std::abs(t[0].max().item<float>() - r0) < 1e-5);
    // a constant 640×360 frame: resized to 398×224 then cropped, still the constant colour
    cv::Mat flat(360, 640, CV_8UC3, cv::Scalar(30, 60, 90));
    const auto f = preprocess_clip(flat);
    QCOMPARE(f.sizes().vec(), (std::vector<int64_t>{3, 224, 224}));
    const float want_r = (90 / 255.0f - 0.48145466f) / 0.26862954f;
    QVERIFY((f[0] - want_r).abs().max().item<float>() < 1e-5);
  }

  void mlpGivesHandComputedValue() {
    torch::NoGradGuard g;
    AestheticMlp mlp(32);
    set_const(*mlp);
    auto x = torch::rand({2, 32});
    const auto y = mlp->forward(x);
    QCOMPARE(y.sizes().vec(), (std::vector<int64_t>{2, 1}));
    for (int i = 0; i < 2; ++i) {
      const double want = const_mlp_value(x[i].sum().item<double>());
      qInfo("MLP: %.6f, by hand %.6f", y[i][0].item<double>(), want);
      QVERIFY(std::abs(y[i][0].item<double>() - want) < 1e-4 * std::max(1.0, std::abs(want)));
    }
    // dropout is off at inference: the same input gives the same output
    QVERIFY(torch::equal(mlp->forward(x), y));
  }

  void aestheticsScoresUnitEmbeddings() {
    torch::NoGradGuard g;
    ClipVision clip(tiny());
    randomise(*clip);
    AestheticMlp mlp(32);
    set_const(*mlp);
    AestheticsOptions o;
    o.max_frames = 2;
    ClipAesthetics model(clip, mlp, o);
    std::vector<cv::Mat> frames;
    for (int i = 0; i < 4; ++i) {
      cv::Mat f(40, 60, CV_8UC3);
      cv::randu(f, 0, 255);
      frames.push_back(f);
    }
    const auto per_frame = model.frame_scores(frames);
    QCOMPARE(per_frame.size(), size_t(4));
    // by hand: the MLP on the L2-normalised embedding of the frame
    for (int i = 0; i < 4; ++i) {
      const auto e = clip->embed(preprocess_clip(frames[i], 28).unsqueeze(0));
      const double want = const_mlp_value(e.sum().item<double>());
      QVERIFY(std::abs(per_frame[i] - want) < 1e-4 * std::max(1.0, std::abs(want)));
    }
    // the clip score: mean of 2 evenly spaced frames, the centres of [0, 2) and [2, 4): 1 and 3
    const auto s = model.score(frames);
    QVERIFY(s.has_value());
    const double want = 0.5 * (per_frame[1] + per_frame[3]);
    QVERIFY(std::abs(*s - want) < 1e-5 * std::max(1.0, std::abs(want)));
    QVERIFY(!model.score({}).has_value());
    QVERIFY(model.method().find("aesthetic") != std::string::npos);
  }

  void buildsFromFilesAndRejectsWidthMismatch() {
    ClipVision clip(tiny());
    s2v::weights::save_safetensors(path("c.safetensors"), state_of(*clip));
    AestheticMlp mlp(32);
    s2v::weights::save_safetensors(path("m.safetensors"), state_of(*mlp));
    auto model = make_aesthetics_model(path("c.safetensors"), path("m.safetensors"));
    cv::Mat f(50, 50, CV_8UC3, cv::Scalar(1, 2, 3));
    QVERIFY(model->score({f}).has_value());
    AestheticMlp wide(768);
    s2v::weights::save_safetensors(path("m768.safetensors"), state_of(*wide));
    QVERIFY_THROWS_EXCEPTION(s2v::Error,
                             make_aesthetics_model(path("c.safetensors"), path("m768.safetensors")));
  }
};

QTEST_GUILESS_MAIN(TestClipAesthetics)
#include "test_clip_aesthetics.moc"
