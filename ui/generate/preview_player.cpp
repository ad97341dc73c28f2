#include "ui/generate/preview_player.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui/curate/clip_viewer.h"
#include "ui/widgets/frame_playback.h"

namespace s2v::ui {

namespace {
constexpr int kPathRole = Qt::UserRole + 1;
}

PreviewPlayer::PreviewPlayer(QWidget* parent) : QWidget(parent) {
  setObjectName("previewPlayer");
  video_ = new FrameView(this);
  video_->setObjectName("previewVideo");
  video_->setMinimumSize(240, 180);  // fits beside the form at 1024×640
  player_ = new FramePlayback(this);  // no output device: plays silently
  connect(player_, &FramePlayback::frameReady, video_, [this](const QImage& image, double) { video_->setFrame(image); });
  list_ = new QListWidget(this);
  list_->setObjectName("previewList");
  list_->setMaximumHeight(130);
  list_->setToolTip(tr("Finished clips of the current render: click one to play it"));
  playAll_ = new QPushButton(tr("Play all so far"), this);
  playAll_->setObjectName("playAll");
  playAll_->setToolTip(tr("Play every finished clip in order (Ctrl+Shift+P)"));
  playAll_->setEnabled(false);
  pause_ = new QPushButton(tr("Pause"), this);
  pause_->setObjectName("pausePreview");
  pause_->setToolTip(tr("Pause or resume the preview"));
  auto* row = new QHBoxLayout;
  row->addWidget(playAll_);
  row->addWidget(pause_);
  row->addStretch(1);
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(0, 0, 0, 0);
  l->addWidget(video_, 1);
  l->addLayout(row);
  l->addWidget(list_);
  connect(list_, &QListWidget::itemActivated, this, [this](QListWidgetItem* it) {
    playlistPos_ = -1;
    play(it->data(kPathRole).toString());
  });
  connect(list_, &QListWidget::itemClicked, this, [this](QListWidgetItem* it) {
    playlistPos_ = -1;
    play(it->data(kPathRole).toString());
  });
  connect(playAll_, &QPushButton::clicked, this, &PreviewPlayer::playAll);
  connect(pause_, &QPushButton::clicked, this, &PreviewPlayer::togglePause);
  connect(player_, &FramePlayback::finished, this, &PreviewPlayer::onEndOfMedia);
  connect(player_, &FramePlayback::playingChanged, this,
          [this](bool on) { pause_->setText(on ? tr("Pause") : tr("Play")); });
}

void PreviewPlayer::clear() {
  player_->setSource({});
  video_->setFrame({});
  list_->clear();
  clips_.clear();
  final_.clear();
  playlistPos_ = -1;
  playAll_->setEnabled(false);
}

void PreviewPlayer::addClip(const QString& path) {
  clips_ << path;
  auto* it = new QListWidgetItem(tr("Clip %1 — %2").arg(clips_.size()).arg(QFileInfo(path).fileName()), list_);
  it->setData(kPathRole, path);
  it->setToolTip(path);
  playAll_->setEnabled(true);
  // Show the first clip at once; later ones wait until nothing else is playing.
  if (!player_->playing()) {
    list_->setCurrentItem(it);
    play(path);
  }
}

void PreviewPlayer::setFinal(const QString& path) {
  final_ = path;
  auto* it = new QListWidgetItem(tr("Final video — %1").arg(QFileInfo(path).fileName()), list_);
  it->setData(kPathRole, path);
  it->setToolTip(path);
  QFont f = it->font();
  f.setBold(true);
  it->setFont(f);
  if (playlistPos_ < 0 && !player_->playing()) {
    list_->setCurrentItem(it);
    play(path);
  }
}

QString PreviewPlayer::currentSource() const { return player_->source(); }

void PreviewPlayer::play(const QString& path) {
  if (path.isEmpty()) return;
  player_->setSource(path);
  player_->play();
  emit playing(path);
}

void PreviewPlayer::playAll() {
  if (clips_.isEmpty()) return;
  playlistPos_ = 0;
  list_->setCurrentRow(0);
  play(clips_.first());
}

void PreviewPlayer::togglePause() {
  player_->togglePlay();
}

void PreviewPlayer::onEndOfMedia() {
  if (playlistPos_ < 0) return;
  if (++playlistPos_ >= clips_.size()) {  // clips that arrived while playing are included
    playlistPos_ = -1;
    return;
  }
  list_->setCurrentRow(playlistPos_);
  play(clips_[playlistPos_]);
}

}  // namespace s2v::ui
