#include "core/curation/results_db.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "models/base/error.h"

namespace s2v::curation {

namespace {

// Columns stored beyond column_names().
const std::vector<std::string>& extra_columns() {
  static const std::vector<std::string> c = {"na_reasons", "series", "error", "scored_at"};
  return c;
}

std::vector<std::string> all_columns() {
  auto c = column_names();
  for (const auto& e : extra_columns()) c.push_back(e);
  return c;
}

bool is_metric(const std::string& c) {
  for (const auto& m : metric_names())
    if (m == c) return true;
  return false;
}

std::string sql_type(const std::string& c) {
  if (c == "path") return "TEXT PRIMARY KEY NOT NULL";
  if (c == "width" || c == "height") return "INTEGER";
  if (c == "duration_s" || c == "fps" || is_metric(c)) return "REAL";
  return "TEXT";
}

std::string now_iso() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string number_text(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const std::string& sql, const std::string& file) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      throw Error("results database '" + file + "': " + sqlite3_errmsg(db), ErrorKind::Io, file);
  }
  ~Stmt() { sqlite3_finalize(s); }
};

std::string text_col(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : std::string();
}

ClipScores read_row(sqlite3_stmt* s, const std::vector<std::string>& cols) {
  ClipScores r;
  std::map<std::string, int> idx;
  for (int i = 0; i < int(cols.size()); ++i) idx[cols[i]] = i;
  r.path = text_col(s, idx["path"]);
  r.duration_s = sqlite3_column_double(s, idx["duration_s"]);
  r.width = sqlite3_column_int(s, idx["width"]);
  r.height = sqlite3_column_int(s, idx["height"]);
  r.fps = sqlite3_column_double(s, idx["fps"]);
  r.verdict = text_col(s, idx["verdict"]);
  r.failed_metrics = split_failed(text_col(s, idx["failed_metrics"]));
  r.error = text_col(s, idx["error"]);
  auto reasons = nlohmann::json::parse(text_col(s, idx["na_reasons"]), nullptr, false);
  for (const auto& m : metric_names()) {
    Metric metric;
    metric.method = text_col(s, idx[m + "_method"]);
    if (sqlite3_column_type(s, idx[m]) != SQLITE_NULL) {
      metric.value = sqlite3_column_double(s, idx[m]);
    } else {
      metric.na_reason = reasons.is_object() && reasons.contains(m) && reasons[m].is_string()
                             ? reasons[m].get<std::string>()
                             : std::string("n/a");
    }
    r.metrics[m] = metric;
  }
  r.set_series_json(text_col(s, idx["series"]));
  return r;
}

std::string select_all_sql() {
  std::string sql = "SELECT ";
  const auto cols = all_columns();
  for (size_t i = 0; i < cols.size(); ++i) sql += (i ? ", \"" : "\"") + cols[i] + "\"";
  return sql + " FROM clip_scores";
}

}  // namespace

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

ResultsDb::ResultsDb(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("cannot open results database '" + path + "': " + why, ErrorKind::Io, path);
  }
  sqlite3_busy_timeout(db_, 5000);
  std::string sql = "CREATE TABLE IF NOT EXISTS clip_scores (";
  const auto cols = all_columns();
  for (size_t i = 0; i < cols.size(); ++i)
    sql += (i ? ", \"" : "\"") + cols[i] + "\" " + sql_type(cols[i]);
  sql += ")";
  exec(sql);
  exec("PRAGMA user_version = 1");
}

ResultsDb::~ResultsDb() { sqlite3_close(db_); }

void ResultsDb::exec(const std::string& sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error("results database '" + path_ + "': " + why, ErrorKind::Io, path_);
  }
}

void ResultsDb::upsert(const ClipScores& row) {
  const auto cols = all_columns();
  std::string sql = "INSERT OR REPLACE INTO clip_scores (";
  std::string vals;
  for (size_t i = 0; i < cols.size(); ++i) {
    sql += (i ? ", \"" : "\"") + cols[i] + "\"";
    vals += i ? ", ?" : "?";
  }
  sql += ") VALUES (" + vals + ")";
  Stmt st(db_, sql, path_);
  for (size_t i = 0; i < cols.size(); ++i) {
    const int k = int(i) + 1;
    const std::string& c = cols[i];
    auto bind_text = [&](const std::string& t) {
      sqlite3_bind_text(st.s, k, t.c_str(), int(t.size()), SQLITE_TRANSIENT);
    };
    if (c == "path") bind_text(row.path);
    else if (c == "duration_s") sqlite3_bind_double(st.s, k, row.duration_s);
    else if (c == "width") sqlite3_bind_int(st.s, k, row.width);
    else if (c == "height") sqlite3_bind_int(st.s, k, row.height);
    else if (c == "fps") sqlite3_bind_double(st.s, k, row.fps);
    else if (c == "verdict") bind_text(row.verdict);
    else if (c == "failed_metrics") bind_text(join_failed(row.failed_metrics));
    else if (c == "na_reasons") bind_text(row.na_reasons_json());
    else if (c == "series") bind_text(row.series_json());
    else if (c == "error") bind_text(row.error);
    else if (c == "scored_at") bind_text(now_iso());
    else if (is_metric(c)) {
      const Metric m = row.metric(c);
      if (m.value && std::isfinite(*m.value))
        sqlite3_bind_double(st.s, k, *m.value);
      else
        sqlite3_bind_null(st.s, k);
    } else if (c.size() > 7 && c.ends_with("_method")) {
      bind_text(row.metric(c.substr(0, c.size() - 7)).method);
    }
  }
  if (sqlite3_step(st.s) != SQLITE_DONE)
    throw Error("cannot store the scores of '" + row.path + "' in '" + path_ +
                    "': " + sqlite3_errmsg(db_),
                ErrorKind::Io, path_);
}

bool ResultsDb::has(const std::string& path) const {
  Stmt st(db_, "SELECT 1 FROM clip_scores WHERE path = ?", path_);
  sqlite3_bind_text(st.s, 1, path.c_str(), int(path.size()), SQLITE_TRANSIENT);
  return sqlite3_step(st.s) == SQLITE_ROW;
}

bool ResultsDb::has_scored(const std::string& path) const {
  Stmt st(db_, "SELECT 1 FROM clip_scores WHERE path = ? AND (error IS NULL OR error = '')",
          path_);
  sqlite3_bind_text(st.s, 1, path.c_str(), int(path.size()), SQLITE_TRANSIENT);
  return sqlite3_step(st.s) == SQLITE_ROW;
}

std::optional<ClipScores> ResultsDb::get(const std::string& path) const {
  Stmt st(db_, select_all_sql() + " WHERE path = ?", path_);
  sqlite3_bind_text(st.s, 1, path.c_str(), int(path.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) != SQLITE_ROW) return std::nullopt;
  return read_row(st.s, all_columns());
}

std::vector<ClipScores> ResultsDb::all() const {
  Stmt st(db_, select_all_sql() + " ORDER BY path", path_);
  std::vector<ClipScores> out;
  const auto cols = all_columns();
  while (sqlite3_step(st.s) == SQLITE_ROW) out.push_back(read_row(st.s, cols));
  return out;
}

int ResultsDb::count() const {
  Stmt st(db_, "SELECT COUNT(*) FROM clip_scores", path_);
  return sqlite3_step(st.s) == SQLITE_ROW ? sqlite3_column_int(st.s, 0) : 0;
}

int ResultsDb::merge_from(const std::string& other_path) {
  {
    std::ifstream probe(other_path);
    if (!probe)
      throw Error("cannot merge results database '" + other_path + "': the file does not exist",
                  ErrorKind::NotFound, other_path);
  }
  ResultsDb other(other_path);  // makes sure the other file has our schema
  const int n = other.count();
  {
    Stmt at(db_, "ATTACH DATABASE ? AS other", path_);
    sqlite3_bind_text(at.s, 1, other_path.c_str(), int(other_path.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(at.s) != SQLITE_DONE)
      throw Error("cannot attach results database '" + other_path + "': " + sqlite3_errmsg(db_),
                  ErrorKind::Io, other_path);
  }
  std::string cols;
  for (const auto& c : all_columns()) cols += (cols.empty() ? "\"" : ", \"") + c + "\"";
  try {
    exec("INSERT OR REPLACE INTO main.clip_scores (" + cols + ") SELECT " + cols +
         " FROM other.clip_scores");
  } catch (...) {
    exec("DETACH DATABASE other");
    throw;
  }
  exec("DETACH DATABASE other");
  return n;
}

namespace {

// The text of one report column for CSV (n/a = empty field).
std::string cell(const ClipScores& r, const std::string& c) {
  if (c == "path") return r.path;
  if (c == "duration_s") return number_text(r.duration_s);
  if (c == "width") return std::to_string(r.width);
  if (c == "height") return std::to_string(r.height);
  if (c == "fps") return number_text(r.fps);
  if (c == "verdict") return r.verdict;
  if (c == "failed_metrics") return join_failed(r.failed_metrics);
  if (is_metric(c)) {
    const Metric m = r.metric(c);
    if (!m.value) return {};
    if (c == "subtitle_over_face_or_hands") return *m.value != 0.0 ? "true" : "false";
    return number_text(*m.value);
  }
  if (c.ends_with("_method")) return r.metric(c.substr(0, c.size() - 7)).method;
  return {};
}

}  // namespace

void ResultsDb::export_csv(const std::string& out_path) const {
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write CSV '" + out_path + "'", ErrorKind::Io, out_path);
  const auto& cols = column_names();
  for (size_t i = 0; i < cols.size(); ++i) out << (i ? "," : "") << cols[i];
  out << "\n";
  for (const auto& r : all()) {
    for (size_t i = 0; i < cols.size(); ++i) out << (i ? "," : "") << csv_field(cell(r, cols[i]));
    out << "\n";
  }
  if (!out) throw Error("cannot write CSV '" + out_path + "'", ErrorKind::Io, out_path);
}

void ResultsDb::export_jsonl(const std::string& out_path) const {
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write JSONL '" + out_path + "'", ErrorKind::Io, out_path);
  for (const auto& r : all()) {
    nlohmann::ordered_json j;
    j["path"] = r.path;
    j["duration_s"] = r.duration_s;
    j["width"] = r.width;
    j["height"] = r.height;
    j["fps"] = r.fps;
    for (const auto& m : metric_names()) {
      const Metric v = r.metric(m);
      if (!v.value)
        j[m] = nullptr;
      else if (m == "subtitle_over_face_or_hands")
        j[m] = *v.value != 0.0;
      else
        j[m] = *v.value;
    }
    j["verdict"] = r.verdict;
    j["failed_metrics"] = r.failed_metrics;
    for (const auto& m : metric_names()) j[m + "_method"] = r.metric(m).method;
    j["na_reasons"] = nlohmann::json::parse(r.na_reasons_json());
    if (!r.error.empty()) j["error"] = r.error;
    out << j.dump() << "\n";
  }
  if (!out) throw Error("cannot write JSONL '" + out_path + "'", ErrorKind::Io, out_path);
}

int merge_databases(const std::vector<std::string>& inputs, const std::string& out_path) {
  ResultsDb out(out_path);
  int n = 0;
  for (const auto& in : inputs) n += out.merge_from(in);
  return n;
}

}  // namespace s2v::curation
