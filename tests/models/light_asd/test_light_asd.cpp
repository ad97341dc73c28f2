// Light-ASD: parity with the official network (random full-size weights) and with
// python_speech_features' MFCC (tests/data/parity/light_asd_*, made by
// scripts/parity/make_light_asd_parity.py), checkpoint names against the official state_dict,
// safetensors/.pth loading, the Columbia demo's face crop, and the curation SyncModel on a
// synthetic talking face. The real checkpoint is checked when S2V_LIGHT_ASD_WEIGHTS names it.
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "common/parity.h"
#include "models/light_asd/light_asd.h"
#include "models/light_asd/light_asd_sync.h"
#include "models/light_asd/mfcc.h"
#include "models/weights/checkpoint.h"
#include "models/weights/safetensors.h"
#include "models/weights/validate.h"

using namespace s2v::light_asd;
using s2v::test::rel_error;
namespace fs = std::filesystem;
namespace curation = s2v::curation;

namespace {

fs::path parity_file(const std::string& name) {
  return fs::path(S2V_SOURCE_DIR) / "tests" / "data" / "parity" / name;
}

using State = std::vector<std::pair<std::string, torch::Tensor>>;

State state_of(torch::nn::Module& m, const std::string& prefix = {}) {
  State out;
  for (auto& p : m.named_parameters(true)) out.emplace_back(prefix + p.key(), p.value().detach().clone());
  for (auto& b : m.named_buffers(true)) out.emplace_back(prefix + b.key(), b.value().detach().clone());
  return out;
}

// As torch.save(state_dict) writes it: a zip archive of an {name: tensor} dict.
void write_pth(const fs::path& path, const State& state) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, t] : state) dict.insert(name, t.contiguous());
  const std::vector<char> bytes = torch::pickle_save(dict);
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void randomise(torch::nn::Module& m) {
  torch::NoGradGuard g;
  for (auto& p : m.named_parameters(true)) p.value().normal_(0.0, 0.1);
  for (auto& b : m.named_buffers(true)) {
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
    else if (b.key().find("running_mean") != std::string::npos) b.value().normal_(0.0, 0.1);
  }
}

// The official weights of the parity file: int8 values times their per-tensor scale.
State parity_weights() {
  const auto f = s2v::weights::SafetensorsFile::open(parity_file("light_asd_weights.safetensors"));
  const auto scales = nlohmann::json::parse(f.metadata().at("scales"));
  State out;
  for (const auto& name : f.names()) {
    auto t = f.tensor(name);
    if (t.scalar_type() == torch::kInt8) t = t.to(torch::kFloat32) * scales.at(name).get<double>();
    out.emplace_back(name, t.clone());
  }
  return out;
}

// A synthetic talking head: 3 s, 320×240 working frames at 4 fps and 160×120 grey frames at
// 25 fps, one face box, a bright mouth square whose size follows the audio envelope.
curation::ClipFrames talking_clip(std::vector<curation::FrameDetections>& dets, bool audio = true,
                                  bool face = true) {
  curation::ClipFrames clip;
  clip.path = "synthetic.mp4";
  clip.duration_s = 3.0;
  clip.width = 640;
  clip.height = 480;
  clip.source_fps = 25.0;
  const cv::Rect box(120, 60, 80, 100);  // working pixels
  auto envelope = [](double t) { return 0.5 + 0.5 * std::sin(2 * M_PI * 2.0 * t); };
  for (int i = 0; i < 12; ++i) {
    cv::Mat f(240, 320, CV_8UC3, cv::Scalar(60, 70, 80));
    cv::rectangle(f, box, cv::Scalar(150, 160, 170), cv::FILLED);
    clip.frames.push_back(f);
    clip.timestamps.push_back(i / 4.0);
    curation::FrameDetections d;
    if (face) d.faces.push_back(box);
    dets.push_back(d);
  }
  clip.sync_fps = 25.0;
  for (int k = 0; k < 75; ++k) {
    cv::Mat g(120, 160, CV_8UC1, cv::Scalar(70));
    cv::rectangle(g, cv::Rect(60, 30, 40, 50), cv::Scalar(160), cv::FILLED);
    const int half = 2 + static_cast<int>(std::lround(8 * envelope(k / 25.0)));
    cv::rectangle(g, cv::Rect(80 - half, 68 - half / 2, 2 * half, half), cv::Scalar(250), cv::FILLED);
    clip.sync_frames.push_back(g);
  }
  if (audio) {
    clip.audio.resize(48000);
    for (size_t n = 0; n < clip.audio.size(); ++n) {
      const double t = n / 16000.0;
      clip.audio[n] = static_cast<float>(0.3 * envelope(t) * std::sin(2 * M_PI * 180 * t) *
                                         (1 + 0.3 * std::sin(2 * M_PI * 900 * t)));
    }
  }
  return clip;
}

}  // namespace

class TestLightAsd : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  fs::path path(const char* name) { return fs::path(dir_.filePath(name).toStdString()); }

 private slots:
  void initTestCase() {
    torch::manual_seed(11);
    torch::set_num_threads(std::max(1, std::min(2, static_cast<int>(torch::get_num_threads()))));
    QVERIFY(dir_.isValid());
  }

  void networkMatchesOfficialParity() {
    torch::NoGradGuard g;
    // through the loader: the parity weights as a float32 safetensors file
    const auto file = path("parity_weights.safetensors");
    s2v::weights::save_safetensors(file, parity_weights());
    LightAsd asd = load_light_asd(s2v::weights::open_checkpoint(file));
    QVERIFY(asd->has_visual_head());
    const auto io = s2v::weights::SafetensorsFile::open(parity_file("light_asd_io.safetensors"));
    const auto mfcc_in = io.tensor("in.mfcc").clone();
    const auto frames = io.tensor("in.frames").to(torch::kFloat32);
    const auto audio = asd->model->forward_audio_frontend(mfcc_in);
    const auto visual = asd->model->forward_visual_frontend(frames);
    const auto outs_av = asd->model->forward_audio_visual_backend(audio, visual);
    const auto outs_v = asd->model->forward_visual_backend(visual);
    const auto logits = asd->lossAV(outs_av);
    const std::vector<std::pair<const char*, torch::Tensor>> checks = {
        {"out.audio_embed", audio},
        {"out.visual_embed", visual},
        {"out.outs_av", outs_av},
        {"out.outs_v", outs_v},
        {"out.logits_av", logits},
        {"out.logits_v", asd->lossV(outs_v)},
        {"out.prob_av", asd->speaking_probability(mfcc_in, frames)},
        {"out.score_av", logits.select(1, 1)},
    };
    for (const auto& [name, out] : checks) {
      const double err = rel_error(out, io.tensor(name));
      qInfo("%s: rel error %.3g", name, err);
      QVERIFY2(err <= 1e-5, name);
    }
    QCOMPARE(asd->forward(mfcc_in, frames).sizes().vec(), (std::vector<int64_t>{10, 2}));
  }

  void mfccMatchesPythonSpeechFeatures() {
    const auto f = s2v::weights::SafetensorsFile::open(parity_file("light_asd_mfcc.safetensors"));
    qInfo("reference: %s", f.metadata().at("reference").c_str());
    const auto audio = f.tensor("in.audio");
    const auto ref = f.tensor("out.mfcc");
    QCOMPARE(mfcc_frame_count(audio.numel()), ref.size(0));
    const auto out = mfcc(audio);
    const double err = rel_error(out, ref);
    const double max_abs = (out - ref).abs().max().item<double>();
    qInfo("MFCC %lld×13: rel error %.3g, max |diff| %.3g", static_cast<long long>(ref.size(0)), err, max_abs);
    QVERIFY(err <= 1e-9);
    // the frames of zeros were floored at DBL_EPSILON like the reference
    QVERIFY(std::abs(out[21][0].item<double>() - std::log(DBL_EPSILON)) < 1e-9);
    // a signal shorter than one window: one zero-padded frame
    const auto short_out = mfcc(f.tensor("in.short"));
    QCOMPARE(short_out.size(0), int64_t(1));
    QVERIFY(rel_error(short_out, f.tensor("out.mfcc_short")) <= 1e-9);
    // float samples in [-1, 1] are scaled to the int16 range of the official wav input
    std::vector<float> samples(static_cast<size_t>(audio.numel()));
    const auto a16 = audio.contiguous();
    for (int64_t i = 0; i < audio.numel(); ++i)
      samples[size_t(i)] = static_cast<float>(a16[i].item<int16_t>() / 32768.0);
    QVERIFY(rel_error(mfcc(samples), ref) <= 1e-9);
  }

  void checkpointNamesAreOfficialStateDict() {
    std::ifstream in(parity_file("light_asd_manifest.json"));
    const auto manifest = nlohmann::json::parse(in);
    const auto& shapes = manifest.at("shapes");
    LightAsd asd;
    const auto expected = s2v::weights::expected_from_module(*asd);
    QCOMPARE(expected.size(), shapes.size());
    for (const auto& [name, e] : expected) {
      QVERIFY2(shapes.contains(name), name.c_str());
      QVERIFY2(shapes.at(name).get<std::vector<int64_t>>() == e.shape, name.c_str());
    }
    for (const char* want : {"model.visualEncoder.block1.s_5.weight", "model.audioEncoder.block3.bn_last.running_var",
                             "model.GRU.gru_backward.bias_hh_l0", "lossAV.FC.weight", "lossV.FC.bias",
                             "model.visualEncoder.block2.bn_t_3.num_batches_tracked"})
      QVERIFY2(expected.count(want), want);
    int64_t params = 0;
    for (const auto& p : asd->parameters()) params += p.numel();
    QCOMPARE(params, int64_t(1021636));  // "Model para number = 1.02" of the official ASD
    // without the training-only visual head
    QCOMPARE(s2v::weights::expected_from_module(*LightAsd(false)).size(), shapes.size() - 2);
  }

  void safetensorsAndPthLoadIdentically() {
    torch::NoGradGuard g;
    LightAsd a;
    randomise(*a);
    a->eval();
    const auto st = path("asd.safetensors"), pth = path("asd.model"), dp = path("asd_dp.pth"),
               bare = path("asd_no_lossV.safetensors");
    s2v::weights::save_safetensors(st, state_of(*a));
    write_pth(pth, state_of(*a));
    write_pth(dp, state_of(*a, "module."));  // DataParallel names, as ASD.loadParameters accepts
    auto no_v = state_of(*a);
    std::erase_if(no_v, [](const auto& kv) { return kv.first.rfind("lossV.", 0) == 0; });
    s2v::weights::save_safetensors(bare, no_v);

    const auto mfcc_in = torch::randn({1, 48, 13}) * 5;
    const auto frames = torch::rand({1, 12, 112, 112}) * 255;
    const auto ref = a->forward(mfcc_in, frames);
    for (const auto& file : {st, pth, dp, bare}) {
      auto b = load_light_asd(s2v::weights::open_checkpoint(file));
      QCOMPARE(b->has_visual_head(), file != bare);
      const double err = rel_error(b->forward(mfcc_in, frames), ref);
      QVERIFY2(err == 0.0, file.filename().c_str());
    }
    QCOMPARE(detect_light_asd_prefix(*s2v::weights::open_checkpoint(dp)), std::string("module."));
    QCOMPARE(detect_light_asd_prefix(*s2v::weights::open_checkpoint(pth)), std::string());
    auto sync = make_sync_model(pth);
    QCOMPARE(sync->method(), std::string("Light-ASD active-speaker score, lag search +-1 s (step 0.2 s)"));
  }

  void missingOrMisshapedTensorIsNamed() {
    LightAsd a;
    auto state = state_of(*a);
    const std::string gone = "model.GRU.gru_backward.weight_hh_l0", bent = "lossAV.FC.weight";
    std::erase_if(state, [&](const auto& kv) { return kv.first == gone; });
    for (auto& [name, t] : state)
      if (name == bent) t = torch::zeros({3, 128});
    const auto file = path("asd_broken.pth");
    write_pth(file, state);
    try {
      make_sync_model(file);
      QFAIL("a checkpoint with a missing and a mis-shaped tensor was accepted");
    } catch (const s2v::weights::ValidationError& e) {
      const std::string what = e.what();
      QVERIFY2(what.find(gone) != std::string::npos, e.what());
      QVERIFY2(what.find(bent) != std::string::npos, e.what());
      QVERIFY2(what.find("asd_broken.pth") != std::string::npos, e.what());
      QCOMPARE(e.issues().size(), size_t(2));
    }
    s2v::weights::save_safetensors(path("other.safetensors"), {{"w", torch::zeros({2})}});
    QVERIFY_THROWS_EXCEPTION(s2v::Error, make_sync_model(path("other.safetensors")));
  }

  void cropFollowsColumbiaDemo() {
    // medfilt pads with zeros as scipy.signal.medfilt
    QCOMPARE(medfilt({5, 1, 9, 3, 7}, 3), (std::vector<double>{1, 5, 3, 7, 3}));
    // a face box at the top-left corner: the crop reaches into the grey-110 padding
    cv::Mat grey(200, 200, CV_8UC1, cv::Scalar(200));
    const cv::Mat c = crop_face(grey, 0.0, 0.0, 20.0);
    QCOMPARE(c.size(), cv::Size(112, 112));
    QCOMPARE(int(c.at<uint8_t>(0, 0)), 110);     // above and left of the frame
    QCOMPARE(int(c.at<uint8_t>(111, 111)), 200);  // inside the frame
    // a centred box: the crop spans rows cy − bs .. cy + 1.8·bs, so the face centre sits at
    // 224·(1 / 2.8) ≈ 80 of the 224 rows, i.e. row 24 of the centre crop, column 56
    cv::Mat dot(400, 400, CV_8UC1, cv::Scalar(0));
    cv::circle(dot, cv::Point(200, 200), 3, cv::Scalar(255), cv::FILLED);
    const cv::Mat d = crop_face(dot, 200.0, 200.0, 50.0);
    cv::Point peak;
    cv::minMaxLoc(d, nullptr, nullptr, nullptr, &peak);
    QVERIFY2(std::abs(peak.y - 24) <= 2 && std::abs(peak.x - 56) <= 2,
             qPrintable(QString("peak at %1, %2").arg(peak.x).arg(peak.y)));
  }

  void lagScoresUseChunkedVisualFeaturesExactly() {
    torch::NoGradGuard g;
    LightAsd asd;
    randomise(*asd);
    LightAsdSync sync(asd);
    const int64_t T = 90;  // two visual chunks
    const auto frames = torch::rand({T, 112, 112}) * 255;
    const auto feats = torch::randn({4 * T + 3, 13}) * 5;
    const auto scores = sync.lag_scores(frames, feats);
    QCOMPARE(scores.size(), size_t(11));
    // lag 0 against one pass over everything
    const auto p = asd->speaking_probability(feats.slice(0, 0, 4 * T).unsqueeze(0), frames.unsqueeze(0));
    const double direct = p.mean().item<double>();
    qInfo("lag 0: %.7f chunked, %.7f one pass", scores[5], direct);
    QVERIFY(std::abs(scores[5] - direct) <= 1e-5 * std::max(1e-3, std::abs(direct)));
    // lag +1 s: video frames 0 .. (4T + 3 − 100) / 4 meet audio from 1 s on
    const int64_t j1 = (4 * T + 3 - 100) / 4;
    const auto p1 = asd->speaking_probability(feats.slice(0, 100, 100 + 4 * j1).unsqueeze(0),
                                              frames.slice(0, 0, j1).unsqueeze(0));
    QVERIFY(std::abs(scores[10] - p1.mean().item<double>()) <= 1e-4);
  }

  void audioLeadingByOneStepShiftsTheLagCurve() {
    // The audio 0.2 s earlier (MFCC frames from 20 on): lag k then pairs exactly what lag k + 1
    // paired before (same video frames from 0 for k ≥ 0), so the curve moves one step toward
    // negative lags: audio leading video reads as a negative offset.
    torch::NoGradGuard g;
    LightAsd asd;
    randomise(*asd);
    LightAsdSync sync(asd);
    const int64_t T = 40;
    const auto frames = torch::rand({T, 112, 112}) * 255;
    const auto feats = torch::randn({4 * T + 40, 13}) * 5;
    const auto before = sync.lag_scores(frames, feats);
    const auto after = sync.lag_scores(frames, feats.slice(0, 20));
    for (size_t k = 5; k + 1 < before.size(); ++k) {
      QVERIFY(std::isfinite(before[k + 1]));
      QVERIFY2(std::abs(after[k] - before[k + 1]) <= 1e-6,
               qPrintable(QString("lag index %1: %2 vs %3").arg(k).arg(after[k]).arg(before[k + 1])));
    }
    // a lag whose audio/video overlap is under 0.4 s (10 frames) is NaN: 0.3 s of audio
    const auto tiny = sync.lag_scores(frames, feats.slice(0, 0, 30));
    for (double s : tiny) QVERIFY(std::isnan(s));
  }

  void syncModelScoresTalkingFace() {
    torch::NoGradGuard g;
    LightAsd asd;
    randomise(*asd);
    auto sync = std::make_shared<LightAsdSync>(asd);
    const std::string method = "Light-ASD active-speaker score, lag search +-1 s (step 0.2 s)";
    std::vector<curation::FrameDetections> dets;
    const auto clip = talking_clip(dets);
    const auto crops = sync->face_crops(clip, dets);
    QCOMPARE(crops.sizes().vec(), (std::vector<int64_t>{75, 112, 112}));
    // the face (grey 160 in the stream) fills the middle of the crop; the frame (70) its corner
    QVERIFY(std::abs(crops[40][30][56].item<float>() - 160) < 1);
    const auto m = sync->score(clip, dets);
    QVERIFY2(m.av_offset_s.available(), m.av_offset_s.na_reason.c_str());
    QVERIFY(m.av_sync_confidence.available());
    QCOMPARE(m.av_offset_s.method, method);
    QCOMPARE(m.av_sync_confidence.method, method);
    QCOMPARE(m.ncc.size(), size_t(11));
    QCOMPARE(m.lag_step_s, 0.2);
    const double off = *m.av_offset_s.value;
    QVERIFY(std::abs(off) <= 1.0 + 1e-9);
    QVERIFY(std::abs(off / 0.2 - std::round(off / 0.2)) < 1e-9);
    QVERIFY(*m.av_sync_confidence.value >= 0.0);
    double best = -1;
    for (double s : m.ncc) {
      QVERIFY(std::isfinite(s) && s >= 0 && s <= 1);
      best = std::max(best, s);
    }
    QCOMPARE(m.ncc[static_cast<size_t>(std::lround(off / 0.2)) + 5], best);
    // no state kept between clips
    const auto again = sync->score(clip, dets);
    QCOMPARE(*again.av_offset_s.value, off);
    QCOMPARE(again.ncc, m.ncc);

    std::vector<curation::FrameDetections> d2;
    const auto silent = sync->score(talking_clip(d2, false), d2);
    QVERIFY(!silent.av_offset_s.available() && !silent.av_sync_confidence.available());
    QCOMPARE(silent.av_offset_s.na_reason, std::string("the clip has no audio"));
    QCOMPARE(silent.av_offset_s.method, method);
    std::vector<curation::FrameDetections> d3;
    const auto faceless = sync->score(talking_clip(d3, true, false), d3);
    QVERIFY(!faceless.av_sync_confidence.available());
    QVERIFY2(faceless.av_sync_confidence.na_reason.find("no single visible face") != std::string::npos,
             faceless.av_sync_confidence.na_reason.c_str());
  }

  void officialCheckpointLoads() {
    const char* env = std::getenv("S2V_LIGHT_ASD_WEIGHTS");
    if (!env || !*env) QSKIP("set S2V_LIGHT_ASD_WEIGHTS to weight/pretrain_AVA_CVPR.model to check it");
    auto sync = make_sync_model(env);
    QVERIFY(sync->model()->has_visual_head());
    std::vector<curation::FrameDetections> dets;
    const auto m = sync->score(talking_clip(dets), dets);
    QVERIFY(m.av_offset_s.available());
    qInfo("official weights on the synthetic clip: offset %.1f s, confidence %.3f",
          *m.av_offset_s.value, *m.av_sync_confidence.value);
  }
};

QTEST_GUILESS_MAIN(TestLightAsd)
#include "test_light_asd.moc"
