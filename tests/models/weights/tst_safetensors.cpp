// Safetensors reading (zero copy, FP8, header checks), sharded sets, key maps and load_as.

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <torch/torch.h>

#include "models/weights/checkpoint.h"
#include "models/weights/key_map.h"
#include "models/weights/safetensors.h"
#include "weights_test_util.h"

using namespace s2v::weights;
using s2v::ErrorKind;
using s2v::test::expect_error;
using s2v::test::write_raw_safetensors;
namespace fs = std::filesystem;

class SafetensorsTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  fs::path at(const char* name) { return fs::path(dir_.path().toStdString()) / name; }

 private slots:
  void readsEveryDtypeAsZeroCopyViews() {
    torch::manual_seed(1);
    const auto f32 = torch::randn({3, 5});
    const auto bf16 = torch::randn({4}).to(torch::kBFloat16);
    const auto f16 = torch::randn({2, 2}).to(torch::kFloat16);
    const auto i64 = torch::tensor(std::vector<int64_t>{3, -7, int64_t(1) << 40});
    save_safetensors(at("a.safetensors"), {{"w", f32}, {"b", bf16}, {"h", f16}, {"i", i64}}, {{"k", "v"}});
    auto f = SafetensorsFile::open(at("a.safetensors"));
    QCOMPARE(f.names().size(), size_t(4));
    QCOMPARE(f.metadata().at("k"), std::string("v"));
    QVERIFY(torch::equal(f.tensor("w"), f32));
    QVERIFY(torch::equal(f.tensor("b"), bf16));
    QVERIFY(torch::equal(f.tensor("h"), f16));
    QVERIFY(torch::equal(f.tensor("i"), i64));
    // Zero copy: the view points into the mapping, and stays valid after the file object is gone.
    auto view = f.tensor("w");
    QCOMPARE(static_cast<const void*>(view.data_ptr()), static_cast<const void*>(f.raw_data("w")));
    QCOMPARE(static_cast<const void*>(f.tensor_as("b", torch::kBFloat16).data_ptr()),
             static_cast<const void*>(f.raw_data("b")));
    f = SafetensorsFile::open(at("a.safetensors"));
    QVERIFY(torch::equal(view, f32));
  }

  void decodesFp8StraightIntoTheTargetDtype() {
    // e4m3fn: 0x38 = 1, 0x40 = 2, 0xC4 = -3, 0x7E = 448 (max), 0x01 = 2^-9 (subnormal), 0x7F = NaN.
    // e5m2:   0x3C = 1, 0x7B = 57344 (max), 0x7C = inf, 0x01 = 2^-16, 0xC2 = -3.
    const std::vector<uint8_t> e4 = {0x38, 0x40, 0xC4, 0x7E, 0x01, 0x7F};
    const std::vector<uint8_t> e5 = {0x3C, 0x7B, 0x7C, 0x01, 0xC2, 0x00};
    std::vector<uint8_t> data = e4;
    data.insert(data.end(), e5.begin(), e5.end());
    write_raw_safetensors(at("fp8.safetensors"),
                          R"({"e4":{"dtype":"F8_E4M3","shape":[2,3],"data_offsets":[0,6]},)"
                          R"("e5":{"dtype":"F8_E5M2","shape":[6],"data_offsets":[6,12]}})",
                          data);
    auto f = SafetensorsFile::open(at("fp8.safetensors"));
    auto a = f.tensor("e4");
    QCOMPARE(a.scalar_type(), torch::kFloat32);
    QCOMPARE(a.sizes().vec(), (std::vector<int64_t>{2, 3}));
    auto av = a.flatten();
    QCOMPARE(av[0].item<float>(), 1.0f);
    QCOMPARE(av[1].item<float>(), 2.0f);
    QCOMPARE(av[2].item<float>(), -3.0f);
    QCOMPARE(av[3].item<float>(), 448.0f);
    QCOMPARE(av[4].item<float>(), std::ldexp(1.0f, -9));
    QVERIFY(std::isnan(av[5].item<float>()));
    auto b = f.tensor("e5");
    QCOMPARE(b[0].item<float>(), 1.0f);
    QCOMPARE(b[1].item<float>(), 57344.0f);
    QVERIFY(std::isinf(b[2].item<float>()));
    QCOMPARE(b[3].item<float>(), std::ldexp(1.0f, -16));
    QCOMPARE(b[4].item<float>(), -3.0f);
    // Straight into bf16 / f16: same values (all exactly representable).
    auto bb = f.tensor_as("e4", torch::kBFloat16);
    QCOMPARE(bb.scalar_type(), torch::kBFloat16);
    QVERIFY(torch::equal(bb.flatten().slice(0, 0, 5).to(torch::kFloat32), av.slice(0, 0, 5)));
    auto hh = load_as(*open_checkpoint(at("fp8.safetensors")), "e5", torch::kFloat16);
    QCOMPARE(hh.scalar_type(), torch::kFloat16);
    QCOMPARE(hh[1].item<float>(), 57344.0f);
  }

  void rejectsTruncatedFile() {
    save_safetensors(at("t.safetensors"), {{"blocks.0.weight", torch::ones({64, 64})}});
    const auto size = fs::file_size(at("t.safetensors"));
    s2v::test::truncate_file(at("t.safetensors"), size - 100);
    expect_error([&] { SafetensorsFile::open(at("t.safetensors")); }, ErrorKind::Corrupt,
                 {"t.safetensors", "'blocks.0.weight'", "truncated"});
    s2v::test::truncate_file(at("t.safetensors"), 20);  // cut inside the header
    expect_error([&] { SafetensorsFile::open(at("t.safetensors")); }, ErrorKind::Corrupt,
                 {"runs past the end of the file"});
  }

  void rejectsCorruptHeader() {
    write_raw_safetensors(at("c.safetensors"), R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})",
                          {0, 0, 0, 0});  // closing brace missing
    expect_error([&] { SafetensorsFile::open(at("c.safetensors")); }, ErrorKind::Corrupt,
                 {"c.safetensors", "JSON header does not parse"});
    write_raw_safetensors(at("c2.safetensors"), R"({"w":{"dtype":"F32","shape":"x","data_offsets":[0,4]}})",
                          {0, 0, 0, 0});
    expect_error([&] { SafetensorsFile::open(at("c2.safetensors")); }, ErrorKind::Corrupt,
                 {"tensor 'w' has a malformed header entry"});
    write_raw_safetensors(at("c3.safetensors"), "{}", std::vector<uint8_t>(64), 200ll * 1024 * 1024);
    expect_error([&] { SafetensorsFile::open(at("c3.safetensors")); }, ErrorKind::Corrupt,
                 {"exceeds the 104857600-byte limit"});
    write_raw_safetensors(at("c4.safetensors"), R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", {0});
    expect_error([&] { SafetensorsFile::open(at("c4.safetensors")); }, ErrorKind::Unsupported,
                 {"'w'", "unknown dtype Q4"});
  }

  void rejectsOverlappingAndOutOfRangeOffsets() {
    write_raw_safetensors(at("o.safetensors"),
                          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          std::vector<uint8_t>(12));
    expect_error([&] { SafetensorsFile::open(at("o.safetensors")); }, ErrorKind::Corrupt,
                 {"'a' and 'b' overlap"});
    write_raw_safetensors(at("r.safetensors"), R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                          std::vector<uint8_t>(16));
    expect_error([&] { SafetensorsFile::open(at("r.safetensors")); }, ErrorKind::Corrupt,
                 {"'a'", "[8, 24)", "16-byte data section"});
    write_raw_safetensors(at("s.safetensors"), R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})",
                          std::vector<uint8_t>(16));
    expect_error([&] { SafetensorsFile::open(at("s.safetensors")); }, ErrorKind::Corrupt,
                 {"'a' occupies 12 bytes but its shape and dtype need 16"});
  }

  void readsShardedCheckpointThroughIndex() {
    const fs::path d = at("sharded");
    fs::create_directories(d);
    const auto w0 = torch::randn({4, 3}), w1 = torch::randn({5}).to(torch::kBFloat16), w2 = torch::randn({2});
    save_safetensors(d / "model-00001-of-00002.safetensors", {{"blocks.0.w", w0}, {"blocks.0.b", w2}});
    save_safetensors(d / "model-00002-of-00002.safetensors", {{"head.w", w1}, {"stray", w2}});
    std::ofstream(d / "model.safetensors.index.json")
        << R"({"metadata":{"total_size":66},"weight_map":{"blocks.0.w":"model-00001-of-00002.safetensors",)"
           R"("blocks.0.b":"model-00001-of-00002.safetensors","head.w":"model-00002-of-00002.safetensors"}})";
    auto src = open_checkpoint(d);  // a folder: its one index
    QCOMPARE(src->names(), (std::vector<std::string>{"blocks.0.b", "blocks.0.w", "head.w"}));
    QVERIFY(!src->contains("stray"));  // only what the weight_map lists
    QCOMPARE(src->meta("head.w").dtype, std::string("BF16"));
    QCOMPARE(src->meta("blocks.0.w").shape, (std::vector<int64_t>{4, 3}));
    QVERIFY(torch::equal(src->tensor("blocks.0.w"), w0));
    QVERIFY(torch::equal(src->tensor("head.w"), w1));
    QCOMPARE(src->metadata().at("total_size"), std::string("66"));
    QVERIFY(torch::equal(load_as(*src, "head.w", torch::kFloat32), w1.to(torch::kFloat32)));
  }

  void reportsEveryMissingShardAndTensorAtOnce() {
    const fs::path d = at("broken");
    fs::create_directories(d);
    save_safetensors(d / "s1.safetensors", {{"a", torch::zeros({1})}});
    std::ofstream(d / "x.safetensors.index.json")
        << R"({"weight_map":{"a":"s1.safetensors","b":"s1.safetensors","c":"s2.safetensors"}})";
    expect_error([&] { open_checkpoint(d / "x.safetensors.index.json"); }, ErrorKind::NotFound,
                 {"1 shard file(s) missing (s2.safetensors)", "'b' (in s1.safetensors)"});
    std::ofstream(d / "y.safetensors.index.json") << R"({"weight_map":{"a":"../outside.safetensors"}})";
    expect_error([&] { open_checkpoint(d / "y.safetensors.index.json"); }, ErrorKind::Corrupt,
                 {"outside the index's folder"});
    // Two indexes in one folder: ambiguous, both named.
    expect_error([&] { open_checkpoint(d); }, ErrorKind::InvalidArgument,
                 {"x.safetensors.index.json", "y.safetensors.index.json"});
  }

  void stripsRepackagingPrefixAgainstExpectedNames() {
    const auto w = torch::randn({2, 3});
    save_safetensors(at("comfy.safetensors"), {{"model.diffusion_model.blocks.0.q.weight", w},
                                               {"model.diffusion_model.head.modulation", torch::ones({1, 2})},
                                               {"vae.decoder.conv.weight", torch::zeros({1})}});
    auto raw = open_checkpoint(at("comfy.safetensors"));
    const std::vector<std::string> expected = {"blocks.0.q.weight", "head.modulation"};
    const KeyMap map = detect_key_map(raw->names(), expected);
    QCOMPARE(map.prefix, std::string("model.diffusion_model."));
    auto mapped = apply_key_map(raw, map);
    QCOMPARE(mapped->names(), expected);  // the VAE tensor outside the prefix is hidden
    QVERIFY(torch::equal(mapped->tensor("blocks.0.q.weight"), w));
    QVERIFY(!mapped->contains("vae.decoder.conv.weight"));
    // Without expected names a prefix is stripped only when every name carries it.
    QVERIFY(detect_key_map(raw->names()).identity());
    QCOMPARE(detect_key_map({"module.a", "module.b"}).prefix, std::string("module."));
    // Native names need no map.
    QVERIFY(detect_key_map(expected, expected).identity());
  }

  void loadAsConvertsOnceFromStoredBytes() {
    const auto w = torch::randn({8, 8}).to(torch::kBFloat16);
    save_safetensors(at("l.safetensors"), {{"w", w}});
    auto src = open_checkpoint(at("l.safetensors"));
    auto same = load_as(*src, "w", torch::kBFloat16);
    auto as_f16 = load_as(*src, "w", torch::kFloat16);
    auto as_f32 = load_as(*src, "w", torch::kFloat32);
    QCOMPARE(as_f16.scalar_type(), torch::kFloat16);
    QVERIFY(torch::equal(as_f32, w.to(torch::kFloat32)));
    QVERIFY(torch::equal(as_f16, w.to(torch::kFloat16)));
    QVERIFY(torch::equal(same, w));
    expect_error([&] { load_as(*src, "nope", torch::kFloat32); }, ErrorKind::NotFound, {"'nope'", "l.safetensors"});
  }
};

QTEST_GUILESS_MAIN(SafetensorsTest)
#include "tst_safetensors.moc"
