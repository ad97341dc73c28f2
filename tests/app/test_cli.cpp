// The s2v command line as a user runs it: a real child process, killed with SIGKILL mid-job,
// then restarted; the journal lists the job as interrupted and `s2v jobs resume` completes it.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

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

  void unavailableCommandsFailLoudly() {
    for (const char* cmd : {"generate", "curate"}) {
      auto [rc, out, err] = run({cmd});
      QVERIFY2(rc != 0, cmd);
      QVERIFY2(err.contains("not available yet"), qPrintable(err));
    }
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
