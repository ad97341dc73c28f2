// The umT5 tokenizer (on a sentencepiece model trained here on generated text, through the same
// sentencepiece module the tokenizer loads), the prompt
// cleaning, and the text encoder's prompt cache.
#include <QtTest>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/t5/text_encoder.h"
#include "models/t5/tokenizer.h"
#include "models/t5/umt5.h"

using namespace s2v;

class T5Text : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  std::string model_;

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    const std::string corpus = dir_.filePath("corpus.txt").toStdString();
    {
      std::ofstream out(corpus);
      const char* subjects[] = {"a woman", "a man", "the singer", "an old teacher", "a child"};
      const char* verbs[] = {"talks", "sings", "smiles", "speaks softly", "laughs"};
      const char* places[] = {"in a studio", "on a stage", "by the window", "in the rain",
                              "at night"};
      for (int i = 0; i < 400; ++i)
        out << subjects[i % 5] << ' ' << verbs[(i / 5) % 5] << ' ' << places[(i / 25) % 5]
            << ", looking at the camera.\n";
    }
    model_ = dir_.filePath("tiny").toStdString();
    // umT5's special ids: pad 0, eos 1, unk 2, no bos
    t5::train_sentencepiece("--input=" + corpus + " --model_prefix=" + model_ +
                            " --vocab_size=80 --hard_vocab_limit=false --pad_id=0 --eos_id=1"
                            " --unk_id=2 --bos_id=-1 --minloglevel=2");
    model_ += ".model";
  }

  void cleansLikeTheReference() {
    QCOMPARE(t5::clean_prompt("  a &amp;amp; b\t\n  c  "), std::string("a & b c"));
    QCOMPARE(t5::clean_prompt("x&#65;&#x42;&lt;y&gt;"), std::string("xAB<y>"));
    QCOMPARE(t5::clean_prompt("\xC2\xA0wide\xE3\x80\x80space\xE2\x80\x83"), std::string("wide space"));
    QCOMPARE(t5::clean_prompt("\xE4\xBA\xBA\xE7\x89\xA9 keeps UTF-8"), std::string("\xE4\xBA\xBA\xE7\x89\xA9 keeps UTF-8"));
    // html.unescape reads the legacy names without ';' (Python: 'AT&T & co; 5 < 6')
    QCOMPARE(t5::clean_prompt("AT&T & co; 5 &lt 6"), std::string("AT&T & co; 5 < 6"));
  }

  // Every row of tests/data/text_clean/ftfy_cases.json (made by running ftfy and the official
  // basic_clean / whitespace_clean, see its README): our fix_text gives ftfy's text and
  // clean_prompt the official cleaned prompt.
  void cleansLikeFtfyAndTheOfficialTokenizer() {
    const auto path = std::filesystem::path(S2V_SOURCE_DIR) / "tests" / "data" / "text_clean" / "ftfy_cases.json";
    std::ifstream in(path);
    QVERIFY2(in.good(), path.c_str());
    const auto table = nlohmann::json::parse(in);
    const auto& cases = table.at("cases");
    QVERIFY(cases.size() >= 20);
    int failures = 0;
    for (const auto& c : cases) {
      const auto input = c.at("input").get<std::string>();
      const auto fixed = t5::fix_text(input), cleaned = t5::clean_prompt(input);
      const bool ok = fixed == c.at("fix_text").get<std::string>() && cleaned == c.at("clean").get<std::string>();
      if (!ok) {
        ++failures;
        qWarning("%s:\n  fix_text ours '%s'\n  ftfy          '%s'\n  clean ours    '%s'\n  official      '%s'",
                 c.at("name").get<std::string>().c_str(), fixed.c_str(), c.at("fix_text").get<std::string>().c_str(),
                 cleaned.c_str(), c.at("clean").get<std::string>().c_str());
      }
    }
    qInfo("%d of %zu cleaning cases as ftfy + the official basic_clean / whitespace_clean", int(cases.size()) - failures,
          cases.size());
    QCOMPARE(failures, 0);
  }

  // The official negative prompt is Chinese with fullwidth commas: ftfy makes them ',' before
  // the tokenizer sees them, and the ids are those of the cleaned text.
  void officialNegativePromptTokenisesAsCleaned() {
    const std::string neg =
        "\xe7\x94\xbb\xe9\x9d\xa2\xe6\xa8\xa1\xe7\xb3\x8a\xef\xbc\x8c\xe6\x9c\x80\xe5\xb7\xae";  // 画面模糊，最差
    const std::string cleaned = t5::clean_prompt(neg);
    QCOMPARE(cleaned, std::string("\xe7\x94\xbb\xe9\x9d\xa2\xe6\xa8\xa1\xe7\xb3\x8a,\xe6\x9c\x80\xe5\xb7\xae"));
    t5::Tokenizer tok(model_, 32);
    const auto t = tok(neg);
    auto ids = tok.encode_raw(cleaned);
    ids.push_back(tok.eos_id());
    QCOMPARE(std::vector<int64_t>(t.ids.begin(), t.ids.begin() + t.length), ids);
  }

  void appendsEosAndPads() {
    t5::Tokenizer tok(model_, 32);
    QCOMPARE(tok.eos_id(), int64_t(1));
    QCOMPARE(tok.pad_id(), int64_t(0));
    const auto t = tok("  a woman   sings on a stage ");
    const auto raw = tok.encode_raw("a woman sings on a stage");
    QVERIFY(!raw.empty());
    QCOMPARE(t.length, int64_t(raw.size() + 1));
    QCOMPARE(t.ids.size(), size_t(32));
    QCOMPARE(t.mask.size(), size_t(32));
    for (size_t i = 0; i < raw.size(); ++i) QCOMPARE(t.ids[i], raw[i]);
    QCOMPARE(t.ids[t.length - 1], int64_t(1));
    for (int64_t i = 0; i < 32; ++i) {
      QCOMPARE(t.mask[i], int64_t(i < t.length ? 1 : 0));
      if (i >= t.length) QCOMPARE(t.ids[i], int64_t(0));
    }
    // no special id inside the text
    for (int64_t i = 0; i + 1 < t.length; ++i) QVERIFY(t.ids[i] > 2);
  }

  void truncatesKeepingEos() {
    t5::Tokenizer tok(model_, 8);
    std::string longer;
    for (int i = 0; i < 20; ++i) longer += "a child laughs in the rain. ";
    QVERIFY(tok.encode_raw(t5::clean_prompt(longer)).size() > 8);
    const auto t = tok(longer);
    QCOMPARE(t.length, int64_t(8));
    QCOMPARE(t.ids.back(), int64_t(1));
    const auto raw = tok.encode_raw(t5::clean_prompt(longer));
    for (int i = 0; i < 7; ++i) QCOMPARE(t.ids[i], raw[i]);
    for (auto m : t.mask) QCOMPARE(m, int64_t(1));
  }

  void rejectsMissingModel() {
    try {
      t5::Tokenizer tok(dir_.filePath("nope").toStdString(), 16);
      QFAIL("a missing tokenizer folder was accepted");
    } catch (const Error& e) {
      QCOMPARE(e.kind(), ErrorKind::NotFound);
      QVERIFY(std::string(e.what()).find("nope' does not exist") != std::string::npos);
    }
  }

  void cachesPromptEmbeddings() {
    t5::Tokenizer tok(model_, 24);
    t5::UMT5Config c;
    c.vocab = tok.vocab_size(); c.dim = 16; c.dim_attn = 16; c.dim_ffn = 32; c.num_heads = 2;
    c.num_layers = 2;
    torch::manual_seed(3);
    auto model = std::make_shared<t5::UMT5EncoderImpl>(c);
    t5::TextEncoder enc(model, t5::Tokenizer(model_, 24), "tiny", 2);
    const std::string p = "the singer smiles by the window";
    auto a = enc.encode(p);
    const auto t = tok(p);
    QCOMPARE(a.size(0), t.length);
    QCOMPARE(a.size(1), int64_t(16));
    // equals the padded forward, trimmed (as T5EncoderModel.__call__)
    auto ids = torch::tensor(t.ids).unsqueeze(0), mask = torch::tensor(t.mask).unsqueeze(0);
    torch::NoGradGuard ng;
    auto full = model->forward(ids, mask)[0];
    QVERIFY(torch::allclose(a, full.slice(0, 0, t.length)));
    QCOMPARE(enc.cache().size(), size_t(1));
    // a hit returns the cached tensor itself; differently spaced text is the same prompt
    auto b = enc.encode("  the singer   smiles by the window ");
    QCOMPARE(b.data_ptr(), a.data_ptr());
    // batch of two new prompts evicts the least recent (capacity 2)
    auto two = enc.encode(std::vector<std::string>{"a man talks", "a child sings"});
    QCOMPARE(two.size(), size_t(2));
    QCOMPARE(enc.cache().size(), size_t(2));
    QVERIFY(!enc.cache().find({t5::clean_prompt(p), "tiny", "Float"}).has_value());
    QVERIFY(enc.cache().find({"a man talks", "tiny", "Float"}).has_value());
    QVERIFY(!enc.cache().find({"a man talks", "other-model", "Float"}).has_value());
    // batched encoding equals one-by-one encoding despite different padding partners
    enc.cache().clear();
    auto single = enc.encode("a child sings");
    QVERIFY(torch::allclose(single, two[1], 1e-5, 1e-6));
  }
};

QTEST_GUILESS_MAIN(T5Text)
#include "test_t5_text.moc"
