// The restricted .pth reader: archives laid out exactly as torch.save writes them (made by
// make_pth.py with python3's pickle and zipfile, no PyTorch needed), zip64, refused pickles,
// conversion to safetensors and the inspect summary.

#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/weights/checkpoint.h"
#include "models/weights/inspect.h"
#include "models/weights/pickle.h"
#include "models/weights/pth.h"
#include "models/weights/safetensors.h"
#include "weights_test_util.h"

using namespace s2v::weights;
using s2v::ErrorKind;
using s2v::test::expect_error;
namespace fs = std::filesystem;

class PthTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  fs::path root_;
  nlohmann::json expected_;
  fs::path at(const std::string& name) { return root_ / name; }

  // Every tensor of file equals the expected.json entry `key` (default: the file's own).
  void check_against_expected(const std::string& file, std::string key = {}) {
    auto pth = PthFile::open(at(file));
    const auto& want = expected_.at(key.empty() ? file : key);
    QCOMPARE(pth.names().size(), want.size());
    for (auto& [name, w] : want.items()) {
      QVERIFY2(pth.contains(name), name.c_str());
      const auto meta = pth.meta(name);
      QCOMPARE(meta.dtype, w.at("dtype").get<std::string>());
      QCOMPARE(meta.shape, w.at("shape").get<std::vector<int64_t>>());
      auto t = pth.tensor(name);
      QCOMPARE(t.sizes().vec(), meta.shape);
      auto flat = t.to(torch::kFloat64).contiguous().flatten();
      const auto values = w.at("values").get<std::vector<double>>();
      QCOMPARE(flat.numel(), static_cast<int64_t>(values.size()));
      for (size_t i = 0; i < values.size(); ++i)
        QVERIFY2(flat[static_cast<int64_t>(i)].item<double>() == values[i], (file + ": " + name).c_str());
    }
  }

 private slots:
  void initTestCase() {
    const QString python = QStandardPaths::findExecutable("python3");
    if (python.isEmpty()) QSKIP("python3 is needed to write the .pth fixtures");
    root_ = fs::path(dir_.path().toStdString());
    QProcess p;
    p.start(python, {QString(S2V_SOURCE_DIR) + "/tests/models/weights/make_pth.py", dir_.path()});
    QVERIFY(p.waitForFinished(60000));
    QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    std::ifstream in(at("expected.json"));
    expected_ = nlohmann::json::parse(in);
  }

  void readsTorchSaveLayout() {
    check_against_expected("state.pth");
    auto pth = PthFile::open(at("state.pth"));
    QCOMPARE(pth.record_prefix(), std::string("state"));
    // A transposed view stays a strided zero-copy view of its storage.
    auto t = pth.tensor("encoder.weight_t");
    QCOMPARE(t.strides().vec(), (std::vector<int64_t>{1, 4}));
    QCOMPARE(t.data_ptr(), pth.tensor("encoder.weight").data_ptr());
    QCOMPARE(pth.tensor("scalar").dim(), int64_t(0));
    QCOMPARE(pth.tensor("scalar").item<float>(), 15.0f);
    QCOMPARE(pth.meta("pos.ids").dtype, std::string("I64"));
    QCOMPARE(pth.tensor("pos.ids")[2].item<int64_t>(), int64_t(1) << 40);
  }

  void readsZip64Archive() {
    check_against_expected("zip64.pth", "state.pth");  // same content, zip64 records
    QCOMPARE(PthFile::open(at("zip64.pth")).record_prefix(), std::string("archive"));
  }

  void flattensNestedContainersAndListsSkippedValues() {
    check_against_expected("nested.pth");
    auto pth = PthFile::open(at("nested.pth"));
    QCOMPARE(pth.skipped(), (std::vector<std::string>{"epoch: int", "note: str"}));
  }

  void refusesOsSystemGlobal() {
    expect_error([&] { PthFile::open(at("evil_system.pth")); }, ErrorKind::Unsupported,
                 {"evil_system.pth", "posix.system", "nothing is executed"});
    QVERIFY(!fs::exists(at("PWNED")));
  }

  void refusesEvalGlobal() {
    expect_error([&] { open_checkpoint(at("evil_eval.pth")); }, ErrorKind::Unsupported, {".eval", "refusing"});
    QVERIFY(!fs::exists(at("PWNED")));
  }

  void refusesObjectBuildingOpcodes() {
    // PROTO 2, MARK, INST posix system: protocol-0 object construction.
    auto bytes = [](std::initializer_list<std::string> parts) {
      std::string out;
      for (auto& p : parts) out += p;
      return out;
    };
    const std::string inst = bytes({"\x80\x02", "(iposix\nsystem\n."});
    expect_error([&] { pickle::unpickle(reinterpret_cast<const uint8_t*>(inst.data()), inst.size(), "'x'"); },
                 ErrorKind::Unsupported, {"INST"});
    // GLOBAL torch FloatStorage called through REDUCE: an allowed name used as a function.
    const std::string call = bytes({"\x80\x02", "ctorch\nFloatStorage\n)R."});
    expect_error([&] { pickle::unpickle(reinterpret_cast<const uint8_t*>(call.data()), call.size(), "'x'"); },
                 ErrorKind::Unsupported, {"calls torch.FloatStorage"});
    const std::string cut = bytes({"\x80\x02}q", std::string(1, '\0'), "(X\x05", std::string(3, '\0'), "ab"});
    expect_error([&] { pickle::unpickle(reinterpret_cast<const uint8_t*>(cut.data()), cut.size(), "'x'"); },
                 ErrorKind::Corrupt, {"truncated"});
  }

  void rejectsTruncatedArchiveAndOverrun() {
    fs::copy_file(at("state.pth"), at("cut.pth"));
    fs::resize_file(at("cut.pth"), fs::file_size(at("state.pth")) / 2);
    expect_error([&] { PthFile::open(at("cut.pth")); }, ErrorKind::Corrupt, {"cut.pth", "zip archive"});
    expect_error([&] { PthFile::open(at("overrun.pth")); }, ErrorKind::Corrupt,
                 {"tensor 'w' reaches element 9 of storage '4', which has 6"});
    std::ofstream(at("legacy.pth"), std::ios::binary) << std::string("\x80\x02\x8a\x0alegacy", 10);
    expect_error([&] { PthFile::open(at("legacy.pth")); }, ErrorKind::Unsupported, {"legacy"});
  }

  void convertsToSafetensorsAtomically() {
    int calls = 0;
    const auto r = convert_to_safetensors(at("state.pth"), at("state.safetensors"),
                                          [&](size_t done, size_t total) { ++calls; QVERIFY(done <= total); });
    QCOMPARE(r.tensors, size_t(8));
    QCOMPARE(calls, 8);
    QCOMPARE(r.skipped, size_t(0));
    QCOMPARE(r.bytes, uint64_t(12 * 4 + 12 * 4 + 4 * 4 + 6 * 4 + 4 * 2 + 6 * 2 + 3 * 8 + 4));
    QVERIFY(!fs::exists(at("state.safetensors.part")));
    auto pth = PthFile::open(at("state.pth"));
    auto st = SafetensorsFile::open(at("state.safetensors"));
    QCOMPARE(st.names(), pth.names());
    for (auto& n : pth.names()) {
      QCOMPARE(st.info(n).dtype, pth.meta(n).dtype);
      QVERIFY2(torch::equal(st.tensor(n), pth.tensor(n)), n.c_str());
    }
    QCOMPARE(st.metadata().at("converted_from"), std::string("state.pth"));
    QCOMPARE(convert_to_safetensors(at("nested.pth"), at("nested.safetensors")).skipped, size_t(2));
    // A refused input leaves neither the output nor its temporary.
    QVERIFY_EXCEPTION_THROWN(convert_to_safetensors(at("evil_system.pth"), at("evil.safetensors")), s2v::Error);
    QVERIFY(!fs::exists(at("evil.safetensors")));
    QVERIFY(!fs::exists(at("evil.safetensors.part")));
  }

  void inspectSummarizesFileAndFolder() {
    const std::string one = inspect_summary(at("state.pth"));
    qInfo("%s", one.c_str());
    QVERIFY(one.find("tensors: 8, parameters: 48 (48)") != std::string::npos);
    QVERIFY(one.find("F32 5 tensors (35)") != std::string::npos);
    QVERIFY(one.find("bf16 96 B") != std::string::npos);
    const std::string all = inspect_summary(root_);
    QVERIFY(all.find("nested.pth (PyTorch zip (.pth))") != std::string::npos);
    QVERIFY(all.find("evil_system.pth: refusing") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(PthTest)
#include "tst_pth.moc"
