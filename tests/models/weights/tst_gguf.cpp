// GGUF reading and ggml block dequantisation against ../shared/testdata/gguf (see its README):
// files quantised by ggml's own quantizers, with the float32 values ggml's own dequantizers give.
// Every *.gguf there is checked against its *_expected.safetensors; the bad-input cases are
// corrupted copies of tiny_quants.gguf or files made by the small GGUF writer below.

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include <torch/torch.h>

#include "common/parity.h"
#include "models/weights/checkpoint.h"
#include "models/weights/ggml_quant.h"
#include "models/weights/gguf.h"
#include "models/weights/inspect.h"
#include "models/weights/key_map.h"
#include "models/weights/safetensors.h"
#include "models/weights/validate.h"
#include "weights_test_util.h"

using namespace s2v::weights;
using s2v::ErrorKind;
using s2v::test::expect_error;
namespace fs = std::filesystem;

namespace {

fs::path gguf_dir() { return s2v::test::shared_dir() / "testdata" / "gguf"; }

// Every *.gguf in the reference folder that has its *_expected.safetensors, sorted.
std::vector<fs::path> reference_files() {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(gguf_dir(), ec))
    if (e.path().extension() == ".gguf" && fs::exists(gguf_dir() / (e.path().stem().string() + "_expected.safetensors")))
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

fs::path expected_of(const fs::path& gguf) {
  return gguf.parent_path() / (gguf.stem().string() + "_expected.safetensors");
}

// The names of ggml's dequantised tensors in an expected file (the "orig.*" entries are the data
// before quantisation).
std::vector<std::string> dequantised_names(const SafetensorsFile& f) {
  std::vector<std::string> out;
  for (auto& n : f.names())
    if (n.rfind("orig.", 0) != 0) out.push_back(n);
  return out;
}

// Distance in units in the last place between float32 tensors (+0 and -0 are 0 apart): the
// float bit patterns mapped to a monotonic integer line.
int64_t max_ulp(const torch::Tensor& a, const torch::Tensor& b) {
  auto line = [](const torch::Tensor& t) {
    auto i = t.contiguous().view(torch::kInt32).to(torch::kInt64);
    return torch::where(i < 0, -(i & 0x7fffffff), i);
  };
  if (a.numel() == 0 || torch::equal(a.contiguous().view(torch::kInt32), b.contiguous().view(torch::kInt32)))
    return 0;
  return (line(a) - line(b)).abs().max().item<int64_t>();
}

bool bit_equal(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() &&
         torch::equal(a.contiguous().view(torch::kInt32), b.contiguous().view(torch::kInt32));
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
void poke(std::string& s, size_t at, T v) {
  std::memcpy(s.data() + at, &v, sizeof v);
}

template <typename T>
T peek(const std::string& s, size_t at) {
  T v;
  std::memcpy(&v, s.data() + at, sizeof v);
  return v;
}

// A tiny GGUF writer: KVs as raw encoded values, tensors laid out in order, each padded to the
// alignment (as ggml writes them).
struct GgufWriter {
  uint32_t version = 3;
  uint64_t alignment = 32;
  std::string kvs;
  uint64_t n_kv = 0;
  struct Tensor {
    std::string name;
    uint32_t type;
    std::vector<uint64_t> ne;
    std::string bytes;
  };
  std::vector<Tensor> tensors;

  static void str(std::string& s, const std::string& v) {
    put<uint64_t>(s, v.size());
    s += v;
  }
  void kv(const std::string& key, GgufValueType type, const std::string& encoded) {
    str(kvs, key);
    put<uint32_t>(kvs, static_cast<uint32_t>(type));
    kvs += encoded;
    ++n_kv;
  }
  void kv_string(const std::string& key, const std::string& v) {
    std::string e;
    str(e, v);
    kv(key, GgufValueType::String, e);
  }
  static std::string i32_array(const std::vector<int32_t>& v) {
    std::string e;
    put<uint32_t>(e, static_cast<uint32_t>(GgufValueType::I32));
    put<uint64_t>(e, v.size());
    for (int32_t x : v) put(e, x);
    return e;
  }
  void tensor(const std::string& name, GgmlType type, std::vector<uint64_t> ne, std::string bytes) {
    tensors.push_back({name, static_cast<uint32_t>(type), std::move(ne), std::move(bytes)});
  }
  std::string bytes() const {
    std::string s = "GGUF";
    put<uint32_t>(s, version);
    put<uint64_t>(s, tensors.size());
    put<uint64_t>(s, n_kv);
    s += kvs;
    uint64_t off = 0;
    auto padded = [&](uint64_t n) { return (n + alignment - 1) / alignment * alignment; };
    for (auto& t : tensors) {
      str(s, t.name);
      put<uint32_t>(s, static_cast<uint32_t>(t.ne.size()));
      for (uint64_t d : t.ne) put(s, d);
      put<uint32_t>(s, t.type);
      put<uint64_t>(s, off);
      off += padded(t.bytes.size());
    }
    s.resize(padded(s.size()), '\0');
    for (auto& t : tensors) {
      s += t.bytes;
      s.resize(padded(s.size()), '\0');
    }
    return s;
  }
  void write(const fs::path& p) const { write_file(p, bytes()); }
};

std::string f32_bytes(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat32).contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * 4);
}

// Builds nested modules for a dotted name and registers the parameter under its last part.
void add_parameter(torch::nn::Module& root, const std::string& dotted, const torch::Tensor& value) {
  torch::nn::Module* m = &root;
  size_t start = 0;
  for (size_t dot; (dot = dotted.find('.', start)) != std::string::npos; start = dot + 1) {
    const std::string part = dotted.substr(start, dot - start);
    auto children = m->named_children();
    if (auto* child = children.find(part)) m = child->get();
    else m = m->register_module(part, std::make_shared<torch::nn::Module>()).get();
  }
  m->register_parameter(dotted.substr(start), value);
}

// Where tensor `name`'s info starts in a GGUF header (just after its length-prefixed name): the
// last match, since KV strings (test.string_array) come before the tensor infos.
size_t tensor_info_at(const std::string& file, const std::string& name) {
  std::string key;
  put<uint64_t>(key, name.size());
  key += name;
  const size_t at = file.rfind(key);
  if (at == std::string::npos) QTest::qFail(("no tensor info for " + name).c_str(), __FILE__, __LINE__);
  return at + key.size();
}

}  // namespace

class GgufTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  fs::path tiny_;
  fs::path at(const std::string& name) { return fs::path(dir_.path().toStdString()) / name; }

  // tiny_quants.gguf with the tensor info of `name` edited: n_dims, ne[], type, offset.
  struct InfoField {
    size_t type, offset;
  };
  InfoField info_fields(const std::string& file, const std::string& name) {
    const size_t p = tensor_info_at(file, name);
    const auto n_dims = peek<uint32_t>(file, p);
    return {p + 4 + 8 * n_dims, p + 4 + 8 * n_dims + 4};
  }

 private slots:
  void initTestCase() {
    tiny_ = gguf_dir() / "tiny_quants.gguf";
    S2V_REQUIRE_FILE(tiny_, tiny_.string() + " (../shared/testdata/gguf beside the repository)");
    QVERIFY(!reference_files().empty());
  }

  void typeTableFollowsGgml() {
    for (const char* name : {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
                             "Q5_K", "Q6_K"}) {
      const auto t = ggml_type_from_name(name);
      QVERIFY2(t.has_value(), name);
      QCOMPARE(std::string(ggml_type_info(static_cast<uint32_t>(*t))->name), std::string(name));
      QCOMPARE(is_block_quantized(*t), name[0] == 'Q');
    }
    QVERIFY(!ggml_type_from_name("IQ2_XXS").has_value());
    QVERIFY(ggml_type_info(16) == nullptr);
    QCOMPARE(ggml_type_id_name(16), std::string("IQ2_XXS"));
    // A Wan 14B FFN weight in Q4_K: 144 bytes per 256 values, whole blocks only.
    QCOMPARE(ggml_bytes(GgmlType::Q4_K, 5120ull * 13824), 5120ull * 13824 / 256 * 144);
    QCOMPARE(memory_bytes(5120ull * 13824, "Q4_K"), 5120ull * 13824 / 256 * 144);
    QCOMPARE(memory_bytes(64, "F16"), uint64_t(128));
    QVERIFY_EXCEPTION_THROWN(ggml_bytes(GgmlType::Q8_0, 48), s2v::Error);
  }

  // The heart of it: every tensor of every reference file decodes to ggml's float32 values.
  // ggml computes in float32 without FMA, and so do we, op by op: the bound is 1 ulp (what a
  // fused multiply-add would change), and the test reports how many tensors are bit-exact.
  void everyTensorDequantisesToGgmlsValues() {
    QCOMPARE(max_ulp(torch::tensor({1.0f, -0.0f}), torch::tensor({std::nextafter(1.0f, 2.0f), 0.0f})), int64_t(1));
    std::map<std::string, std::pair<int, int>> per_type;  // exact, total
    int64_t worst = 0;
    for (const auto& path : reference_files()) {
      const auto g = GgufFile::open(path);
      const auto expected = SafetensorsFile::open(expected_of(path));
      const auto names = dequantised_names(expected);
      QCOMPARE(names.size(), g.tensors().size());  // every tensor of the file is covered
      for (const auto& name : names) {
        QVERIFY2(g.contains(name), name.c_str());
        const auto want = expected.tensor(name);
        const auto got = g.tensor_as(name, torch::kFloat32);
        QVERIFY2(got.sizes() == want.sizes(), name.c_str());
        const int64_t ulp = max_ulp(got, want);
        const bool exact = bit_equal(got, want);
        const std::string type = ggml_type_info(g.info(name).type).name;
        auto& c = per_type[type];
        c.first += exact;
        ++c.second;
        worst = std::max(worst, ulp);
        qInfo("%-16s %-5s %-42s max %lld ulp%s", path.filename().string().c_str(), type.c_str(), name.c_str(),
              static_cast<long long>(ulp), exact ? " (bit-exact)" : "");
        QVERIFY2(ulp <= 1, (name + ": " + std::to_string(ulp) + " ulp").c_str());
      }
    }
    for (auto& [type, c] : per_type) qInfo("%-5s %d of %d tensors bit-exact", type.c_str(), c.first, c.second);
    qInfo("worst: %lld ulp", static_cast<long long>(worst));
    QCOMPARE(per_type.size(), size_t(13));  // all 13 types the README lists are exercised
  }

  void checkpointSourceMetaTensorAndPacked() {
    const auto expected = SafetensorsFile::open(expected_of(tiny_));
    const auto g = GgufFile::open(tiny_);
    auto src = open_checkpoint(tiny_);
    QCOMPARE(src->names(), g.names());
    QCOMPARE(src->metadata().at("general.architecture"), std::string("wan"));
    // Zero copy: every view lies where its bytes lie in the file, relative to an F32 tensor's view
    // (src maps the file separately from g).
    const std::string anchor = "head.head.bias";
    auto in_file = [&](const void* view, const std::string& name) {
      return static_cast<const uint8_t*>(view) - static_cast<const uint8_t*>(src->tensor(anchor).data_ptr()) ==
             g.raw_data(name) - g.raw_data(anchor);
    };
    for (const auto& name : dequantised_names(expected)) {
      const auto type = g.info(name).type;
      const auto m = src->meta(name);
      QCOMPARE(m.dtype, std::string(ggml_type_info(type).name));
      QCOMPARE(m.shape, expected.info(name).shape);
      const auto want = expected.tensor(name);
      auto t = src->tensor(name);
      if (is_block_quantized(type)) {
        QCOMPARE(t.scalar_type(), torch::kFloat32);
      } else {
        // F32/F16/BF16 are zero-copy views of the mapping in the stored dtype.
        QCOMPARE(t.scalar_type(), to_scalar_type(m.dtype));
        QVERIFY2(in_file(t.data_ptr(), name), name.c_str());
      }
      QVERIFY2(max_ulp(t.to(torch::kFloat32), want) <= 1, name.c_str());
      const auto p = src->packed(name);
      QCOMPARE(p.has_value(), is_block_quantized(type));
      if (p) {
        QCOMPARE(p->type, type);
        QCOMPARE(p->shape, m.shape);
        QCOMPARE(p->data.scalar_type(), torch::kUInt8);
        QCOMPARE(static_cast<uint64_t>(p->data.numel()), g.info(name).bytes);
        QVERIFY2(in_file(p->data.data_ptr(), name), name.c_str());
      }
    }
  }

  // The DiT's path: packed() once, then dequantize() into one buffer reused by every tensor of
  // the same size, in float32 and in bfloat16 (the float32 value rounded once).
  void packedDequantisesIntoAReusedBuffer() {
    const auto expected = SafetensorsFile::open(expected_of(tiny_));
    auto src = open_checkpoint(tiny_);
    std::map<int64_t, std::pair<torch::Tensor, torch::Tensor>> buffers;  // numel -> f32, bf16
    int reused = 0;
    for (const auto& name : dequantised_names(expected)) {
      const auto p = src->packed(name);
      if (!p) continue;
      const auto want = expected.tensor(name);
      auto& [f32, bf16] = buffers[p->numel()];
      reused += f32.defined();
      if (!f32.defined()) {
        f32 = torch::full({p->numel()}, std::nanf(""));
        bf16 = torch::full({p->numel()}, std::nanf(""), torch::kBFloat16);
      }
      auto a = dequantize(*p, torch::kFloat32, f32);
      QCOMPARE(a.data_ptr(), f32.data_ptr());
      QVERIFY2(max_ulp(a.view(want.sizes()), want) <= 1, name.c_str());
      auto b = dequantize(*p, torch::kBFloat16, bf16);
      QCOMPARE(b.data_ptr(), bf16.data_ptr());
      QVERIFY2(torch::equal(b, a.to(torch::kBFloat16)), name.c_str());
      QVERIFY2(torch::equal(src->tensor_as(name, torch::kBFloat16), a.view(want.sizes()).to(torch::kBFloat16)),
               name.c_str());
      // A fresh result has the tensor's shape.
      QCOMPARE(dequantize(*p, torch::kFloat16).sizes(), want.sizes());
    }
    QVERIFY(reused >= 7);  // the eight [64, 256] attention weights share one buffer
    // A buffer of the wrong size or dtype is refused rather than resized.
    const auto p = *src->packed("blocks.0.self_attn.q.weight");
    expect_error([&] { dequantize(p, torch::kFloat32, torch::empty({10})); }, ErrorKind::InvalidArgument,
                 {"reused buffer"});
    expect_error([&] { dequantize(p, torch::kFloat32, torch::empty({p.numel()}, torch::kBFloat16)); },
                 ErrorKind::InvalidArgument, {"reused buffer"});
  }

  // Large tensors are decoded a chunk of blocks at a time (32K values on the CPU, spread over the
  // threads; 4M values on a GPU): the reference blocks repeated past the chunk boundaries decode
  // to the repeated reference values.
  void largeTensorsDecodeAcrossChunks() {
    const auto expected = SafetensorsFile::open(expected_of(tiny_));
    const auto g = GgufFile::open(tiny_);
    for (const char* name : {"blocks.0.self_attn.q.weight", "blocks.0.ffn.0.weight", "blocks.0.self_attn.v.weight"}) {
      const auto one = g.packed(name);
      const int64_t copies = (int64_t(9) << 19) / one.numel() + 1;  // > 1 GPU chunk, not a whole number
      PackedTensor big{one.type, {copies * one.numel()}, one.data.repeat({copies})};
      const auto want = expected.tensor(name).flatten().repeat({copies});
      const auto a = dequantize(big, torch::kFloat32);
      QVERIFY2(max_ulp(a, want) <= 1, name);
      QVERIFY2(torch::equal(dequantize(big, torch::kBFloat16), a.to(torch::kBFloat16)), name);
      qInfo("%s x %lld = %lld values: max %lld ulp", name, static_cast<long long>(copies),
            static_cast<long long>(a.numel()), static_cast<long long>(max_ulp(a, want)));
    }
  }

  // The KVs the README documents for tiny_quants.gguf, with their types.
  void readsEveryKvWithItsType() {
    const auto g = GgufFile::open(tiny_);
    using T = GgufValueType;
    QCOMPARE(g.version(), uint32_t(3));
    QCOMPARE(g.alignment(), uint64_t(32));
    QCOMPARE(g.kv().size(), size_t(21));
    QCOMPARE(g.tensors().size(), size_t(18));
    QCOMPARE(g.architecture(), std::string("wan"));
    auto kv = [&](const std::string& key, T type) -> const GgufValue& {
      const auto* v = g.find(key);
      if (!v) throw std::runtime_error("no KV " + key);
      if (v->type != type) throw std::runtime_error("KV " + key + " has type " + to_string(v->type));
      return *v;
    };
    QCOMPARE(kv("general.alignment", T::U32).to_uint(), uint64_t(32));
    QCOMPARE(g.find("general.name")->type, T::String);
    QCOMPARE(g.find("general.quantization_version")->to_int(), int64_t(2));
    QCOMPARE(g.find("general.file_type")->to_int(), int64_t(15));
    QCOMPARE(kv("test.u8", T::U8).to_uint(), uint64_t(200));
    QCOMPARE(kv("test.i8", T::I8).to_int(), int64_t(-100));
    QCOMPARE(kv("test.u16", T::U16).to_uint(), uint64_t(60000));
    QCOMPARE(kv("test.i16", T::I16).to_int(), int64_t(-30000));
    QCOMPARE(kv("test.i32", T::I32).to_int(), int64_t(-2000000000));
    QCOMPARE(kv("test.u64", T::U64).to_uint(), uint64_t(1234567890123456789ull));
    QCOMPARE(kv("test.i64", T::I64).to_int(), int64_t(-1234567890123456789ll));
    QCOMPARE(kv("test.f32", T::F32).to_double(), 3.25);
    QCOMPARE(kv("test.f64", T::F64).to_double(), -0.1);
    QCOMPARE(kv("test.bool", T::Bool).to_bool(), true);
    QCOMPARE(kv("test.string", T::String).str(), std::string("Wan2.2-S2V äöü ✓"));
    const auto& sa = kv("test.string_array", T::Array);
    QCOMPARE(sa.element_type, T::String);
    QCOMPARE(sa.elements.size(), size_t(4));
    const std::vector<std::string> strings = {"blocks.0.self_attn.q.weight", "", "ünicöde", "last"};
    for (size_t i = 0; i < strings.size(); ++i) QCOMPARE(sa.elements[i].str(), strings[i]);
    const auto& ia = kv("test.i32_array", T::Array);
    QCOMPARE(ia.element_type, T::I32);
    const std::vector<int64_t> ints = {1, -2, 3, 2147483647};
    QCOMPARE(ia.elements.size(), ints.size());
    for (size_t i = 0; i < ints.size(); ++i) QCOMPARE(ia.elements[i].to_int(), ints[i]);
    const auto& fa = kv("test.f32_array", T::Array);
    QCOMPARE(fa.element_type, T::F32);
    QCOMPARE(fa.elements.size(), size_t(2));
    QCOMPARE(fa.elements[0].to_double(), 0.5);
    QCOMPARE(fa.elements[1].to_double(), -1.25);
    const auto& ea = kv("test.empty_u8_array", T::Array);
    QCOMPARE(ea.element_type, T::U8);
    QVERIFY(ea.elements.empty());
    // A value of another kind is refused, not reinterpreted.
    QVERIFY_EXCEPTION_THROWN(kv("test.string", T::String).to_int(), s2v::Error);
    QVERIFY_EXCEPTION_THROWN(kv("test.u64", T::U64).to_bool(), s2v::Error);
    QCOMPARE(kv("test.i32_array", T::Array).display(), std::string("[1, -2, 3, 2147483647]"));
  }

  void appliesComfyOrigShape() {
    const auto g = GgufFile::open(tiny_);
    const auto& o = *g.find("comfy.gguf.orig_shape.blocks.0.ffn.0.weight");
    QCOMPARE(o.element_type, GgufValueType::I32);
    const std::vector<int64_t> orig = {o.elements[0].to_int(), o.elements[1].to_int()};
    QCOMPARE(g.info("blocks.0.ffn.0.weight").shape, orig);
    // A file whose orig_shape differs from the stored one (ComfyUI-GGUF's reshape to whole
    // blocks): the shape is the original one, the values the same row-major run.
    const auto src = GgufFile::open(tiny_);
    const auto expected = SafetensorsFile::open(expected_of(tiny_));
    const std::string name = "trainable_cond_mask.weight";  // Q8_0 [3, 256]
    const auto& info = src.info(name);
    std::string bytes(reinterpret_cast<const char*>(src.raw_data(name)), info.bytes);
    GgufWriter w;
    w.kv("comfy.gguf.orig_shape." + name, GgufValueType::Array, GgufWriter::i32_array({2, 3, 128}));
    w.tensor(name, GgmlType::Q8_0, {256, 3}, bytes);
    w.write(at("reshaped.gguf"));
    const auto r = GgufFile::open(at("reshaped.gguf"));
    QCOMPARE(r.info(name).shape, (std::vector<int64_t>{2, 3, 128}));
    QCOMPARE(r.info(name).ne, (std::vector<int64_t>{256, 3}));
    QVERIFY(torch::equal(r.tensor(name), g.tensor(name).view({2, 3, 128})));
    GgufWriter bad = w;
    bad.kvs.clear();
    bad.n_kv = 0;
    bad.kv("comfy.gguf.orig_shape." + name, GgufValueType::Array, GgufWriter::i32_array({5, 5}));
    bad.write(at("bad_orig.gguf"));
    expect_error([&] { GgufFile::open(at("bad_orig.gguf")); }, ErrorKind::Corrupt,
                 {"bad_orig.gguf", name, "comfy.gguf.orig_shape", "768 values"});
  }

  // city96's Wan files hold a 5-D patch_embedding.weight (ggml refuses n_dims > 4; we must not).
  void readsFiveDimensionalTensors() {
    const auto path = gguf_dir() / "tiny_5d.gguf";
    S2V_REQUIRE_FILE(path, path.string());
    const auto g = GgufFile::open(path);
    QVERIFY(g.find("general.alignment") == nullptr);
    QCOMPARE(g.alignment(), uint64_t(32));  // the default
    const auto& info = g.info("patch_embedding.weight");
    QCOMPARE(info.ne, (std::vector<int64_t>{2, 2, 1, 4, 8}));
    QCOMPARE(info.shape, (std::vector<int64_t>{8, 4, 1, 2, 2}));
    const auto expected = SafetensorsFile::open(expected_of(path));
    QVERIFY(torch::equal(open_checkpoint(path)->tensor("patch_embedding.weight"),
                         expected.tensor("patch_embedding.weight")));
    // Up to 8 dims are read; 9 are refused, naming the tensor.
    GgufWriter w;
    w.tensor("eight", GgmlType::F32, {1, 2, 1, 2, 1, 2, 1, 2}, f32_bytes(torch::arange(16)));
    w.write(at("eight.gguf"));
    QCOMPARE(GgufFile::open(at("eight.gguf")).info("eight").shape, (std::vector<int64_t>{2, 1, 2, 1, 2, 1, 2, 1}));
    w.tensor("nine", GgmlType::F32, {1, 1, 1, 1, 1, 1, 1, 1, 1}, f32_bytes(torch::ones({1})));
    w.write(at("nine.gguf"));
    expect_error([&] { GgufFile::open(at("nine.gguf")); }, ErrorKind::Corrupt, {"nine.gguf", "'nine'", "9 dimensions"});
  }

  // A ComfyUI-style file: names under model.diffusion_model., size-1 dims dropped by the writer,
  // Q8_0 weights. detect_key_map + load_module fill a module with the Wan names and shapes.
  void loadsAModuleFromAPrefixedFileWithDroppedDims() {
    const auto g = GgufFile::open(tiny_);
    const auto expected = SafetensorsFile::open(expected_of(tiny_));
    const std::string q = "blocks.0.self_attn.q.weight", k = "blocks.0.self_attn.k.weight";
    auto raw = [&](const std::string& n) {
      return std::string(reinterpret_cast<const char*>(g.raw_data(n)), g.info(n).bytes);
    };
    torch::manual_seed(3);
    const auto modulation = torch::randn({1, 6, 64}), audio = torch::randn({1, 25, 1, 1});
    GgufWriter w;
    w.kv_string("general.architecture", "wan");
    const std::string prefix = "model.diffusion_model.";
    w.tensor(prefix + q, GgmlType::Q8_0, {256, 64}, raw(q));
    w.tensor(prefix + k, GgmlType::Q5_K, {256, 64}, raw(k));
    w.tensor(prefix + "blocks.0.modulation", GgmlType::F32, {64, 6}, f32_bytes(modulation));  // [1, 6, 64]
    w.tensor(prefix + "casual_audio_encoder.weights", GgmlType::F32, {25}, f32_bytes(audio));   // [1, 25, 1, 1]
    w.write(at("comfy_wan.gguf"));

    torch::nn::Module net;
    add_parameter(net, q, torch::zeros({64, 256}));
    add_parameter(net, k, torch::zeros({64, 256}, torch::kBFloat16));  // dequantised straight into bf16
    add_parameter(net, "blocks.0.modulation", torch::zeros({1, 6, 64}));
    add_parameter(net, "casual_audio_encoder.weights", torch::zeros({1, 25, 1, 1}));
    std::vector<std::string> want;
    for (auto& p : net.named_parameters()) want.push_back(p.key());
    auto stored = open_checkpoint(at("comfy_wan.gguf"));
    const auto map = detect_key_map(stored->names(), want);
    QCOMPARE(map.prefix, prefix);
    auto view = apply_key_map(stored, map);
    QVERIFY(view->packed(q).has_value());  // the key map forwards packed()
    QCOMPARE(view->meta("blocks.0.modulation").shape, (std::vector<int64_t>{6, 64}));
    load_module(net, *view, "test DiT");
    auto params = net.named_parameters();
    QVERIFY(bit_equal(params[q], expected.tensor(q)));
    QVERIFY(torch::equal(params[k], expected.tensor(k).to(torch::kBFloat16)));
    QVERIFY(torch::equal(params["blocks.0.modulation"], modulation));
    QVERIFY(torch::equal(params["casual_audio_encoder.weights"], audio));
    // A real shape difference is still refused.
    torch::nn::Module other;
    add_parameter(other, "blocks.0.modulation", torch::zeros({1, 64, 6}));
    expect_error([&] { load_module(other, *view, "test DiT", /*allow_unexpected=*/true); }, ErrorKind::Corrupt,
                 {"blocks.0.modulation: found [6, 64], expected [1, 64, 6]"});
  }

  void readsVersion2AndNestedArrays() {
    GgufWriter w;
    w.version = 2;
    w.alignment = 64;
    std::string align;
    put<uint32_t>(align, 64);
    w.kv("general.alignment", GgufValueType::U32, align);
    std::string nested;  // [[7, 8], [9]]
    put<uint32_t>(nested, static_cast<uint32_t>(GgufValueType::Array));
    put<uint64_t>(nested, 2);
    nested += GgufWriter::i32_array({7, 8});
    nested += GgufWriter::i32_array({9});
    w.kv("test.nested", GgufValueType::Array, nested);
    w.tensor("a", GgmlType::F32, {3}, f32_bytes(torch::tensor({1.0f, 2.0f, 3.0f})));
    w.tensor("b", GgmlType::F16, {2, 2}, [] {
      auto h = torch::tensor({0.5f, -1.0f, 2.0f, 65504.0f}).to(torch::kFloat16);
      return std::string(static_cast<const char*>(h.data_ptr()), 8);
    }());
    w.write(at("v2.gguf"));
    const auto g = GgufFile::open(at("v2.gguf"));
    QCOMPARE(g.version(), uint32_t(2));
    QCOMPARE(g.alignment(), uint64_t(64));
    QCOMPARE(g.data_offset() % 64, uint64_t(0));
    const auto& n = *g.find("test.nested");
    QCOMPARE(n.element_type, GgufValueType::Array);
    QCOMPARE(n.elements.size(), size_t(2));
    QCOMPARE(n.elements[0].elements[1].to_int(), int64_t(8));
    QCOMPARE(n.elements[1].elements[0].to_int(), int64_t(9));
    QCOMPARE(n.display(), std::string("[[7, 8], [9]]"));
    QVERIFY(torch::equal(g.tensor("a"), torch::tensor({1.0f, 2.0f, 3.0f})));
    QCOMPARE(g.tensor("b").scalar_type(), torch::kFloat16);
    QVERIFY(torch::equal(g.tensor_as("b", torch::kFloat32), torch::tensor({0.5f, -1.0f, 2.0f, 65504.0f}).view({2, 2})));
  }

  // Each defect in a copy of tiny_quants.gguf is refused with the file (and the tensor) named.
  void rejectsCorruptedCopies() {
    const std::string good = read_file(tiny_);
    const auto g = GgufFile::open(tiny_);
    auto broken = [&](const std::string& file, auto&& edit) {
      std::string bytes = good;
      edit(bytes);
      write_file(at(file), bytes);
      return at(file);
    };
    auto open = [](const fs::path& p) { return [p] { GgufFile::open(p); }; };
    const std::string ffn = "blocks.0.ffn.0.weight", k = "blocks.0.self_attn.k.weight", q = "blocks.0.self_attn.q.weight";

    auto p = broken("type.gguf", [&](std::string& b) { poke<uint32_t>(b, info_fields(b, ffn).type, 99); });
    expect_error(open(p), ErrorKind::Unsupported, {"type.gguf", ffn, "type id 99"});
    p = broken("iq.gguf", [&](std::string& b) { poke<uint32_t>(b, info_fields(b, ffn).type, 16); });
    expect_error(open(p), ErrorKind::Unsupported, {"iq.gguf", ffn, "IQ2_XXS"});

    // Truncated: the tensor whose bytes end last loses its final byte.
    const GgufTensorInfo* last = &g.tensors().front();
    for (auto& t : g.tensors())
      if (t.offset + t.bytes > last->offset + last->bytes) last = &t;
    p = broken("cut.gguf", [&](std::string& b) { b.resize(g.data_offset() + last->offset + last->bytes - 1); });
    expect_error(open(p), ErrorKind::Corrupt, {"cut.gguf", "'" + last->name + "'", "truncated"});
    p = broken("cut_header.gguf", [&](std::string& b) { b.resize(info_fields(b, ffn).type + 2); });
    expect_error(open(p), ErrorKind::Corrupt, {"cut_header.gguf", ffn, "truncated"});

    p = broken("misaligned.gguf", [&](std::string& b) {
      const auto f = info_fields(b, k).offset;
      poke<uint64_t>(b, f, peek<uint64_t>(b, f) + 4);
    });
    expect_error(open(p), ErrorKind::Corrupt, {"misaligned.gguf", k, "alignment (32)"});

    p = broken("overlap.gguf", [&](std::string& b) {
      poke<uint64_t>(b, info_fields(b, "head.head.bias").offset, peek<uint64_t>(b, info_fields(b, q).offset));
    });
    expect_error(open(p), ErrorKind::Corrupt, {"overlap.gguf", "head.head.bias", q, "overlap"});

    // Lying counts fail at once, before anything is allocated for them.
    p = broken("count.gguf", [&](std::string& b) { poke<uint64_t>(b, 8, uint64_t(1) << 40); });
    expect_error(open(p), ErrorKind::Corrupt, {"count.gguf", "1099511627776 tensors"});
    p = broken("kv_count.gguf", [&](std::string& b) { poke<uint64_t>(b, 16, uint64_t(1) << 40); });
    expect_error(open(p), ErrorKind::Corrupt, {"kv_count.gguf", "1099511627776 KVs"});
    // The first KV's key length (at byte 24) claims 2^62 bytes.
    p = broken("string.gguf", [&](std::string& b) { poke<uint64_t>(b, 24, uint64_t(1) << 62); });
    expect_error(open(p), ErrorKind::Corrupt, {"string.gguf", "length of 4611686018427387904 bytes"});
    p = broken("kv_type.gguf", [&](std::string& b) { poke<uint32_t>(b, 24 + 8 + peek<uint64_t>(b, 24), 77); });
    expect_error(open(p), ErrorKind::Corrupt, {"kv_type.gguf", "unknown value type 77"});

    p = broken("v1.gguf", [&](std::string& b) { poke<uint32_t>(b, 4, 1); });
    expect_error(open(p), ErrorKind::Unsupported, {"v1.gguf", "version 1"});
    p = broken("v4.gguf", [&](std::string& b) { poke<uint32_t>(b, 4, 4); });
    expect_error(open(p), ErrorKind::Unsupported, {"v4.gguf", "version 4"});
    p = broken("magic.gguf", [&](std::string& b) { b[0] = 'X'; });
    expect_error(open(p), ErrorKind::Corrupt, {"magic.gguf", "GGUF magic"});
    // open_checkpoint recognises the magic without the extension, and passes errors on.
    p = broken("renamed.bin", [](std::string&) {});
    QCOMPARE(open_checkpoint(p)->meta(ffn).dtype, std::string("Q4_K"));
    p = broken("renamed_v1.bin", [&](std::string& b) { poke<uint32_t>(b, 4, 1); });
    expect_error([&] { open_checkpoint(p); }, ErrorKind::Unsupported, {"renamed_v1.bin", "version 1"});
  }

  void rejectsMalformedTensorInfos() {
    const auto g = GgufFile::open(tiny_);
    const std::string q8(reinterpret_cast<const char*>(g.raw_data("trainable_cond_mask.weight")), 34 * 8);
    GgufWriter dup;
    dup.tensor("w", GgmlType::Q8_0, {256}, q8);
    dup.tensor("w", GgmlType::Q8_0, {256}, q8);
    dup.write(at("dup.gguf"));
    expect_error([&] { GgufFile::open(at("dup.gguf")); }, ErrorKind::Corrupt, {"dup.gguf", "'w' appears twice"});
    GgufWriter rows;  // rows of 48 values are not whole 32-value Q8_0 blocks (96 values in all are)
    rows.tensor("w", GgmlType::Q8_0, {48, 2}, q8.substr(0, 34 * 3));
    rows.write(at("rows.gguf"));
    expect_error([&] { GgufFile::open(at("rows.gguf")); }, ErrorKind::Corrupt,
                 {"rows.gguf", "'w' (Q8_0) has rows of 48 values"});
    GgufWriter align;
    align.kv("general.alignment", GgufValueType::U32, std::string("\x18\0\0\0", 4));  // 24
    align.write(at("align.gguf"));
    expect_error([&] { GgufFile::open(at("align.gguf")); }, ErrorKind::Corrupt, {"align.gguf", "power of two"});
  }

  void inspectAndConvert() {
    const auto g = GgufFile::open(tiny_);
    const std::string s = inspect_summary(tiny_);
    qInfo("%s", s.c_str());
    QVERIFY(s.find("tiny_quants.gguf (GGUF v3)") != std::string::npos);
    QVERIFY(s.find("architecture: wan") != std::string::npos);
    // One line per type with the count and the bytes of whole blocks.
    std::map<std::string, std::pair<size_t, uint64_t>> per_type;
    for (auto& t : g.tensors()) {
      auto& c = per_type[ggml_type_info(t.type).name];
      ++c.first;
      c.second += t.bytes;
    }
    for (auto& [type, c] : per_type) {
      const std::string line = type + " " + std::to_string(c.first) + " tensors";
      const auto at_line = s.find("    " + line);
      QVERIFY2(at_line != std::string::npos, line.c_str());
      QVERIFY2(s.substr(at_line, s.find('\n', at_line) - at_line).find(human_bytes(c.second)) != std::string::npos,
               line.c_str());
    }
    // convert: every tensor dequantised, under its name, in float32 or bfloat16.
    const auto expected = SafetensorsFile::open(expected_of(tiny_));
    for (const std::string dtype : {"", "BF16"}) {
      const auto out = at("converted" + dtype + ".safetensors");
      const auto r = convert_to_safetensors(tiny_, out, {}, dtype);
      QCOMPARE(r.tensors, g.tensors().size());
      QVERIFY(!fs::exists(out.string() + ".part"));
      const auto st = SafetensorsFile::open(out);
      QCOMPARE(st.names(), g.names());
      for (auto& n : st.names()) {
        const auto want = expected.tensor(n);
        if (dtype.empty()) {
          QCOMPARE(st.info(n).dtype, std::string("F32"));
          QVERIFY2(max_ulp(st.tensor(n), want) <= 1, n.c_str());
        } else {
          QCOMPARE(st.info(n).dtype, dtype);
          QVERIFY2(torch::equal(st.tensor(n), g.tensor_as(n, torch::kFloat32).to(torch::kBFloat16)), n.c_str());
        }
      }
    }
  }
};

QTEST_GUILESS_MAIN(GgufTest)
#include "tst_gguf.moc"
