#pragma once
// The histogram of one metric over the set (QtCharts), with the preset's threshold drawn as a
// vertical line; a combo picks the metric. Binning is a pure function (histogram()).

#include <QWidget>
#include <optional>
#include <string>
#include <vector>

class QChartView;
class QComboBox;
class QLabel;

namespace s2v::ui {

class CurateTableModel;

struct Histogram {
  double lo = 0.0, hi = 0.0;   // edges of the first and last bin
  std::vector<int> counts;     // bins of width (hi - lo) / counts.size(); last bin closed
  double binWidth() const { return counts.empty() ? 0.0 : (hi - lo) / static_cast<double>(counts.size()); }
};

// Bins finite values into `bins` equal bins spanning [min, max] (a constant set gets one bin of
// width 1 centred on it); `extra` (the threshold) widens the span so that it is drawn inside.
Histogram histogram(const std::vector<double>& values, int bins, std::optional<double> extra = {});
// The y axis' tick step for a highest count of `top`: 1 up to 5, then 1/2/5 x 10^k giving at most
// six intervals. Counts are whole, so every tick label is a distinct integer.
int histogramTickStep(int top);
// Bins for n values: ceil(log2 n) + 1 (Sturges), between 1 and 30.
int sturgesBins(size_t n);

class HistogramPanel : public QWidget {
  Q_OBJECT
 public:
  explicit HistogramPanel(CurateTableModel* model, QWidget* parent = nullptr);

  void setMetric(const QString& metric);
  QString metric() const;
  const Histogram& current() const { return hist_; }
  std::optional<double> thresholdShown() const { return threshold_; }
  QChartView* chartView() const { return view_; }

 public slots:
  void refresh();  // after rows or thresholds change

 private:
  CurateTableModel* model_;
  QComboBox* metricBox_;
  QChartView* view_;
  QLabel* note_;
  Histogram hist_;
  std::optional<double> threshold_;
};

}  // namespace s2v::ui
