#include "ui/generate/generate_state.h"

#include <QFileInfo>
#include <QLocale>
#include <algorithm>
#include <cmath>

#include "ui/generate/model_panel.h"

namespace s2v::ui {

namespace {

QString seconds(double s) { return QString::number(s, 'f', 1) + " s"; }

// The dtype the engine picks for "auto": bf16 on CUDA, float32 on the CPU.
std::string resolvedDtype(const QString& device, const std::string& dtype) {
  if (dtype != "auto") return dtype;
  return device == "cuda" ? "bfloat16" : "float32";
}

// The plan's sentence, with the CLI's flag names said in words.
QString planInWords(const std::string& reason) {
  QString s = QString::fromStdString(reason);
  s.replace("--offload_model --offload_blocks", QObject::tr("offloading the encoders and streaming the DiT blocks"));
  s.replace("--offload_blocks", QObject::tr("streaming the DiT blocks"));
  s.replace("--offload_model", QObject::tr("offloading the encoders and VAE"));
  s.replace("--vram", QObject::tr("GPU memory"));
  return s;
}

}  // namespace

QString humanDuration(double s) {
  if (!(s >= 0)) return {};
  if (s < 60) return QObject::tr("%1 s").arg(std::max(1, int(std::lround(s))));
  const int minutes = int(std::lround(s / 60));
  if (minutes < 60) return QObject::tr("%1 min").arg(minutes);
  return QObject::tr("%1 h %2 min").arg(minutes / 60).arg(minutes % 60);
}

QString renderModelKey(const generate::GenerateParams& p) {
  return QString::fromStdString(p.ckpt_dir) + "|" + QString::fromStdString(p.components.dit);
}

namespace {
double g_engineGpuMemoryGb = 0;  // GUI thread only
}  // namespace

double engineGpuMemoryGb() { return g_engineGpuMemoryGb; }
void setEngineGpuMemoryGb(double gb) { g_engineGpuMemoryGb = gb; }

QString resolvedDevice(const generate::GenerateParams& p) {
  if (p.device == "auto") return engineGpuMemoryGb() > 0 ? "cuda" : "cpu";
  return p.device.rfind("cuda", 0) == 0 ? "cuda" : "cpu";
}

double renderWork(const generate::GenerateParams& p, int64_t frames, int height, int width) {
  const double branches = p.sample_guide_scale > 1.0 ? 2.0 : 1.0;
  return double(frames) * double(height) * double(width) * double(p.sample_steps) * branches;
}

GenerateState::GenerateState(QObject* parent) : QObject(parent) {}

void GenerateState::setPortrait(const QString& path, QSize size) {
  portrait_ = path;
  portraitSize_ = size;
  emit changed();
}

void GenerateState::setAudio(const QString& path, double duration_s) {
  audio_ = path;
  audioDuration_ = std::max(0.0, duration_s);
  trimStart_ = 0;
  trimEnd_ = audioDuration_;
  emit changed();
}

void GenerateState::setTrim(double start_s, double end_s) {
  trimStart_ = start_s;
  trimEnd_ = end_s;
  emit changed();
}

void GenerateState::setPoseVideo(const QString& path) {
  pose_ = path;
  emit changed();
}

void GenerateState::setSettings(const generate::GenerateParams& p) {
  settings_ = p;
  emit changed();
}

generate::GenerateParams GenerateState::params() const {
  generate::GenerateParams p = settings_;
  p.image = portrait_.toStdString();
  p.audio = audio_.toStdString();
  p.audio_start_s = audioDuration_ > 0 ? trimStart_ : 0.0;
  p.audio_end_s = (audioDuration_ > 0 && trimEnd_ < audioDuration_ - 1e-6) ? trimEnd_ : -1.0;
  p.pose_video = pose_.toStdString();
  return p;
}

void GenerateState::setModel(const QString& folder, const generate::ModelFolder* inspected, bool inspecting) {
  modelFolder_ = folder;
  inspecting_ = inspecting;
  if (inspected)
    model_ = *inspected;
  else
    model_.reset();
  emit changed();
}

int GenerateState::plannedClips() const {
  if (audioDuration_ <= 0) return 0;
  const int needed = generate::clips_for_audio_seconds(trimEnd_ - trimStart_, settings_.infer_frames);
  const int asked = settings_.num_clip;
  return asked > 0 ? std::min(asked, needed) : needed;  // as num_repeat in speech2video.py
}

int64_t GenerateState::outputFrames() const {
  return generate::output_frames(plannedClips(), settings_.infer_frames, settings_.init_first_frame);
}

double GenerateState::videoSeconds() const { return double(outputFrames()) / generate::kOutputFps; }
double GenerateState::trimmedAudioSeconds() const { return audioDuration_ > 0 ? trimEnd_ - trimStart_ : 0.0; }

double GenerateState::silentTail() const {
  if (plannedClips() <= 0) return 0.0;
  return std::max(0.0, videoSeconds() - trimmedAudioSeconds());
}

generate::FrameSize GenerateState::frameSize() const {
  generate::FrameSize fs;
  try {
    if (portraitSize_.isValid() && !portraitSize_.isEmpty())
      fs = generate::size_less_than_area(portraitSize_.height(), portraitSize_.width(), settings_.max_area());
  } catch (const std::exception&) {
    fs = {};
  }
  return fs;
}

QString GenerateState::frameSizeText() const {
  const generate::FrameSize fs = frameSize();
  if (fs.width > 0) return tr("→ %1×%2").arg(fs.width).arg(fs.height);
  try {
    (void)settings_.max_area();
  } catch (const std::exception&) {
    return tr("(the size must read W*H, e.g. 832*480)");
  }
  return tr("(the portrait sets the aspect ratio)");
}

QString GenerateState::sizeNote() const {
  const generate::FrameSize fs = frameSize();
  if (fs.width <= 0) return {};
  int64_t area = 0;
  try {
    area = settings_.max_area();
  } catch (const std::exception&) {
    return {};
  }
  // As get_size_less_than_area: a portrait within the area is padded to multiples of 64, never
  // enlarged, so every larger area gives the same frame.
  if (int64_t(portraitSize_.width()) * portraitSize_.height() > area) return {};
  return tr("The portrait is %1×%2: it is padded to %3×%4, never enlarged, so every larger size gives this "
            "frame. Use a larger portrait for a larger video.")
      .arg(portraitSize_.width())
      .arg(portraitSize_.height())
      .arg(fs.width)
      .arg(fs.height);
}

QString GenerateState::clipsText() const {
  const int clips = plannedClips();
  if (clips <= 0) return tr("No audio yet");
  return (clips == 1 ? tr("1 clip") : tr("%1 clips").arg(clips)) + " · " + tr("%1 of video").arg(seconds(videoSeconds()));
}

QString GenerateState::silenceNote() const {
  const double tail = silentTail();
  // Less than a frame or two of silence is not worth a sentence.
  if (tail < 0.25) return {};
  return tr("The audio ends at %1 but the video lasts %2: its last %3 are silent (whole clips are rendered).")
      .arg(seconds(trimmedAudioSeconds()), seconds(videoSeconds()), seconds(tail));
}

std::optional<int> GenerateState::fittedInferFrames() const {
  if (audioDuration_ <= 0 || settings_.num_clip > 0) return std::nullopt;
  const double audio = trimmedAudioSeconds(), now = silentTail();
  int best = 0;
  double bestTail = now;
  for (int f = 80; f >= 48; f -= 4) {
    const int clips = generate::clips_for_audio_seconds(audio, f);
    const double tail = double(generate::output_frames(clips, f, settings_.init_first_frame)) / generate::kOutputFps - audio;
    if (tail >= 0 && tail < bestTail - 1e-9) best = f, bestTail = tail;
  }
  if (best == 0 || best == settings_.infer_frames || now - bestTail < 0.25) return std::nullopt;
  return best;
}

QString GenerateState::timeEstimate() const {
  const generate::FrameSize fs = frameSize();
  const int64_t frames = outputFrames();
  if (fs.width <= 0 || frames <= 0) return {};
  const generate::GenerateParams p = params();
  const QString key = renderModelKey(p), device = resolvedDevice(p);
  const RenderSpeedSample* best = nullptr;
  for (const auto& s : samples_)
    if (s.modelKey == key && s.device == device && s.work > 0 && s.seconds > 0 && (!best || s.when > best->when))
      best = &s;
  if (!best)
    return tr("Time: known after a first render with this model on the %1 (then estimated from its speed)")
        .arg(device == "cuda" ? tr("GPU") : tr("CPU"));
  const double t = best->seconds * renderWork(p, frames, fs.height, fs.width) / best->work;
  return tr("Time: about %1 (scaled from your render of %2, which took %3)")
      .arg(humanDuration(t), QLocale().toString(best->when, QLocale::ShortFormat), humanDuration(best->seconds));
}

QStringList GenerateState::estimateLines() const {
  const int clips = plannedClips();
  if (clips <= 0) return {tr("Add a portrait and an audio track to see the estimate.")};
  const generate::GenerateParams p = params();
  const int64_t frames = outputFrames();
  QStringList lines;
  lines << tr("%1 frames at 16 fps = %2").arg(frames).arg(seconds(videoSeconds()));
  const generate::FrameSize fs = frameSize();
  if (fs.width > 0 && model_) {
    try {
      const QString device = resolvedDevice(p);
      const generate::MemoryEstimate m = generate::estimate_memory(*model_, p, fs.height, fs.width, clips,
                                                                   resolvedDtype(device, p.dtype));
      const uint64_t chosen = p.offload_blocks ? m.peak_offload_blocks : p.offload_model ? m.peak_offload_model : m.peak_device;
      lines << tr("Memory: %1 at peak on the %2 with these settings (%3 with everything resident, %4 streaming "
                  "the DiT blocks)")
                   .arg(formatBytes(chosen), device == "cuda" ? tr("GPU") : tr("CPU"), formatBytes(m.peak_device),
                        formatBytes(m.peak_offload_blocks));
      if (p.vram_gb > 0) {
        generate::GenerateParams gpu = p;
        gpu.device = "cuda";
        const auto plan = generate::plan_memory(
            generate::estimate_memory(*model_, gpu, fs.height, fs.width, clips, resolvedDtype("cuda", p.dtype)),
            p.vram_gb);
        lines << (plan.fits ? tr("On a %1 GB GPU: %2") : tr("Too large for a %1 GB GPU: %2"))
                     .arg(p.vram_gb, 0, 'f', 0)
                     .arg(planInWords(plan.reason));
      }
    } catch (const std::exception& e) {
      lines << tr("No memory estimate (%1): check the size and the model.").arg(QString::fromUtf8(e.what()));
    }
  }
  if (const QString t = timeEstimate(); !t.isEmpty()) lines << t;
  return lines;
}

QString GenerateState::estimateSummary() const {
  const int clips = plannedClips();
  if (clips <= 0) return tr("No audio yet");
  QStringList parts{clipsText()};
  const generate::FrameSize fs = frameSize();
  if (fs.width > 0) parts << QString("%1×%2").arg(fs.width).arg(fs.height);
  if (fs.width > 0 && model_) {
    try {
      const generate::GenerateParams p = params();
      const QString device = resolvedDevice(p);
      const auto m = generate::estimate_memory(*model_, p, fs.height, fs.width, clips, resolvedDtype(device, p.dtype));
      const uint64_t chosen = p.offload_blocks ? m.peak_offload_blocks : p.offload_model ? m.peak_offload_model : m.peak_device;
      parts << tr("%1 memory").arg(formatBytes(chosen));
    } catch (const std::exception&) {
    }
  }
  const QString t = timeEstimate();
  if (t.startsWith(tr("Time: about "))) parts << "~" + t.section(' ', 2, 3);
  return parts.join(" · ");
}

std::optional<QString> GenerateState::refusal() const {
  if (portrait_.isEmpty() && audio_.isEmpty())
    return tr("Render needs a portrait and an audio track: drop them above (or press Ctrl+I and Ctrl+U).");
  if (portrait_.isEmpty()) return tr("Render needs a portrait: drop a picture of the person above (or press Ctrl+I).");
  if (audio_.isEmpty())
    return tr("Render needs an audio track: drop a speech or song file above, record one, or press Ctrl+U.");
  if (modelFolder_.isEmpty() && settings_.components.empty())
    return tr("Render needs a model: choose the Wan2.2-S2V-14B folder under Model (or press Demo to try the "
              "bundled demo model).");
  if (inspecting_ || !model_) return tr("The model folder is still being checked: press Render again in a moment.");
  if (!model_->ok())
    return tr("The model folder cannot be used: %1 Choose another folder, or replace that part under Model.")
        .arg(QString::fromStdString(model_->problems.front()));
  try {
    params().validate();
  } catch (const std::exception& e) {
    return tr("A setting is not valid: %1. Correct it under Settings.").arg(QString::fromUtf8(e.what()));
  }
  return std::nullopt;
}

generate::GenerateParams GenerateState::presetParams(Preset preset, const generate::GenerateParams& base) {
  generate::GenerateParams p = base;
  const generate::GenerateParams official;
  switch (preset) {
    case Preset::Draft:
      // a quick look at framing and motion: a small frame and few steps (UniPC still converges)
      p.size = "384*384";
      p.sample_steps = 12;
      p.sample_shift = official.sample_shift;
      p.sample_guide_scale = official.sample_guide_scale;
      p.sample_solver = official.sample_solver;
      break;
    case Preset::Final:
      p.size = official.size;
      p.sample_steps = official.sample_steps;
      p.sample_shift = official.sample_shift;
      p.sample_guide_scale = official.sample_guide_scale;
      p.sample_solver = official.sample_solver;
      break;
    case Preset::Custom: break;
  }
  return p;
}

QString GenerateState::presetName(Preset p) {
  switch (p) {
    case Preset::Draft: return tr("Draft");
    case Preset::Final: return tr("Final");
    case Preset::Custom: break;
  }
  return tr("Custom");
}

void GenerateState::choosePreset(Preset p) {
  preset_ = p;
  emit changed();
}

bool GenerateState::presetModified() const {
  if (preset_ == Preset::Custom) return false;
  const generate::GenerateParams want = presetParams(preset_, settings_);
  return want.size != settings_.size || want.sample_steps != settings_.sample_steps ||
         want.sample_shift != settings_.sample_shift || want.sample_guide_scale != settings_.sample_guide_scale ||
         want.sample_solver != settings_.sample_solver;
}

QString GenerateState::presetLabel() const {
  if (preset_ == Preset::Custom) return presetName(preset_);
  return presetModified() ? tr("%1 (modified)").arg(presetName(preset_)) : presetName(preset_);
}

void GenerateState::setSpeedSamples(std::vector<RenderSpeedSample> samples) {
  samples_ = std::move(samples);
  emit changed();
}

}  // namespace s2v::ui
