// The SQLite results store: round trip of every column, resume lookup, CSV/JSONL export, merge.
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "common/child.h"
#include "common/error_of.h"

#include "core/curation/preset.h"
#include "core/curation/results_db.h"
#include "models/base/error.h"

using namespace s2v::curation;

using s2v::test::error_of;

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

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
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
    const auto merged = merge_databases({at("m1.sqlite"), at("m2.sqlite")}, at("merged.sqlite"));
    // issue #19 group 4: "merged 103 rows" was reported when 44 were present
    QCOMPARE(merged.rows_read, 4);
    QCOMPARE(merged.clips, 3);
    ResultsDb out(at("merged.sqlite"));
    QCOMPARE(out.count(), 3);
    QCOMPARE(*out.get("both.mp4")->metric("motion").value, 2.0);
    QCOMPARE(*out.get("one.mp4")->metric("motion").value, 1.0);
    const auto rows = out.all();
    QCOMPARE(rows.front().path, std::string("both.mp4"));
  }

  // Issue #19 group 4: a corrupt input left the output with some rows (and blamed the output).
  void mergeWithACorruptInputChangesNothingAndNamesIt() {
    {
      ResultsDb good(at("good.sqlite"));
      for (int i = 0; i < 3; ++i) good.upsert(sample_row("good" + std::to_string(i) + ".mp4", i));
      ResultsDb big(at("big.sqlite"));
      for (int i = 0; i < 40; ++i) big.upsert(sample_row("big" + std::to_string(i) + ".mp4", i));
    }
    // damage the table's pages past the schema page: the file opens, reading its rows fails
    const std::string corrupt = at("corrupt.sqlite");
    std::filesystem::copy_file(at("big.sqlite"), corrupt);
    const auto size = std::filesystem::file_size(corrupt);
    QVERIFY(size > 4 * 4096);
    {
      std::fstream f(corrupt, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(2 * 4096);
      const std::string junk(size - 2 * 4096, '\xa5');
      f.write(junk.data(), std::streamsize(junk.size()));
    }
    // a new output: nothing appears under its name (nor a .part)
    s2v::ErrorKind kind{};
    std::string e = error_of([&] { merge_databases({at("good.sqlite"), corrupt}, at("m-new.sqlite")); }, &kind);
    qInfo("%s", e.c_str());
    QVERIFY2(e.find("corrupt.sqlite") != std::string::npos, e.c_str());
    QVERIFY2(e.find("m-new.sqlite") == std::string::npos, e.c_str());
    QCOMPARE(kind, s2v::ErrorKind::Corrupt);
    QVERIFY(!std::filesystem::exists(at("m-new.sqlite")));
    QVERIFY(!std::filesystem::exists(at("m-new.sqlite.part")));
    // an existing output keeps exactly its rows
    {
      ResultsDb existing(at("m-old.sqlite"));
      existing.upsert(sample_row("kept.mp4", 1));
    }
    e = error_of([&] { merge_databases({at("good.sqlite"), corrupt}, at("m-old.sqlite")); });
    QVERIFY2(e.find("corrupt.sqlite") != std::string::npos, e.c_str());
    ResultsDb old(at("m-old.sqlite"));
    QCOMPARE(old.count(), 1);
  }

  // A SQLite file that is not ours was silently merged as 0 rows (and got our table added).
  void mergeRefusesAForeignDatabaseAndLeavesItAlone() {
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(at("foreign.sqlite").c_str(), &db), SQLITE_OK);
    QCOMPARE(sqlite3_exec(db, "CREATE TABLE photos (name TEXT); INSERT INTO photos VALUES ('x')", nullptr, nullptr,
                          nullptr),
             SQLITE_OK);
    sqlite3_close(db);
    const std::string before = bytes_of(at("foreign.sqlite"));
    s2v::ErrorKind kind{};
    const std::string e =
        error_of([&] { merge_databases({at("foreign.sqlite")}, at("m-foreign.sqlite")); }, &kind);
    QVERIFY2(e.find("not an S2V results database") != std::string::npos, e.c_str());
    QCOMPARE(kind, s2v::ErrorKind::Corrupt);
    QCOMPARE(bytes_of(at("foreign.sqlite")), before);
    QVERIFY(!std::filesystem::exists(at("m-foreign.sqlite")));
    // exporting it is refused the same way, and writes nothing
    QVERIFY(!error_of([&] { ResultsDb(at("foreign.sqlite"), ResultsDb::Mode::ReadOnly).export_csv(at("f.csv")); }).empty());
    QVERIFY(!std::filesystem::exists(at("f.csv")));
  }

  // Group 1: `curate export v.db --out v.db` (or a database named x.csv) truncated the database;
  // `curate merge a.db --out a.db` the same by inode.
  void exportAndMergeNeverOverwriteTheirInput() {
    {
      ResultsDb db(at("x.csv"));
      db.upsert(sample_row("a.mp4", 1.0));
    }
    const std::string before = bytes_of(at("x.csv"));
    const ResultsDb db(at("x.csv"), ResultsDb::Mode::ReadOnly);
    for (auto f : {&ResultsDb::export_csv, &ResultsDb::export_jsonl}) {
      const std::string e = error_of([&] { (db.*f)(at("x.csv")); });
      QVERIFY2(e.find("is the input") != std::string::npos, e.c_str());
    }
    std::filesystem::create_hard_link(at("x.csv"), at("x-link.db"));
    QVERIFY(!error_of([&] { merge_databases({at("x.csv")}, at("x-link.db")); }).empty());
    QCOMPARE(bytes_of(at("x.csv")), before);
    QCOMPARE(ResultsDb(at("x.csv"), ResultsDb::Mode::ReadOnly).count(), 1);
  }

  // Group 4: on a full disk the export left a cut JSONL / 0-byte CSV under the final name and
  // said only "cannot write JSONL". The disk is simulated as full with RLIMIT_FSIZE in a child.
  void exportOnAFullDiskLeavesNothingAndSaysWhy() {
    {
      ResultsDb db(at("full.sqlite"));
      for (int i = 0; i < 20; ++i) db.upsert(sample_row("clip" + std::to_string(i) + ".mp4", i));
    }
    for (const char* name : {"full.jsonl", "full.csv"}) {
      const std::string out = at(name);
      const auto child = s2v::test::run_in_child([&]() -> std::string {
        const ResultsDb db(at("full.sqlite"), ResultsDb::Mode::ReadOnly);
        return error_of([&] {
          if (std::string(name).ends_with(".csv")) db.export_csv(out);
          else db.export_jsonl(out);
        });
      }, 2048);
      QVERIFY(child.exited);
      qInfo("%s", child.text.c_str());
      QVERIFY2(child.text.find(name) != std::string::npos && child.text.find("File too large") != std::string::npos,
               child.text.c_str());
      QVERIFY(!std::filesystem::exists(out));
      QVERIFY(!std::filesystem::exists(out + ".part"));
    }
  }

  // Group 12: text cells starting with = + - @ ran as formulas in a spreadsheet.
  void csvNeutralisesFormulaCells() {
    ResultsDb db(at("inject.sqlite"));
    auto row = sample_row("=HYPERLINK(\"http://x\")", -0.5);  // av_offset_s stays a negative number
    row.set("motion", Metric::of(1.0, "@SUM(A1:A9)"));
    db.upsert(row);
    db.upsert(sample_row("+cmd|' /C calc'!A0.mp4", 1.0));
    db.upsert(sample_row("-2+3.mp4", 1.0));
    db.export_csv(at("inject.csv"));
    const auto lines = lines_of(at("inject.csv"));
    QCOMPARE(lines.size(), size_t(4));
    for (size_t i = 1; i < lines.size(); ++i) {
      const std::string& l = lines[i];
      QVERIFY2(l.starts_with("'") || l.starts_with("\"'"), l.c_str());
      QVERIFY2(l.find(",-0.5,") != std::string::npos, l.c_str());  // numbers are not touched
    }
    QVERIFY(lines[1].find(",'@SUM(A1:A9),") != std::string::npos || lines[2].find(",'@SUM(A1:A9),") != std::string::npos ||
            lines[3].find(",'@SUM(A1:A9),") != std::string::npos);
  }

  // Group 10: a path that is not UTF-8 made the JSONL export throw json type_error.316 (0 bytes).
  void jsonlKeepsANonUtf8PathLosslessly() {
    ResultsDb db(at("bytes.sqlite"));
    const std::string path = "clips/portr\xe4it.mp4";  // Latin-1 bytes in a file name
    auto row = sample_row(path, 1.0);
    row.error = "cannot decode '" + path + "'";
    db.upsert(row);
    db.export_jsonl(at("bytes.jsonl"));
    const auto lines = lines_of(at("bytes.jsonl"));
    QCOMPARE(lines.size(), size_t(1));
    const auto j = nlohmann::json::parse(lines[0]);  // a strict parser accepts it
    QCOMPARE(j["path"].get<std::string>(), std::string("clips/portr\xef\xbf\xbdit.mp4"));
    QCOMPARE(j["path_bytes_hex"].get<std::string>(), std::string("636c6970732f706f727472e469742e6d7034"));
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
