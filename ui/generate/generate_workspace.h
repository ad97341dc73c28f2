#pragma once
// The Generate workspace: portrait + audio by drag-and-drop, file dialogs or the microphone; the
// audio's waveform with trim handles and playback of the trimmed range; the portrait check;
// prompt and negative prompt; the model; every generation setting (presets Draft / Final); an
// optional pose video; a preview of each finished clip as it arrives; Export MP4 / PNG sequence.
// A fixed action bar under the form always shows Render, what the render will be (clips, length,
// size, memory, time), the model's label and the last message (why Render refused, an export's
// result), whatever the window size and scroll position.
//
// Responsibilities are split: GenerateState (view-model: state, validation, estimates),
// GenerateSettingsForm (the settings widgets), RenderSession (job submission and tracking),
// Exporter (exports), portrait_check (the detectors on the portrait). This class lays them out
// and wires them.

#include <QWidget>

#include "core/generate/generate_params.h"

class QFrame;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QScrollArea;
class QSplitter;

namespace s2v::ui {

class AudioRecorderPanel;
class DropArea;
class ElidedLabel;
class Exporter;
class FrameView;
class SoundPlayback;
class GenerateSettingsForm;
class GenerateState;
class JobQueueAdapter;
class ModelPanel;
class PosePanel;
class PreviewPlayer;
class RenderSession;
class WaveformView;
struct AppSettings;
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
  // "Use these settings" of the History: the settings, and the inputs when their files exist.
  void useRender(const generate::GenerateParams& p);
  // Settings → Device / Precision / Model folder apply to the form.
  void applyAppSettings(const AppSettings& s);

  QString message() const;          // the action bar's message line
  bool messageIsError() const { return messageError_; }
  QStringList previews() const;
  QString clipsText() const;        // "3 clips · 14.8 s of video"
  int plannedClips() const;         // clips the render will make (0 without audio)
  QString estimateText() const;
  QString frameSizeText() const;    // "→ 832×480" from the portrait and the size preset
  double audioDuration() const;
  QString renderJobId() const;
  QString lastOutput() const;

  GenerateState* state() const { return state_; }
  GenerateSettingsForm* settingsForm() const { return settings_; }
  WaveformView* waveform() const { return waveform_; }
  AudioRecorderPanel* recorder() const { return recorder_; }
  ModelPanel* model() const { return model_; }
  PosePanel* pose() const { return pose_; }
  PreviewPlayer* preview() const { return preview_; }
  QPushButton* renderButton() const { return render_; }
  QScrollArea* formScroll() const { return formScroll_; }
  QWidget* actionBar() const;

  static constexpr const char* kSettingsKey = "generate/params";
  static constexpr const char* kPresetKey = "generate/preset";

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
  void fitClipsToAudio();                   // frames per clip so that the video ends with the audio
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
  void onTrimChanged(double start_s, double end_s);
  void onFormEdited();
  void onModelInspected();
  void updateFromState();
  void checkPortrait(const QString& path);
  QWidget* buildInputs();
  QWidget* buildActionBar();

  JobQueueAdapter* jobs_;
  GenerateState* state_;
  RenderSession* session_;
  Exporter* exporter_;
  GenerateInputs inputs_;
  quint64 audioRequest_ = 0;
  quint64 portraitRequest_ = 0;
  // Files of the current addFiles() batches still being probed, and why any of them was refused:
  // the refusal stays on screen even when an accepted file of the same batch is probed later.
  int probing_ = 0;
  QStringList rejections_;
  bool messageError_ = false;
  bool restoring_ = false;

  QSplitter* split_;
  QScrollArea* formScroll_;
  DropArea* portraitArea_;
  DropArea* audioArea_;
  FrameView* portraitCheck_;
  QLabel* portraitFindings_;
  WaveformView* waveform_;
  QLabel* trimLabel_;
  QLabel* clipsLabel_;
  QLabel* silenceLabel_;
  QPushButton* fitToAudio_;
  QPushButton* playTrim_;
  SoundPlayback* audioPlayer_ = nullptr;  // null without an audio output device
  AudioRecorderPanel* recorder_;
  PosePanel* pose_;
  QPlainTextEdit* prompt_;
  QPlainTextEdit* negative_;
  ModelPanel* model_;
  GenerateSettingsForm* settings_;
  QLabel* estimate_;
  QFrame* actionBar_;
  QLabel* message_;
  ElidedLabel* summary_;
  ElidedLabel* modelLabel_;
  QPushButton* render_;
  QPushButton* testPattern_;
  QProgressBar* progress_;
  QLabel* progressLabel_;
  PreviewPlayer* preview_;
  QPushButton* exportMp4_;
  QPushButton* exportPng_;
};

// The official negative prompt is Chinese: where no installed font has its characters it would
// show as empty boxes, so the placeholder then gives an English rendering and says so.
QString negativePromptPlaceholder();

}  // namespace s2v::ui
