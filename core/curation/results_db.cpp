#include "core/curation/results_db.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "models/base/atomic_file.h"
#include "models/base/error.h"
#include "models/base/utf8.h"

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

ResultsDb::ResultsDb(const std::string& path, Mode mode) : path_(path) {
  const bool read_only = mode == Mode::ReadOnly;
  std::error_code ec;
  if (read_only && !std::filesystem::exists(path, ec))
    throw Error("results database '" + path + "' does not exist", ErrorKind::NotFound, path);
  // a FIFO or a device would block SQLite's open() or read(); a folder cannot be one
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw Error("cannot open results database '" + path + "': it is not a regular file",
                ErrorKind::InvalidArgument, path);
  const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("cannot open results database '" + path + "': " + why, ErrorKind::Io, path);
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    if (read_only) {
      check_schema();
      return;
    }
    std::string sql = "CREATE TABLE IF NOT EXISTS clip_scores (";
    const auto cols = all_columns();
    for (size_t i = 0; i < cols.size(); ++i)
      sql += (i ? ", \"" : "\"") + cols[i] + "\" " + sql_type(cols[i]);
    sql += ")";
    exec(sql);
    exec("PRAGMA user_version = 1");
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

void ResultsDb::check_schema() const {
  sqlite3_stmt* st = nullptr;
  std::set<std::string> have;
  int rc = sqlite3_prepare_v2(db_, "SELECT name FROM pragma_table_info('clip_scores')", -1, &st, nullptr);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    have.insert(text_col(st, 0));
    rc = SQLITE_OK;
  }
  const std::string why = sqlite3_errmsg(db_);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    throw Error("cannot read results database '" + path_ + "': " + why, ErrorKind::Corrupt, path_);
  if (have.empty())
    throw Error("'" + path_ + "' is not an S2V results database: it has no clip_scores table",
                ErrorKind::Corrupt, path_);
  for (const auto& c : all_columns())
    if (!have.count(c))
      throw Error("'" + path_ + "' is not an S2V results database of this version: its clip_scores table "
                  "has no column '" + c + "'",
                  ErrorKind::Corrupt, path_);
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
  return merge_from(std::vector<std::string>{other_path});
}

int ResultsDb::merge_from(const std::vector<std::string>& others) {
  // every input is checked before anything changes here
  std::vector<std::unique_ptr<ResultsDb>> sources;
  for (const auto& o : others) sources.push_back(std::make_unique<ResultsDb>(o, Mode::ReadOnly));
  const auto columns = all_columns();
  std::string cols, marks;
  for (size_t i = 0; i < columns.size(); ++i) {
    cols += (i ? ", \"" : "\"") + columns[i] + "\"";
    marks += i ? ", ?" : "?";
  }
  Stmt ins(db_, "INSERT OR REPLACE INTO main.clip_scores (" + cols + ") VALUES (" + marks + ")", path_);
  exec("BEGIN IMMEDIATE");
  int n = 0;
  try {
    for (const auto& src : sources) {
      Stmt sel(src->db_, "SELECT " + cols + " FROM clip_scores", src->path_);
      for (;;) {
        const int rc = sqlite3_step(sel.s);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW)
          throw Error("cannot merge results database '" + src->path_ + "': " + sqlite3_errmsg(src->db_),
                      ErrorKind::Corrupt, src->path_);
        for (int i = 0; i < int(columns.size()); ++i) sqlite3_bind_value(ins.s, i + 1, sqlite3_column_value(sel.s, i));
        if (sqlite3_step(ins.s) != SQLITE_DONE)
          throw Error("cannot merge into results database '" + path_ + "': " + sqlite3_errmsg(db_), ErrorKind::Io,
                      path_);
        sqlite3_reset(ins.s);
        ++n;
      }
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return n;
}

namespace {

// A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): text
// cells get a leading apostrophe, which spreadsheets show as text. Numbers are never text cells.
std::string neutralised(const std::string& s) {
  if (!s.empty() && std::string_view("=+-@\t\r").find(s[0]) != std::string_view::npos) return "'" + s;
  return s;
}

// The text of one report column for CSV (n/a = empty field).
std::string cell(const ClipScores& r, const std::string& c) {
  if (c == "path") return neutralised(r.path);
  if (c == "duration_s") return number_text(r.duration_s);
  if (c == "width") return std::to_string(r.width);
  if (c == "height") return std::to_string(r.height);
  if (c == "fps") return number_text(r.fps);
  if (c == "verdict") return neutralised(r.verdict);
  if (c == "failed_metrics") return neutralised(join_failed(r.failed_metrics));
  if (is_metric(c)) {
    const Metric m = r.metric(c);
    if (!m.value) return {};
    if (c == "subtitle_over_face_or_hands") return *m.value != 0.0 ? "true" : "false";
    return number_text(*m.value);
  }
  if (c.ends_with("_method")) return neutralised(r.metric(c.substr(0, c.size() - 7)).method);
  return {};
}

}  // namespace

void ResultsDb::export_csv(const std::string& out_path) const {
  const auto rows = all();  // read before the output exists
  AtomicFile out(out_path, {path_});
  const auto& cols = column_names();
  std::string text;
  for (size_t i = 0; i < cols.size(); ++i) text += (i ? "," : "") + cols[i];
  text += "\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < cols.size(); ++i) text += (i ? "," : "") + csv_field(cell(r, cols[i]));
    text += "\n";
    if (text.size() > (1 << 20)) {
      out.write(text);
      text.clear();
    }
  }
  out.write(text);
  out.commit();
}

void ResultsDb::export_jsonl(const std::string& out_path) const {
  const auto rows = all();
  AtomicFile out(out_path, {path_});
  std::string text;
  for (const auto& r : rows) {
    nlohmann::ordered_json j;
    j["path"] = r.path;
    if (!is_valid_utf8(r.path)) {
      static const char* hex = "0123456789abcdef";
      std::string bytes;
      for (unsigned char c : r.path) bytes += {hex[c >> 4], hex[c & 15]};
      j["path_bytes_hex"] = bytes;
    }
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
    const auto reasons = nlohmann::json::parse(r.na_reasons_json(), nullptr, false);
    j["na_reasons"] = reasons.is_discarded() ? nlohmann::json::object() : reasons;
    if (!r.error.empty()) j["error"] = r.error;
    // JSON text is UTF-8: a file name that is not gets U+FFFD for its stray bytes (here and in
    // messages quoting it), and its exact bytes in path_bytes_hex
    text += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (text.size() > (1 << 20)) {
      out.write(text);
      text.clear();
    }
  }
  out.write(text);
  out.commit();
}

MergeResult merge_databases(const std::vector<std::string>& inputs, const std::string& out_path) {
  if (inputs.empty()) throw Error("nothing to merge: no input database was given", ErrorKind::InvalidArgument);
  const std::vector<std::filesystem::path> sources(inputs.begin(), inputs.end());
  check_output_target(out_path, sources);  // never one of the inputs, a device or a folder
  MergeResult r;
  std::error_code ec;
  if (std::filesystem::exists(out_path, ec)) {
    ResultsDb out(out_path);  // an existing database changes in one transaction
    r.rows_read = out.merge_from(inputs);
    r.clips = out.count();
    return r;
  }
  AtomicFile file(out_path, sources);  // a new one appears only when complete
  {
    ResultsDb out(file.part().string());
    r.rows_read = out.merge_from(inputs);
    r.clips = out.count();
  }
  file.commit();
  return r;
}

}  // namespace s2v::curation
