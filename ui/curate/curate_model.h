#pragma once
// View-models of the Curate workspace. CurateTableModel holds the scored rows and the preset being
// tuned: moving a threshold re-judges every row with the preset's own apply_preset() (no
// re-scoring) and recolours the verdicts. CurateFilterProxy sorts numerically (n/a last in both
// orders) and filters by text, verdict and per-metric ranges.

#include <QAbstractTableModel>
#include <QColor>
#include <QPalette>
#include <QSortFilterProxyModel>
#include <QStringList>
#include <map>
#include <utility>
#include <vector>

#include "core/curation/preset.h"
#include "core/curation/scores.h"

namespace s2v::ui {

class CurateTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { PathColumn, VerdictColumn, FailedColumn, DurationColumn, WidthColumn, HeightColumn,
                FpsColumn, FirstMetricColumn };
  // Number (NaN when n/a) for metric and numeric columns, text otherwise: what the proxy sorts by.
  static constexpr int SortRole = Qt::UserRole + 1;
  // The full clip path (column 0 shows the file name only).
  static constexpr int PathRole = Qt::UserRole + 2;

  explicit CurateTableModel(QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation o, int role) const override;

  // Replaces the rows and judges them with the current preset.
  void setRows(std::vector<curation::ClipScores> rows);
  // Adds a row, or replaces the row of the same path, judged with the current preset: the rows a
  // curate job reports one by one while it scores.
  void upsertRow(curation::ClipScores row);
  const std::vector<curation::ClipScores>& rows() const { return rows_; }
  const curation::ClipScores& row(int r) const { return rows_.at(static_cast<size_t>(r)); }

  const curation::Preset& preset() const { return preset_; }
  void setPreset(curation::Preset preset);  // re-judges every row
  // Moves threshold i of the preset and re-judges every row (emits dataChanged, verdictsChanged).
  void setThresholdValue(int i, double value);

  // The column of a metric name (FirstMetricColumn + its index in metric_names()), -1 if unknown.
  static int metricColumn(const std::string& metric);
  static QString columnName(int column);
  // A background tint of the verdict's colour that keeps the palette's text readable (light on
  // a light theme, dark on a dark one).
  static QColor verdictColour(const QString& verdict, const QPalette& palette = QPalette());

  int count(const QString& verdict) const;
  QStringList passingPaths() const;  // rows whose verdict is "pass", in row order
  // Values of a metric over the set (n/a rows left out).
  std::vector<double> values(const std::string& metric) const;

  // Writes the passing list atomically: one path a line, or a CSV (path, verdict and every
  // metric, n/a empty) when the name ends in .csv. Throws s2v::Error naming the file.
  void exportPassing(const QString& file) const;

 signals:
  void verdictsChanged();  // after any re-judging (rows, preset or a threshold)
  void presetChanged();    // a different preset (not a moved threshold)

 private:
  void judgeAll();
  std::vector<curation::ClipScores> rows_;
  curation::Preset preset_;
};

class CurateFilterProxy : public QSortFilterProxyModel {
  Q_OBJECT
 public:
  explicit CurateFilterProxy(QObject* parent = nullptr);

  // Case-insensitive substring of the path or verdict; empty = all.
  void setText(const QString& text);
  // Keep only rows with this verdict; empty = all.
  void setVerdict(const QString& verdict);
  // Keep rows whose value in `column` lies in [lo, hi] (NaN bound = open); n/a rows are dropped.
  void setRange(int column, double lo, double hi);
  void clearRange(int column);

 protected:
  bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
  bool lessThan(const QModelIndex& a, const QModelIndex& b) const override;

 private:
  QString text_;
  QString verdict_;
  std::map<int, std::pair<double, double>> ranges_;
};

}  // namespace s2v::ui
