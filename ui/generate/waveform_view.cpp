#include "ui/generate/waveform_view.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <algorithm>
#include <cmath>

namespace s2v::ui {

namespace {
constexpr int kMargin = 6;        // pixels left and right, so handles at the ends can be grabbed
constexpr int kGrabDistance = 8;  // pixels around a handle that grab it
}  // namespace

WaveformView::WaveformView(QWidget* parent) : QWidget(parent) {
  setFocusPolicy(Qt::StrongFocus);
  setMouseTracking(true);
  setToolTip(tr("Drag the two handles to choose the part of the audio to animate.\n"
                "Keys: Left/Right move the start, Shift+Left/Right the end."));
}

void WaveformView::setWaveform(const QVector<float>& min, const QVector<float>& max, double duration_s) {
  min_ = min;
  max_ = max;
  duration_ = std::max(0.0, duration_s);
  start_ = 0;
  end_ = duration_;
  playhead_ = -1;
  update();
}

void WaveformView::clear() { setWaveform({}, {}, 0); }

void WaveformView::setTrim(double start_s, double end_s) {
  if (duration_ <= 0) return;
  const double span = std::min(kMinSpan, duration_);
  start_s = std::clamp(start_s, 0.0, duration_ - span);
  end_s = std::clamp(end_s, start_s + span, duration_);
  if (start_s == start_ && end_s == end_) return;
  start_ = start_s;
  end_ = end_s;
  update();
  emit trimChanged(start_, end_);
}

void WaveformView::setPlayhead(double seconds) {
  playhead_ = seconds;
  update();
}

int WaveformView::xForTime(double seconds) const {
  if (duration_ <= 0) return kMargin;
  return kMargin + int(std::lround(seconds / duration_ * (width() - 2 * kMargin)));
}

double WaveformView::timeForX(double x) const {
  const double w = std::max(1, width() - 2 * kMargin);
  return std::clamp((x - kMargin) / w, 0.0, 1.0) * duration_;
}

WaveformView::Handle WaveformView::handleAt(double x) const {
  if (duration_ <= 0) return Handle::None;
  const double ds = std::abs(x - xForTime(start_)), de = std::abs(x - xForTime(end_));
  if (std::min(ds, de) > kGrabDistance) return Handle::None;
  return ds <= de ? Handle::Start : Handle::End;
}

void WaveformView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().base());
  const int h = height(), mid = h / 2;
  if (duration_ <= 0 || min_.isEmpty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(rect(), Qt::AlignCenter, tr("No audio yet"));
    return;
  }
  const int x0 = xForTime(start_), x1 = xForTime(end_);
  p.fillRect(QRect(QPoint(x0, 0), QPoint(x1, h)), QColor(60, 140, 220, 40));
  const int n = int(min_.size());
  const int w = width() - 2 * kMargin;
  for (int x = 0; x < w; ++x) {
    // The buckets under this pixel column.
    const int b0 = int(int64_t(x) * n / w), b1 = std::max(b0 + 1, int(int64_t(x + 1) * n / w));
    float lo = 0, hi = 0;
    for (int b = b0; b < std::min(b1, n); ++b) lo = std::min(lo, min_[b]), hi = std::max(hi, max_[b]);
    const int px = kMargin + x;
    const bool inside = px >= x0 && px <= x1;
    p.setPen(inside ? QColor(40, 110, 200) : QColor(150, 150, 150));
    p.drawLine(px, mid - int(hi * (mid - 2)), px, mid - int(lo * (mid - 2)));
  }
  p.setPen(QPen(QColor(230, 120, 0), 2));
  p.drawLine(x0, 0, x0, h);
  p.drawLine(x1, 0, x1, h);
  p.setBrush(QColor(230, 120, 0));
  p.drawRect(x0 - 3, 0, 6, 10);
  p.drawRect(x1 - 3, h - 10, 6, 10);
  if (playhead_ >= 0) {
    p.setPen(QPen(Qt::red, 1));
    const int xp = xForTime(playhead_);
    p.drawLine(xp, 0, xp, h);
  }
  if (hasFocus()) {
    p.setPen(QPen(palette().color(QPalette::Highlight), 1, Qt::DotLine));
    p.setBrush(Qt::NoBrush);
    p.drawRect(rect().adjusted(0, 0, -1, -1));
  }
}

void WaveformView::mousePressEvent(QMouseEvent* e) {
  if (e->button() != Qt::LeftButton) return;
  dragging_ = handleAt(e->position().x());
  if (dragging_ == Handle::None && duration_ > 0) {
    // A click elsewhere moves the nearer handle there.
    const double t = timeForX(e->position().x());
    dragging_ = std::abs(t - start_) <= std::abs(t - end_) ? Handle::Start : Handle::End;
    mouseMoveEvent(e);
  }
}

void WaveformView::mouseMoveEvent(QMouseEvent* e) {
  if (dragging_ == Handle::None) {
    setCursor(handleAt(e->position().x()) == Handle::None ? Qt::ArrowCursor : Qt::SizeHorCursor);
    return;
  }
  const double t = timeForX(e->position().x());
  if (dragging_ == Handle::Start) setTrim(t, end_);
  else setTrim(start_, t);
}

void WaveformView::mouseReleaseEvent(QMouseEvent* e) {
  if (e->button() != Qt::LeftButton || dragging_ == Handle::None) return;
  dragging_ = Handle::None;
  emit trimFinished(start_, end_);
}

void WaveformView::keyPressEvent(QKeyEvent* e) {
  const double step = (e->key() == Qt::Key_Left ? -0.1 : e->key() == Qt::Key_Right ? 0.1 : 0.0);
  if (step == 0.0 || duration_ <= 0) return QWidget::keyPressEvent(e);
  if (e->modifiers() & Qt::ShiftModifier) setTrim(start_, end_ + step);
  else setTrim(start_ + step, end_);
  emit trimFinished(start_, end_);
}

}  // namespace s2v::ui
