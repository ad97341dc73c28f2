#include "ui/curate/curate_model.h"

#include <QFileInfo>
#include <QSaveFile>
#include <cmath>
#include <limits>

#include "core/curation/results_db.h"
#include "models/base/error.h"
#include "ui/settings/theme.h"

namespace s2v::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool isBoolMetric(const std::string& m) { return m == "subtitle_over_face_or_hands"; }

bool contains(const std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x == s) return true;
  return false;
}

}  // namespace

// ---- CurateTableModel ---------------------------------------------------------------------------

CurateTableModel::CurateTableModel(QObject* parent)
    : QAbstractTableModel(parent), preset_(curation::Preset::builtin("talking-head")) {}

int CurateTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int CurateTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : FirstMetricColumn + static_cast<int>(curation::metric_names().size());
}

int CurateTableModel::metricColumn(const std::string& metric) {
  const auto& names = curation::metric_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == metric) return FirstMetricColumn + static_cast<int>(i);
  return -1;
}

QString CurateTableModel::columnName(int column) {
  static const char* fixed[] = {"path", "verdict", "failed_metrics", "duration_s", "width", "height", "fps"};
  if (column >= 0 && column < FirstMetricColumn) return fixed[column];
  const auto& names = curation::metric_names();
  const int m = column - FirstMetricColumn;
  if (m >= 0 && m < static_cast<int>(names.size())) return QString::fromStdString(names[m]);
  return {};
}

QColor CurateTableModel::verdictColour(const QString& verdict, const QPalette& palette) {
  if (verdict == "pass") return tint(QColor(40, 170, 70), palette);
  if (verdict == "fail") return tint(QColor(220, 40, 40), palette);
  if (verdict == "error") return tint(QColor(128, 128, 128), palette);
  if (verdict == "review") return tint(QColor(240, 170, 0), palette);
  return {};
}

QVariant CurateTableModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal) return QAbstractTableModel::headerData(section, o, role);
  if (role == Qt::DisplayRole) return columnName(section);
  if (role == Qt::ToolTipRole && section >= FirstMetricColumn) {
    const std::string m = columnName(section).toStdString();
    for (const auto& t : preset_.thresholds)
      if (t.metric == m) return tr("Threshold: %1").arg(QString::fromStdString(t.describe()));
    return tr("No threshold in preset %1").arg(QString::fromStdString(preset_.name));
  }
  return {};
}

QVariant CurateTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= static_cast<int>(rows_.size())) return {};
  const auto& s = rows_[static_cast<size_t>(index.row())];
  const int c = index.column();
  if (role == PathRole) return QString::fromStdString(s.path);
  switch (c) {
    case PathColumn:
      if (role == Qt::DisplayRole) return QFileInfo(QString::fromStdString(s.path)).fileName();
      if (role == SortRole) return QString::fromStdString(s.path);
      if (role == Qt::ToolTipRole)
        return QString::fromStdString(s.error.empty() ? s.path : s.path + "\n" + s.error);
      return {};
    case VerdictColumn:
      if (role == Qt::DisplayRole || role == SortRole) return QString::fromStdString(s.verdict);
      if (role == Qt::BackgroundRole) return verdictColour(QString::fromStdString(s.verdict));
      if (role == Qt::ToolTipRole && !s.error.empty()) return QString::fromStdString(s.error);
      return {};
    case FailedColumn:
      if (role == Qt::DisplayRole || role == SortRole || role == Qt::ToolTipRole)
        return QString::fromStdString(curation::join_failed(s.failed_metrics));
      return {};
    case DurationColumn:
    case WidthColumn:
    case HeightColumn:
    case FpsColumn: {
      if (role != Qt::DisplayRole && role != SortRole) return {};
      if (c == DurationColumn) return s.duration_s;
      if (c == WidthColumn) return s.width;
      if (c == HeightColumn) return s.height;
      return s.fps;
    }
    default: break;
  }
  const std::string name = columnName(c).toStdString();
  if (name.empty()) return {};
  const curation::Metric m = s.metric(name);
  switch (role) {
    case Qt::DisplayRole:
      if (!m.value) return tr("n/a");  // never 0: the reason is in the tooltip
      if (isBoolMetric(name)) return *m.value != 0.0 ? QStringLiteral("true") : QStringLiteral("false");
      return *m.value;
    case SortRole: return m.value ? *m.value : kNaN;
    case Qt::ToolTipRole:
      return QString::fromStdString(m.value ? m.method : m.na_reason + (m.method.empty() ? "" : " (" + m.method + ")"));
    case Qt::TextAlignmentRole: return int(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::BackgroundRole:
      // The cells that made the verdict: failed thresholds red, n/a needing review amber.
      if (contains(s.failed_metrics, name)) return verdictColour("fail");
      if (contains(s.failed_metrics, name + ":n/a")) return verdictColour("review");
      return {};
    case Qt::ForegroundRole:
      if (!m.value) return toneColour(Tone::Muted, QPalette());
      return {};
    default: return {};
  }
}

void CurateTableModel::judgeAll() {
  for (auto& r : rows_) curation::apply_preset(preset_, r);
}

void CurateTableModel::setRows(std::vector<curation::ClipScores> rows) {
  beginResetModel();
  rows_ = std::move(rows);
  judgeAll();
  endResetModel();
  emit verdictsChanged();
}

void CurateTableModel::upsertRow(curation::ClipScores row) {
  curation::apply_preset(preset_, row);
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (rows_[i].path != row.path) continue;
    rows_[i] = std::move(row);
    const int r = static_cast<int>(i);
    emit dataChanged(index(r, 0), index(r, columnCount() - 1));
    emit verdictsChanged();
    return;
  }
  const int r = rowCount();
  beginInsertRows({}, r, r);
  rows_.push_back(std::move(row));
  endInsertRows();
  emit verdictsChanged();
}

void CurateTableModel::setPreset(curation::Preset preset) {
  preset_ = std::move(preset);
  judgeAll();
  if (!rows_.empty()) emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
  emit headerDataChanged(Qt::Horizontal, FirstMetricColumn, columnCount() - 1);
  emit presetChanged();
  emit verdictsChanged();
}

void CurateTableModel::setThresholdValue(int i, double value) {
  if (i < 0 || i >= static_cast<int>(preset_.thresholds.size())) return;
  if (preset_.thresholds[static_cast<size_t>(i)].value == value) return;
  preset_.thresholds[static_cast<size_t>(i)].value = value;
  judgeAll();
  if (!rows_.empty()) emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
  emit verdictsChanged();
}

int CurateTableModel::count(const QString& verdict) const {
  int n = 0;
  const std::string v = verdict.toStdString();
  for (const auto& r : rows_) n += r.verdict == v;
  return n;
}

QStringList CurateTableModel::passingPaths() const {
  QStringList out;
  for (const auto& r : rows_)
    if (r.verdict == "pass") out << QString::fromStdString(r.path);
  return out;
}

std::vector<double> CurateTableModel::values(const std::string& metric) const {
  std::vector<double> out;
  for (const auto& r : rows_) {
    const auto m = r.metric(metric);
    if (m.value && std::isfinite(*m.value)) out.push_back(*m.value);
  }
  return out;
}

void CurateTableModel::exportPassing(const QString& file) const {
  QByteArray text;
  if (file.endsWith(".csv", Qt::CaseInsensitive)) {
    std::string header = "path,verdict";
    for (const auto& m : curation::metric_names()) header += "," + m;
    text += QByteArray::fromStdString(header + "\n");
    for (const auto& r : rows_) {
      if (r.verdict != "pass") continue;
      std::string line = curation::csv_field(r.path) + "," + r.verdict;
      for (const auto& m : curation::metric_names()) {
        const auto v = r.metric(m);
        line += ",";
        if (v.value) line += QString::number(*v.value, 'g', 10).toStdString();
      }
      text += QByteArray::fromStdString(line + "\n");
    }
  } else {
    for (const auto& p : passingPaths()) text += p.toUtf8() + "\n";
  }
  // Atomic: the list appears whole or not at all.
  QSaveFile out(file);
  if (!out.open(QIODevice::WriteOnly) || out.write(text) != text.size() || !out.commit())
    throw Error("cannot write the passing list '" + file.toStdString() + "': " + out.errorString().toStdString(),
                ErrorKind::Io, file.toStdString());
}

// ---- CurateFilterProxy --------------------------------------------------------------------------

CurateFilterProxy::CurateFilterProxy(QObject* parent) : QSortFilterProxyModel(parent) {
  setSortRole(CurateTableModel::SortRole);
  setDynamicSortFilter(true);  // verdicts re-filter and re-sort as thresholds move
}

void CurateFilterProxy::setText(const QString& text) {
  text_ = text.trimmed();
  invalidateFilter();
}

void CurateFilterProxy::setVerdict(const QString& verdict) {
  verdict_ = verdict;
  invalidateFilter();
}

void CurateFilterProxy::setRange(int column, double lo, double hi) {
  ranges_[column] = {lo, hi};
  invalidateFilter();
}

void CurateFilterProxy::clearRange(int column) {
  ranges_.erase(column);
  invalidateFilter();
}

bool CurateFilterProxy::filterAcceptsRow(int row, const QModelIndex& parent) const {
  auto* m = sourceModel();
  if (!text_.isEmpty()) {
    const QString path = m->index(row, CurateTableModel::PathColumn, parent).data(CurateTableModel::PathRole).toString();
    const QString verdict = m->index(row, CurateTableModel::VerdictColumn, parent).data().toString();
    if (!path.contains(text_, Qt::CaseInsensitive) && !verdict.contains(text_, Qt::CaseInsensitive)) return false;
  }
  if (!verdict_.isEmpty() && m->index(row, CurateTableModel::VerdictColumn, parent).data().toString() != verdict_)
    return false;
  for (const auto& [col, r] : ranges_) {
    const QVariant v = m->index(row, col, parent).data(CurateTableModel::SortRole);
    bool ok = false;
    const double x = v.toDouble(&ok);
    if (!ok || std::isnan(x)) return false;
    if (!std::isnan(r.first) && x < r.first) return false;
    if (!std::isnan(r.second) && x > r.second) return false;
  }
  return true;
}

bool CurateFilterProxy::lessThan(const QModelIndex& a, const QModelIndex& b) const {
  const QVariant va = a.data(sortRole()), vb = b.data(sortRole());
  const bool na = va.typeId() == QMetaType::Double && std::isnan(va.toDouble());
  const bool nb = vb.typeId() == QMetaType::Double && std::isnan(vb.toDouble());
  if (na || nb) {
    // n/a sorts last in either order.
    if (na && nb) return false;
    return sortOrder() == Qt::AscendingOrder ? nb : na;
  }
  return QSortFilterProxyModel::lessThan(a, b);
}

}  // namespace s2v::ui
