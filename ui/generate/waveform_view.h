#pragma once
// The audio's waveform (min/max per bucket) with two draggable trim handles and a play head.
// The trim is in seconds of the file; dragging a handle emits trimChanged. Left/Right move the
// start handle by 0.1 s, Shift+Left/Right the end handle (for keyboard users and tests).

#include <QVector>
#include <QWidget>

namespace s2v::ui {

class WaveformView : public QWidget {
  Q_OBJECT
 public:
  enum class Handle { None, Start, End };

  explicit WaveformView(QWidget* parent = nullptr);

  // min/max per bucket in [-1, 1] over `duration_s` seconds of audio; the trim resets to all of it.
  void setWaveform(const QVector<float>& min, const QVector<float>& max, double duration_s);
  void clear();
  bool hasWaveform() const { return duration_ > 0; }

  double duration() const { return duration_; }
  double trimStart() const { return start_; }
  double trimEnd() const { return end_; }
  void setTrim(double start_s, double end_s);  // clamped; keeps at least kMinSpan between them
  void setPlayhead(double seconds);            // < 0 hides it

  // Pixel x of a time and back (tests drag handles with these).
  int xForTime(double seconds) const;
  double timeForX(double x) const;

  static constexpr double kMinSpan = 0.2;  // seconds

  QSize sizeHint() const override { return {480, 90}; }
  QSize minimumSizeHint() const override { return {160, 60}; }

 signals:
  void trimChanged(double start_s, double end_s);  // while dragging and after
  void trimFinished(double start_s, double end_s); // when a drag ends

 protected:
  void paintEvent(QPaintEvent* e) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void keyPressEvent(QKeyEvent* e) override;

 private:
  Handle handleAt(double x) const;
  QVector<float> min_, max_;
  double duration_ = 0, start_ = 0, end_ = 0, playhead_ = -1;
  Handle dragging_ = Handle::None;
};

}  // namespace s2v::ui
