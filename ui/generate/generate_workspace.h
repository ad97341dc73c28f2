#pragma once
// The Generate workspace: portrait + audio by drag-and-drop, file dialogs or the microphone; the
// audio's waveform with trim handles and playback of the trimmed range; prompt and negative
// prompt; an optional pose video; the checkpoint folder; every generation setting with the
// official defaults; an estimate of frames, duration and memory; Render (Ctrl+R) through the job
// queue; a preview of each finished clip as it arrives; Export MP4 / PNG sequence.
// The widgets edit a GenerateParams (params()); everything slow runs on a worker.

#include <QImage>
#include <QWidget>

#include "core/generate/generate_params.h"

class QAudioOutput;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QMediaPlayer;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QToolButton;

namespace s2v::ui {

class AudioRecorderPanel;
class DropArea;
class FrameView;
class JobQueueAdapter;
class ModelPanel;
class PosePanel;
class PreviewPlayer;
class WaveformView;
struct JobUpdate;
struct ProbedInput;

// The inputs the workspace holds (tests poke at them).
struct GenerateInputs {
  QString portrait;
  QString audio;
  QString prompt;
  QString negativePrompt;
};

class GenerateWorkspace : public QWidget {
  Q_OBJECT
 public:
  GenerateWorkspace(JobQueueAdapter* jobs, QWidget* parent = nullptr);
  ~GenerateWorkspace() override;

  const GenerateInputs& inputs() const { return inputs_; }
  // Everything the widgets say, as the job would get it (ckpt_dir, trim, settings, inputs).
  generate::GenerateParams params() const;
  // Puts params into the widgets (inputs excepted: portrait/audio/pose are dropped, not restored).
  void setParams(const generate::GenerateParams& p);

  QString message() const;
  QStringList previews() const;
  QString clipsText() const;        // "3 clips · 14.8 s of video"
  int plannedClips() const;         // clips the render will make (0 without audio)
  QString estimateText() const;
  QString frameSizeText() const;    // "832×480" from the portrait and the size preset
  double audioDuration() const { return audioDuration_; }
  QString renderJobId() const { return renderJob_; }
  QString lastOutput() const { return lastOutput_; }

  WaveformView* waveform() const { return waveform_; }
  AudioRecorderPanel* recorder() const { return recorder_; }
  ModelPanel* model() const { return model_; }
  PosePanel* pose() const { return pose_; }
  PreviewPlayer* preview() const { return preview_; }

  static constexpr const char* kSettingsKey = "generate/params";

 public slots:
  void addFiles(const QStringList& paths);  // classifies each file, then sets portrait / audio
  void choosePortrait();                    // Ctrl+I
  void chooseAudio();                       // Ctrl+U
  void render();                            // Ctrl+R
  void runTestPattern();
  void exportVideo();                       // Ctrl+E: asks where, then exportVideoTo
  void exportPngSequence();                 // Ctrl+Shift+E: asks where, then exportPngSequenceTo
  void exportVideoTo(const QString& dest);  // copy to "<dest>.part", rename (on a worker)
  void exportPngSequenceTo(const QString& folder);
  void rollSeed();                          // Ctrl+D
  void playTrimmedAudio();                  // Ctrl+Shift+A
  void saveSettings() const;                // also done at each render and on destruction
  void restoreSettings();
  // Preview, progress and export follow this job (the job dock's selection): its finished clips,
  // its output when done. Curations and unknown IDs are ignored.
  void showJob(const QString& id);

 signals:
  void inputsChanged();
  void inputRejected(const QString& message);
  void previewAdded(const QString& path);
  void renderStarted(const QString& jobId);
  void renderFinished(const QString& output);
  void renderFailed(const QString& message);
  void exported(const QString& path, bool ok, const QString& message);
  void estimateChanged();

 private:
  void apply(const ProbedInput& p);
  void setAudio(const QString& path, double duration_s, const QString& summary);
  void showMessage(const QString& text, bool error);
  void onPreview(const QString& jobId, const QString& path);
  void onJobChanged(const JobUpdate& u);
  void onJobProgress(const JobUpdate& u);
  void onTrimChanged(double start_s, double end_s);
  void updateEstimate();
  void checkPortrait(const QString& path);  // the curation detectors on the portrait, off the GUI thread
  QWidget* buildSettings();

  JobQueueAdapter* jobs_;
  GenerateInputs inputs_;
  QSize portraitSize_;
  double audioDuration_ = 0, trimStart_ = 0, trimEnd_ = 0;
  quint64 audioRequest_ = 0;
  quint64 portraitRequest_ = 0;
  // Files of the current addFiles() batches still being probed, and why any of them was refused:
  // the refusal stays on screen even when an accepted file of the same batch is probed later.
  int probing_ = 0;
  QStringList rejections_;

  DropArea* portraitArea_;
  DropArea* audioArea_;
  FrameView* portraitCheck_;
  QLabel* portraitFindings_;
  QLabel* message_;
  WaveformView* waveform_;
  QLabel* trimLabel_;
  QLabel* clipsLabel_;
  QPushButton* playTrim_;
  QMediaPlayer* audioPlayer_;
  QAudioOutput* audioOutput_ = nullptr;
  AudioRecorderPanel* recorder_;
  PosePanel* pose_;
  QPlainTextEdit* prompt_;
  QPlainTextEdit* negative_;
  ModelPanel* model_;
  QComboBox* size_;
  QLabel* sizeResult_;
  QSpinBox* steps_;
  QDoubleSpinBox* shift_;
  QDoubleSpinBox* guide_;
  QComboBox* solver_;
  QSpinBox* seed_;
  QToolButton* dice_;
  QSpinBox* clips_;
  QSpinBox* inferFrames_;
  QComboBox* device_;
  QComboBox* dtype_;
  QCheckBox* offloadModel_;
  QCheckBox* offloadBlocks_;
  QDoubleSpinBox* vram_;
  QCheckBox* initFirstFrame_;
  QLabel* estimate_;
  QPushButton* render_;
  QPushButton* testPattern_;
  QProgressBar* progress_;
  QLabel* progressLabel_;
  PreviewPlayer* preview_;
  QPushButton* exportMp4_;
  QPushButton* exportPng_;
  QString lastOutput_;
  QString renderJob_;
  QString testPatternJob_;
};

}  // namespace s2v::ui
