#include "ui/generate/generate_workspace.h"

#include <QAudioDevice>
#include <QAudioOutput>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMediaDevices>
#include <QMediaPlayer>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRandomGenerator>
#include <QRegularExpressionValidator>
#include <QScrollArea>
#include <QSettings>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/curation/clip_frames.h"
#include "core/curation/portrait.h"
#include "core/diagnostics/test_pattern.h"
#include "core/generate/generate_job.h"
#include "core/generate/model_folder.h"
#include "core/media/audio.h"
#include "core/media/mux.h"
#include "core/media/video_reader.h"
#include "models/base/atomic_file.h"
#include "ui/curate/clip_viewer.h"
#include "ui/engine/engine_process.h"
#include "ui/generate/async.h"
#include "ui/generate/audio_recorder.h"
#include "ui/generate/drop_area.h"
#include "ui/generate/input_probe.h"
#include "ui/generate/model_panel.h"
#include "ui/generate/pose_panel.h"
#include "ui/generate/preview_player.h"
#include "ui/generate/waveform_view.h"
#include "ui/jobs/job_list_model.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/settings/app_settings.h"

namespace s2v::ui {

namespace {

constexpr int kWaveformBuckets = 1200;

// The official --size choices (area presets: the output keeps the portrait's aspect ratio).
const char* const kSizePresets[] = {"1024*704", "704*1024", "1280*720", "720*1280", "832*480", "480*832"};

QString seconds(double s) { return QString::number(s, 'f', 1) + " s"; }

QString mmss(double s) {
  const int t = int(std::lround(std::max(0.0, s)));
  return QString("%1:%2").arg(t / 60).arg(t % 60, 2, 10, QChar('0'));
}

// The dtype the engine picks for "auto": bf16 on CUDA, float32 on the CPU.
std::string resolvedDtype(const std::string& device, const std::string& dtype) {
  if (dtype != "auto") return dtype;
  return device.rfind("cuda", 0) == 0 ? "bfloat16" : "float32";
}

struct CopyResult {
  bool ok = false;
  QString message;
};

}  // namespace

GenerateWorkspace::GenerateWorkspace(JobQueueAdapter* jobs, QWidget* parent)
    : QWidget(parent), jobs_(jobs) {
  setObjectName("generateWorkspace");
  setAcceptDrops(true);

  // --- Inputs: portrait and audio --------------------------------------------------------------
  portraitArea_ = new DropArea(tr("Drop a reference portrait here\n(or click to choose, Ctrl+I)"), this);
  portraitArea_->setObjectName("portraitDrop");
  portraitArea_->setToolTip(tr("The person to animate: a clear, front-facing portrait works best."));
  audioArea_ = new DropArea(tr("Drop speech or song audio here\n(a video with sound works too; Ctrl+U)"), this);
  audioArea_->setObjectName("audioDrop");
  audioArea_->setToolTip(tr("The voice that drives the lips and body. Any audio file or a video's sound."));
  auto* choosePortrait = new QPushButton(tr("Choose portrait…"), this);
  choosePortrait->setObjectName("choosePortrait");
  choosePortrait->setToolTip(tr("Choose the reference portrait (Ctrl+I)"));
  auto* chooseAudio = new QPushButton(tr("Choose audio…"), this);
  chooseAudio->setObjectName("chooseAudio");
  chooseAudio->setToolTip(tr("Choose the audio (Ctrl+U)"));
  portraitCheck_ = new FrameView(this);
  portraitCheck_->setObjectName("portraitCheck");
  portraitCheck_->setMinimumSize(160, 120);
  portraitCheck_->setMaximumHeight(200);
  portraitCheck_->setToolTip(tr("The portrait as curation sees it: people, faces (with their sharpness) and, with a "
                                "pose model, the skeleton."));
  portraitFindings_ = new QLabel(tr("Drop a portrait to check its face, sharpness and clarity."), this);
  portraitFindings_->setObjectName("portraitFindings");
  portraitFindings_->setWordWrap(true);
  portraitFindings_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  message_ = new QLabel(this);
  message_->setObjectName("inputMessage");
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  // --- Audio: waveform, trim, playback, microphone ----------------------------------------------
  waveform_ = new WaveformView(this);
  waveform_->setObjectName("waveform");
  trimLabel_ = new QLabel(this);
  trimLabel_->setObjectName("trimLabel");
  clipsLabel_ = new QLabel(this);
  clipsLabel_->setObjectName("clipsLabel");
  clipsLabel_->setToolTip(tr("Each clip is %1 frames at 16 fps; a long audio becomes several clips in a row.")
                              .arg(generate::GenerateParams{}.infer_frames));
  playTrim_ = new QPushButton(tr("▶ Play trimmed"), this);
  playTrim_->setObjectName("playTrimmed");
  audioPlayer_ = new QMediaPlayer(this);
  if (QMediaDevices::audioOutputs().isEmpty()) {
    playTrim_->setEnabled(false);
    playTrim_->setToolTip(tr("No audio output device: playback is unavailable (trimming still works)."));
  } else {
    audioOutput_ = new QAudioOutput(this);
    audioPlayer_->setAudioOutput(audioOutput_);
    playTrim_->setToolTip(tr("Play the trimmed part of the audio (Ctrl+Shift+A); press again to stop"));
  }
  recorder_ = new AudioRecorderPanel(this);

  // --- Pose, prompts, model --------------------------------------------------------------------
  pose_ = new PosePanel(this);
  prompt_ = new QPlainTextEdit(this);
  prompt_->setObjectName("prompt");
  prompt_->setPlaceholderText(tr("Describe the scene, e.g. “a woman singing on a stage, warm light”"));
  prompt_->setToolTip(tr("What the video shows (--prompt)"));
  negative_ = new QPlainTextEdit(this);
  negative_->setObjectName("negativePrompt");
  const QString officialNegative = QString::fromStdString(generate::official_negative_prompt());
  negative_->setPlaceholderText(tr("Empty = the official negative prompt: %1").arg(officialNegative));
  negative_->setToolTip(tr("What to avoid. Left empty, the official S2V negative prompt is used:\n%1")
                            .arg(officialNegative));
  negative_->setMaximumHeight(70);
  model_ = new ModelPanel(this);

  // --- Actions ---------------------------------------------------------------------------------
  render_ = new QPushButton(tr("Render"), this);
  render_->setObjectName("render");
  render_->setDefault(true);
  render_->setToolTip(tr("Render the video through the job queue (Ctrl+R)"));
  testPattern_ = new QPushButton(tr("Run test pattern"), this);
  testPattern_->setObjectName("testPattern");
  testPattern_->setToolTip(tr("Diagnostic: encodes a colour-bar video through the job queue. Not generation."));
  estimate_ = new QLabel(this);
  estimate_->setObjectName("estimate");
  estimate_->setWordWrap(true);
  estimate_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  // --- Layout: left column scrolls, right is the preview ---------------------------------------
  auto* inputs = new QGroupBox(tr("Inputs"), this);
  auto* il = new QGridLayout(inputs);
  il->addWidget(portraitArea_, 0, 0);
  il->addWidget(audioArea_, 0, 1);
  il->addWidget(choosePortrait, 1, 0);
  il->addWidget(chooseAudio, 1, 1);
  il->addWidget(portraitCheck_, 2, 0);
  il->addWidget(portraitFindings_, 2, 1);
  auto* audio = new QGroupBox(tr("Audio"), this);
  auto* al = new QVBoxLayout(audio);
  al->addWidget(waveform_);
  auto* trimRow = new QHBoxLayout;
  trimRow->addWidget(trimLabel_, 1);
  trimRow->addWidget(clipsLabel_);
  trimRow->addWidget(playTrim_);
  al->addLayout(trimRow);
  al->addWidget(recorder_);
  auto* poseBox = new QGroupBox(tr("Pose video (optional)"), this);
  (new QVBoxLayout(poseBox))->addWidget(pose_);
  auto* prompts = new QGroupBox(tr("Prompt"), this);
  auto* pl = new QFormLayout(prompts);
  pl->addRow(tr("Prompt"), prompt_);
  pl->addRow(tr("Negative"), negative_);
  auto* modelBox = new QGroupBox(tr("Model"), this);
  (new QVBoxLayout(modelBox))->addWidget(model_);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(testPattern_);
  buttons->addStretch(1);
  buttons->addWidget(render_);

  auto* left = new QWidget(this);
  auto* ll = new QVBoxLayout(left);
  ll->addWidget(inputs);
  ll->addWidget(message_);
  ll->addWidget(audio);
  ll->addWidget(poseBox);
  ll->addWidget(prompts);
  ll->addWidget(modelBox);
  ll->addWidget(buildSettings());
  ll->addWidget(estimate_);
  ll->addLayout(buttons);
  ll->addStretch(1);
  auto* scroll = new QScrollArea(this);
  scroll->setWidget(left);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);

  preview_ = new PreviewPlayer(this);
  progress_ = new QProgressBar(this);
  progress_->setObjectName("renderProgress");
  progress_->setRange(0, 1000);
  progress_->setValue(0);
  progressLabel_ = new QLabel(tr("Nothing rendered yet."), this);
  progressLabel_->setObjectName("renderStatus");
  progressLabel_->setWordWrap(true);
  exportMp4_ = new QPushButton(tr("Export MP4…"), this);
  exportMp4_->setObjectName("exportMp4");
  exportMp4_->setToolTip(tr("Save the finished video (H.264 + AAC) where you choose (Ctrl+E)"));
  exportMp4_->setEnabled(false);
  exportPng_ = new QPushButton(tr("Export PNG sequence…"), this);
  exportPng_->setObjectName("exportPng");
  exportPng_->setToolTip(tr("Write every frame of the finished video as a PNG file (Ctrl+Shift+E)"));
  exportPng_->setEnabled(false);
  auto* right = new QGroupBox(tr("Preview"), this);
  auto* rl = new QVBoxLayout(right);
  rl->addWidget(preview_, 1);
  rl->addWidget(progress_);
  rl->addWidget(progressLabel_);
  auto* exportRow = new QHBoxLayout;
  exportRow->addStretch(1);
  exportRow->addWidget(exportPng_);
  exportRow->addWidget(exportMp4_);
  rl->addLayout(exportRow);

  auto* split = new QSplitter(this);
  split->addWidget(scroll);
  split->addWidget(right);
  split->setStretchFactor(0, 0);
  split->setStretchFactor(1, 1);
  auto* top = new QVBoxLayout(this);
  top->addWidget(split);

  // --- Wiring ----------------------------------------------------------------------------------
  connect(portraitArea_, &DropArea::filesDropped, this, &GenerateWorkspace::addFiles);
  connect(audioArea_, &DropArea::filesDropped, this, &GenerateWorkspace::addFiles);
  connect(portraitArea_, &DropArea::clicked, this, &GenerateWorkspace::choosePortrait);
  connect(audioArea_, &DropArea::clicked, this, &GenerateWorkspace::chooseAudio);
  connect(choosePortrait, &QPushButton::clicked, this, &GenerateWorkspace::choosePortrait);
  connect(chooseAudio, &QPushButton::clicked, this, &GenerateWorkspace::chooseAudio);
  connect(prompt_, &QPlainTextEdit::textChanged, this, [this] { inputs_.prompt = prompt_->toPlainText(); });
  connect(negative_, &QPlainTextEdit::textChanged, this,
          [this] { inputs_.negativePrompt = negative_->toPlainText(); });
  connect(waveform_, &WaveformView::trimChanged, this, &GenerateWorkspace::onTrimChanged);
  connect(playTrim_, &QPushButton::clicked, this, &GenerateWorkspace::playTrimmedAudio);
  connect(audioPlayer_, &QMediaPlayer::positionChanged, this, [this](qint64 ms) {
    if (audioPlayer_->playbackState() != QMediaPlayer::PlayingState) return;
    waveform_->setPlayhead(ms / 1000.0);
    if (ms / 1000.0 >= trimEnd_) audioPlayer_->stop();
  });
  connect(audioPlayer_, &QMediaPlayer::playbackStateChanged, this, [this](QMediaPlayer::PlaybackState s) {
    playTrim_->setText(s == QMediaPlayer::PlayingState ? tr("■ Stop") : tr("▶ Play trimmed"));
    if (s == QMediaPlayer::StoppedState) waveform_->setPlayhead(-1);
  });
  connect(audioPlayer_, &QMediaPlayer::errorOccurred, this, [this](QMediaPlayer::Error, const QString& why) {
    showMessage(tr("Cannot play the audio: %1").arg(why), true);
  });
  connect(recorder_, &AudioRecorderPanel::recorded, this, [this](const QString& path) { addFiles({path}); });
  connect(pose_, &PosePanel::rejected, this, [this](const QString& m) {
    showMessage(m, true);
    emit inputRejected(m);
  });
  connect(pose_, &PosePanel::videoChanged, this, [this](const QString& path) {
    if (!path.isEmpty()) showMessage(tr("Pose video: %1").arg(QFileInfo(path).fileName()), false);
    emit inputsChanged();
  });
  connect(model_, &ModelPanel::inspected, this, &GenerateWorkspace::updateEstimate);
  // the engine knows the GPU (the GUI links no CUDA): its first answer fills an unset field
  connect(model_, &ModelPanel::gpuMemoryDetected, this, [this](double gb) {
    if (vram_->value() <= 0) vram_->setValue(gb);
  });
  connect(render_, &QPushButton::clicked, this, &GenerateWorkspace::render);
  connect(testPattern_, &QPushButton::clicked, this, &GenerateWorkspace::runTestPattern);
  connect(exportMp4_, &QPushButton::clicked, this, &GenerateWorkspace::exportVideo);
  connect(exportPng_, &QPushButton::clicked, this, &GenerateWorkspace::exportPngSequence);
  connect(jobs_, &JobQueueAdapter::previewReady, this, &GenerateWorkspace::onPreview);
  connect(jobs_, &JobQueueAdapter::jobChanged, this, &GenerateWorkspace::onJobChanged);
  connect(jobs_, &JobQueueAdapter::jobProgress, this, &GenerateWorkspace::onJobProgress);

  // Shortcuts active while the Generate workspace has focus (Ctrl+R/Ctrl+E live in the menu).
  auto shortcut = [this](const QKeySequence& keys, auto slot) {
    auto* s = new QShortcut(keys, this);
    s->setContext(Qt::WidgetWithChildrenShortcut);
    connect(s, &QShortcut::activated, this, slot);
  };
  shortcut(QKeySequence(Qt::CTRL | Qt::Key_I), &GenerateWorkspace::choosePortrait);
  shortcut(QKeySequence(Qt::CTRL | Qt::Key_U), &GenerateWorkspace::chooseAudio);
  shortcut(QKeySequence(Qt::CTRL | Qt::Key_D), &GenerateWorkspace::rollSeed);
  shortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A), &GenerateWorkspace::playTrimmedAudio);
  auto* rec = new QShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M), this);
  rec->setContext(Qt::WidgetWithChildrenShortcut);
  connect(rec, &QShortcut::activated, recorder_, &AudioRecorderPanel::toggleRecording);
  auto* all = new QShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P), this);
  all->setContext(Qt::WidgetWithChildrenShortcut);
  connect(all, &QShortcut::activated, preview_, &PreviewPlayer::playAll);

  restoreSettings();
  updateEstimate();
}

GenerateWorkspace::~GenerateWorkspace() { saveSettings(); }

QWidget* GenerateWorkspace::buildSettings() {
  const generate::GenerateParams defaults;
  auto* box = new QGroupBox(tr("Settings"), this);
  auto* f = new QFormLayout(box);

  size_ = new QComboBox(box);
  size_->setObjectName("size");
  size_->setEditable(true);
  for (const char* s : kSizePresets) size_->addItem(s);
  size_->setValidator(new QRegularExpressionValidator(QRegularExpression("\\d{2,5}\\*\\d{2,5}"), size_));
  size_->setToolTip(tr("--size: the pixel area W*H the video may use. The portrait's aspect ratio is kept;\n"
                       "1024*704 is the official default, 832*480 renders about twice as fast."));
  sizeResult_ = new QLabel(box);
  sizeResult_->setObjectName("frameSize");
  auto* sizeRow = new QHBoxLayout;
  sizeRow->addWidget(size_);
  sizeRow->addWidget(sizeResult_, 1);
  f->addRow(tr("Size (area)"), sizeRow);

  steps_ = new QSpinBox(box);
  steps_->setObjectName("steps");
  steps_->setRange(1, 200);
  steps_->setToolTip(tr("--sample_steps: denoising steps per clip (official: %1). Fewer is faster and rougher.")
                         .arg(defaults.sample_steps));
  f->addRow(tr("Steps"), steps_);

  shift_ = new QDoubleSpinBox(box);
  shift_->setObjectName("shift");
  shift_->setRange(0.1, 20.0);
  shift_->setSingleStep(0.5);
  shift_->setDecimals(2);
  shift_->setToolTip(tr("--sample_shift: noise schedule shift (official: 3 for 480p, 5 above)"));
  f->addRow(tr("Shift"), shift_);

  guide_ = new QDoubleSpinBox(box);
  guide_->setObjectName("guidance");
  guide_->setRange(0.0, 20.0);
  guide_->setSingleStep(0.5);
  guide_->setDecimals(2);
  guide_->setToolTip(tr("--sample_guide_scale: classifier-free guidance (official: %1; 1 or less turns it off "
                        "and halves the work)").arg(defaults.sample_guide_scale));
  f->addRow(tr("Guidance"), guide_);

  solver_ = new QComboBox(box);
  solver_->setObjectName("solver");
  solver_->addItems({"unipc", "dpm++"});
  solver_->setToolTip(tr("--sample_solver: UniPC (official default) or DPM++"));
  f->addRow(tr("Solver"), solver_);

  seed_ = new QSpinBox(box);
  seed_->setObjectName("seed");
  seed_->setRange(-1, std::numeric_limits<int>::max());
  seed_->setSpecialValueText(tr("random"));
  seed_->setToolTip(tr("--base_seed: the same seed and settings give the same video; -1 draws one per render"));
  dice_ = new QToolButton(box);
  dice_->setObjectName("rollSeed");
  dice_->setText(tr("🎲"));
  dice_->setToolTip(tr("Draw a new random seed (Ctrl+D)"));
  auto* seedRow = new QHBoxLayout;
  seedRow->addWidget(seed_, 1);
  seedRow->addWidget(dice_);
  f->addRow(tr("Seed"), seedRow);

  clips_ = new QSpinBox(box);
  clips_->setObjectName("clips");
  clips_->setRange(0, 1000);
  clips_->setSpecialValueText(tr("auto"));
  clips_->setToolTip(tr("--num_clip: how many clips to render; auto = as many as the trimmed audio needs"));
  f->addRow(tr("Clips"), clips_);

  inferFrames_ = new QSpinBox(box);
  inferFrames_->setObjectName("inferFrames");
  inferFrames_->setRange(4, 400);
  inferFrames_->setSingleStep(4);
  inferFrames_->setToolTip(tr("--infer_frames: frames per clip, a multiple of 4 (official: %1 = 5 s at 16 fps)")
                               .arg(defaults.infer_frames));
  f->addRow(tr("Frames per clip"), inferFrames_);

  device_ = new QComboBox(box);
  device_->setObjectName("device");
  device_->setEditable(true);
  device_->addItems({"auto", "cpu", "cuda"});
  device_->setToolTip(tr("--device: auto picks the GPU when there is one (cuda:N picks a GPU)"));
  dtype_ = new QComboBox(box);
  dtype_->setObjectName("dtype");
  dtype_->addItems({"auto", "float32", "bfloat16", "float16"});
  dtype_->setToolTip(tr("--dtype: auto = bfloat16 on a GPU, float32 on the CPU"));
  auto* devRow = new QHBoxLayout;
  devRow->addWidget(device_, 1);
  devRow->addWidget(dtype_, 1);
  f->addRow(tr("Device / dtype"), devRow);

  offloadModel_ = new QCheckBox(tr("Offload encoders and VAE while denoising"), box);
  offloadModel_->setObjectName("offloadModel");
  offloadModel_->setToolTip(tr("--offload_model: keeps only the DiT on the GPU while it runs (official: on)"));
  offloadBlocks_ = new QCheckBox(tr("Stream DiT blocks from CPU memory (small GPUs)"), box);
  offloadBlocks_->setObjectName("offloadBlocks");
  offloadBlocks_->setToolTip(tr("--offload_blocks: lets the 14B model run on a 24 GB card, slower"));
  vram_ = new QDoubleSpinBox(box);
  vram_->setObjectName("vram");
  vram_->setRange(0.0, 1024.0);
  vram_->setDecimals(0);
  vram_->setSuffix(tr(" GB"));
  vram_->setSpecialValueText(tr("no plan (use the boxes below)"));
  vram_->setToolTip(tr("--vram: the memory of the GPU to plan for. The render then picks the cheapest settings "
                       "that fit (everything on the GPU, offload the encoders and VAE, or stream DiT blocks) and "
                       "the estimate below says which and why. Defaults to the GPU found on this machine."));
  f->addRow(tr("GPU memory"), vram_);
  initFirstFrame_ = new QCheckBox(tr("Start from the portrait"), box);
  initFirstFrame_->setObjectName("initFirstFrame");
  initFirstFrame_->setToolTip(tr("--start_from_ref: the portrait itself is the first frame"));
  f->addRow(QString(), offloadModel_);
  f->addRow(QString(), offloadBlocks_);
  f->addRow(QString(), initFirstFrame_);

  setParams(defaults);

  for (QSpinBox* s : {steps_, seed_, clips_, inferFrames_})
    connect(s, &QSpinBox::valueChanged, this, &GenerateWorkspace::updateEstimate);
  for (QDoubleSpinBox* s : {shift_, guide_, vram_})
    connect(s, &QDoubleSpinBox::valueChanged, this, &GenerateWorkspace::updateEstimate);
  for (QComboBox* c : {size_, solver_, device_, dtype_})
    connect(c, &QComboBox::currentTextChanged, this, &GenerateWorkspace::updateEstimate);
  for (QCheckBox* c : {offloadModel_, offloadBlocks_, initFirstFrame_})
    connect(c, &QCheckBox::toggled, this, &GenerateWorkspace::updateEstimate);
  connect(dice_, &QToolButton::clicked, this, &GenerateWorkspace::rollSeed);
  // Frames per clip must stay a multiple of 4.
  connect(inferFrames_, &QSpinBox::editingFinished, this, [this] {
    inferFrames_->setValue(std::max(4, inferFrames_->value() / 4 * 4));
  });
  return box;
}

generate::GenerateParams GenerateWorkspace::params() const {
  generate::GenerateParams p;
  p.ckpt_dir = model_->folder().toStdString();
  p.components = model_->overrides();
  p.image = inputs_.portrait.toStdString();
  p.audio = inputs_.audio.toStdString();
  p.audio_start_s = audioDuration_ > 0 ? trimStart_ : 0.0;
  p.audio_end_s = (audioDuration_ > 0 && trimEnd_ < audioDuration_ - 1e-6) ? trimEnd_ : -1.0;
  p.prompt = prompt_->toPlainText().toStdString();
  p.negative_prompt = negative_->toPlainText().toStdString();
  p.pose_video = pose_->video().toStdString();
  p.num_clip = clips_->value();
  p.infer_frames = inferFrames_->value();
  p.sample_steps = steps_->value();
  p.sample_shift = shift_->value();
  p.sample_guide_scale = guide_->value();
  p.sample_solver = solver_->currentText().toStdString();
  p.base_seed = seed_->value();
  p.size = size_->currentText().toStdString();
  p.offload_model = offloadModel_->isChecked();
  p.offload_blocks = offloadBlocks_->isChecked();
  p.vram_gb = vram_->value();
  p.init_first_frame = initFirstFrame_->isChecked();
  p.device = device_->currentText().toStdString();
  p.dtype = dtype_->currentText().toStdString();
  return p;
}

void GenerateWorkspace::setParams(const generate::GenerateParams& p) {
  size_->setCurrentText(QString::fromStdString(p.size));
  steps_->setValue(p.sample_steps);
  shift_->setValue(p.sample_shift);
  guide_->setValue(p.sample_guide_scale);
  solver_->setCurrentText(QString::fromStdString(p.sample_solver));
  seed_->setValue(int(std::clamp<int64_t>(p.base_seed, -1, std::numeric_limits<int>::max())));
  clips_->setValue(p.num_clip);
  inferFrames_->setValue(p.infer_frames);
  device_->setCurrentText(QString::fromStdString(p.device));
  dtype_->setCurrentText(QString::fromStdString(p.dtype));
  offloadModel_->setChecked(p.offload_model);
  offloadBlocks_->setChecked(p.offload_blocks);
  vram_->setValue(p.vram_gb > 0 ? p.vram_gb : model_->gpuMemoryGb());
  initFirstFrame_->setChecked(p.init_first_frame);
  if (prompt_->toPlainText() != QString::fromStdString(p.prompt)) prompt_->setPlainText(QString::fromStdString(p.prompt));
  if (negative_->toPlainText() != QString::fromStdString(p.negative_prompt))
    negative_->setPlainText(QString::fromStdString(p.negative_prompt));
  if (!p.ckpt_dir.empty() && QString::fromStdString(p.ckpt_dir) != model_->folder())
    model_->setFolder(QString::fromStdString(p.ckpt_dir));
  if (!(p.components == model_->overrides())) model_->setOverrides(p.components);
}

void GenerateWorkspace::saveSettings() const {
  // The settings, not the inputs: a new session starts with no portrait/audio but the same look.
  nlohmann::json j = params().to_json();
  for (const char* k : {"image", "audio", "audio_start_s", "audio_end_s", "pose_video", "out"}) j.erase(k);
  QSettings().setValue(kSettingsKey, QString::fromStdString(j.dump()));
}

void GenerateWorkspace::restoreSettings() {
  generate::GenerateParams p;
  const QString saved = QSettings().value(kSettingsKey).toString();
  if (!saved.isEmpty()) {
    try {
      p = generate::GenerateParams::from_json(nlohmann::json::parse(saved.toStdString()));
    } catch (const std::exception& e) {
      showMessage(tr("The saved generation settings were not restored: %1").arg(QString::fromUtf8(e.what())), true);
      p = {};
    }
  }
  if (p.ckpt_dir.empty()) p.ckpt_dir = AppSettings::load().modelFolder.toStdString();
  if (p.ckpt_dir.empty()) p.ckpt_dir = generate::find_demo_model().string();
  setParams(p);
  if (model_->folder().isEmpty()) model_->setFolder({});  // shows "no model folder chosen"
}

QString GenerateWorkspace::message() const { return message_->text(); }
QStringList GenerateWorkspace::previews() const { return preview_->clips(); }
QString GenerateWorkspace::clipsText() const { return clipsLabel_->text(); }
QString GenerateWorkspace::estimateText() const { return estimate_->text(); }
QString GenerateWorkspace::frameSizeText() const { return sizeResult_->text(); }

void GenerateWorkspace::showMessage(const QString& text, bool error) {
  message_->setText(text);
  message_->setStyleSheet(error ? "color: #b00020;" : "color: palette(text);");
}

void GenerateWorkspace::choosePortrait() {
  const QString f = QFileDialog::getOpenFileName(this, tr("Choose a portrait"), QFileInfo(inputs_.portrait).path(),
                                                 tr("Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff);;All files (*)"));
  if (!f.isEmpty()) addFiles({f});
}

void GenerateWorkspace::chooseAudio() {
  const QString f = QFileDialog::getOpenFileName(
      this, tr("Choose audio"), QFileInfo(inputs_.audio).path(),
      tr("Audio or video (*.wav *.mp3 *.flac *.ogg *.opus *.m4a *.aac *.mp4 *.mov *.mkv *.webm);;All files (*)"));
  if (!f.isEmpty()) addFiles({f});
}

void GenerateWorkspace::addFiles(const QStringList& paths) {
  if (probing_ == 0) rejections_.clear();
  probing_ += int(paths.size());
  for (const QString& path : paths)
    classifyAsync(path, this, [this](const ProbedInput& p) {
      --probing_;
      apply(p);
    });
}

void GenerateWorkspace::apply(const ProbedInput& p) {
  switch (p.role) {
    case ProbedInput::Role::Portrait:
      inputs_.portrait = p.path;
      portraitSize_ = QSize(p.width, p.height);
      portraitArea_->setThumbnail(QPixmap::fromImage(p.thumbnail), p.summary);
      portraitArea_->setToolTip(p.path);
      if (rejections_.isEmpty()) showMessage(tr("Portrait: %1").arg(p.summary), false);
      checkPortrait(p.path);
      updateEstimate();
      break;
    case ProbedInput::Role::Audio:
      setAudio(p.path, p.duration_s, p.summary);
      if (rejections_.isEmpty()) showMessage(tr("Audio: %1").arg(p.summary), false);
      break;
    case ProbedInput::Role::Rejected:
      rejections_ << p.reason;
      showMessage(rejections_.join("\n"), true);
      emit inputRejected(p.reason);
      return;
  }
  emit inputsChanged();
}

void GenerateWorkspace::checkPortrait(const QString& path) {
  const quint64 request = ++portraitRequest_;
  portraitFindings_->setText(tr("Checking the portrait…"));
  struct Result {
    QImage image;
    curation::PortraitCheck check;
    QString error;
    QString poseError;  // the pose model could not be loaded: the check used the detectors
  };
  const QString poseWeights = AppSettings::load().curationWeights.value("pose_weights");
  auto show = [this, request](const Result& r) {
    if (request != portraitRequest_) return;  // a newer portrait was dropped meanwhile
    if (!r.error.isEmpty()) {
      portraitCheck_->setOverlay(std::nullopt, std::nan(""), {});
      portraitFindings_->setText(tr("The portrait could not be checked: %1").arg(r.error));
      return;
    }
    const auto& c = r.check;
    portraitCheck_->setFrame(r.image);
    portraitCheck_->setOverlay(c.overlay, c.face_sharpness.value.value_or(std::nan("")),
                               QSizeF(c.size.width, c.size.height));
    QStringList facts;
    const int faces = static_cast<int>(c.overlay.faces.size());
    facts << (faces == 1 ? tr("1 face") : tr("%1 faces").arg(faces));
    if (c.face_sharpness.available()) facts << tr("face sharpness %1").arg(*c.face_sharpness.value, 0, 'f', 0);
    facts << tr("clarity %1").arg(*c.clarity.value, 0, 'f', 0);
    QString html = "<b>" + facts.join(" · ") + "</b><br>";
    if (c.warnings.empty()) {
      html += tr("<span style='color:#2a8a2a'>Looks good for S2V.</span>") + "<br>";
    } else {
      for (const auto& w : c.warnings)
        html += "<span style='color:#c06000'>⚠ " + QString::fromStdString(w).toHtmlEscaped() + "</span><br>";
    }
    html += tr("<small>Detector: %1</small>").arg(QString::fromStdString(c.method).toHtmlEscaped());
    if (!r.poseError.isEmpty())
      html += "<br><small>" +
              tr("The pose model of Settings could not be loaded: %1").arg(r.poseError).toHtmlEscaped() +
              "</small>";
    portraitFindings_->setText(html);
  };
  // The detectors run here, off the GUI thread; the ViTPose network of Settings needs LibTorch, so
  // with one the engine checks the portrait again (s2v portrait-check) and its answer replaces this.
  runOffGuiThread(
      this,
      [path] {
        Result r;
        try {
          const media::RgbFrame f = media::read_image(path.toStdString());  // what the pipeline reads
          cv::Mat rgb(f.height, f.width, CV_8UC3, const_cast<uint8_t*>(f.rgb.data()), f.stride());
          cv::Mat bgr;
          cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
          r.check = curation::check_portrait(bgr);
          cv::Mat shown = curation::resize_long_side(rgb);
          r.image = QImage(shown.data, shown.cols, shown.rows, static_cast<qsizetype>(shown.step),
                           QImage::Format_RGB888).copy();
        } catch (const std::exception& e) {
          r.error = QString::fromUtf8(e.what());
        }
        return r;
      },
      [this, request, path, poseWeights, show](const Result& r) {
        show(r);
        if (poseWeights.isEmpty() || !r.error.isEmpty() || request != portraitRequest_) return;
        runEngine(this, {"portrait-check", path, "--pose_weights", poseWeights, "--json"},
                  [r, show](const EngineResult& e) {
                    Result withPose = r;
                    try {
                      const nlohmann::json j = nlohmann::json::parse(e.out.toStdString());
                      withPose.check = curation::portrait_check_from_json(j.at("check"));
                      withPose.poseError = QString::fromStdString(j.value("pose_error", std::string()));
                    } catch (const std::exception&) {
                      withPose.poseError = e.failure();
                    }
                    show(withPose);
                  });
      });
}

void GenerateWorkspace::setAudio(const QString& path, double duration_s, const QString& summary) {
  inputs_.audio = path;
  audioDuration_ = duration_s;
  trimStart_ = 0;
  trimEnd_ = duration_s;
  audioPlayer_->stop();
  audioPlayer_->setSource(QUrl::fromLocalFile(path));
  waveform_->clear();
  QPixmap icon(200, 60);
  icon.fill(Qt::transparent);
  audioArea_->setThumbnail(icon, summary);
  audioArea_->setToolTip(path);
  onTrimChanged(0, duration_s);
  // The waveform is decoded on a worker (a long file takes a second).
  const quint64 request = ++audioRequest_;
  struct Result {
    QVector<float> min, max;
    double duration = 0;
    QString error;
  };
  runOffGuiThread(
      this,
      [path]() {
        Result r;
        try {
          const media::Waveform w = media::waveform_summary(std::filesystem::path(path.toStdString()), kWaveformBuckets);
          r.min = QVector<float>(w.min.begin(), w.min.end());
          r.max = QVector<float>(w.max.begin(), w.max.end());
          r.duration = w.seconds_per_bucket * double(w.min.size());
        } catch (const std::exception& e) {
          r.error = QString::fromUtf8(e.what());
        }
        return r;
      },
      [this, request](const Result& r) {
        if (request != audioRequest_) return;
        if (!r.error.isEmpty()) {
          showMessage(tr("The waveform could not be drawn: %1").arg(r.error), true);
          return;
        }
        waveform_->setWaveform(r.min, r.max, audioDuration_ > 0 ? audioDuration_ : r.duration);
        if (audioDuration_ <= 0) {
          audioDuration_ = r.duration;
          onTrimChanged(0, r.duration);
        }
      });
}

void GenerateWorkspace::onTrimChanged(double start_s, double end_s) {
  trimStart_ = start_s;
  trimEnd_ = end_s;
  if (audioDuration_ > 0)
    trimLabel_->setText(tr("Using %1 – %2 (%3 of %4)")
                            .arg(seconds(start_s), seconds(end_s), seconds(end_s - start_s), seconds(audioDuration_)));
  else
    trimLabel_->clear();
  updateEstimate();
}

int GenerateWorkspace::plannedClips() const {
  if (audioDuration_ <= 0) return 0;
  const int needed = generate::clips_for_audio_seconds(trimEnd_ - trimStart_, inferFrames_->value());
  const int asked = clips_->value();
  return asked > 0 ? std::min(asked, needed) : needed;  // as num_repeat in speech2video.py
}

void GenerateWorkspace::updateEstimate() {
  const generate::GenerateParams p = params();
  // The frame size the portrait's aspect ratio gives at the chosen area.
  generate::FrameSize fs;
  try {
    if (portraitSize_.isValid() && !portraitSize_.isEmpty())
      fs = generate::size_less_than_area(portraitSize_.height(), portraitSize_.width(), p.max_area());
  } catch (const std::exception&) {
  }
  sizeResult_->setText(fs.width > 0 ? tr("→ %1×%2").arg(fs.width).arg(fs.height)
                                    : tr("(the portrait sets the aspect ratio)"));
  const int clips = plannedClips();
  if (clips > 0) {
    const int64_t frames = generate::output_frames(clips, p.infer_frames, p.init_first_frame);
    clipsLabel_->setText((clips == 1 ? tr("1 clip") : tr("%1 clips").arg(clips)) + " · " +
                         tr("%1 of video").arg(seconds(frames / generate::kOutputFps)));
    QStringList lines;
    lines << tr("%1 frames at 16 fps = %2").arg(frames).arg(seconds(frames / generate::kOutputFps));
    if (fs.width > 0 && model_->model()) {
      try {
        const std::string dtype = resolvedDtype(p.device, p.dtype);
        const generate::MemoryEstimate m =
            generate::estimate_memory(*model_->model(), p, fs.height, fs.width, clips, dtype);
        lines << QString::fromStdString(m.summary()).trimmed();
        if (p.vram_gb > 0) {
          generate::GenerateParams gpu = p;
          gpu.device = "cuda";
          const auto plan = generate::plan_memory(
              generate::estimate_memory(*model_->model(), gpu, fs.height, fs.width, clips,
                                        p.dtype == "auto" ? "bfloat16" : p.dtype),
              p.vram_gb);
          lines << (plan.fits ? tr("On this GPU: %1") : tr("Too large for this GPU: %1"))
                       .arg(QString::fromStdString(plan.reason));
        }
      } catch (const std::exception& e) {
        lines << tr("No memory estimate: %1").arg(QString::fromUtf8(e.what()));
      }
    }
    estimate_->setText(lines.join("\n"));
  } else {
    clipsLabel_->setText(tr("No audio yet"));
    estimate_->setText(tr("Add a portrait and an audio track to see the estimate."));
  }
  emit estimateChanged();
}

void GenerateWorkspace::rollSeed() {
  const int old = seed_->value();
  int s = old;
  while (s == old) s = int(QRandomGenerator::global()->bounded(0, std::numeric_limits<int>::max()));
  seed_->setValue(s);
}

void GenerateWorkspace::playTrimmedAudio() {
  if (!audioOutput_ || inputs_.audio.isEmpty()) return;
  if (audioPlayer_->playbackState() == QMediaPlayer::PlayingState) {
    audioPlayer_->stop();
    return;
  }
  audioPlayer_->setPosition(qint64(trimStart_ * 1000));
  audioPlayer_->play();
}

void GenerateWorkspace::render() {
  if (inputs_.portrait.isEmpty() || inputs_.audio.isEmpty()) {
    showMessage(tr("Render needs a portrait and an audio track: drop them above."), true);
    return;
  }
  if (model_->folder().isEmpty()) {
    showMessage(tr("Render needs a model: choose the Wan2.2-S2V-14B checkpoint folder under Model."), true);
    return;
  }
  if (const generate::ModelFolder* m = model_->model(); m && !m->ok()) {
    showMessage(tr("The model folder cannot be used: %1").arg(QString::fromStdString(m->problems.front())), true);
    return;
  }
  generate::GenerateParams p = params();
  jobs::JobSpec spec;
  try {
    p.validate();
    spec = generate::make_generate_spec(p);
  } catch (const std::exception& e) {
    showMessage(QString::fromUtf8(e.what()), true);
    return;
  }
  const QString id = jobs_->submit(spec);
  if (id.isEmpty()) {
    showMessage(tr("The render could not be queued (see the status bar)."), true);
    return;
  }
  saveSettings();
  renderJob_ = id;
  lastOutput_.clear();
  preview_->clear();
  exportMp4_->setEnabled(false);
  exportPng_->setEnabled(false);
  progress_->setValue(0);
  progressLabel_->setText(tr("Queued: %1.").arg(clipsLabel_->text()));
  showMessage(tr("Render queued."), false);
  emit renderStarted(id);
}

void GenerateWorkspace::runTestPattern() {
  diagnostics::TestPatternParams p;
  jobs::JobSpec spec;
  spec.kind = diagnostics::kTestPatternKind;
  spec.title = diagnostics::kTestPatternLabel;
  spec.params = p.to_json();
  const QByteArray delay = qgetenv("S2V_TEST_PATTERN_DELAY_MS");
  if (!delay.isEmpty()) spec.params["frame_delay_ms"] = delay.toInt();
  testPatternJob_ = jobs_->submit(spec);
  if (!testPatternJob_.isEmpty()) {
    preview_->clear();
    showMessage(tr("Test pattern queued (diagnostic, not generation)."), false);
  }
}

void GenerateWorkspace::showJob(const QString& id) {
  if (id.isEmpty() || id == renderJob_ || id == testPatternJob_) return;  // already followed
  const std::optional<JobUpdate> u = jobs_->job(id);
  if (!u) return;
  const std::string& kind = u->record.spec.kind;
  const bool pattern = kind == diagnostics::kTestPatternKind;
  if (!pattern && kind != generate::kGenerateKind) return;  // a curation: the Curate workspace shows it
  renderJob_ = pattern ? QString() : id;
  testPatternJob_ = pattern ? id : QString();
  preview_->clear();
  for (const QString& clip : jobs_->previews(id)) preview_->addClip(clip);
  const auto& r = u->record;
  const bool done = r.state == jobs::JobState::Done && !r.output.empty();
  lastOutput_ = done ? QString::fromStdString(r.output) : QString();
  if (done && !pattern) preview_->setFinal(lastOutput_);
  exportMp4_->setEnabled(done);
  exportPng_->setEnabled(done);
  progress_->setValue(int(std::lround(std::clamp(r.fraction, 0.0, 1.0) * 1000)));
  if (r.state == jobs::JobState::Running) onJobProgress(*u);
  else progressLabel_->setText(QString::fromStdString(r.spec.title) + " — " + describeJob(*u));
}

void GenerateWorkspace::onPreview(const QString& jobId, const QString& path) {
  if (jobId != renderJob_ && jobId != testPatternJob_) return;
  preview_->addClip(path);
  emit previewAdded(path);
}

void GenerateWorkspace::onJobProgress(const JobUpdate& u) {
  if (QString::fromStdString(u.record.id) != renderJob_) return;
  const jobs::Progress& pr = u.progress;
  progress_->setValue(int(std::lround(std::clamp(pr.fraction, 0.0, 1.0) * 1000)));
  QStringList parts;
  if (pr.clips > 0) parts << tr("Clip %1/%2").arg(pr.clip).arg(pr.clips);
  if (!pr.stage.empty()) {
    QString stage = QString::fromStdString(pr.stage);
    if (pr.steps > 0) stage += QString(" %1/%2").arg(pr.step).arg(pr.steps);
    parts << stage;
  }
  if (pr.eta_s >= 0) parts << tr("%1 left").arg(mmss(pr.eta_s));
  progressLabel_->setText(parts.join(" · "));
}

void GenerateWorkspace::onJobChanged(const JobUpdate& u) {
  const QString id = QString::fromStdString(u.record.id);
  const bool mine = id == renderJob_;
  if (u.record.state == jobs::JobState::Done && !u.record.output.empty() && (mine || id == testPatternJob_)) {
    lastOutput_ = QString::fromStdString(u.record.output);
    exportMp4_->setEnabled(true);
    exportPng_->setEnabled(true);
  }
  if (!mine) return;
  switch (u.record.state) {
    case jobs::JobState::Running:
      progressLabel_->setText(tr("Rendering…"));
      break;
    case jobs::JobState::Done:
      progress_->setValue(1000);
      progressLabel_->setText(tr("Done: %1").arg(lastOutput_));
      preview_->setFinal(lastOutput_);
      showMessage(tr("Render finished: export it with Export MP4 (Ctrl+E)."), false);
      emit renderFinished(lastOutput_);
      break;
    case jobs::JobState::Failed: {
      const QString why = QString::fromStdString(u.record.error);
      progressLabel_->setText(tr("Failed."));
      showMessage(tr("The render failed: %1").arg(why), true);
      emit renderFailed(why);
      break;
    }
    case jobs::JobState::Cancelled:
      progressLabel_->setText(tr("Cancelled: the finished clips are kept; Retry in the job list resumes."));
      break;
    case jobs::JobState::Interrupted:
      progressLabel_->setText(tr("Interrupted: Retry in the job list resumes from the last clip."));
      break;
    case jobs::JobState::Queued:
      break;
  }
}

void GenerateWorkspace::exportVideo() {
  if (lastOutput_.isEmpty()) {
    showMessage(tr("Nothing to export yet: render first."), true);
    return;
  }
  const QString dest = QFileDialog::getSaveFileName(this, tr("Export MP4"),
                                                    AppSettings::load().outputFolder + "/" + QFileInfo(lastOutput_).fileName(),
                                                    tr("MP4 video (*.mp4)"));
  if (!dest.isEmpty()) exportVideoTo(dest);
}

void GenerateWorkspace::exportVideoTo(const QString& dest) {
  if (lastOutput_.isEmpty()) {
    showMessage(tr("Nothing to export yet: render first."), true);
    return;
  }
  showMessage(tr("Exporting %1…").arg(dest), false);
  const QString src = lastOutput_;
  runOffGuiThread(
      this,
      [src, dest]() {
        CopyResult r;
        namespace fs = std::filesystem;
        const fs::path to = dest.toStdString();
        std::error_code ec;
        if (to.has_parent_path()) fs::create_directories(to.parent_path(), ec);
        try {
          s2v::copy_file_atomically(src.toStdString(), to);  // the final name only ever holds a whole file
        } catch (const std::exception& e) {
          r.message = QObject::tr("Could not export: %1").arg(QString::fromUtf8(e.what()));
          return r;
        }
        r.ok = true;
        r.message = QObject::tr("Exported %1").arg(dest);
        return r;
      },
      [this, dest](const CopyResult& r) {
        showMessage(r.message, !r.ok);
        emit exported(dest, r.ok, r.message);
      });
}

void GenerateWorkspace::exportPngSequence() {
  if (lastOutput_.isEmpty()) {
    showMessage(tr("Nothing to export yet: render first."), true);
    return;
  }
  const QString parent = QFileDialog::getExistingDirectory(this, tr("Export PNG sequence into"),
                                                           AppSettings::load().outputFolder);
  if (parent.isEmpty()) return;
  // A new folder named after the video (frame_000000.png, ...), never an existing one.
  const QString base = parent + "/" + QFileInfo(lastOutput_).completeBaseName() + "_frames";
  QString folder = base;
  for (int i = 2; QFileInfo::exists(folder); ++i) folder = base + QString("_%1").arg(i);
  exportPngSequenceTo(folder);
}

void GenerateWorkspace::exportPngSequenceTo(const QString& folder) {
  if (lastOutput_.isEmpty()) {
    showMessage(tr("Nothing to export yet: render first."), true);
    return;
  }
  showMessage(tr("Writing PNG frames to %1…").arg(folder), false);
  const QString src = lastOutput_;
  runOffGuiThread(
      this,
      [src, folder]() {
        CopyResult r;
        try {
          const int64_t n = media::export_png_sequence(src.toStdString(), folder.toStdString());
          r.ok = true;
          r.message = QObject::tr("Exported %1 PNG frames to %2").arg(n).arg(folder);
        } catch (const std::exception& e) {
          r.message = QObject::tr("PNG export failed: %1").arg(QString::fromUtf8(e.what()));
        }
        return r;
      },
      [this, folder](const CopyResult& r) {
        showMessage(r.message, !r.ok);
        emit exported(folder, r.ok, r.message);
      });
}

}  // namespace s2v::ui
