// The s2v command line as a user runs it: a real child process, killed with SIGKILL mid-job,
// then restarted; the journal lists the job as interrupted and `s2v jobs resume` completes it.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/require_data.h"
#include "core/media/probe.h"

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

class TestCli : public QObject {
  Q_OBJECT

  QTemporaryDir data_;
  QTemporaryDir work_;  // inputs shared by the hostile-input tests (issue #19)
  QString portrait_, speech_, bars_, scores_;

  fs::path work() const { return work_.path().toStdString(); }

  // What one s2v run left: exit status (128 + signal when killed), output, peak memory.
  struct Spawned {
    int rc = -1;
    std::string out, err;
    long max_rss_kb = 0;
    bool timed_out = false;
  };

  // Runs s2v with byte-string arguments (a file name need not be UTF-8, which QProcess cannot
  // pass), optionally with a file size limit (RLIMIT_FSIZE, SIGXFSZ ignored: how a full disk is
  // simulated here), and measures the child's own peak resident memory (wait4).
  Spawned spawn(const std::vector<std::string>& args, rlim_t file_limit = RLIM_INFINITY, int timeout_ms = 120000) {
    std::vector<std::string> env_strings = {"S2V_DATA_DIR=" + data_.path().toStdString()};
    for (char** e = environ; *e; ++e)
      if (!std::string(*e).starts_with("S2V_DATA_DIR=")) env_strings.push_back(*e);
    std::vector<char*> envp, argv = {const_cast<char*>(S2V_CLI)};
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> arg_copy = args;
    for (auto& a : arg_copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    // pipes, not files: the file size limit must not apply to the output we read back
    int out_pipe[2], err_pipe[2];
    if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) return {};
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(out_pipe[1], 1);
      ::dup2(err_pipe[1], 2);
      for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
      if (file_limit != RLIM_INFINITY) {
        ::signal(SIGXFSZ, SIG_IGN);
        rlimit rl{file_limit, file_limit};
        ::setrlimit(RLIMIT_FSIZE, &rl);
      }
      ::execve(S2V_CLI, argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    Spawned r;
    QElapsedTimer t;
    t.start();
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&r.out, &r.err};
    int open_fds = 2;
    while (open_fds > 0) {
      if (t.elapsed() > timeout_ms) {
        r.timed_out = true;
        ::kill(pid, SIGKILL);
        break;
      }
      if (::poll(fds, 2, 100) <= 0) continue;
      for (int k = 0; k < 2; ++k) {
        if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP))) continue;
        char buf[4096];
        const ssize_t n = ::read(fds[k].fd, buf, sizeof buf);
        if (n > 0) {
          sinks[k]->append(buf, size_t(n));
        } else {
          ::close(fds[k].fd);
          fds[k].fd = -1;
          --open_fds;
        }
      }
    }
    for (auto& f : fds)
      if (f.fd >= 0) ::close(f.fd);
    int status = 0;
    rusage ru{};
    ::wait4(pid, &status, 0, &ru);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.max_rss_kb = ru.ru_maxrss;
    return r;
  }

  QStringList demo(const QStringList& more) const {
    return QStringList{"generate", "--ckpt_dir", QString(S2V_BINARY_DIR) + "/demo-model", "--image", portrait_,
                       "--audio", speech_, "--size", "64*64", "--sample_steps", "1", "--infer_frames", "16",
                       "--base_seed", "3"} +
           more;
  }

  int job_folders() const { return int(QDir(data_.path() + "/jobs").entryList(QDir::Dirs | QDir::NoDotAndDotDot).size()); }

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
  void initTestCase() {
    QVERIFY(data_.isValid() && work_.isValid());
    portrait_ = work_.path() + "/portrait.png";
    speech_ = work_.path() + "/speech.wav";
    bars_ = work_.path() + "/bars.mp4";
    scores_ = work_.path() + "/scores.db";
    QCOMPARE(QProcess::execute("ffmpeg", {"-v", "error", "-f", "lavfi", "-i", "testsrc=size=96x96", "-frames:v", "1",
                                          portrait_}), 0);
    QCOMPARE(QProcess::execute("ffmpeg", {"-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=1.5",
                                          "-ar", "16000", speech_}), 0);
    QCOMPARE(QProcess::execute("ffmpeg", {"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=16", "-t",
                                          "1", "-pix_fmt", "yuv420p", bars_}), 0);
    auto [rc, out, err] = run({"curate", bars_, "--out", scores_, "--jobs", "1"});
    QVERIFY2(rc == 0, qPrintable(err));
  }

  void cleanupTestCase() {
    // QDir cannot remove a file whose name is not UTF-8; std::filesystem handles any bytes
    std::error_code ec;
    fs::remove_all(work(), ec);
  }

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
    S2V_REQUIRE_FILE(file.toStdString(), file.toStdString() + " (../shared/testdata/parity beside the repository)");
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
    S2V_REQUIRE_FILE((dir + "tiny_quants.gguf").toStdString(), (dir + "tiny_quants.gguf (../shared/testdata/gguf)").toStdString());
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
    QVERIFY2(rc4 == 0 && err4.contains("merged 2 rows") && err4.contains("it holds 2 clips"), qPrintable(err4));
    // issue #19 group 4: the count said is the count present (a clip in both counts once)
    auto [rc4b, out4b, err4b] = run({"curate", "merge", a, b, all, "--out", dir.path() + "/again.db"});
    QVERIFY2(rc4b == 0 && err4b.contains("merged 4 rows") && err4b.contains("it holds 2 clips"), qPrintable(err4b));
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

  // ---- issue #19: hostile and careless input; each test reproduces one group ----

  // Group 1: `convert good.pth /dev/full` replaced the device with a file, `convert a.pth a.pth`
  // destroyed the input, `curate export v.db --out v.db` (or a DB named x.csv) truncated it.
  void outputsNeverReplaceDevicesOrTheirInput() {
    const fs::path pth = work() / "a.pth";
    fs::copy_file(fs::path(S2V_SOURCE_DIR) / "tests/data/parity/dover_tiny.pth", pth, fs::copy_options::overwrite_existing);
    const std::string before = read_all(pth);
    auto r = spawn({"convert", pth.string(), pth.string()});
    QVERIFY2(r.rc != 0 && r.err.find("is the input") != std::string::npos, r.err.c_str());
    QCOMPARE(read_all(pth), before);
    const std::string db_before = read_all(scores_.toStdString());
    r = spawn({"curate", "export", scores_.toStdString(), "--out", scores_.toStdString()});
    QVERIFY2(r.rc != 0 && r.err.find("is the input") != std::string::npos, r.err.c_str());
    const fs::path as_csv = work() / "named.csv";  // a database whose default export name is itself
    fs::copy_file(scores_.toStdString(), as_csv, fs::copy_options::overwrite_existing);
    r = spawn({"curate", "export", as_csv.string()});
    QVERIFY2(r.rc != 0 && r.err.find("is the input") != std::string::npos, r.err.c_str());
    QCOMPARE(read_all(as_csv), db_before);
    r = spawn({"curate", "merge", scores_.toStdString(), "--out", scores_.toStdString()});
    QVERIFY2(r.rc != 0 && r.err.find("is the input") != std::string::npos, r.err.c_str());
    QCOMPARE(read_all(scores_.toStdString()), db_before);
    // a device node of our own (/dev/full's numbers), so a regression cannot hurt /dev
    const fs::path dev = work() / "full-device";
    if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 7)) != 0) QSKIP("mknod needs root");
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"convert", pth.string(), dev.string()},
             {"curate", "export", scores_.toStdString(), "--out", dev.string()},
             {"test-pattern", "--segments", "1", "--frames", "2", "--width", "32", "--height", "32", "--out", dev.string()}}) {
      r = spawn(args);
      QVERIFY2(r.rc != 0 && r.err.find("character device") != std::string::npos, (args[0] + ": " + r.err).c_str());
      struct stat st {};
      QVERIFY(::stat(dev.c_str(), &st) == 0 && S_ISCHR(st.st_mode));
    }
  }

  // Group 4: on a full disk (a file size limit of 1 kB here) the export left a cut JSONL or a
  // 0-byte CSV under the final name and said "cannot write JSONL" with no reason.
  void fullDiskExportLeavesNothingAndSaysWhy() {
    for (const char* format : {"jsonl", "csv"}) {
      const fs::path out = work() / (std::string("full.") + format);
      const auto r = spawn({"curate", "export", scores_.toStdString(), "--format", format, "--out", out.string()}, 1024);
      QVERIFY2(r.rc == 1 && r.err.find("File too large") != std::string::npos, r.err.c_str());
      QVERIFY(!fs::exists(out));
      QVERIFY(!fs::exists(out.string() + ".part"));
    }
  }

  // Group 3: a copied job folder crashed `jobs resume COPY` (std::bad_alloc) and rewrote the
  // original's job.json; `jobs cancel ../../x` resolved outside jobs/.
  void copiedJobFoldersAndBadIdsAreRefused() {
    auto [rc, out, err] = run({"test-pattern", "--segments", "1", "--frames", "2", "--width", "32", "--height", "32",
                               "--json"});
    QCOMPARE(rc, 0);
    std::string id;
    for (const QString& line : out.split('\n', Qt::SkipEmptyParts))
      id = nlohmann::json::parse(line.toStdString()).at("job").get<std::string>();
    const fs::path jobs = data_.path().toStdString() + "/jobs";
    fs::copy(jobs / id, jobs / "COPY", fs::copy_options::recursive);
    // as if copied mid-run: the copy says "running"
    auto j = nlohmann::json::parse(read_all(jobs / "COPY" / "job.json"));
    j["state"] = "running";
    std::ofstream(jobs / "COPY" / "job.json") << j.dump(2);
    const std::string original = read_all(jobs / id / "job.json");
    auto r = spawn({"jobs", "resume", "COPY"});
    QVERIFY2(r.rc == 1 && r.err.find("copied or renamed") != std::string::npos, r.err.c_str());
    r = spawn({"jobs", "list"});
    QVERIFY2(r.rc == 0 && r.out.find("COPY") != std::string::npos && r.out.find("names job") != std::string::npos,
             r.out.c_str());
    r = spawn({"jobs", "list"});
    QCOMPARE(read_all(jobs / id / "job.json"), original);
    r = spawn({"jobs", "cancel", "../../x"});
    QVERIFY2(r.rc == 2 && r.err.find("not a job ID") != std::string::npos, r.err.c_str());
    QVERIFY(!fs::exists(fs::path(data_.path().toStdString()).parent_path() / "x"));
  }

  // Group 5: a FIFO as an input blocked in open() for ever (curate ignored SIGTERM meanwhile).
  // Each run here has 30 s; a hang is a failure.
  void fifoInputsAreRefusedAtOnce() {
    const fs::path fifo = work() / "pipe.fifo";
    QVERIFY(::mkfifo(fifo.c_str(), 0666) == 0);
    const std::string model = std::string(S2V_BINARY_DIR) + "/demo-model";
    const std::string img = portrait_.toStdString(), wav = speech_.toStdString();
    const std::vector<std::string> common = {"generate", "--ckpt_dir", model, "--size", "64*64", "--dry_run"};
    auto with = [&](std::vector<std::string> more) {
      auto a = common;
      a.insert(a.end(), more.begin(), more.end());
      return a;
    };
    for (const auto& args : std::vector<std::vector<std::string>>{
             with({"--image", fifo.string(), "--audio", wav}),
             with({"--image", img, "--audio", fifo.string()}),
             with({"--image", img, "--audio", wav, "--pose_video", fifo.string()}),
             {"inspect", fifo.string()},
             {"convert", fifo.string(), (work() / "x.safetensors").string()},
             {"curate", fifo.string(), "--out", (work() / "fifo.db").string()}}) {
      const auto r = spawn(args, RLIM_INFINITY, 30000);
      QVERIFY2(!r.timed_out, ("hangs: " + args[0]).c_str());
      QVERIFY2(r.rc != 0 && r.err.find("FIFO") != std::string::npos, (args[0] + ": " + r.err).c_str());
    }
    // inside a folder a FIFO is skipped, the clips beside it are scored
    const fs::path folder = work() / "with-fifo";
    fs::create_directories(folder);
    QVERIFY(::mkfifo((folder / "pipe.mp4").c_str(), 0666) == 0);
    fs::copy_file(bars_.toStdString(), folder / "bars.mp4");
    const auto r = spawn({"curate", folder.string(), "--out", (work() / "fifo-folder.db").string(), "--jobs", "1"},
                         RLIM_INFINITY, 60000);
    QVERIFY2(!r.timed_out && r.rc == 0, r.err.c_str());
  }

  // Group 5: a config.json with num_layers 1000000000 grew to 6.8 GB with no output.
  void absurdModelConfigIsRefusedAtOnce() {
    const fs::path model = work() / "huge-config-model";
    fs::copy(fs::path(S2V_BINARY_DIR) / "demo-model", model, fs::copy_options::recursive);
    auto cfg = nlohmann::json::parse(read_all(model / "config.json"));
    cfg["num_layers"] = 1000000000;
    std::ofstream(model / "config.json") << cfg.dump(2);
    const auto r = spawn({"generate", "--ckpt_dir", model.string(), "--image", portrait_.toStdString(), "--audio",
                          speech_.toStdString(), "--dry_run"},
                         RLIM_INFINITY, 60000);
    QVERIFY2(!r.timed_out, "hangs");
    QVERIFY2(r.rc != 0 && r.err.find("num_layers") != std::string::npos, r.err.c_str());
    qInfo("peak memory %ld kB", r.max_rss_kb);
  }

  // Group 6: 2 h of silence + 1 s of speech with --num_clip 1: the dry run estimated 16.7 MB, the
  // run peaked at 6.2 GB (wav2vec2 encoded the whole file). 150 s here: encoding it whole needs
  // ~1 GB for one attention layer's scores of the demo wav2vec2 (4 heads x 7500^2 x 4 bytes),
  // encoding the one clip's 2 s a few kB; the rest of the run is the same for both files.
  void longAudioWithOneClipStaysSmall() {
    const QString long_wav = work_.path() + "/long.wav";
    QCOMPARE(QProcess::execute("ffmpeg", {"-v", "error", "-f", "lavfi", "-i",
                                          "aevalsrc=if(gt(t\\,149)\\,0.5*sin(2*PI*220*t)\\,0):s=16000:d=150", long_wav}),
             0);
    auto args = [&](const QString& audio, const char* out) {
      std::vector<std::string> a;
      for (const QString& x : demo({"--num_clip", "1", "--out", work_.path() + "/" + out})) a.push_back(x.toStdString());
      a[6] = audio.toStdString();  // --audio
      return a;
    };
    auto dry = args(long_wav, "dry.mp4");
    dry.push_back("--dry_run");
    const auto plan = spawn(dry);
    QVERIFY2(plan.rc == 0 && plan.err.find("wav2vec2 over 2 s") != std::string::npos, plan.err.c_str());
    const auto shortRun = spawn(args(speech_, "short.mp4"));
    QVERIFY2(shortRun.rc == 0, shortRun.err.c_str());
    const auto longRun = spawn(args(long_wav, "long.mp4"));
    QVERIFY2(longRun.rc == 0, longRun.err.c_str());
    qInfo("peak memory: 1.5 s audio %ld kB, 150 s audio %ld kB", shortRun.max_rss_kb, longRun.max_rss_kb);
    // the long file costs its decoded samples (150 s x 16 kHz x 4 bytes, ~10 MB, a few copies)
    QVERIFY2(longRun.max_rss_kb < shortRun.max_rss_kb + 200 * 1024, std::to_string(longRun.max_rss_kb).c_str());
  }

  // Group 7: a truncated MP4 was scored "pass" from the part that decodes.
  void truncatedClipIsFlagged() {
    const QString whole = work_.path() + "/whole.mp4";
    QCOMPARE(QProcess::execute("ffmpeg", {"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=16", "-t",
                                          "5", "-pix_fmt", "yuv420p", "-movflags", "+faststart", whole}),
             0);
    const fs::path cut = work() / "cut.mp4";
    const std::string bytes = read_all(whole.toStdString());
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() * 55 / 100);
    const fs::path db = work() / "cut.db", jsonl = work() / "cut.jsonl";
    auto r = spawn({"curate", cut.string(), "--out", db.string(), "--jobs", "1"});
    QVERIFY2(r.rc == 0, r.err.c_str());
    r = spawn({"curate", "export", db.string(), "--format", "jsonl", "--out", jsonl.string()});
    QCOMPARE(r.rc, 0);
    const auto row = nlohmann::json::parse(read_all(jsonl));
    QCOMPARE(row.at("verdict").get<std::string>(), std::string("error"));
    QVERIFY2(row.at("error").get<std::string>().find("truncated") != std::string::npos, row.dump().c_str());
  }

  // Group 7: `--sample_fps 0|nan`, `--shard 0x1/2` and friends, `--audio_start nan`,
  // `--sample_guide_scale inf` were accepted.
  void numbersMustBeFiniteAndExact() {
    const std::string clip = bars_.toStdString(), db = (work() / "never.db").string();
    for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
             {"--sample_fps", "0"}, {"--sample_fps", "nan"}, {"--sample_fps", "-1"}, {"--max_seconds", "inf"},
             {"--shard", "0x1/2"}, {"--shard", "1.5/3"}, {"--shard", "1/2x"}, {"--shard", "-1/2"}, {"--shard", "2/2"}}) {
      const auto r = spawn({"curate", clip, "--out", db, flag, value});
      QVERIFY2(r.rc == 2 && r.err.find(flag) != std::string::npos, (flag + " " + value + ": " + r.err).c_str());
    }
    QVERIFY(!fs::exists(db));
    for (const auto& [flag, value] : std::vector<std::pair<QString, QString>>{
             {"--audio_start", "nan"}, {"--sample_guide_scale", "inf"}, {"--sample_shift", "nan"}, {"--audio_end", "inf"}}) {
      auto [rc, out, err] = run(demo({flag, value, "--dry_run"}));
      QVERIFY2(rc == 2 && err.contains("finite"), qPrintable(flag + ": " + err));
    }
  }

  // Group 9: a bad --out failed only after the whole render; --dry_run passed a WAV as the pose
  // video and --infer_frames 100000; --resume ID --out new.mp4 ignored the new --out.
  void lateChecksHappenBeforeTheRender() {
    fs::create_directories(work() / "a-folder.mp4");
    const std::vector<std::pair<QStringList, QString>> cases = {
        {{"--out", work_.path() + "/a-folder.mp4"}, "a folder"},
        {{"--out", portrait_ + "/under-a-file.mp4"}, "is a file, not a folder"},
        {{"--out", work_.path() + "/sound.wav"}, ".mp4, .mov or .mkv"},
        {{"--pose_video", speech_, "--dry_run"}, "no video stream"},
        {{"--infer_frames", "100000", "--dry_run"}, "at most 4096"}};
    for (const auto& [more, needle] : cases) {
      QElapsedTimer t;
      t.start();
      auto [rc, out, err] = run(demo(more));
      QVERIFY2(rc != 0 && err.contains(needle), qPrintable(more.join(' ') + ": " + err));
      QVERIFY2(!err.contains("denoising"), qPrintable(err));  // nothing rendered
    }
    // an interrupted two-clip job, killed during its first clip
    const int before = job_folders();
    QProcess p;
    p.setProcessEnvironment(env());
    p.start(S2V_CLI, demo({"--sample_steps", "4", "--out", work_.path() + "/first.mp4", "--json"}));
    QVERIFY(p.waitForStarted());
    QByteArray buffer;
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < 60000 && !buffer.contains("\"denoising\"")) {
      p.waitForReadyRead(100);
      buffer += p.readAllStandardOutput();
    }
    p.kill();
    p.waitForFinished();
    QCOMPARE(job_folders(), before + 1);
    std::string id;
    for (const QByteArray& line : buffer.split('\n'))
      if (!line.isEmpty()) id = nlohmann::json::parse(line.toStdString()).at("job").get<std::string>();
    const QString qid = QString::fromStdString(id);
    auto [rc1, o1, e1] = run({"generate", "--resume", qid, "--sample_steps", "2"});
    QVERIFY2(rc1 == 2 && e1.contains("cannot change"), qPrintable(e1));
    auto [rc2, o2, e2] = run({"generate", "--resume", qid, "--out", work_.path() + "/a-folder.mp4"});
    QVERIFY2(rc2 != 0 && e2.contains("a folder"), qPrintable(e2));
    const QString moved = work_.path() + "/moved.mp4";
    auto [rc3, o3, e3] = run({"generate", "--resume", qid, "--out", moved});
    QVERIFY2(rc3 == 0, qPrintable(e3));
    QCOMPARE(o3.trimmed(), moved);
    QVERIFY(QFile::exists(moved));
    QVERIFY(!QFile::exists(work_.path() + "/first.mp4"));
  }

  // Group 10: a file name that is not UTF-8 threw json type_error.316 and left an empty job
  // folder behind.
  void nonUtf8NamesAreRefusedWithoutAnOrphanFolder() {
    const fs::path odd = work() / "portr\xe4it.png";  // Latin-1, as an old archive may hold
    fs::copy_file(portrait_.toStdString(), odd, fs::copy_options::overwrite_existing);
    const int before = job_folders();
    std::vector<std::string> args;
    for (const QString& a : demo({})) args.push_back(a.toStdString());
    args[4] = odd.string();  // --image
    const auto r = spawn(args);
    QVERIFY2(r.rc == 2 && r.err.find("not valid UTF-8") != std::string::npos, r.err.c_str());
    QCOMPARE(job_folders(), before);
  }

  // Group 11: messages that named the wrong problem, and a listing that failed or hid jobs.
  void messagesNameTheRealProblem() {
    // a float WAV with a NaN sample was "silent"
    const QString nan_wav = work_.path() + "/nan.wav";
    QCOMPARE(QProcess::execute("ffmpeg", {"-v", "error", "-f", "lavfi", "-i",
                                          "aevalsrc=if(between(t\\,0.5\\,0.6)\\,0/0\\,0.3*sin(2*PI*220*t)):s=16000:d=1",
                                          "-c:a", "pcm_f32le", nan_wav}),
             0);
    QStringList args = demo({"--dry_run"});
    args[6] = nan_wav;
    auto [rc, out, err] = run(args);
    QVERIFY2(rc != 0 && err.contains("not numbers") && !err.contains("silent"), qPrintable(err));
    // inspect of a folder without checkpoints exited 0
    fs::create_directories(work() / "empty-folder");
    auto [rc2, out2, err2] = run({"inspect", work_.path() + "/empty-folder"});
    QVERIFY2(rc2 != 0 && err2.contains("no checkpoint file"), qPrintable(err2));
    // a corrupt job.json made its job vanish from the list
    const fs::path broken = fs::path(data_.path().toStdString()) / "jobs" / "20200101-000000-beef";
    fs::create_directories(broken);
    std::ofstream(broken / "job.json") << "{\"id\": \"20200101-000000-be";
    auto [rc3, out3, err3] = run({"jobs", "list"});
    QVERIFY2(rc3 == 0 && out3.contains("20200101-000000-beef") && out3.contains("cannot be read"), qPrintable(out3));
    // and `jobs list` failed entirely on a full disk (rewriting a stale "running" record)
    const fs::path stale = fs::path(data_.path().toStdString()) / "jobs" / "20200101-000001-cafe";
    fs::create_directories(stale);
    std::ofstream(stale / "job.json") << nlohmann::json{{"id", "20200101-000001-cafe"}, {"kind", "test-pattern"},
                                                        {"state", "running"}}.dump();
    const auto r = spawn({"jobs", "list"}, 0);
    QVERIFY2(r.rc == 0 && QString::fromStdString(r.out).contains(QRegularExpression("20200101-000001-cafe\\s+interrupted")),
             r.out.c_str());
    fs::remove_all(broken);
    fs::remove_all(stale);
  }

  // Group 12: `curate DIR` ignored subfolders without saying so.
  void curateSaysWhichSubfoldersItDoesNotSearch() {
    const fs::path folder = work() / "nested";
    fs::create_directories(folder / "more-clips");
    fs::copy_file(bars_.toStdString(), folder / "more-clips" / "bars.mp4", fs::copy_options::overwrite_existing);
    const auto r = spawn({"curate", folder.string(), "--out", (work() / "nested.db").string()});
    QVERIFY2(r.err.find("1 subfolder(s)") != std::string::npos && r.err.find("not searched") != std::string::npos,
             r.err.c_str());
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
