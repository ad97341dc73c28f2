#pragma once
// The optional pose video (a DWPose skeleton video that drives the body): dropped or chosen,
// probed and shown as a strip of thumbnails of a few evenly spaced frames (decoded on a worker).

#include <QImage>
#include <QVector>
#include <QWidget>

class QLabel;
class QListWidget;
class QPushButton;

namespace s2v::ui {

class DropArea;

class PosePanel : public QWidget {
  Q_OBJECT
 public:
  explicit PosePanel(QWidget* parent = nullptr);

  QString video() const { return video_; }
  int thumbnailCount() const;
  static constexpr int kThumbnails = 6;

 public slots:
  void setVideo(const QString& path);  // empty clears; probed and thumbnailed on a worker
  void chooseVideo();

 signals:
  void videoChanged(const QString& path);  // accepted (or cleared)
  void rejected(const QString& message);
  void thumbnailsReady(int count);

 private:
  struct Loaded {
    QString error;
    QVector<QImage> frames;
    QString summary;
  };
  QString video_;
  quint64 request_ = 0;
  DropArea* drop_;
  QListWidget* strip_;
  QPushButton* clear_;
};

}  // namespace s2v::ui
