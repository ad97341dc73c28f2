#include "ui/curate/threshold_panel.h"

#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QLabel>
#include <QSlider>
#include <algorithm>
#include <cmath>

#include "ui/curate/curate_model.h"
#include "ui/widgets/elided_label.h"
#include "ui/widgets/input_guards.h"

namespace s2v::ui {

namespace {
constexpr int kSteps = 1000;  // slider positions for a continuous metric
}

ThresholdPanel::ThresholdPanel(CurateTableModel* model, QWidget* parent) : QWidget(parent), model_(model) {
  setObjectName("thresholdPanel");
  grid_ = new QGridLayout(this);
  grid_->setColumnStretch(1, 1);
  connect(model_, &CurateTableModel::presetChanged, this, &ThresholdPanel::rebuild);
  connect(model_, &QAbstractItemModel::modelReset, this, &ThresholdPanel::rebuild);
  rebuild();
}

int ThresholdPanel::indexOf(const QString& metric) const {
  for (size_t i = 0; i < rows_.size(); ++i)
    if (rows_[i].metric == metric) return static_cast<int>(i);
  return -1;
}

double ThresholdPanel::sliderValue(int i, int position) const {
  const Row& r = rows_.at(static_cast<size_t>(i));
  if (r.integral) return position;
  return r.lo + (r.hi - r.lo) * position / double(kSteps);
}

int ThresholdPanel::sliderPosition(const Row& r, double v) const {
  if (r.integral) return static_cast<int>(std::lround(v));
  return static_cast<int>(std::lround((v - r.lo) / (r.hi - r.lo) * kSteps));
}

void ThresholdPanel::rebuild() {
  for (auto& r : rows_) {
    delete r.label;
    delete r.slider;
    delete r.spin;
  }
  rows_.clear();
  const auto& thresholds = model_->preset().thresholds;
  for (size_t i = 0; i < thresholds.size(); ++i) {
    const auto& t = thresholds[i];
    Row r;
    r.metric = QString::fromStdString(t.metric);
    // The span of the set's values and the threshold.
    const std::vector<double> values = model_->values(t.metric);
    double lo = t.value, hi = t.value;
    bool integral = std::floor(t.value) == t.value;
    for (double v : values) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      integral = integral && std::floor(v) == v;
    }
    // Counts and flags (people_max, subtitle_over_face_or_hands) step by one.
    r.integral = integral && (t.op == "==" || t.op == "!=" || t.metric == "people_max");
    if (r.integral) {
      lo = std::floor(lo) - (hi - lo < 1 ? 1 : 0);
      hi = std::ceil(hi) + 1;
    } else {
      const double pad = hi > lo ? (hi - lo) * 0.1 : std::max(1.0, std::abs(hi) * 0.5);
      lo -= pad;
      hi += pad;
      const bool nonNegative = t.value >= 0 && std::all_of(values.begin(), values.end(), [](double v) { return v >= 0; });
      if (lo < 0 && nonNegative) lo = 0;  // a non-negative metric's slider starts at 0
    }
    r.lo = lo;
    r.hi = hi;
    // The metric's name gives way (elided, whole in the tooltip) before the slider does.
    auto* label = new ElidedLabel(this, Qt::ElideMiddle);
    label->setFullText(QString::fromStdString(t.metric + " " + t.op));
    label->setMinimumWidth(fontMetrics().horizontalAdvance("people_max ==") + 4);
    // Preferred, not ElidedLabel's Ignored: QGridLayout gives an Ignored column no width at all
    // and the names were painted under the sliders.
    label->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
    r.label = label;
    r.slider = new QSlider(Qt::Horizontal, this);
    r.slider->setMinimumWidth(kSliderMinWidth);
    r.slider->setObjectName("threshold_" + r.metric);
    r.slider->setRange(r.integral ? int(lo) : 0, r.integral ? int(hi) : kSteps);
    r.spin = new QDoubleSpinBox(this);
    r.spin->setObjectName("thresholdValue_" + r.metric);
    r.spin->setRange(std::min(lo, t.value) - 1e6, std::max(hi, t.value) + 1e6);
    r.spin->setDecimals(r.integral ? 0 : 3);
    r.spin->setSingleStep(r.integral ? 1.0 : (hi - lo) / 100.0);
    r.spin->setValue(t.value);
    // Wide enough for the values of the set, not for the ±1e6 range that only keeps typing free.
    r.spin->setMaximumWidth(fontMetrics().horizontalAdvance("-00000.000") + 40);
    r.slider->setValue(sliderPosition(r, t.value));
    r.slider->setToolTip(tr("%1 over this set spans %2 … %3 (%4 clips with a value)")
                             .arg(r.metric)
                             .arg(values.empty() ? NAN : *std::min_element(values.begin(), values.end()))
                             .arg(values.empty() ? NAN : *std::max_element(values.begin(), values.end()))
                             .arg(values.size()));
    const int row = static_cast<int>(i);
    grid_->addWidget(r.label, row, 0);
    grid_->addWidget(r.slider, row, 1);
    grid_->addWidget(r.spin, row, 2);
    QSlider* slider = r.slider;
    QDoubleSpinBox* spin = r.spin;
    connect(slider, &QSlider::valueChanged, this, [this, row, spin](int pos) {
      const double v = sliderValue(row, pos);
      spin->blockSignals(true);
      spin->setValue(v);
      spin->blockSignals(false);
      model_->setThresholdValue(row, spin->value());  // as shown (rounded to the spin's decimals)
    });
    connect(spin, &QDoubleSpinBox::valueChanged, this, [this, row, slider](double v) {
      slider->blockSignals(true);
      slider->setValue(sliderPosition(rows_[static_cast<size_t>(row)], v));
      slider->blockSignals(false);
      model_->setThresholdValue(row, v);
    });
    ignoreWheelUnlessFocusedOn(r.slider);
    ignoreWheelUnlessFocusedOn(r.spin);
    rows_.push_back(r);
  }
}

}  // namespace s2v::ui
