#include "ui/generate/pose_panel.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include "core/media/probe.h"
#include "core/media/video_reader.h"
#include "ui/generate/async.h"
#include "ui/generate/drop_area.h"

namespace s2v::ui {

PosePanel::PosePanel(QWidget* parent) : QWidget(parent) {
  setObjectName("posePanel");
  drop_ = new DropArea(tr("Optional: drop a pose video (DWPose skeleton) here"), this);
  drop_->setObjectName("poseDrop");
  drop_->setMinimumSize(160, 60);
  drop_->setToolTip(tr("A skeleton video that drives the body pose . Click to choose one."));
  strip_ = new QListWidget(this);
  strip_->setObjectName("poseStrip");
  strip_->setViewMode(QListView::IconMode);
  strip_->setFlow(QListView::LeftToRight);
  strip_->setWrapping(false);
  strip_->setIconSize(QSize(72, 72));
  strip_->setFixedHeight(96);
  strip_->setMovement(QListView::Static);
  strip_->hide();
  clear_ = new QPushButton(tr("Remove pose"), this);
  clear_->setObjectName("clearPose");
  clear_->setToolTip(tr("Render without a pose video"));
  clear_->hide();
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(0, 0, 0, 0);
  l->addWidget(drop_);
  l->addWidget(strip_);
  l->addWidget(clear_, 0, Qt::AlignRight);
  connect(drop_, &DropArea::filesDropped, this, [this](const QStringList& p) { setVideo(p.first()); });
  connect(drop_, &DropArea::clicked, this, &PosePanel::chooseVideo);
  connect(clear_, &QPushButton::clicked, this, [this] { setVideo({}); });
}

int PosePanel::thumbnailCount() const { return strip_->count(); }

void PosePanel::chooseVideo() {
  const QString f = QFileDialog::getOpenFileName(this, tr("Choose a pose video"), {},
                                                 tr("Video (*.mp4 *.mov *.mkv *.avi *.webm);;All files (*)"));
  if (!f.isEmpty()) setVideo(f);
}

void PosePanel::setVideo(const QString& path) {
  const quint64 request = ++request_;
  if (path.isEmpty()) {
    video_.clear();
    strip_->clear();
    strip_->hide();
    clear_->hide();
    drop_->clear();
    emit videoChanged({});
    return;
  }
  runOffGuiThread(
      this,
      [path]() {
        Loaded r;
        const QString name = QFileInfo(path).fileName();
        try {
          const std::filesystem::path file = path.toStdString();
          const media::MediaInfo info = media::probe(file);
          if (info.kind != media::MediaKind::Video) {
            r.error = QObject::tr("'%1' is not a video: the pose input is a skeleton video (DWPose drawing); drop "
                                  "one, or leave it empty.").arg(name);
            return r;
          }
          const int64_t n = std::max<int64_t>(1, media::count_frames(file));
          std::vector<int64_t> idx;
          for (int i = 0; i < kThumbnails && i < n; ++i) idx.push_back(n <= 1 ? 0 : i * (n - 1) / (kThumbnails - 1));
          idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
          for (const media::RgbFrame& f : media::read_frames(file, idx)) {
            QImage img(f.rgb.data(), f.width, f.height, f.stride(), QImage::Format_RGB888);
            r.frames << img.scaled(144, 144, Qt::KeepAspectRatio, Qt::SmoothTransformation).copy();  // owns its pixels
          }
          r.summary = QObject::tr("%1 · %2×%3, %4 frames, %5 s")
                          .arg(name).arg(info.width).arg(info.height).arg(n).arg(info.duration_s, 0, 'f', 1);
        } catch (const std::exception& e) {
          r.error = QObject::tr("'%1' was rejected (%2): choose another pose video.").arg(name, QString::fromUtf8(e.what()));
        }
        return r;
      },
      [this, path, request](const Loaded& r) {
        if (request != request_) return;
        if (!r.error.isEmpty()) {
          emit rejected(r.error);
          return;
        }
        video_ = path;
        strip_->clear();
        for (int i = 0; i < r.frames.size(); ++i) {
          auto* item = new QListWidgetItem(QIcon(QPixmap::fromImage(r.frames[i])), QString());
          strip_->addItem(item);
        }
        strip_->show();
        clear_->show();
        drop_->setThumbnail(r.frames.isEmpty() ? QPixmap() : QPixmap::fromImage(r.frames.first()), r.summary);
        emit videoChanged(path);
        emit thumbnailsReady(int(r.frames.size()));
      });
}

}  // namespace s2v::ui
