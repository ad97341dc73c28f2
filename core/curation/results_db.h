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
  enum class Mode {
    ReadWrite,  // opens or creates the database and its schema
    ReadOnly,   // an existing results database, never modified (export, the source of a merge)
  };
  // Throws s2v::Error naming the file: Io when it cannot be opened, NotFound (ReadOnly) when it
  // does not exist, Corrupt when it is not a database or (ReadOnly) not an S2V results database.
  explicit ResultsDb(const std::string& path, Mode mode = Mode::ReadWrite);
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

  // Rows of another database replace rows of the same path here, all or none (one transaction);
  // the other file is only read. Returns the rows read from it. Errors name the file at fault.
  int merge_from(const std::string& other_path);
  int merge_from(const std::vector<std::string>& other_paths);  // all of them in one transaction

  // Written atomically (AtomicFile): never over the database itself, a device or a folder, and
  // nothing under out_path when a write fails. CSV: header = column_names(); text cells that a
  // spreadsheet would run as a formula (=, +, -, @, tab, CR first) get a leading apostrophe.
  void export_csv(const std::string& out_path) const;
  // One object per row, n/a = null. JSON text is UTF-8: a path that is not valid UTF-8 is written
  // with U+FFFD for its stray bytes, and its exact bytes as hex in "path_bytes_hex".
  void export_jsonl(const std::string& out_path) const;

  const std::string& path() const { return path_; }

 private:
  void exec(const std::string& sql) const;
  void check_schema() const;
  std::string path_;
  sqlite3* db_ = nullptr;
};

struct MergeResult {
  int rows_read = 0;  // rows of all inputs together
  int clips = 0;      // rows in the output afterwards (a clip in several inputs counts once)
};
// Merges several databases into `out_path` (created when absent); later files win on conflicts.
// All or nothing: every input is checked first (an S2V results database, readable), a new output
// appears only when complete, an existing one changes in one transaction. The output may not be
// one of the inputs (compared by inode).
MergeResult merge_databases(const std::vector<std::string>& inputs, const std::string& out_path);

// One CSV field, quoted when needed (RFC 4180).
std::string csv_field(const std::string& s);

}  // namespace s2v::curation
