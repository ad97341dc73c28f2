#pragma once
// The render's preview: every finished clip of the current job listed as it arrives (click one to
// play it), "Play all so far" plays the clips in order (a playlist advanced on EndOfMedia), and
// the final MP4 once the job is done. Frames and sound come from FramePlayback (FFmpeg on a
// worker thread), never from Qt's media backend, so loading a clip cannot freeze the window.

#include <QStringList>
#include <QWidget>

class QListWidget;
class QPushButton;

namespace s2v::ui {

class FramePlayback;
class FrameView;

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
  FramePlayback* player() const { return player_; }
  FrameView* view() const { return video_; }

 public slots:
  void play(const QString& path);
  void playAll();                        // every clip so far, in order
  void togglePause();

 signals:
  void playing(const QString& path);

 private:
  void onEndOfMedia();
  QListWidget* list_;
  FrameView* video_;
  FramePlayback* player_;
  QPushButton* playAll_;
  QPushButton* pause_;
  QStringList clips_;
  QString final_;
  int playlistPos_ = -1;
};

}  // namespace s2v::ui
