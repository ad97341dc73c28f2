#pragma once
// Records speech from a microphone into the app data folder (QMediaCaptureSession + QAudioInput +
// QMediaRecorder, WAV where the backend encodes it, else Ogg/Opus), with a device picker and a
// live level meter (a QAudioSource on the same device). Without any input device the record
// button is disabled and a sentence says why; plugging one in enables it.

#include <QAudioDevice>
#include <QList>
#include <QWidget>

class QAudioInput;
class QAudioSource;
class QComboBox;
class QIODevice;
class QLabel;
class QMediaCaptureSession;
class QMediaDevices;
class QMediaRecorder;
class QProgressBar;
class QPushButton;

namespace s2v::ui {

class AudioRecorderPanel : public QWidget {
  Q_OBJECT
 public:
  explicit AudioRecorderPanel(QWidget* parent = nullptr);
  ~AudioRecorderPanel() override;

  bool isRecording() const;
  QString status() const;                  // the sentence under the buttons
  static QString recordingsFolder();       // <AppDataLocation>/recordings (S2V_DATA_DIR overrides)

 public slots:
  void toggleRecording();                  // Ctrl+Shift+M
  // Shows these input devices (the real list comes from QMediaDevices; tests pass an empty one).
  void refreshDevices(const QList<QAudioDevice>& devices);

 signals:
  void recorded(const QString& path);      // a finished recording, ready to use as the audio
  void recordingChanged(bool recording);

 private:
  void start();
  void stop();
  void startLevelMeter(const QAudioDevice& device);
  void stopLevelMeter();
  void readLevel();
  void setStatus(const QString& text, bool error);

  QMediaDevices* devices_;
  QComboBox* deviceBox_;
  QPushButton* record_;
  QProgressBar* level_;
  QLabel* status_;
  QMediaCaptureSession* session_ = nullptr;
  QAudioInput* input_ = nullptr;
  QMediaRecorder* recorder_ = nullptr;
  QAudioSource* meter_ = nullptr;
  QIODevice* meterIo_ = nullptr;
  QList<QAudioDevice> inputs_;
};

}  // namespace s2v::ui
