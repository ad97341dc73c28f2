#include "ui/generate/drop_area.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QLabel>
#include <QMimeData>
#include <QMouseEvent>
#include <QUrl>
#include <QVBoxLayout>

namespace s2v::ui {

DropArea::DropArea(const QString& placeholder, QWidget* parent)
    : QFrame(parent), placeholder_(placeholder) {
  setAcceptDrops(true);
  setFrameShape(QFrame::StyledPanel);
  setMinimumSize(140, 90);
  setCursor(Qt::PointingHandCursor);
  image_ = new QLabel(this);
  image_->setAlignment(Qt::AlignCenter);
  image_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored);  // the pixmap never sets the size
  caption_ = new QLabel(placeholder_, this);
  caption_->setAlignment(Qt::AlignCenter);
  caption_->setWordWrap(true);
  auto* l = new QVBoxLayout(this);
  l->addWidget(image_, 1);
  l->addWidget(caption_);
}

void DropArea::setThumbnail(const QPixmap& pixmap, const QString& caption) {
  pixmap_ = pixmap;
  image_->setVisible(!pixmap.isNull());
  showPixmap();
  caption_->setText(caption);
}

void DropArea::clear() {
  pixmap_ = {};
  image_->clear();
  image_->show();
  caption_->setText(placeholder_);
}

void DropArea::resizeEvent(QResizeEvent* e) {
  QFrame::resizeEvent(e);
  showPixmap();
}

void DropArea::showPixmap() {
  if (pixmap_.isNull()) {
    image_->clear();
    return;
  }
  const QSize room = image_->size().boundedTo(QSize(400, 300)).expandedTo(QSize(16, 16));
  image_->setPixmap(pixmap_.scaled(room, Qt::KeepAspectRatio, Qt::SmoothTransformation));
}

void DropArea::dragEnterEvent(QDragEnterEvent* e) {
  if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void DropArea::dropEvent(QDropEvent* e) {
  QStringList paths;
  for (const QUrl& u : e->mimeData()->urls())
    if (u.isLocalFile()) paths << u.toLocalFile();
  if (paths.isEmpty()) return;
  e->acceptProposedAction();
  emit filesDropped(paths);
}

void DropArea::mouseReleaseEvent(QMouseEvent* e) {
  if (e->button() == Qt::LeftButton) emit clicked();
}

}  // namespace s2v::ui
