// umT5 encoder against the official T5Encoder outputs (every umt5_encoder_* parity file), and the
// weight loader's error reporting.
#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

#include "common/parity.h"
#include "common/weights_files.h"
#include "models/base/error.h"
#include "models/t5/umt5.h"

using namespace s2v;

class UMT5Parity : public QObject {
  Q_OBJECT

 private slots:
  void namedParametersAreTheCheckpointNames() {
    t5::UMT5Config c;
    c.vocab = 10; c.dim = 8; c.dim_attn = 8; c.dim_ffn = 16; c.num_heads = 2; c.num_layers = 2;
    t5::UMT5Encoder m(c);
    std::set<std::string> names;
    for (const auto& p : m->named_parameters()) names.insert(p.key());
    QCOMPARE(names.size(), size_t(2 + 2 * 10));
    for (const char* n : {"token_embedding.weight", "norm.weight", "blocks.1.attn.q.weight",
                          "blocks.1.attn.o.weight", "blocks.0.ffn.gate.0.weight",
                          "blocks.0.ffn.fc1.weight", "blocks.0.ffn.fc2.weight",
                          "blocks.1.norm1.weight", "blocks.1.norm2.weight",
                          "blocks.1.pos_embedding.embedding.weight"})
      QVERIFY2(names.count(n), n);
  }

  void relativeBucketsMatchT5() {
    // bidirectional, 32 buckets, max_dist 128: values from the T5 definition
    t5::T5RelativeEmbedding e(32, 2, true);
    auto rel = torch::tensor({0, 1, -1, 7, -7, 8, 12, 16, 100, 127, 128, 1000, -1000}, torch::kLong);
    auto b = e->relative_position_bucket(rel);
    std::vector<int64_t> expect = {0, 17, 1, 23, 7, 24, 25, 26, 31, 31, 31, 31, 15};
    for (size_t i = 0; i < expect.size(); ++i) QCOMPARE(b[i].item<int64_t>(), expect[i]);
  }

  void matchesOfficialEncoder_data() { test::add_file_rows(test::parity_files("umt5_encoder_")); }
  void matchesOfficialEncoder() {
    S2V_FETCH_FILE(path, "umt5_encoder_* parity files in " + s2v::test::parity_dir().string());
    auto f = weights::SafetensorsFile::open(path);
    const auto cfg = t5::UMT5Config::from_json(test::metadata_json(f, "config").dump());
    t5::UMT5Encoder model(cfg);
    t5::load_umt5(*model, *test::model_weights(f));
    torch::NoGradGuard ng;
    auto out = model(f.tensor("in.ids"), f.tensor("in.mask"));
    const double err = test::rel_error(out, f.tensor("out.hidden"));
    qInfo("%s: out.hidden rel error %.3g", path.filename().c_str(), err);
    QVERIFY2(err <= 1e-5, path.filename().c_str());
    // padding must matter: the same ids without the mask give other valid rows
    auto mask = f.tensor("in.mask");
    if (mask.eq(0).any().item<bool>()) {
      auto unmasked = model(f.tensor("in.ids"), torch::ones_like(mask));
      QVERIFY(test::rel_error(unmasked, f.tensor("out.hidden")) > 1e-3);
    }
  }

  void loaderListsEveryProblem() {
    t5::UMT5Config c;
    c.vocab = 10; c.dim = 8; c.dim_attn = 8; c.dim_ffn = 16; c.num_heads = 2; c.num_layers = 1;
    t5::UMT5Encoder m(c);
    std::map<std::string, torch::Tensor> sd;
    for (const auto& p : m->named_parameters()) sd[p.key()] = torch::zeros_like(p.value());
    sd.erase("blocks.0.attn.k.weight");
    sd.erase("norm.weight");
    sd["blocks.0.ffn.fc1.weight"] = torch::zeros({16, 4});
    sd["decoder.head.weight"] = torch::zeros({3});
    QTemporaryDir dir;
    try {
      t5::load_umt5(*m, *test::saved_weights(dir.filePath("test.safetensors").toStdString(), sd));
      QFAIL("load_umt5 accepted a bad state dict");
    } catch (const Error& e) {
      const std::string msg = e.what();
      qInfo("%s", e.what());
      QVERIFY(msg.find("test.safetensors") != std::string::npos);
      QVERIFY(msg.find("2 missing") != std::string::npos);
      QVERIFY(msg.find("blocks.0.attn.k.weight") != std::string::npos);
      QVERIFY(msg.find("norm.weight") != std::string::npos);
      QVERIFY(msg.find("decoder.head.weight") != std::string::npos);
      QVERIFY(msg.find("blocks.0.ffn.fc1.weight: found [16, 4], expected [16, 8]") != std::string::npos);
      QCOMPARE(e.kind(), ErrorKind::Corrupt);
    }
    // nothing was copied: the module keeps its own weights
    QVERIFY(m->norm->weight.eq(1).all().item<bool>());
  }

  void loadsFromMapAndConvertsDtype() {
    t5::UMT5Config c;
    c.vocab = 10; c.dim = 8; c.dim_attn = 8; c.dim_ffn = 16; c.num_heads = 2; c.num_layers = 1;
    t5::UMT5Encoder src(c), dst(c);
    std::map<std::string, torch::Tensor> sd;
    for (const auto& p : src->named_parameters()) sd[p.key()] = p.value().to(torch::kBFloat16);
    QTemporaryDir dir;
    t5::load_umt5(*dst, *test::saved_weights(dir.filePath("bf16.safetensors").toStdString(), sd));
    QCOMPARE(dst->blocks[0]->as<t5::T5SelfAttentionImpl>()->attn->q->weight.scalar_type(), torch::kFloat);
    QVERIFY(torch::equal(dst->token_embedding->weight,
                         src->token_embedding->weight.to(torch::kBFloat16).to(torch::kFloat)));
  }
};

QTEST_APPLESS_MAIN(UMT5Parity)
#include "test_umt5_parity.moc"
