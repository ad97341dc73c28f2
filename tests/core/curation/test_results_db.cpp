// The SQLite results store: round trip of every column, resume lookup, CSV/JSONL export, merge.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/curation/preset.h"
#include "core/curation/results_db.h"
#include "models/base/error.h"

using namespace s2v::curation;

namespace {

ClipScores sample_row(const std::string& path, double motion) {
  ClipScores s;
  s.path = path;
  s.duration_s = 11.26;
  s.width = 720;
  s.height = 528;
  s.fps = 23.976;
  s.set("people_max", Metric::of(1, "HOG + cascades"));
  s.set("single_person_ratio", Metric::of(0.75, "HOG + cascades"));
  s.set("talking_face_run_s", Metric::of(2.5, "HOG + cascades"));
  s.set("face_sharpness", Metric::of(185.25, "laplacian"));
  s.set("hand_sharpness", Metric::na("laplacian 64", "no hand boxes"));
  s.set("motion", Metric::of(motion, "DIS, with \"quotes\", and commas"));
  s.set("clarity", Metric::of(44.5, "100 - BRISQUE"));
  s.set("aesthetics", Metric::na("CLIP", "no weights"));
  s.set("text_area_ratio", Metric::of(0.0, "tesseract"));
  s.set("subtitle_over_face_or_hands", Metric::of(0.0, "tesseract"));
  s.set("av_sync_confidence", Metric::of(0.25, "mouth energy"));
  s.set("av_offset_s", Metric::of(-0.5, "mouth energy"));
  s.series_t = {0.0, 0.25, 0.5};
  s.series["motion"] = {std::nan(""), 11.0, 13.5};
  FrameOverlay o;
  o.t = 0.25;
  o.faces = {cv::Rect(10, 20, 30, 40)};
  s.overlays = {o};
  apply_preset(Preset::builtin("talking-head"), s);
  return s;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

class TestResultsDb : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  std::string at(const char* name) { return tmp_.filePath(name).toStdString(); }

 private slots:
  void roundTripKeepsEveryColumn() {
    const auto row = sample_row("clips/a.mp4", 12.5);
    {
      ResultsDb db(at("round.sqlite"));
      db.upsert(row);
    }
    ResultsDb db(at("round.sqlite"));  // reopened from disk
    QCOMPARE(db.count(), 1);
    auto back = db.get("clips/a.mp4");
    QVERIFY(back.has_value());
    QCOMPARE(back->width, 720);
    QCOMPARE(back->height, 528);
    QCOMPARE(back->fps, 23.976);
    QCOMPARE(back->verdict, row.verdict);
    QCOMPARE(back->failed_metrics, row.failed_metrics);
    for (const auto& n : metric_names()) {
      const Metric a = row.metric(n), b = back->metric(n);
      QCOMPARE(b.available(), a.available());
      if (a.available()) QCOMPARE(*b.value, *a.value);
      else QCOMPARE(b.na_reason, a.na_reason);
      QCOMPARE(b.method, a.method);
    }
    QCOMPARE(back->series.at("motion").size(), size_t(3));
    QVERIFY(std::isnan(back->series.at("motion")[0]));
    QCOMPARE(back->series.at("motion")[2], 13.5);
    QCOMPARE(back->overlays.size(), size_t(1));
    QCOMPARE(back->overlays[0].faces[0], cv::Rect(10, 20, 30, 40));
  }

  void upsertReplacesAndResumeSkipsOnlyScoredClips() {
    ResultsDb db(at("resume.sqlite"));
    db.upsert(sample_row("a.mp4", 1.0));
    db.upsert(sample_row("a.mp4", 2.0));
    ClipScores broken;
    broken.path = "b.mp4";
    broken.error = "cannot decode 'b.mp4': the file is truncated";
    apply_preset(Preset::builtin("talking-head"), broken);
    db.upsert(broken);
    QCOMPARE(db.count(), 2);
    QCOMPARE(*db.get("a.mp4")->metric("motion").value, 2.0);
    QVERIFY(db.has("a.mp4"));
    QVERIFY(db.has_scored("a.mp4"));
    QVERIFY(db.has("b.mp4"));
    QVERIFY(!db.has_scored("b.mp4"));  // errors are retried on resume
    QVERIFY(!db.has("c.mp4"));
    QCOMPARE(db.get("b.mp4")->verdict, std::string("error"));
  }

  void csvHasStableColumnsAndQuotes() {
    ResultsDb db(at("csv.sqlite"));
    db.upsert(sample_row("x, \"odd\".mp4", 3.25));
    db.export_csv(at("out.csv"));
    const auto lines = lines_of(at("out.csv"));
    QCOMPARE(lines.size(), size_t(2));
    std::string header;
    for (const auto& c : column_names()) header += (header.empty() ? "" : ",") + c;
    QCOMPARE(lines[0], header);
    QVERIFY(lines[0].starts_with("path,duration_s,width,height,fps,people_max,"));
    QVERIFY(lines[0].find(",verdict,failed_metrics,people_max_method,") != std::string::npos);
    QVERIFY(lines[1].starts_with("\"x, \"\"odd\"\".mp4\",11.26,720,528,23.976,1,0.75,"));
    QVERIFY(lines[1].find(",3.25,") != std::string::npos);
    QVERIFY(lines[1].find("\"DIS, with \"\"quotes\"\", and commas\"") != std::string::npos);
  }

  void jsonlHasEveryColumnWithNullForNa() {
    ResultsDb db(at("jsonl.sqlite"));
    db.upsert(sample_row("a.mp4", 1.0));
    db.upsert(sample_row("b.mp4", 2.0));
    db.export_jsonl(at("out.jsonl"));
    const auto lines = lines_of(at("out.jsonl"));
    QCOMPARE(lines.size(), size_t(2));
    auto j = nlohmann::json::parse(lines[1]);
    for (const auto& c : column_names()) QVERIFY2(j.contains(c), c.c_str());
    QCOMPARE(j["path"].get<std::string>(), std::string("b.mp4"));
    QVERIFY(j["aesthetics"].is_null());
    QVERIFY(j["hand_sharpness"].is_null());
    QCOMPARE(j["subtitle_over_face_or_hands"].get<bool>(), false);
    QCOMPARE(j["motion"].get<double>(), 2.0);
    QCOMPARE(j["na_reasons"]["aesthetics"].get<std::string>(), std::string("no weights"));
    QVERIFY(j["failed_metrics"].is_array());
  }

  void mergeCombinesDatabasesLaterWins() {
    {
      ResultsDb a(at("m1.sqlite"));
      a.upsert(sample_row("one.mp4", 1.0));
      a.upsert(sample_row("both.mp4", 1.0));
      ResultsDb b(at("m2.sqlite"));
      b.upsert(sample_row("two.mp4", 2.0));
      b.upsert(sample_row("both.mp4", 2.0));
    }
    const int merged = merge_databases({at("m1.sqlite"), at("m2.sqlite")}, at("merged.sqlite"));
    QCOMPARE(merged, 4);
    ResultsDb out(at("merged.sqlite"));
    QCOMPARE(out.count(), 3);
    QCOMPARE(*out.get("both.mp4")->metric("motion").value, 2.0);
    QCOMPARE(*out.get("one.mp4")->metric("motion").value, 1.0);
    const auto rows = out.all();
    QCOMPARE(rows.front().path, std::string("both.mp4"));
  }

  void mergeOfMissingFileNamesIt() {
    ResultsDb db(at("lonely.sqlite"));
    try {
      db.merge_from(at("missing.sqlite"));
      QFAIL("merging a missing database must throw");
    } catch (const s2v::Error& e) {
      QVERIFY(std::string(e.what()).find("missing.sqlite") != std::string::npos);
      QCOMPARE(e.kind(), s2v::ErrorKind::NotFound);
    }
  }
};

QTEST_GUILESS_MAIN(TestResultsDb)
#include "test_results_db.moc"
