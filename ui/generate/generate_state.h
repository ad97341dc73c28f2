#pragma once
// The Generate workspace's view-model: the inputs (portrait, audio, trim, pose video), the
// generation settings, the model found in the chosen folder; and what follows from them, without
// any widget: the clips and length of the video, the frame size, the memory and time estimate,
// the preset the settings match, and why Render cannot start yet (a sentence naming the cause and
// the next step). Widgets write into it and show what it says; tests drive it directly.

#include <QDateTime>
#include <QObject>
#include <QSize>
#include <QString>
#include <QStringList>
#include <optional>
#include <vector>

#include "core/generate/generate_params.h"
#include "core/generate/model_folder.h"

namespace s2v::ui {

// A finished render's speed, from the journal: the time estimate scales it.
struct RenderSpeedSample {
  QString modelKey;   // renderModelKey() of its params
  QString device;     // resolved: "cpu" / "cuda"
  double seconds = 0; // wall time of the job (one attempt)
  double work = 0;    // renderWork() of it
  QDateTime when;
};

// A model's identity for the speed samples: the folder and the DiT file that replaces its own.
QString renderModelKey(const generate::GenerateParams& p);
// The memory of the engine's first CUDA device in GB, as `s2v inspect-model` reported it (the GUI
// links no CUDA); 0 while unknown or without a GPU.
double engineGpuMemoryGb();
void setEngineGpuMemoryGb(double gb);
// "cpu" or "cuda" for p.device ("auto" picks the GPU when the engine found one).
QString resolvedDevice(const generate::GenerateParams& p);
// The work of a render in arbitrary units: output frames x frame pixels x steps x CFG branches.
// A render takes about as much longer as this is larger (same model, same device).
double renderWork(const generate::GenerateParams& p, int64_t frames, int height, int width);

class GenerateState : public QObject {
  Q_OBJECT
 public:
  explicit GenerateState(QObject* parent = nullptr);

  // ---- inputs ----
  void setPortrait(const QString& path, QSize size);
  void setAudio(const QString& path, double duration_s);  // the trim becomes the whole file
  void setTrim(double start_s, double end_s);
  void setPoseVideo(const QString& path);
  QString portrait() const { return portrait_; }
  QSize portraitSize() const { return portraitSize_; }
  QString audio() const { return audio_; }
  double audioDuration() const { return audioDuration_; }
  double trimStart() const { return trimStart_; }
  double trimEnd() const { return trimEnd_; }

  // ---- settings (everything of GenerateParams but the inputs above) ----
  void setSettings(const generate::GenerateParams& p);
  // The job's parameters: the settings with the inputs and the trim.
  generate::GenerateParams params() const;

  // ---- the model (a copy of ModelPanel's last inspection) ----
  void setModel(const QString& folder, const generate::ModelFolder* inspected, bool inspecting);
  const std::optional<generate::ModelFolder>& model() const { return model_; }

  // ---- what follows ----
  int plannedClips() const;           // 0 without audio
  int64_t outputFrames() const;       // 0 without audio
  double videoSeconds() const;
  double trimmedAudioSeconds() const;
  // Seconds of video after the audio ends (the last clip is padded with silence), 0 if none.
  double silentTail() const;
  generate::FrameSize frameSize() const;  // {0, 0} without a portrait
  QString frameSizeText() const;      // "→ 832×480", or what the size depends on
  QString sizeNote() const;           // why every larger area gives the same size, or ""
  QString clipsText() const;          // "2 clips · 9.8 s of video", "No audio yet"
  QString silenceNote() const;        // "The audio ends at 7.0 s: the last 2.8 s are silent", or ""
  // Frames per clip (a multiple of 4 from 48 to 80, the official length) whose clips end closest
  // after the audio, when that leaves at least 0.25 s less silence than now; nullopt otherwise
  // (no audio, or Clips set by hand).
  std::optional<int> fittedInferFrames() const;
  QStringList estimateLines() const;  // frames, memory, GPU plan, time
  QString estimateSummary() const;    // one short line for the action bar
  QString timeEstimate() const;       // "about 4 min (...)" or why there is none

  // Why Render cannot start now, as "cause: next step" (nullopt when it can).
  std::optional<QString> refusal() const;

  // ---- presets ----
  enum class Preset { Custom, Draft, Final };
  // The preset's settings over `base` (size, steps, shift, guidance, solver).
  static generate::GenerateParams presetParams(Preset p, const generate::GenerateParams& base);
  static QString presetName(Preset p);
  void choosePreset(Preset p);        // remembers it (setSettings follows from the form)
  Preset chosenPreset() const { return preset_; }
  bool presetModified() const;        // a setting the preset fixes differs from it
  QString presetLabel() const;        // "Draft", "Final (modified)", "Custom"

  // ---- time estimate ----
  void setSpeedSamples(std::vector<RenderSpeedSample> samples);

 signals:
  void changed();

 private:
  QString portrait_, audio_, pose_;
  QSize portraitSize_;
  double audioDuration_ = 0, trimStart_ = 0, trimEnd_ = 0;
  generate::GenerateParams settings_;
  QString modelFolder_;
  std::optional<generate::ModelFolder> model_;
  bool inspecting_ = false;
  Preset preset_ = Preset::Custom;
  std::vector<RenderSpeedSample> samples_;
};

// "4 min", "1 h 20 min", "35 s".
QString humanDuration(double seconds);

}  // namespace s2v::ui
