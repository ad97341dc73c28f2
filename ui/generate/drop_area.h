#pragma once
// A framed area that accepts dropped files (and opens a file dialog when clicked).

#include <QFrame>
#include <QStringList>

class QLabel;

namespace s2v::ui {

class DropArea : public QFrame {
  Q_OBJECT
 public:
  explicit DropArea(const QString& placeholder, QWidget* parent = nullptr);
  // The picture is scaled to the area's size (and again when the area is resized).
  void setThumbnail(const QPixmap& pixmap, const QString& caption);
  void clear();

 signals:
  void filesDropped(const QStringList& paths);
  void clicked();

 protected:
  void dragEnterEvent(QDragEnterEvent* e) override;
  void dropEvent(QDropEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void resizeEvent(QResizeEvent* e) override;

 private:
  void showPixmap();
  QString placeholder_;
  QPixmap pixmap_;
  QLabel* image_;
  QLabel* caption_;
};

}  // namespace s2v::ui
