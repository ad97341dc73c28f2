// The s2v command line as a user runs it: a real child process, killed with SIGKILL mid-job,
// then restarted; the journal lists the job as interrupted and `s2v jobs resume` completes it.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "core/media/probe.h"

class TestCli : public QObject {
  Q_OBJECT

  QTemporaryDir data_;

  QProcessEnvironment env() const {
    auto e = QProcessEnvironment::systemEnvironment();
    e.insert("S2V_DATA_DIR", data_.path());
    return e;
  }

  // Runs s2v to completion; returns {exit code, stdout, stderr}.
  std::tuple<int, QString, QString> run(const QStringList& args, int timeout_ms = 120000) {
    QProcess p;
    p.setProcessEnvironment(env());
    p.start(S2V_CLI, args);
    if (!p.waitForFinished(timeout_ms)) {
      p.kill();
      return {-1, {}, "timeout"};
    }
    return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
  }

 private slots:
  void versionNamesTheLibraries() {
    auto [rc, out, err] = run({"--version"});
    QCOMPARE(rc, 0);
    QVERIFY2(out.contains("LibTorch") && out.contains("FFmpeg"), qPrintable(out));
  }

  void unknownCommandAndOptionAreUsageErrors() {
    QCOMPARE(std::get<0>(run({"frobnicate"})), 2);
    auto [rc, out, err] = run({"test-pattern", "--no-such-option"});
    QCOMPARE(rc, 2);
    QVERIFY2(err.contains("unknown option --no-such-option"), qPrintable(err));
  }

  void helpWorksEverywhere() {
    for (const char* cmd : {"generate", "curate", "inspect", "convert", "jobs", "test-pattern"}) {
      auto [rc, out, err] = run({cmd, "--help"});
      QVERIFY2(rc == 0 && out.contains("usage: s2v"), cmd);
    }
  }

  void testPatternJsonProgressAndOutput() {
    QTemporaryDir dir;
    const QString out = dir.path() + "/tp.mp4";
    auto [rc, stdout_, err] = run({"test-pattern", "--segments", "2", "--frames", "4", "--width", "64",
                                   "--height", "48", "--out", out, "--json"});
    QCOMPARE(rc, 0);
    int previews = 0;
    std::string final_state;
    for (const QString& line : stdout_.split('\n', Qt::SkipEmptyParts)) {
      auto j = nlohmann::json::parse(line.toStdString());
      QCOMPARE(j.at("kind").get<std::string>(), std::string("test-pattern"));
      if (j.contains("preview")) ++previews;
      final_state = j.at("state").get<std::string>();
    }
    QCOMPARE(previews, 2);
    QCOMPARE(final_state, std::string("done"));
    QCOMPARE(s2v::media::probe(out.toStdString()).frame_count, int64_t{8});
  }

  void killedJobIsListedAsInterruptedAndResumes() {
    QTemporaryDir dir;
    const QString out = dir.path() + "/resumed.mp4";
    QProcess p;
    p.setProcessEnvironment(env());
    p.start(S2V_CLI, {"test-pattern", "--segments", "4", "--frames", "6", "--width", "64", "--height",
                      "48", "--delay_ms", "80", "--out", out, "--json"});
    QVERIFY(p.waitForStarted());
    std::string id;
    QByteArray buffer;
    QElapsedTimer t;
    t.start();
    // Wait for the first finished segment, then kill -9.
    while (t.elapsed() < 60000) {
      p.waitForReadyRead(200);
      buffer += p.readAllStandardOutput();
      if (buffer.contains("\"preview\"")) break;
    }
    QVERIFY2(buffer.contains("\"preview\""), buffer.constData());
    p.kill();  // SIGKILL: no cleanup code runs
    p.waitForFinished();
    for (const QByteArray& line : buffer.split('\n'))
      if (!line.isEmpty()) id = nlohmann::json::parse(line.toStdString()).at("job").get<std::string>();
    QVERIFY(!id.empty());
    QVERIFY(!QFile::exists(out));

    auto [rc, list, err] = run({"jobs", "list", "--json"});
    QCOMPARE(rc, 0);
    auto jobs = nlohmann::json::parse(list.toStdString());
    bool found = false;
    for (auto& j : jobs)
      if (j.at("id") == id) {
        found = true;
        QCOMPARE(j.at("state").get<std::string>(), std::string("interrupted"));
      }
    QVERIFY(found);

    auto [rc2, resumed, err2] = run({"jobs", "resume", QString::fromStdString(id), "--json"});
    QVERIFY2(rc2 == 0, qPrintable(err2));
    // The resumed run starts after the finished segment(s): fewer than 4 segment previews.
    int previews = 0;
    for (const QString& line : resumed.split('\n', Qt::SkipEmptyParts))
      if (line.contains("\"preview\"")) ++previews;
    QVERIFY2(previews >= 1 && previews <= 3, qPrintable(resumed));
    QCOMPARE(s2v::media::probe(out.toStdString()).frame_count, int64_t{24});
    auto [rc3, list2, err3] = run({"jobs", "list"});
    QVERIFY(list2.contains(QRegularExpression(QString::fromStdString(id) + "\\s+done")));
  }

  void inspectSummarisesACheckpointAndRejectsMissingFiles() {
    const QString file = QString(S2V_SHARED_DIR) + "/testdata/parity/umt5_encoder_tiny.safetensors";
    if (!QFile::exists(file)) QSKIP("../shared/testdata/parity is not beside the repository");
    auto [rc, out, err] = run({"inspect", file});
    QVERIFY2(rc == 0, qPrintable(err));
    QVERIFY2(out.contains("F32") && out.contains("tensors"), qPrintable(out));
    auto [rc2, out2, err2] = run({"inspect", "/no/such/checkpoint.safetensors"});
    QCOMPARE(rc2, 1);
    QVERIFY2(err2.contains("/no/such/checkpoint.safetensors"), qPrintable(err2));
    auto [rc3, out3, err3] = run({"convert", "only-one-arg.pth"});
    QCOMPARE(rc3, 2);
  }

  // inspect names the GGUF format; convert dequantises every tensor of a GGUF file: float32 by
  // default, bit for bit ggml's values (the reference *_expected.safetensors), or bfloat16.
  void inspectAndConvertGguf() {
    const QString dir = QString(S2V_SHARED_DIR) + "/testdata/gguf/";
    if (!QFile::exists(dir + "tiny_quants.gguf")) QSKIP("../shared/testdata/gguf is not beside the repository");
    auto [rc, out, err] = run({"inspect", dir + "tiny_quants.gguf"});
    QVERIFY2(rc == 0, qPrintable(err));
    QVERIFY2(out.contains("GGUF v3") && out.contains("architecture: wan") && out.contains("Q4_K 1 tensors"),
             qPrintable(out));
    // {name: {dtype, data bytes}} from a safetensors file's JSON header.
    auto tensors = [](const QString& path) {
      QFile f(path);
      std::map<std::string, std::pair<std::string, QByteArray>> m;
      if (!f.open(QIODevice::ReadOnly)) return m;
      const QByteArray all = f.readAll();
      uint64_t len = 0;
      std::memcpy(&len, all.constData(), 8);
      const auto header = nlohmann::json::parse(all.mid(8, static_cast<qsizetype>(len)).toStdString());
      for (auto& [name, v] : header.items()) {
        if (name == "__metadata__") continue;
        const auto b = v["data_offsets"][0].get<qsizetype>(), e = v["data_offsets"][1].get<qsizetype>();
        m[name] = {v["dtype"].get<std::string>(), all.mid(static_cast<qsizetype>(8 + len) + b, e - b)};
      }
      return m;
    };
    const auto expected = tensors(dir + "tiny_quants_expected.safetensors");
    QTemporaryDir tmp;
    auto [rc2, out2, err2] = run({"convert", dir + "tiny_quants.gguf", tmp.path() + "/f32.safetensors"});
    QVERIFY2(rc2 == 0, qPrintable(err2));
    const auto f32 = tensors(tmp.path() + "/f32.safetensors");
    QCOMPARE(f32.size(), expected.size() / 2);  // the expected file also holds orig.<name>
    for (auto& [name, t] : f32) {
      QCOMPARE(t.first, std::string("F32"));
      QVERIFY2(expected.count(name) && t.second == expected.at(name).second, name.c_str());
    }
    auto [rc3, out3, err3] = run({"convert", dir + "tiny_quants.gguf", tmp.path() + "/bf16.safetensors",
                                  "--dtype", "bfloat16"});
    QVERIFY2(rc3 == 0, qPrintable(err3));
    const auto bf16 = tensors(tmp.path() + "/bf16.safetensors");
    QCOMPARE(bf16.size(), f32.size());
    for (auto& [name, t] : bf16)
      QVERIFY2(t.first == "BF16" && t.second.size() * 2 == f32.at(name).second.size(), name.c_str());
    QCOMPARE(std::get<0>(run({"convert", dir + "tiny_quants.gguf", tmp.path() + "/x.safetensors", "--dtype", "int8"})),
             2);
  }

  void curateScoresAFolderResumesShardsAndExports() {
    QTemporaryDir dir;
    const QString clips = dir.path() + "/clips";
    QDir().mkpath(clips);
    QProcess ff;
    ff.start("ffmpeg", {"-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=320x240:rate=16", "-f", "lavfi", "-i", "sine=frequency=300",
                        "-t", "2", "-pix_fmt", "yuv420p", clips + "/bars.mp4"});
    QVERIFY(ff.waitForFinished(60000) && ff.exitCode() == 0);
    QFile bad(clips + "/broken.mp4");  // random bytes named .mp4: scored as "error", run goes on
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write(QByteArray(4096, '\x5a'));
    bad.close();
    const QString db = dir.path() + "/scores.db";
    auto [rc, out, err] = run({"curate", clips + "/bars.mp4", clips + "/broken.mp4", "--out", db});
    QVERIFY2(rc == 0, qPrintable(err));
    QVERIFY2(err.contains("error") && err.contains("broken.mp4"), qPrintable(err));
    // Resume: nothing left to score, the rows stay.
    auto [rc2, out2, err2] = run({"curate", clips + "/bars.mp4", "--out", db, "--json"});
    QCOMPARE(rc2, 0);
    QVERIFY(!out2.contains("\"scoring\"") || out2.contains("\"state\":\"done\""));
    const QString csv = dir.path() + "/scores.csv";
    auto [rc3, out3, err3] = run({"curate", "export", db, "--format", "csv", "--out", csv});
    QVERIFY2(rc3 == 0, qPrintable(err3));
    QFile f(csv);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
    QVERIFY(lines.size() >= 3);
    QVERIFY2(lines[0].startsWith("path,duration_s,width,height,fps,people_max"), qPrintable(lines[0]));
    QVERIFY(lines[0].contains("motion_method") && lines[0].contains("verdict"));
    bool bars_ok = false, broken_error = false;
    for (const QString& l : lines.mid(1)) {
      if (l.contains("bars.mp4") && l.contains(",320,240,")) bars_ok = true;
      if (l.contains("broken.mp4") && l.contains(",error,")) broken_error = true;
    }
    QVERIFY2(bars_ok && broken_error, qPrintable(lines.join("\n")));
    // Two shards of the same inputs merge into one database with every clip.
    const QString a = dir.path() + "/a.db", b = dir.path() + "/b.db", all = dir.path() + "/all.db";
    QCOMPARE(std::get<0>(run({"curate", clips, "--out", a, "--shard", "0/2", "--max_seconds", "1"})), 0);
    QCOMPARE(std::get<0>(run({"curate", clips, "--out", b, "--shard", "1/2", "--max_seconds", "1"})), 0);
    auto [rc4, out4, err4] = run({"curate", "merge", a, b, "--out", all});
    QVERIFY2(rc4 == 0 && err4.contains("merged 2 rows"), qPrintable(err4));
    QCOMPARE(std::get<0>(run({"curate", clips, "--shard", "2/2"})), 2);
    // A network's weights replace its fallback, and the report says so: the official-format tiny
    // DOVER that make_dover_parity.py wrote (tests/data/parity).
    const QString dover = QString(S2V_SOURCE_DIR) + "/tests/data/parity/dover_tiny.pth";
    const QString net = dir.path() + "/net.db", netcsv = dir.path() + "/net.csv";
    auto [rc5, out5, err5] = run({"curate", clips + "/bars.mp4", "--out", net, "--dover_weights", dover, "--jobs", "1"});
    QVERIFY2(rc5 == 0, qPrintable(err5));
    QCOMPARE(std::get<0>(run({"curate", "export", net, "--format", "csv", "--out", netcsv})), 0);
    QFile nf(netcsv);
    QVERIFY(nf.open(QIODevice::ReadOnly));
    const QString netText = QString::fromUtf8(nf.readAll());
    QVERIFY2(netText.contains("DOVER (technical+aesthetic fused, x100)"), qPrintable(netText));
    QVERIFY2(netText.contains("DIS optical flow"), qPrintable(netText));  // motion keeps its fallback
    // bad flags are refused before a job exists
    auto [rc6, out6, err6] = run({"curate", clips, "--unimatch_weights", dir.path() + "/missing.pth"});
    QVERIFY2(rc6 != 0 && err6.contains("does not exist") && err6.contains("missing.pth"), qPrintable(err6));
    auto [rc7, out7, err7] = run({"curate", clips, "--jobs", "0"});
    QVERIFY2(rc7 != 0 && err7.contains("--jobs"), qPrintable(err7));
  }

  void generateRendersWithTheDemoModelAndRejectsBadInputs() {
    QTemporaryDir dir;
    const QString img = dir.path() + "/portrait.png", wav = dir.path() + "/speech.wav",
                  out = dir.path() + "/video.mp4";
    QCOMPARE(QProcess::execute("ffmpeg", {"-v", "error", "-f", "lavfi", "-i", "testsrc=size=96x96", "-frames:v", "1",
                                          img}), 0);
    QCOMPARE(QProcess::execute("ffmpeg", {"-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=1.5",
                                          "-ar", "16000", wav}), 0);
    const QString model = QString(S2V_BINARY_DIR) + "/demo-model";
    const QStringList common = {"--ckpt_dir", model, "--image", img, "--audio", wav, "--size", "64*64",
                                "--sample_steps", "2", "--infer_frames", "16", "--base_seed", "3"};
    // the plan and the demo label before anything runs
    auto [rc0, o0, e0] = run(QStringList{"generate"} + common + QStringList{"--dry_run"});
    QCOMPARE(rc0, 0);
    QVERIFY2(e0.contains("Demo model (random weights: output is noise)") && e0.contains("2 clip(s)"), qPrintable(e0));
    // the render: 2 clips of 16 frames, the first trimmed by 3 -> 29 frames at 16 fps, with audio
    auto [rc, o, e] = run(QStringList{"generate"} + common + QStringList{"--out", out}, 300000);
    QVERIFY2(rc == 0, qPrintable(e));
    QVERIFY2(o.trimmed() == out, qPrintable(o));
    QProcess probe;
    probe.start("ffprobe", {"-v", "error", "-count_frames", "-show_entries",
                            "stream=codec_type,width,height,nb_read_frames,r_frame_rate", "-of", "csv=p=0", out});
    QVERIFY(probe.waitForFinished(60000));
    const QString info = QString::fromUtf8(probe.readAllStandardOutput());
    QVERIFY2(info.contains("video,64,64,16/1,29"), qPrintable(info));
    QVERIFY2(info.contains("audio"), qPrintable(info));
    // bad inputs fail before any heavy work, each with its own message and a usage/failure status
    auto [rc1, o1, e1] = run(QStringList{"generate"} + common + QStringList{"--dtype", "float16", "--device", "cpu"});
    QVERIFY(rc1 != 0);
    QVERIFY2(e1.contains("float16 is not supported on the CPU"), qPrintable(e1));
    auto bad = common;
    bad[3] = wav;  // a sound file as the portrait
    auto [rc2, o2, e2] = run(QStringList{"generate"} + bad);
    QVERIFY(rc2 != 0);
    QVERIFY2(e2.contains("is not a picture"), qPrintable(e2));
    auto [rc3, o3, e3] = run({"generate", "--ckpt_dir", dir.path(), "--image", img, "--audio", wav});
    QVERIFY(rc3 != 0);
    QVERIFY2(e3.contains("cannot be used") && e3.contains("config.json"), qPrintable(e3));
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
