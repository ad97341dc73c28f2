#include "ui/curate/histogram_panel.h"

#include <QAreaSeries>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QValueAxis>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "core/curation/scores.h"
#include "ui/curate/curate_model.h"
#include "ui/settings/theme.h"

namespace s2v::ui {

int histogramTickStep(int top) {
  if (top <= 5) return 1;
  // 1, 2, 5, 10, 20, 50, ...: at most 6 intervals
  for (int base = 1;; base *= 10)
    for (int m : {1, 2, 5})
      if (top <= 6 * m * base) return m * base;
}

int sturgesBins(size_t n) {
  if (n <= 1) return 1;
  const int b = static_cast<int>(std::ceil(std::log2(static_cast<double>(n)))) + 1;
  return std::clamp(b, 1, 30);
}

Histogram histogram(const std::vector<double>& values, int bins, std::optional<double> extra) {
  Histogram h;
  bins = std::max(1, bins);
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) {  // no values: an empty span around the threshold (or 0)
    lo = hi = extra.value_or(0.0);
  }
  if (extra && std::isfinite(*extra)) lo = std::min(lo, *extra), hi = std::max(hi, *extra);
  if (hi - lo <= 0.0) {
    lo -= 0.5;
    hi += 0.5;
    bins = 1;
  }
  h.lo = lo;
  h.hi = hi;
  h.counts.assign(static_cast<size_t>(bins), 0);
  const double w = (hi - lo) / bins;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    int b = static_cast<int>(std::floor((v - lo) / w));
    b = std::clamp(b, 0, bins - 1);  // the last bin is closed on the right
    ++h.counts[static_cast<size_t>(b)];
  }
  return h;
}

HistogramPanel::HistogramPanel(CurateTableModel* model, QWidget* parent) : QWidget(parent), model_(model) {
  setObjectName("histogramPanel");
  metricBox_ = new QComboBox(this);
  metricBox_->setObjectName("histogramMetric");
  for (const auto& m : curation::metric_names()) metricBox_->addItem(QString::fromStdString(m));
  note_ = new QLabel(this);
  note_->setObjectName("histogramNote");
  view_ = new QChartView(this);
  view_->setObjectName("histogramChart");
  view_->setRenderHint(QPainter::Antialiasing);
  // Narrow enough for Curate at 1024×640 beside the clip viewer and the job dock.
  view_->setMinimumSize(200, 120);
  note_->setWordWrap(true);
  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel(tr("Metric:"), this));
  top->addWidget(metricBox_);
  top->addWidget(note_, 1);
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(0, 0, 0, 0);
  l->addLayout(top);
  l->addWidget(view_, 1);
  connect(metricBox_, &QComboBox::currentTextChanged, this, &HistogramPanel::refresh);
  connect(model_, &CurateTableModel::verdictsChanged, this, &HistogramPanel::refresh);
  refresh();
}

void HistogramPanel::setMetric(const QString& metric) { metricBox_->setCurrentText(metric); }
QString HistogramPanel::metric() const { return metricBox_->currentText(); }

void HistogramPanel::refresh() {
  // O(rows) for one metric: cheap enough for the GUI thread even for tens of thousands of clips.
  const std::string name = metric().toStdString();
  const std::vector<double> values = model_->values(name);
  threshold_.reset();
  QString op;
  for (const auto& t : model_->preset().thresholds)
    if (t.metric == name) {
      threshold_ = t.value;
      op = QString::fromStdString(t.op);
    }
  hist_ = histogram(values, sturgesBins(values.size()), threshold_);

  auto* chart = new QChart;
  chart->legend()->hide();
  chart->setMargins(QMargins(2, 2, 2, 2));
  if (isDark(palette())) chart->setTheme(QChart::ChartThemeDark);
  // The bars as one stepped outline over the bins.
  auto* upper = new QLineSeries;
  auto* lower = new QLineSeries;
  const double w = hist_.binWidth();
  int top = 1;
  for (size_t b = 0; b < hist_.counts.size(); ++b) {
    const double x0 = hist_.lo + w * static_cast<double>(b), x1 = x0 + w;
    upper->append(x0, hist_.counts[b]);
    upper->append(x1, hist_.counts[b]);
    lower->append(x0, 0);
    lower->append(x1, 0);
    top = std::max(top, hist_.counts[b]);
  }
  auto* bars = new QAreaSeries(upper, lower);
  bars->setName(tr("clips"));
  bars->setColor(QColor(90, 140, 210));
  bars->setBorderColor(QColor(40, 80, 150));
  chart->addSeries(bars);
  auto* ax = new QValueAxis;
  ax->setRange(hist_.lo, hist_.hi);
  ax->setTitleText(metric());
  // Whole clips only: one tick per count up to 5, else ticks at a round step (never "0, 1, 0, 1, 2").
  auto* ay = new QValueAxis;
  const int step = histogramTickStep(top);
  const int yTop = (top + step - 1) / step * step;
  ay->setRange(0, yTop);
  ay->setTickType(QValueAxis::TicksDynamic);
  ay->setTickAnchor(0);
  ay->setTickInterval(step);
  ay->setLabelFormat("%d");
  ay->setTitleText(tr("clips"));
  chart->addAxis(ax, Qt::AlignBottom);
  chart->addAxis(ay, Qt::AlignLeft);
  bars->attachAxis(ax);
  bars->attachAxis(ay);
  if (threshold_) {
    auto* line = new QLineSeries;
    line->setName(tr("threshold"));
    line->append(*threshold_, 0);
    line->append(*threshold_, yTop);
    QPen pen(QColor(220, 30, 30));
    pen.setWidth(2);
    line->setPen(pen);
    chart->addSeries(line);
    line->attachAxis(ax);
    line->attachAxis(ay);
  }
  QChart* old = view_->chart();
  view_->setChart(chart);
  delete old;

  int total = 0;
  for (int c : hist_.counts) total += c;
  const int na = model_->rowCount() - total;
  const QString clips = total == 1 ? tr("1 clip with a value") : tr("%1 clips with a value").arg(total);
  note_->setText(threshold_ ? tr("%1, %2 n/a; threshold %3 %4").arg(clips).arg(na).arg(op).arg(*threshold_)
                            : tr("%1, %2 n/a; no threshold").arg(clips).arg(na));
}

}  // namespace s2v::ui
