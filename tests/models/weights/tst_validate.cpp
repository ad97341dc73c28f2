// Validation against the real 14B DiT manifest (testdata/parity/dit_s2v_14b_manifest.json) with
// stand-in files: real names with tiny shapes of the real rank, and real shapes on a small subset.

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/parity.h"
#include "models/weights/checkpoint.h"
#include "models/weights/key_map.h"
#include "models/weights/safetensors.h"
#include "models/weights/validate.h"
#include "weights_test_util.h"

using namespace s2v::weights;
using s2v::ErrorKind;
using Kind = s2v::weights::ValidationIssue::Kind;
namespace fs = std::filesystem;

namespace {

// Tiny stand-in: every dimension 1 (the rank is kept), bf16.
std::vector<std::pair<std::string, torch::Tensor>> stand_in(const ExpectedTensors& e, const std::string& prefix = "") {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& [name, x] : e)
    out.emplace_back(prefix + name, torch::zeros(std::vector<int64_t>(x.shape.size(), 1), torch::kBFloat16));
  return out;
}

struct TinyNet : torch::nn::Module {
  TinyNet() {
    proj = register_module("proj", torch::nn::Linear(3, 2));
    register_buffer("scale", torch::ones({2}));
  }
  torch::nn::Linear proj{nullptr};
};

}  // namespace

class ValidateTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  fs::path manifest_path_;
  ExpectedTensors manifest_;
  fs::path at(const char* name) { return fs::path(dir_.path().toStdString()) / name; }

 private slots:
  void initTestCase() {
    manifest_path_ = s2v::test::parity_dir() / "dit_s2v_14b_manifest.json";
    S2V_REQUIRE_FILE(manifest_path_, manifest_path_.string() + " (the 14B manifest)");
    manifest_ = load_manifest(manifest_path_);
  }

  void manifestCountsAndMemoryEstimate() {
    std::ifstream in(manifest_path_);
    const auto j = nlohmann::json::parse(in);
    QCOMPARE(manifest_.size(), j.at("shapes").size());
    const uint64_t n = j.at("num_parameters").get<uint64_t>();
    QCOMPARE(parameter_count(manifest_), n);
    QCOMPARE(memory_bytes(manifest_, "F32"), 4 * n);
    QCOMPARE(memory_bytes(manifest_, "BF16"), 2 * n);
    QCOMPARE(memory_bytes(manifest_, "F8_E4M3"), n);
    qInfo("14B DiT: %zu tensors, %llu parameters, f32 %.2f GB, bf16 %.2f GB, fp8 %.2f GB", manifest_.size(),
          static_cast<unsigned long long>(n), memory_bytes(manifest_, "F32") / 1e9,
          memory_bytes(manifest_, "BF16") / 1e9, memory_bytes(manifest_, "F8_E4M3") / 1e9);
  }

  void acceptsStandInWithRealNamesAndRanks() {
    save_safetensors(at("standin.safetensors"), stand_in(manifest_));
    auto src = open_checkpoint(at("standin.safetensors"));
    QCOMPARE(src->names().size(), manifest_.size());
    QVERIFY(validate(manifest_, *src, ShapeCheck::RankOnly).empty());
    require_valid(manifest_, *src, "WanModel_S2V 14B", ShapeCheck::RankOnly);
    // The exact check sees that every tensor with a dimension > 1 is a stand-in.
    size_t not_all_ones = 0;
    for (auto& [_, e] : manifest_)
      not_all_ones += std::any_of(e.shape.begin(), e.shape.end(), [](int64_t d) { return d != 1; });
    const auto exact = validate(manifest_, *src, ShapeCheck::Exact);
    QCOMPARE(exact.size(), not_all_ones);
    QVERIFY(std::all_of(exact.begin(), exact.end(), [](auto& i) { return i.kind == Kind::WrongShape; }));
  }

  void reportsEveryProblemAtOnceByName() {
    auto tensors = stand_in(manifest_);
    std::vector<std::pair<std::string, torch::Tensor>> edited;
    for (auto& [name, t] : tensors) {
      if (name == "patch_embedding.weight" || name == "blocks.17.ffn.0.bias") continue;  // missing
      if (name == "head.modulation") t = torch::zeros({1, 1}, torch::kBFloat16);          // rank 3 -> 2
      if (name == "cond_encoder.bias") t = torch::zeros({1}, torch::kInt64);               // wrong dtype
      edited.emplace_back(name, t);
    }
    edited.emplace_back("blocks.40.self_attn.q.weight", torch::zeros({1, 1}, torch::kBFloat16));  // unexpected
    save_safetensors(at("broken.safetensors"), edited);
    auto src = open_checkpoint(at("broken.safetensors"));
    const auto issues = validate(manifest_, *src, ShapeCheck::RankOnly);
    QCOMPARE(issues.size(), size_t(5));
    QCOMPARE(issues[0].kind, Kind::Missing);
    QCOMPARE(issues[0].name, std::string("blocks.17.ffn.0.bias"));
    QCOMPARE(issues[1].kind, Kind::Missing);
    QCOMPARE(issues[1].name, std::string("patch_embedding.weight"));
    QCOMPARE(issues[2].kind, Kind::Unexpected);
    QCOMPARE(issues[2].name, std::string("blocks.40.self_attn.q.weight"));
    QCOMPARE(issues[3].kind, Kind::WrongShape);
    QCOMPARE(issues[3].name, std::string("head.modulation"));
    QCOMPARE(issues[4].kind, Kind::WrongDtype);
    QCOMPARE(issues[4].name, std::string("cond_encoder.bias"));
    QCOMPARE(issues[4].found, std::string("I64"));
    try {
      require_valid(manifest_, *src, "WanModel_S2V 14B", ShapeCheck::RankOnly);
      QFAIL("no ValidationError");
    } catch (const ValidationError& e) {
      const std::string msg = e.what();
      qInfo("%s", msg.c_str());
      QCOMPARE(e.kind(), ErrorKind::Corrupt);
      QCOMPARE(e.issues().size(), size_t(5));
      for (const char* frag : {"broken.safetensors", "does not match WanModel_S2V 14B",
                               "2 missing tensors (blocks.17.ffn.0.bias, patch_embedding.weight)",
                               "1 unexpected tensor (blocks.40.self_attn.q.weight)",
                               "head.modulation: found rank 2 [1, 1], expected rank 3 [1, 2, 5120]",
                               "cond_encoder.bias: found I64, expected floating point"})
        QVERIFY2(msg.find(frag) != std::string::npos, frag);
    }
  }

  void checksExactShapesOnRealSubset() {
    // Real shapes for the small tensors (biases, norms, modulations, ...): a real file, a few MB.
    ExpectedTensors subset;
    for (auto& [name, e] : manifest_) {
      uint64_t n = 1;
      for (int64_t d : e.shape) n *= d;
      if (n <= 5120 * 6) subset[name] = e;
    }
    QVERIFY(subset.size() > 300);
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (auto& [name, e] : subset) tensors.emplace_back(name, torch::randn(e.shape).to(torch::kBFloat16));
    save_safetensors(at("subset.safetensors"), tensors);
    auto src = open_checkpoint(at("subset.safetensors"));
    QVERIFY(validate(subset, *src).empty());
    // Against the whole manifest: exactly the big tensors are missing.
    QCOMPARE(validate(manifest_, *src).size(), manifest_.size() - subset.size());
    // One wrong dimension is caught with both shapes in the message.
    for (auto& [name, t] : tensors)
      if (name == "blocks.0.norm3.weight") t = torch::zeros({5121}, torch::kBFloat16);
    save_safetensors(at("subset_bad.safetensors"), tensors);
    auto bad = open_checkpoint(at("subset_bad.safetensors"));
    s2v::test::expect_error([&] { require_valid(subset, *bad, "WanModel_S2V 14B"); }, ErrorKind::Corrupt,
                            {"1 tensor with the wrong shape (blocks.0.norm3.weight: found [5121], expected [5120])"});
  }

  void validatesPrefixedRepackagingThroughKeyMap() {
    save_safetensors(at("comfy.safetensors"), stand_in(manifest_, "model.diffusion_model."));
    auto raw = open_checkpoint(at("comfy.safetensors"));
    std::vector<std::string> names;
    for (auto& [n, _] : manifest_) names.push_back(n);
    const auto map = detect_key_map(raw->names(), names);
    QCOMPARE(map.prefix, std::string("model.diffusion_model."));
    QCOMPARE(validate(manifest_, *raw, ShapeCheck::RankOnly).size(), 2 * manifest_.size());
    QVERIFY(validate(manifest_, *apply_key_map(raw, map), ShapeCheck::RankOnly).empty());
  }

  void loadModuleFillsParametersByName() {
    TinyNet net;
    const auto w = torch::randn({2, 3}), b = torch::randn({2}), s = torch::full({2}, 3.0);
    save_safetensors(at("tiny.safetensors"),
                     {{"proj.weight", w.to(torch::kBFloat16)}, {"proj.bias", b.to(torch::kBFloat16)}, {"scale", s}});
    load_module(net, *open_checkpoint(at("tiny.safetensors")), "TinyNet");
    QVERIFY(torch::equal(net.proj->weight, w.to(torch::kBFloat16).to(torch::kFloat32)));
    QVERIFY(torch::equal(net.proj->bias, b.to(torch::kBFloat16).to(torch::kFloat32)));
    QVERIFY(torch::equal(net.named_buffers()["scale"], s));
    // A mis-shaped file is refused before anything is copied.
    TinyNet fresh;
    const auto before = fresh.proj->weight.clone();
    save_safetensors(at("tiny_bad.safetensors"), {{"proj.weight", torch::zeros({3, 2})}, {"scale", s}});
    s2v::test::expect_error([&] { load_module(fresh, *open_checkpoint(at("tiny_bad.safetensors")), "TinyNet"); },
                            ErrorKind::Corrupt,
                            {"1 missing tensor (proj.bias)", "proj.weight: found [3, 2], expected [2, 3]"});
    QVERIFY(torch::equal(fresh.proj->weight, before));
  }

  // The loader of every module honours the job's cancel before each tensor: nothing is copied
  // once the token is requested, and the error is s2v::Cancelled (the job ends "cancelled").
  void loadModuleStopsOnCancel() {
    TinyNet net;
    const auto before = net.proj->weight.clone();
    save_safetensors(at("tiny_cancel.safetensors"),
                     {{"proj.weight", torch::randn({2, 3})}, {"proj.bias", torch::randn({2})}, {"scale", torch::ones({2})}});
    s2v::CancelToken cancel;
    cancel.request();
    QVERIFY_THROWS_EXCEPTION(s2v::Cancelled,
                             load_module(net, *open_checkpoint(at("tiny_cancel.safetensors")), "TinyNet", false, cancel));
    QVERIFY(torch::equal(net.proj->weight, before));
    s2v::CancelToken idle;
    load_module(net, *open_checkpoint(at("tiny_cancel.safetensors")), "TinyNet", false, idle);
    QVERIFY(!torch::equal(net.proj->weight, before));
  }

  // GGUF writers drop size-1 dims ([1, 6, 4] stored as [6, 4]); every source whose stored shape
  // differs from the module's only in size-1 dims is accepted and reshaped on load.
  void loadModuleReshapesSizeOneDims() {
    torch::nn::Module net;
    net.register_parameter("modulation", torch::zeros({1, 6, 4}));
    net.register_parameter("weights", torch::zeros({1, 5, 1, 1}));
    net.register_parameter("bias", torch::zeros({3}));
    const auto m = torch::randn({6, 4}), w = torch::randn({5, 1}), b = torch::randn({1, 3});
    save_safetensors(at("squeezed.safetensors"), {{"modulation", m}, {"weights", w}, {"bias", b}});
    auto src = open_checkpoint(at("squeezed.safetensors"));
    QVERIFY(validate(expected_from_module(net), *src).empty());
    load_module(net, *src, "squeezed net");
    auto p = net.named_parameters();
    QVERIFY(torch::equal(p["modulation"], m.view({1, 6, 4})));
    QVERIFY(torch::equal(p["weights"], w.view({1, 5, 1, 1})));
    QVERIFY(torch::equal(p["bias"], b.view({3})));
    // Other differences are still wrong shapes.
    save_safetensors(at("transposed.safetensors"), {{"modulation", m.t()}, {"weights", w}, {"bias", b}});
    s2v::test::expect_error([&] { load_module(net, *open_checkpoint(at("transposed.safetensors")), "squeezed net"); },
                            ErrorKind::Corrupt, {"modulation: found [4, 6], expected [1, 6, 4]"});
  }
};

QTEST_GUILESS_MAIN(ValidateTest)
#include "tst_validate.moc"
