#pragma once
// The clip viewer: the clip's frames and sound (ui/widgets/frame_playback.h: decoded off the GUI
// thread with core/media's VideoReader)
// with the overlays of the nearest sampled frame (people, face, hand and text boxes, the face
// sharpness next to each face box), play/pause and a position slider, and under the video a
// QtCharts line plot of every per-frame series with a cursor at the current time.

#include <QImage>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QWidget>
#include <map>
#include <memory>
#include <optional>

#include "core/curation/scores.h"

class QChartView;
class QLabel;
class QLineSeries;
class QPushButton;
class QSlider;
class QVBoxLayout;

namespace s2v::ui {

class FramePlayback;

// Paints the frame scaled to fit, and the overlays mapped from working-resolution pixels.
class FrameView : public QWidget {
  Q_OBJECT
 public:
  static QColor peopleColour() { return {0, 160, 255}; }
  static QColor faceColour() { return {0, 230, 0}; }
  static QColor handColour() { return {255, 150, 0}; }
  static QColor textColour() { return {255, 0, 255}; }

  explicit FrameView(QWidget* parent = nullptr);
  void setFrame(const QImage& image) { image_ = image; update(); }
  // workingSize: the size the overlay boxes are measured in (576 px on the long side).
  void setOverlay(std::optional<curation::FrameOverlay> overlay, double faceSharpness, QSizeF workingSize);
  const QImage& image() const { return image_; }
  const std::optional<curation::FrameOverlay>& overlay() const { return overlay_; }
  QSize sizeHint() const override { return {480, 320}; }

 protected:
  void paintEvent(QPaintEvent*) override;

 private:
  QImage image_;
  std::optional<curation::FrameOverlay> overlay_;
  double faceSharpness_ = 0.0;  // NaN = n/a
  QSizeF working_;
};

class ClipViewer : public QWidget {
  Q_OBJECT
 public:
  explicit ClipViewer(QWidget* parent = nullptr);
  ~ClipViewer() override;
  static constexpr int kSeekMinWidth = 160;

  void setClip(const curation::ClipScores& clip);
  const curation::ClipScores& clip() const { return clip_; }
  double position() const { return position_; }
  double duration() const { return duration_; }
  bool playing() const;
  // Index of the sampled frame whose overlays are drawn (-1 when the clip has none).
  int overlayIndex() const { return overlayIndex_; }

  FrameView* frameView() const { return frame_; }
  FramePlayback* playback() const { return playback_; }
  QStringList chartNames() const;
  int chartPoints(const QString& series) const;  // points plotted (finite values)
  double cursorTime(const QString& series) const;
  QChartView* chart(const QString& series) const;
  QSlider* seekSlider() const { return slider_; }

 public slots:
  void setPosition(double t);
  void play();
  void pause();
  void togglePlay();

 signals:
  void frameShown(double t);        // a decoded frame (and its overlays) is on screen
  void frameFailed(const QString& error);

 private:
  struct Plot {
    QChartView* view = nullptr;
    QLineSeries* line = nullptr;
    QLineSeries* cursor = nullptr;
    double ymin = 0.0, ymax = 1.0;
  };
  void showPosition(double t);  // slider, time, chart cursors, overlay
  void buildCharts();
  void updateOverlay();

  curation::ClipScores clip_;
  double position_ = 0.0;
  double duration_ = 0.0;
  int overlayIndex_ = -1;
  FrameView* frame_;
  QPushButton* playButton_;
  QSlider* slider_;
  QLabel* timeLabel_;
  QLabel* title_;
  QWidget* chartsBox_;
  QVBoxLayout* chartsLayout_;
  std::map<QString, Plot> plots_;
  FramePlayback* playback_;
};

}  // namespace s2v::ui
