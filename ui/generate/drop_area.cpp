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
  setMinimumSize(220, 160);
  setCursor(Qt::PointingHandCursor);
  image_ = new QLabel(this);
  image_->setAlignment(Qt::AlignCenter);
  caption_ = new QLabel(placeholder_, this);
  caption_->setAlignment(Qt::AlignCenter);
  caption_->setWordWrap(true);
  auto* l = new QVBoxLayout(this);
  l->addWidget(image_, 1);
  l->addWidget(caption_);
}

void DropArea::setThumbnail(const QPixmap& pixmap, const QString& caption) {
  image_->setPixmap(pixmap.scaled(200, 140, Qt::KeepAspectRatio, Qt::SmoothTransformation));
  caption_->setText(caption);
}

void DropArea::clear() {
  image_->clear();
  caption_->setText(placeholder_);
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
