// wav2vec2 (xlsr-53 structure) against the reference hidden states (every wav2vec2_* parity file),
// the input normalisation, and the loader's name handling.
#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

#include "common/parity.h"
#include "common/weights_files.h"
#include "models/base/error.h"
#include "models/wav2vec2/wav2vec2.h"

using namespace s2v;

namespace {

wav2vec2::Wav2Vec2Config tiny_config() {
  wav2vec2::Wav2Vec2Config c;
  c.conv_dim = {8, 8, 8};
  c.conv_kernel = {10, 3, 2};
  c.conv_stride = {5, 2, 2};
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 32;
  c.num_conv_pos_embeddings = 4;
  c.num_conv_pos_embedding_groups = 2;
  return c;
}

}  // namespace

class Wav2Vec2Parity : public QObject {
  Q_OBJECT

 private slots:
  void matchesReferenceHiddenStates_data() { test::add_file_rows(test::parity_files("wav2vec2_")); }
  void matchesReferenceHiddenStates() {
    S2V_FETCH_FILE(path, "wav2vec2_* parity files in " + s2v::test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(path);
    const auto cfg = wav2vec2::Wav2Vec2Config::from_json(test::metadata_json(f, "hf_config").dump());
    wav2vec2::Wav2Vec2Encoder model(cfg);
    wav2vec2::load_wav2vec2(*model, test::model_weights(f));
    torch::NoGradGuard ng;
    const auto name = path.filename().string();

    const double norm_err = test::rel_error(wav2vec2::normalize_waveform(f.tensor("in.waveform_16k")),
                                            f.tensor("in.normalized"));
    qInfo("%s: in.normalized rel error %.3g", name.c_str(), norm_err);
    QVERIFY2(norm_err <= 1e-6, name.c_str());

    auto ref = f.tensor("out.hidden_states");  // [layers + 1, F, D]
    QCOMPARE(cfg.num_frames(f.tensor("in.normalized").size(0)), ref.size(1));
    auto out = model(f.tensor("in.normalized").unsqueeze(0)).squeeze(1);
    QCOMPARE(out.sizes().vec(), ref.sizes().vec());
    for (int64_t l = 0; l < ref.size(0); ++l) {
      const double err = test::rel_error(out[l], ref[l]);
      qInfo("%s: out.hidden_states[%lld] rel error %.3g", name.c_str(), (long long)l, err);
      QVERIFY2(err <= 1e-5, name.c_str());
    }
    const double all = test::rel_error(out, ref);
    qInfo("%s: out.hidden_states rel error %.3g", name.c_str(), all);
    // the convenience path (normalise, then run) gives the same states
    QVERIFY(test::rel_error(model->hidden_states(f.tensor("in.waveform_16k")), ref) <= 1e-5);
  }

  void acceptsParametrizationNamesAndIgnoresHead() {
    torch::manual_seed(1);
    wav2vec2::Wav2Vec2Encoder src(tiny_config()), dst(tiny_config());
    std::map<std::string, torch::Tensor> sd;
    for (const auto& p : src->named_parameters()) {
      std::string n = p.key();
      const auto g = n.find("weight_g"), v = n.find("weight_v");
      if (g != std::string::npos) n.replace(g, 8, "parametrizations.weight.original0");
      if (v != std::string::npos) n.replace(v, 8, "parametrizations.weight.original1");
      sd[n] = p.value().detach().clone();
    }
    QVERIFY(sd.count("wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original1"));
    sd["lm_head.weight"] = torch::zeros({5, 16});
    sd["lm_head.bias"] = torch::zeros({5});
    sd["wav2vec2.masked_spec_embed"] = torch::zeros({16});
    QTemporaryDir dir;
    wav2vec2::load_wav2vec2(*dst, test::saved_weights(dir.filePath("hf.safetensors").toStdString(), sd));
    QVERIFY(torch::equal(dst->wav2vec2->encoder->pos_conv_embed->conv->weight_v,
                         src->wav2vec2->encoder->pos_conv_embed->conv->weight_v));
    torch::NoGradGuard ng;
    auto x = torch::randn({1, 800});
    QVERIFY(torch::equal(src(x), dst(x)));
  }

  void loaderReportsEveryProblem() {
    wav2vec2::Wav2Vec2Encoder m(tiny_config());
    std::map<std::string, torch::Tensor> sd;
    for (const auto& p : m->named_parameters()) sd[p.key()] = torch::zeros_like(p.value());
    sd.erase("wav2vec2.encoder.layers.1.attention.k_proj.bias");
    sd["wav2vec2.encoder.layer_norm.weight"] = torch::zeros({17});
    sd["wav2vec2.quantizer.codevectors"] = torch::zeros({1});
    QTemporaryDir dir;
    try {
      wav2vec2::load_wav2vec2(*m, test::saved_weights(dir.filePath("bad.safetensors").toStdString(), sd));
      QFAIL("a bad state dict was accepted");
    } catch (const Error& e) {
      const std::string msg = e.what();
      qInfo("%s", e.what());
      QVERIFY(msg.find("bad.safetensors") != std::string::npos);
      QVERIFY(msg.find("1 missing tensor (wav2vec2.encoder.layers.1.attention.k_proj.bias)") != std::string::npos);
      QVERIFY(msg.find("1 unexpected tensor (wav2vec2.quantizer.codevectors)") != std::string::npos);
      QVERIFY(msg.find("wav2vec2.encoder.layer_norm.weight: found [17], expected [16]") != std::string::npos);
      QCOMPARE(e.kind(), ErrorKind::Corrupt);
    }
  }

  void rejectsOtherFlavours() {
    QVERIFY_THROWS_EXCEPTION(Error, wav2vec2::Wav2Vec2Config::from_json(
                                        R"({"feat_extract_norm": "group", "do_stable_layer_norm": false})"));
    const auto c = wav2vec2::Wav2Vec2Config::from_json("{}");
    QCOMPARE(c.hidden_size, int64_t(1024));
    // one second at 16 kHz gives 49 frames with the xlsr-53 conv stack
    QCOMPARE(c.num_frames(16000), int64_t(49));
    QCOMPARE(c.num_frames(300), int64_t(0));
  }
};

QTEST_APPLESS_MAIN(Wav2Vec2Parity)
#include "test_wav2vec2_parity.moc"
