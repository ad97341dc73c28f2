// Resume is exact: a generation killed with SIGKILL (while loading, in the middle of denoising,
// while muxing) and resumed with `s2v jobs resume` gives bit-identical decoded frames and the
// same saved state as an uninterrupted run; and the same job rendered several times at once,
// under a competing CPU load, gives the same frames every time. Real `s2v` processes on the demo
// model, CPU float32.
#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/media_files.h"
#include "core/generate/generate_job.h"
#include "core/generate/generate_params.h"
#include "core/media/audio.h"
#include "core/media/mux.h"
#include "core/media/video_reader.h"

namespace fs = std::filesystem;
using namespace s2v;

namespace {

// Busy threads that keep every core loaded while they live.
class CpuLoad {
 public:
  explicit CpuLoad(unsigned n) {
    for (unsigned i = 0; i < n; ++i)
      threads_.emplace_back([this, i] {
        volatile double x = 1.0 + i;
        while (!stop_) x = std::sqrt(x * x + 1.0) - 0.5;
      });
  }
  ~CpuLoad() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace

class TestResume : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  fs::path image_, audio_;
  std::vector<media::RgbFrame> ref_frames_;
  std::string ref_state_;

  fs::path dir() const { return tmp_.path().toStdString(); }

  QStringList generate_args(const fs::path& out) const {
    return {"generate", "--ckpt_dir", QString(S2V_BINARY_DIR) + "/demo-model", "--image", QString::fromStdString(image_.string()),
            "--audio", QString::fromStdString(audio_.string()), "--size", "64*64", "--infer_frames", "16",
            "--sample_steps", "6", "--num_clip", "3", "--base_seed", "7", "--device", "cpu",
            "--out", QString::fromStdString(out.string()), "--json"};
  }

  static QProcessEnvironment env_for(const fs::path& data, const QString& hold = {}) {
    auto e = QProcessEnvironment::systemEnvironment();
    e.insert("S2V_DATA_DIR", QString::fromStdString(data.string()));
    if (!hold.isEmpty()) e.insert("S2V_HOLD_AT_STAGE", hold);
    return e;
  }

  // Runs s2v to its end; returns the exit code (stderr printed on failure).
  static int run_cli(const QStringList& args, const fs::path& data, QString* err = nullptr) {
    QProcess p;
    p.setProcessEnvironment(env_for(data));
    p.start(S2V_CLI, args);
    if (!p.waitForFinished(600000)) {
      p.kill();
      p.waitForFinished();
      return -1;
    }
    const QString e = QString::fromUtf8(p.readAllStandardError());
    if (err) *err = e;
    if (p.exitCode() != 0) qWarning("s2v %s: %s", qPrintable(args.join(' ')), qPrintable(e));
    return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  }

  static std::string job_folder_state(const fs::path& data) {
    for (const auto& e : fs::directory_iterator(data / "jobs"))
      if (e.is_directory()) return test::file_bytes(generate::last_motion_state(e.path()));
    return {};
  }

  // Every decoded frame of `video` equals the uninterrupted run's, bit for bit.
  void expect_reference_frames(const fs::path& video, const char* what) {
    const auto f = test::all_frames(video);
    QCOMPARE(f.size(), ref_frames_.size());
    int differing = 0;
    size_t first = 0;
    for (size_t i = 0; i < f.size(); ++i)
      if (f[i].rgb != ref_frames_[i].rgb && differing++ == 0) first = i;
    qInfo("%s: %d of %zu decoded frames differ from the uninterrupted run", what, differing, f.size());
    QVERIFY2(differing == 0, qPrintable(QString("%1: frame %2 differs").arg(what).arg(first)));
  }

  // Starts a render, kills it with SIGKILL when `moment` accepts a JSON progress line, resumes
  // it with `s2v jobs resume`, and checks the result against the uninterrupted run.
  void kill_and_resume(const char* name, const QString& hold, const std::function<bool(const nlohmann::json&)>& moment) {
    const fs::path data = dir() / name, out = dir() / (std::string(name) + ".mp4");
    fs::create_directories(data);
    QProcess p;
    p.setProcessEnvironment(env_for(data, hold));
    p.start(S2V_CLI, generate_args(out));
    QVERIFY(p.waitForStarted());
    std::string id;
    QByteArray buffer;
    bool hit = false;
    QElapsedTimer t;
    t.start();
    while (!hit && t.elapsed() < 300000 && p.state() == QProcess::Running) {
      p.waitForReadyRead(100);
      buffer += p.readAllStandardOutput();
      int nl;
      while (!hit && (nl = buffer.indexOf('\n')) >= 0) {
        const auto line = buffer.left(nl).toStdString();
        buffer.remove(0, nl + 1);
        if (line.empty()) continue;
        const auto j = nlohmann::json::parse(line);
        id = j.value("job", id);
        hit = moment(j);
      }
    }
    QVERIFY2(hit, qPrintable(QString("%1: the moment to kill never came: %2").arg(name, QString::fromUtf8(p.readAllStandardError()))));
    p.kill();  // SIGKILL: no cleanup code runs
    p.waitForFinished();
    QVERIFY(!id.empty());
    QVERIFY2(!fs::exists(out), name);  // nothing under the final name yet
    // as if the kill had landed in the middle of writing the output
    std::ofstream(out.string() + ".part", std::ios::binary) << "half-written";
    QString err;
    QCOMPARE(run_cli({"jobs", "resume", QString::fromStdString(id)}, data, &err), 0);
    QVERIFY2(fs::exists(out), qPrintable(err));
    expect_reference_frames(out, name);
    QVERIFY2(job_folder_state(data) == ref_state_, (std::string(name) + ": the saved state differs").c_str());
  }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    image_ = dir() / "portrait.png";
    audio_ = dir() / "speech.wav";
    test::write_portrait(image_);
    test::write_speech_like(audio_, 2.6);
    QVERIFY(generate::clips_for_audio_seconds(2.6, 16) >= 3);
    // the uninterrupted reference
    const fs::path data = dir() / "reference", out = dir() / "reference.mp4";
    fs::create_directories(data);
    QCOMPARE(run_cli(generate_args(out), data), 0);
    ref_frames_ = test::all_frames(out);
    QCOMPARE(static_cast<int64_t>(ref_frames_.size()), generate::output_frames(3, 16, false));
    ref_state_ = job_folder_state(data);
    QVERIFY(!ref_state_.empty());
  }

  // The same job rendered three times at once (each render loads the machine for the others)
  // while busy threads load every core: every decoded frame and the saved state are identical.
  void rendersUnderLoadAreIdentical() {
    CpuLoad load(std::max(1u, std::thread::hardware_concurrency()));
    constexpr int kRuns = 3;
    std::vector<std::unique_ptr<QProcess>> procs;
    for (int k = 0; k < kRuns; ++k) {
      const fs::path data = dir() / ("load" + std::to_string(k));
      fs::create_directories(data);
      auto p = std::make_unique<QProcess>();
      p->setProcessEnvironment(env_for(data));
      p->start(S2V_CLI, generate_args(dir() / ("load" + std::to_string(k) + ".mp4")));
      QVERIFY(p->waitForStarted());
      procs.push_back(std::move(p));
    }
    for (int k = 0; k < kRuns; ++k) {
      auto& p = *procs[static_cast<size_t>(k)];
      QVERIFY(p.waitForFinished(600000));
      QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    }
    for (int k = 0; k < kRuns; ++k) {
      const std::string name = "render " + std::to_string(k) + " under load";
      expect_reference_frames(dir() / ("load" + std::to_string(k) + ".mp4"), name.c_str());
      QVERIFY2(job_folder_state(dir() / ("load" + std::to_string(k))) == ref_state_, name.c_str());
    }
  }

  void killedWhileLoadingResumesExactly() {
    // the encoders are loading: the job has reported its first stage after the checks
    kill_and_resume("kill-loading", "encoding audio",
                    [](const nlohmann::json& j) { return j.value("stage", "") == "encoding audio"; });
  }

  void killedMidDenoiseResumesExactly() {
    // the second clip is written, the third is being denoised
    kill_and_resume("kill-denoise", {}, [](const nlohmann::json& j) {
      return j.value("stage", "") == "denoising" && j.value("clip", 0) == 3 && j.value("step", 0) == 2;
    });
  }

  void killedWhileMuxingResumesExactly() {
    // every clip is written and the job is joining them with the audio
    kill_and_resume("kill-mux", "muxing", [](const nlohmann::json& j) { return j.value("stage", "") == "muxing"; });
  }
};

QTEST_GUILESS_MAIN(TestResume)
#include "test_resume.moc"
