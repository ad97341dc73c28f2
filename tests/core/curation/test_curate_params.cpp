// CurateParams: what `s2v curate` and the Curate workspace write is what the job reads, bad values
// are refused with a sentence naming them, and params journaled before the type still read.

#include <QtTest>

#include "core/curation/curate_params.h"
#include "core/curation/network_models.h"
#include "models/base/error.h"

using namespace s2v;
using namespace s2v::curation;

class TestCurateParams : public QObject {
  Q_OBJECT

  static CurateParams full() {
    CurateParams p;
    p.inputs = {"/clips/a.mp4", "/clips/folder"};
    p.db = "/out/scores.db";
    p.preset = nlohmann::json::parse(R"({"name": "mine", "thresholds": []})");
    p.shard_index = 1;
    p.shard_count = 3;
    p.sample_fps = 8;
    p.max_seconds = 12.5;
    p.jobs = 4;
    p.weights = {{curation_networks().front().param, "/w/first.pth"}, {curation_networks().back().param, "/w/last.pth"}};
    return p;
  }

 private slots:
  void roundTrips() {
    const CurateParams p = full();
    const CurateParams q = CurateParams::from_json(p.to_json());
    QCOMPARE(q.inputs, p.inputs);
    QCOMPARE(q.db, p.db);
    QCOMPARE(q.preset, p.preset);
    QCOMPARE(q.shard_index, 1);
    QCOMPARE(q.shard_count, 3);
    QCOMPARE(q.sample_fps, 8.0);
    QCOMPARE(q.max_seconds, 12.5);
    QCOMPARE(q.jobs.value_or(-1), 4);
    QVERIFY(q.weights == p.weights);
    // network weights stay top-level keys (jobs journaled before the type resume)
    QCOMPARE(p.to_json().at(curation_networks().front().param).get<std::string>(), std::string("/w/first.pth"));
  }

  void earlierJobsStillRead() {
    // as the GUI and the CLI wrote them before CurateParams: no shard, a preset name, "" weights
    const auto j = nlohmann::json::parse(R"({"inputs": ["/c.mp4"], "db": "/s.db", "preset": "lenient",
                                            "max_seconds": 5, "jobs": 2, "pose_weights": ""})");
    const CurateParams p = CurateParams::from_json(j);
    QCOMPARE(p.shard_count, 1);
    QCOMPARE(p.sample_fps, 4.0);
    QCOMPARE(p.preset.get<std::string>(), std::string("lenient"));
    QVERIFY(p.weights.empty());
  }

  void badValuesAreRefusedByName_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("named");
    const QString base = R"("inputs": ["/c.mp4"], "db": "/s.db")";
    QTest::newRow("no inputs") << R"({"inputs": [], "db": "/s.db"})" << "at least one clip";
    QTest::newRow("no db") << R"({"inputs": ["/c.mp4"]})" << "database";
    QTest::newRow("fps 0") << "{" + base + R"(, "sample_fps": 0})" << "sample_fps";
    QTest::newRow("fps 500") << "{" + base + R"(, "sample_fps": 500})" << "sample_fps";
    QTest::newRow("negative seconds") << "{" + base + R"(, "max_seconds": -1})" << "max_seconds";
    QTest::newRow("shard 3/3") << "{" + base + R"(, "shard": [3, 3]})" << "shard";
    QTest::newRow("jobs 0") << "{" + base + R"(, "jobs": 0})" << "jobs";
    QTest::newRow("jobs 65") << "{" + base + R"(, "jobs": 65})" << "jobs";
    QTest::newRow("misspelt network") << "{" + base + R"(, "pose_weight": "/w.pth"})" << "pose_weight";
    QTest::newRow("wrong type") << "{" + base + R"(, "sample_fps": "fast"})" << "wrong type";
    QTest::newRow("preset number") << "{" + base + R"(, "preset": 3})" << "preset";
  }
  void badValuesAreRefusedByName() {
    QFETCH(QString, json);
    QFETCH(QString, named);
    try {
      CurateParams::from_json(nlohmann::json::parse(json.toStdString()));
      QFAIL(qPrintable("accepted: " + json));
    } catch (const Error& e) {
      QCOMPARE(e.kind(), ErrorKind::InvalidArgument);
      QVERIFY2(QString::fromUtf8(e.what()).contains(named), e.what());
    }
  }
};

QTEST_APPLESS_MAIN(TestCurateParams)
#include "test_curate_params.moc"
