#include "ui/generate/preview_player.h"

#include <QAudioDevice>
#include <QAudioOutput>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QListWidget>
#include <QMediaDevices>
#include <QMediaPlayer>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>
#include <QVideoWidget>

namespace s2v::ui {

namespace {
constexpr int kPathRole = Qt::UserRole + 1;
}

PreviewPlayer::PreviewPlayer(QWidget* parent) : QWidget(parent) {
  setObjectName("previewPlayer");
  video_ = new QVideoWidget(this);
  video_->setMinimumSize(240, 180);  // fits beside the form at 1024×640
  player_ = new QMediaPlayer(this);
  player_->setVideoOutput(video_);
  if (!QMediaDevices::audioOutputs().isEmpty()) {  // no output device: play silently
    audio_ = new QAudioOutput(this);
    player_->setAudioOutput(audio_);
  }
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
  connect(player_, &QMediaPlayer::mediaStatusChanged, this, [this](QMediaPlayer::MediaStatus s) {
    if (s == QMediaPlayer::EndOfMedia) onEndOfMedia();
  });
  connect(player_, &QMediaPlayer::playbackStateChanged, this, [this](QMediaPlayer::PlaybackState s) {
    pause_->setText(s == QMediaPlayer::PlayingState ? tr("Pause") : tr("Play"));
  });
}

void PreviewPlayer::clear() {
  player_->stop();
  player_->setSource({});
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
  if (player_->playbackState() != QMediaPlayer::PlayingState) {
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
  if (playlistPos_ < 0 && player_->playbackState() != QMediaPlayer::PlayingState) {
    list_->setCurrentItem(it);
    play(path);
  }
}

QString PreviewPlayer::currentSource() const { return player_->source().toLocalFile(); }

void PreviewPlayer::play(const QString& path) {
  if (path.isEmpty()) return;
  player_->setSource(QUrl::fromLocalFile(path));
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
  if (player_->playbackState() == QMediaPlayer::PlayingState) player_->pause();
  else if (!player_->source().isEmpty()) player_->play();
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
