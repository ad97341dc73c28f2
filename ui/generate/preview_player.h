#pragma once
// The render's preview: every finished clip of the current job listed as it arrives (click one to
// play it), "Play all so far" plays the clips in order (a playlist advanced on EndOfMedia), and
// the final MP4 once the job is done.

#include <QStringList>
#include <QWidget>

class QAudioOutput;
class QListWidget;
class QListWidgetItem;
class QMediaPlayer;
class QPushButton;
class QVideoWidget;

namespace s2v::ui {

class PreviewPlayer : public QWidget {
  Q_OBJECT
 public:
  explicit PreviewPlayer(QWidget* parent = nullptr);

  void clear();                          // a new render starts
  void addClip(const QString& path);     // a finished clip
  void setFinal(const QString& path);    // the finished job's MP4
  QStringList clips() const { return clips_; }
  QString finalVideo() const { return final_; }
  QString currentSource() const;         // what the player has loaded
  int playlistPosition() const { return playlistPos_; }  // -1 when not playing the playlist
  QMediaPlayer* player() const { return player_; }

 public slots:
  void play(const QString& path);
  void playAll();                        // every clip so far, in order
  void togglePause();

 signals:
  void playing(const QString& path);

 private:
  void onEndOfMedia();
  QListWidget* list_;
  QVideoWidget* video_;
  QMediaPlayer* player_;
  QAudioOutput* audio_ = nullptr;
  QPushButton* playAll_;
  QPushButton* pause_;
  QStringList clips_;
  QString final_;
  int playlistPos_ = -1;
};

}  // namespace s2v::ui
