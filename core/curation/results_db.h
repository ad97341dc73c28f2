#pragma once
// SQLite store of curation rows: one row per clip path with the columns of issue #7 plus
// na_reasons, series (JSON for the plots), error and scored_at. Upsert, resume lookup, CSV and
// JSONL export, merge of several databases.

#include <optional>
#include <string>
#include <vector>

#include "core/curation/scores.h"

struct sqlite3;

namespace s2v::curation {

class ResultsDb {
 public:
  // Opens or creates the database and its schema. Throws s2v::Error (Io) naming the file.
  explicit ResultsDb(const std::string& path);
  ~ResultsDb();
  ResultsDb(const ResultsDb&) = delete;
  ResultsDb& operator=(const ResultsDb&) = delete;

  void upsert(const ClipScores& row);               // insert or replace by path
  bool has(const std::string& path) const;          // scored already (resume)
  // Scored already without an error (errors are retried on resume).
  bool has_scored(const std::string& path) const;
  std::optional<ClipScores> get(const std::string& path) const;
  std::vector<ClipScores> all() const;              // ordered by path
  int count() const;

  // Rows of another database replace rows of the same path here. Returns the rows merged.
  int merge_from(const std::string& other_path);

  void export_csv(const std::string& out_path) const;    // header = column_names()
  void export_jsonl(const std::string& out_path) const;  // one object per row, n/a = null

  const std::string& path() const { return path_; }

 private:
  void exec(const std::string& sql) const;
  std::string path_;
  sqlite3* db_ = nullptr;
};

// Merges several databases into `out_path` (created when absent); later files win on conflicts.
int merge_databases(const std::vector<std::string>& inputs, const std::string& out_path);

// One CSV field, quoted when needed (RFC 4180).
std::string csv_field(const std::string& s);

}  // namespace s2v::curation
