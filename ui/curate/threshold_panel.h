#pragma once
// One slider (and an exact spin box) per threshold of the preset being tuned. Moving either
// re-judges every row through CurateTableModel::setThresholdValue (no re-scoring). Slider ranges
// span the metric's values over the set and the threshold; integer metrics step by 1.

#include <QWidget>
#include <vector>

class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QSlider;

namespace s2v::ui {

class CurateTableModel;

class ThresholdPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ThresholdPanel(CurateTableModel* model, QWidget* parent = nullptr);

  int count() const { return static_cast<int>(rows_.size()); }
  QSlider* slider(int i) const { return rows_.at(static_cast<size_t>(i)).slider; }
  QLabel* label(int i) const { return rows_.at(static_cast<size_t>(i)).label; }
  QDoubleSpinBox* spin(int i) const { return rows_.at(static_cast<size_t>(i)).spin; }
  int indexOf(const QString& metric) const;  // threshold index of a metric, -1 if none
  static constexpr int kSliderMinWidth = 120;  // never a stub, however narrow the panel
  // The threshold value a slider position stands for.
  double sliderValue(int i, int position) const;

 public slots:
  void rebuild();  // after a new preset or new rows

 private:
  struct Row {
    QString metric;
    QLabel* label = nullptr;
    QSlider* slider = nullptr;
    QDoubleSpinBox* spin = nullptr;
    double lo = 0.0, hi = 1.0;
    bool integral = false;
  };
  int sliderPosition(const Row& r, double v) const;
  CurateTableModel* model_;
  QGridLayout* grid_;
  std::vector<Row> rows_;
};

}  // namespace s2v::ui
