#include "ui/generate/generate_workspace.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QFrame>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QShortcut>
#include <QSplitter>
#include <QStyle>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/media/audio.h"
#include "ui/curate/clip_viewer.h"
#include "ui/engine/engine_process.h"
#include "ui/generate/async.h"
#include "ui/generate/audio_recorder.h"
#include "ui/generate/drop_area.h"
#include "ui/generate/exporter.h"
#include "ui/generate/generate_state.h"
#include "ui/generate/input_probe.h"
#include "ui/generate/model_panel.h"
#include "ui/generate/portrait_check.h"
#include "ui/generate/pose_panel.h"
#include "ui/generate/preview_player.h"
#include "ui/generate/render_session.h"
#include "ui/generate/settings_form.h"
#include "ui/generate/waveform_view.h"
#include "ui/jobs/job_list_model.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/settings/app_settings.h"
#include "ui/settings/theme.h"
#include "ui/widgets/sound_playback.h"
#include "ui/widgets/elided_label.h"
#include "ui/widgets/input_guards.h"

namespace s2v::ui {

namespace {

constexpr int kWaveformBuckets = 1200;

QString seconds(double s) { return QString::number(s, 'f', 1) + " s"; }

// The official negative prompt in English (the model reads the Chinese text).
const char* const kNegativeInEnglish =
    "blurred picture, worst quality, blurred details, violent emotions, fast shaking hands, subtitles, ugly, "
    "mutilated, extra fingers, badly drawn hands, badly drawn face, deformed, disfigured, malformed limbs, fused "
    "fingers, still picture, cluttered background, three legs, many people in the background, walking backwards";

}  // namespace

QString negativePromptPlaceholder() {
  if (!QFontDatabase::families(QFontDatabase::SimplifiedChinese).isEmpty())
    return QObject::tr("Empty = the official negative prompt: %1")
        .arg(QString::fromStdString(generate::official_negative_prompt()));
  return QObject::tr("Empty = the official negative prompt (Chinese; in English: %1)").arg(kNegativeInEnglish);
}

GenerateWorkspace::GenerateWorkspace(JobQueueAdapter* jobs, QWidget* parent)
    : QWidget(parent), jobs_(jobs) {
  setObjectName("generateWorkspace");
  setAcceptDrops(true);
  state_ = new GenerateState(this);
  session_ = new RenderSession(jobs_, this);
  exporter_ = new Exporter(this);

  // --- Prompt, model, settings, pose ------------------------------------------------------------
  prompt_ = new QPlainTextEdit(this);
  prompt_->setObjectName("prompt");
  prompt_->setPlaceholderText(tr("Describe the scene, e.g. “a woman singing on a stage, warm light”"));
  prompt_->setToolTip(tr("What the video shows"));
  prompt_->setMinimumHeight(48);
  prompt_->setMaximumHeight(90);
  tabMovesFocus(prompt_);
  negative_ = new QPlainTextEdit(this);
  negative_->setObjectName("negativePrompt");
  negative_->setPlaceholderText(negativePromptPlaceholder());
  negative_->setToolTip(tr("What to avoid. Left empty, the official S2V negative prompt is used (Chinese text; "
                           "in English: %1).").arg(kNegativeInEnglish));
  negative_->setMinimumHeight(40);
  negative_->setMaximumHeight(60);
  tabMovesFocus(negative_);
  model_ = new ModelPanel(this);
  settings_ = new GenerateSettingsForm(this);
  pose_ = new PosePanel(this);
  estimate_ = new QLabel(this);
  estimate_->setObjectName("estimate");
  estimate_->setWordWrap(true);
  estimate_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  // --- The form: one column that scrolls vertically only -----------------------------------------
  auto* prompts = new QGroupBox(tr("Prompt"), this);
  auto* pl = new QFormLayout(prompts);
  pl->setRowWrapPolicy(QFormLayout::WrapLongRows);
  pl->addRow(tr("Prompt"), prompt_);
  pl->addRow(tr("Negative"), negative_);
  auto* modelBox = new QGroupBox(tr("Model"), this);
  (new QVBoxLayout(modelBox))->addWidget(model_);
  auto* estimateBox = new QGroupBox(tr("Estimate"), this);
  (new QVBoxLayout(estimateBox))->addWidget(estimate_);
  auto* poseBox = new QGroupBox(tr("Pose video (optional)"), this);
  (new QVBoxLayout(poseBox))->addWidget(pose_);

  auto* form = new QWidget(this);
  form->setObjectName("generateForm");
  auto* fl = new QVBoxLayout(form);
  fl->setContentsMargins(0, 0, 4, 0);
  fl->addWidget(buildInputs());
  fl->addWidget(prompts);
  fl->addWidget(modelBox);
  fl->addWidget(settings_);
  fl->addWidget(estimateBox);
  fl->addWidget(poseBox);
  fl->addStretch(1);
  formScroll_ = new QScrollArea(this);
  formScroll_->setObjectName("generateFormScroll");
  formScroll_->setWidget(form);
  formScroll_->setWidgetResizable(true);
  formScroll_->setFrameShape(QFrame::NoFrame);
  // Never sideways: the form's columns wrap and elide to the width they get.
  formScroll_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  formScroll_->setMinimumWidth(form->minimumSizeHint().width() + formScroll_->verticalScrollBar()->sizeHint().width());

  // --- Preview -------------------------------------------------------------------------------------
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
  exportPng_ = new QPushButton(tr("Export PNGs…"), this);
  exportPng_->setObjectName("exportPng");
  exportPng_->setToolTip(tr("Write every frame of the finished video as a PNG file (Ctrl+Shift+E)"));
  exportPng_->setEnabled(false);
  auto* right = new QGroupBox(tr("Preview"), this);
  right->setObjectName("previewBox");
  auto* rl = new QVBoxLayout(right);
  rl->addWidget(preview_, 1);
  rl->addWidget(progress_);
  rl->addWidget(progressLabel_);
  auto* exportRow = new QHBoxLayout;
  exportRow->addStretch(1);
  exportRow->addWidget(exportPng_);
  exportRow->addWidget(exportMp4_);
  rl->addLayout(exportRow);

  split_ = new QSplitter(this);
  split_->setObjectName("generateSplit");
  split_->setChildrenCollapsible(false);
  split_->addWidget(formScroll_);
  split_->addWidget(right);
  split_->setStretchFactor(0, 3);
  split_->setStretchFactor(1, 2);
  auto* top = new QVBoxLayout(this);
  top->setContentsMargins(4, 4, 4, 4);
  top->addWidget(split_, 1);
  top->addWidget(buildActionBar());

  // --- Wiring ----------------------------------------------------------------------------------
  connect(prompt_, &QPlainTextEdit::textChanged, this, [this] {
    inputs_.prompt = prompt_->toPlainText();
    onFormEdited();
  });
  connect(negative_, &QPlainTextEdit::textChanged, this, [this] {
    inputs_.negativePrompt = negative_->toPlainText();
    onFormEdited();
  });
  connect(settings_, &GenerateSettingsForm::edited, this, &GenerateWorkspace::onFormEdited);
  connect(settings_, &GenerateSettingsForm::presetChosen, this, [this](GenerateState::Preset p) {
    state_->choosePreset(p);
    if (p != GenerateState::Preset::Custom) {
      settings_->setSettings(GenerateState::presetParams(p, params()));
      onFormEdited();
    }
  });
  connect(model_, &ModelPanel::inspected, this, &GenerateWorkspace::onModelInspected);
  connect(model_, &ModelPanel::folderChanged, this, &GenerateWorkspace::onModelInspected);
  connect(state_, &GenerateState::changed, this, &GenerateWorkspace::updateFromState);
  connect(waveform_, &WaveformView::trimChanged, this, &GenerateWorkspace::onTrimChanged);
  connect(recorder_, &AudioRecorderPanel::recorded, this, [this](const QString& path) { addFiles({path}); });
  connect(pose_, &PosePanel::rejected, this, [this](const QString& m) {
    showMessage(m, true);
    emit inputRejected(m);
  });
  connect(pose_, &PosePanel::videoChanged, this, [this](const QString& path) {
    state_->setPoseVideo(path);
    if (!path.isEmpty()) showMessage(tr("Pose video: %1").arg(QFileInfo(path).fileName()), false);
    emit inputsChanged();
  });
  // the engine knows the GPU (the GUI links no CUDA): its first answer fills an unset field
  connect(model_, &ModelPanel::gpuMemoryDetected, this, [this](double gb) {
    setEngineGpuMemoryGb(gb);
    settings_->suggestGpuMemory(gb);
    onFormEdited();
  });
  connect(render_, &QPushButton::clicked, this, &GenerateWorkspace::render);
  connect(testPattern_, &QPushButton::clicked, this, &GenerateWorkspace::runTestPattern);
  connect(exportMp4_, &QPushButton::clicked, this, &GenerateWorkspace::exportVideo);
  connect(exportPng_, &QPushButton::clicked, this, &GenerateWorkspace::exportPngSequence);
  connect(exporter_, &Exporter::exported, this, [this](const QString& dest, bool ok, const QString& m) {
    showMessage(m, !ok);
    emit exported(dest, ok, m);
  });

  // The render's life, as the session reports it.
  connect(session_, &RenderSession::previewCleared, preview_, &PreviewPlayer::clear);
  connect(session_, &RenderSession::clipReady, this, [this](const QString& path) {
    preview_->addClip(path);
    emit previewAdded(path);
  });
  connect(session_, &RenderSession::progress, this, [this](double fraction, const QString& text) {
    if (fraction >= 0) progress_->setValue(int(std::lround(fraction * 1000)));
    progressLabel_->setText(text);
  });
  connect(session_, &RenderSession::outputReady, this, [this] {
    exportMp4_->setEnabled(true);
    exportPng_->setEnabled(true);
  });
  connect(session_, &RenderSession::finished, this, [this](const QString& out) {
    progress_->setValue(1000);
    progressLabel_->setText(tr("Done: %1").arg(out));
    preview_->setFinal(out);
    showMessage(tr("Render finished: export it with Export MP4 (Ctrl+E); the History tab keeps it."), false);
    emit renderFinished(out);
  });
  connect(session_, &RenderSession::failed, this, [this](const QString& why) {
    progressLabel_->setText(tr("Failed."));
    showMessage(tr("The render failed: %1").arg(why), true);
    emit renderFailed(why);
  });
  connect(session_, &RenderSession::stopped, progressLabel_, &QLabel::setText);

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

  ignoreWheelUnlessFocused(this);
  restoreSettings();
  updateFromState();
}

GenerateWorkspace::~GenerateWorkspace() { saveSettings(); }

QWidget* GenerateWorkspace::buildInputs() {
  auto* box = new QGroupBox(tr("Portrait and audio"), this);
  portraitArea_ = new DropArea(tr("Drop a portrait here\n(or click, Ctrl+I)"), box);
  portraitArea_->setObjectName("portraitDrop");
  portraitArea_->setToolTip(tr("The person to animate: a clear, front-facing portrait works best. Click to choose one."));
  portraitArea_->setMinimumSize(140, 120);
  audioArea_ = new DropArea(tr("Drop speech or song here (a video with sound works too; click or Ctrl+U)"), box);
  audioArea_->setObjectName("audioDrop");
  audioArea_->setToolTip(tr("The voice that drives the lips and body: any audio file or a video's sound. Click to "
                            "choose one."));
  audioArea_->setMinimumSize(140, 48);
  audioArea_->setMaximumHeight(70);
  auto* choosePortrait = new QPushButton(tr("Choose portrait…"), box);
  choosePortrait->setObjectName("choosePortrait");
  choosePortrait->setToolTip(tr("Choose the reference portrait (Ctrl+I)"));
  auto* chooseAudio = new QPushButton(tr("Choose audio…"), box);
  chooseAudio->setObjectName("chooseAudio");
  chooseAudio->setToolTip(tr("Choose the audio (Ctrl+U)"));

  waveform_ = new WaveformView(box);
  waveform_->setObjectName("waveform");
  waveform_->setMinimumHeight(56);
  trimLabel_ = new QLabel(box);
  trimLabel_->setObjectName("trimLabel");
  trimLabel_->setWordWrap(true);
  clipsLabel_ = new QLabel(box);
  clipsLabel_->setObjectName("clipsLabel");
  clipsLabel_->setToolTip(tr("Each clip is %1 frames at 16 fps; a long audio becomes several clips in a row.")
                              .arg(generate::GenerateParams{}.infer_frames));
  silenceLabel_ = new QLabel(box);
  silenceLabel_->setObjectName("silenceNote");
  silenceLabel_->setWordWrap(true);
  silenceLabel_->hide();
  fitToAudio_ = new QPushButton(tr("Fit to the audio"), box);
  fitToAudio_->setObjectName("fitToAudio");
  fitToAudio_->setToolTip(tr("Shorten the clips (frames per clip) so that the video ends with the audio"));
  fitToAudio_->hide();
  playTrim_ = new QPushButton(tr("Play trimmed"), box);
  playTrim_->setObjectName("playTrimmed");
  playTrim_->setIcon(style()->standardIcon(QStyle::SP_MediaPlay));
  auto* noOutput = new QLabel(box);
  noOutput->setObjectName("playbackNote");
  noOutput->setWordWrap(true);
  auto* sound = new SoundPlayback(this);
  if (!sound->available()) {
    // Not an error: the render does not need a sound card.
    delete sound;
    playTrim_->setEnabled(false);
    playTrim_->hide();
    noOutput->setText(tr("No audio output device: playback is off; rendering is unaffected."));
    noOutput->setStyleSheet(toneStyle(Tone::Muted, palette()));
    playTrim_->setToolTip(noOutput->text());
  } else {
    noOutput->hide();
    audioPlayer_ = sound;
    playTrim_->setToolTip(tr("Play the trimmed part of the audio (Ctrl+Shift+A); press again to stop"));
    connect(audioPlayer_, &SoundPlayback::positionChanged, this, [this](double t) { waveform_->setPlayhead(t); });
    connect(audioPlayer_, &SoundPlayback::playingChanged, this, [this](bool playing) {
      playTrim_->setText(playing ? tr("Stop") : tr("Play trimmed"));
      playTrim_->setIcon(style()->standardIcon(playing ? QStyle::SP_MediaStop : QStyle::SP_MediaPlay));
      if (!playing) waveform_->setPlayhead(-1);
    });
    connect(audioPlayer_, &SoundPlayback::failed, this, [this](const QString& why) {
      showMessage(tr("The audio cannot be played here (%1); rendering is unaffected. Check the system's sound output.")
                      .arg(why),
                  false);
    });
  }
  connect(playTrim_, &QPushButton::clicked, this, &GenerateWorkspace::playTrimmedAudio);
  connect(fitToAudio_, &QPushButton::clicked, this, &GenerateWorkspace::fitClipsToAudio);
  recorder_ = new AudioRecorderPanel(box);

  portraitCheck_ = new FrameView(box);
  portraitCheck_->setObjectName("portraitCheck");
  portraitCheck_->setMinimumSize(120, 90);
  portraitCheck_->setMaximumSize(200, 150);
  portraitCheck_->setToolTip(tr("The portrait as curation sees it: people, faces (with their sharpness) and, with a "
                                "pose model, the skeleton."));
  portraitFindings_ = new QLabel(tr("Drop a portrait to check its face, sharpness and clarity."), box);
  portraitFindings_->setObjectName("portraitFindings");
  portraitFindings_->setWordWrap(true);
  portraitFindings_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  portraitFindings_->setAlignment(Qt::AlignTop | Qt::AlignLeft);

  auto* left = new QVBoxLayout;
  left->addWidget(portraitArea_, 1);
  left->addWidget(choosePortrait);
  auto* trimRow = new QHBoxLayout;
  trimRow->addWidget(trimLabel_, 1);
  trimRow->addWidget(playTrim_);
  auto* clipsRow = new QHBoxLayout;
  clipsRow->addWidget(clipsLabel_, 1);
  clipsRow->addWidget(fitToAudio_);
  auto* audioTop = new QHBoxLayout;
  audioTop->addWidget(audioArea_, 1);
  audioTop->addWidget(chooseAudio, 0, Qt::AlignTop);
  auto* rightCol = new QVBoxLayout;
  rightCol->addLayout(audioTop);
  rightCol->addWidget(waveform_);
  rightCol->addLayout(trimRow);
  rightCol->addLayout(clipsRow);
  rightCol->addWidget(silenceLabel_);
  rightCol->addWidget(noOutput);
  rightCol->addWidget(recorder_);
  auto* checkRow = new QHBoxLayout;
  checkRow->addWidget(portraitCheck_);
  checkRow->addWidget(portraitFindings_, 1);
  auto* g = new QGridLayout(box);
  g->addLayout(left, 0, 0);
  g->addLayout(rightCol, 0, 1);
  g->addLayout(checkRow, 1, 0, 1, 2);
  g->setColumnStretch(0, 2);
  g->setColumnStretch(1, 3);
  connect(portraitArea_, &DropArea::filesDropped, this, &GenerateWorkspace::addFiles);
  connect(audioArea_, &DropArea::filesDropped, this, &GenerateWorkspace::addFiles);
  connect(portraitArea_, &DropArea::clicked, this, &GenerateWorkspace::choosePortrait);
  connect(audioArea_, &DropArea::clicked, this, &GenerateWorkspace::chooseAudio);
  connect(choosePortrait, &QPushButton::clicked, this, &GenerateWorkspace::choosePortrait);
  connect(chooseAudio, &QPushButton::clicked, this, &GenerateWorkspace::chooseAudio);
  return box;
}

QWidget* GenerateWorkspace::buildActionBar() {
  actionBar_ = new QFrame(this);
  actionBar_->setObjectName("generateActionBar");
  actionBar_->setFrameShape(QFrame::StyledPanel);
  message_ = new QLabel(actionBar_);
  message_->setObjectName("inputMessage");
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  message_->setText(tr("Drop a portrait and an audio track, write a prompt, then Render."));
  summary_ = new ElidedLabel(actionBar_);
  summary_->setObjectName("renderSummary");
  modelLabel_ = new ElidedLabel(actionBar_, Qt::ElideMiddle);
  modelLabel_->setObjectName("actionModelLabel");
  testPattern_ = new QPushButton(tr("Test pattern"), actionBar_);
  testPattern_->setObjectName("testPattern");
  testPattern_->setToolTip(tr("Diagnostic: encodes a colour-bar video through the job queue. Not generation."));
  render_ = new QPushButton(tr("Render"), actionBar_);
  render_->setObjectName("render");
  render_->setDefault(true);
  render_->setToolTip(tr("Render the video through the job queue (Ctrl+R)"));
  QFont bold = render_->font();
  bold.setBold(true);
  render_->setFont(bold);
  render_->setMinimumWidth(render_->sizeHint().width() + 24);
  auto* row = new QHBoxLayout;
  row->addWidget(summary_, 3);
  row->addWidget(modelLabel_, 2);
  row->addWidget(testPattern_);
  row->addWidget(render_);
  auto* l = new QVBoxLayout(actionBar_);
  l->setContentsMargins(6, 4, 6, 4);
  l->setSpacing(2);
  l->addWidget(message_);
  l->addLayout(row);
  actionBar_->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
  return actionBar_;
}

QWidget* GenerateWorkspace::actionBar() const { return actionBar_; }

// ---- state ---------------------------------------------------------------------------------------

generate::GenerateParams GenerateWorkspace::params() const {
  generate::GenerateParams p = state_->params();
  p.ckpt_dir = model_->folder().toStdString();
  p.components = model_->overrides();
  p.prompt = prompt_->toPlainText().toStdString();
  p.negative_prompt = negative_->toPlainText().toStdString();
  return settings_->settings(p);
}

void GenerateWorkspace::setParams(const generate::GenerateParams& p) {
  settings_->setSettings(p);
  if (prompt_->toPlainText() != QString::fromStdString(p.prompt)) prompt_->setPlainText(QString::fromStdString(p.prompt));
  if (negative_->toPlainText() != QString::fromStdString(p.negative_prompt))
    negative_->setPlainText(QString::fromStdString(p.negative_prompt));
  if (!p.ckpt_dir.empty() && QString::fromStdString(p.ckpt_dir) != model_->folder())
    model_->setFolder(QString::fromStdString(p.ckpt_dir));
  if (!(p.components == model_->overrides())) model_->setOverrides(p.components);
  onFormEdited();
}

void GenerateWorkspace::useRender(const generate::GenerateParams& p) {
  setParams(p);
  QStringList files;
  for (const std::string& f : {p.image, p.audio})
    if (!f.empty() && QFileInfo::exists(QString::fromStdString(f))) files << QString::fromStdString(f);
  if (!files.isEmpty()) addFiles(files);
  const bool missing = files.size() < 2;
  showMessage(missing ? tr("The settings of that render are in the form; its portrait or audio file is gone: drop "
                           "them again.")
                      : tr("The settings, portrait and audio of that render are in the form."),
              false);
}

void GenerateWorkspace::applyAppSettings(const AppSettings& s) {
  generate::GenerateParams p = params();
  p.device = s.device.toStdString();
  p.dtype = s.dtype.toStdString();
  settings_->setSettings(p);
  if (!s.modelFolder.isEmpty() && s.modelFolder != model_->folder()) model_->setFolder(s.modelFolder);
  onFormEdited();
}

void GenerateWorkspace::onFormEdited() {
  if (restoring_) return;
  state_->setSettings(params());
}

void GenerateWorkspace::onModelInspected() {
  state_->setModel(model_->folder(), model_->model(), model_->inspecting());
}

void GenerateWorkspace::updateFromState() {
  settings_->showFrameSize(state_->frameSizeText(), state_->sizeNote());
  settings_->showPreset(state_->chosenPreset(), state_->presetLabel());
  clipsLabel_->setText(state_->clipsText());
  const QString silence = state_->silenceNote();
  silenceLabel_->setText(silence);
  silenceLabel_->setStyleSheet(toneStyle(Tone::Warning, palette()));
  silenceLabel_->setVisible(!silence.isEmpty());
  const auto fit = state_->fittedInferFrames();
  fitToAudio_->setVisible(fit.has_value());
  if (fit) fitToAudio_->setToolTip(tr("Use %1 frames per clip, so that the video ends with the audio").arg(*fit));
  estimate_->setText(state_->estimateLines().join("\n"));
  summary_->setFullText(state_->estimateSummary());
  const auto& m = state_->model();
  modelLabel_->setFullText(m ? QString::fromStdString(m->label.empty() ? m->root.filename().string() : m->label)
                             : (model_->inspecting() ? tr("Checking the model…") : tr("No model")));
  modelLabel_->setStyleSheet(m && m->demo ? toneStyle(Tone::Warning, palette()) + "font-weight: bold;" : QString());
  emit estimateChanged();
}

void GenerateWorkspace::saveSettings() const {
  // The settings, not the inputs: a new session starts with no portrait/audio but the same look.
  nlohmann::json j = params().to_json();
  for (const char* k : {"image", "audio", "audio_start_s", "audio_end_s", "pose_video", "out"}) j.erase(k);
  const auto s = studioSettings();
  s->setValue(kSettingsKey, QString::fromStdString(j.dump()));
  s->setValue(kPresetKey, int(state_->chosenPreset()));
}

void GenerateWorkspace::restoreSettings() {
  const AppSettings app = AppSettings::load();
  generate::GenerateParams p;
  p.device = app.device.toStdString();  // Settings' defaults until the form was saved once
  p.dtype = app.dtype.toStdString();
  const auto s = studioSettings();
  const QString saved = s->value(kSettingsKey).toString();
  if (!saved.isEmpty()) {
    try {
      p = generate::GenerateParams::from_json(nlohmann::json::parse(saved.toStdString()));
    } catch (const std::exception& e) {
      showMessage(tr("The saved generation settings could not be read (%1): the official defaults are used.")
                      .arg(QString::fromUtf8(e.what())),
                  true);
      p = {};
    }
  }
  if (p.ckpt_dir.empty()) p.ckpt_dir = app.modelFolder.toStdString();
  if (p.ckpt_dir.empty()) p.ckpt_dir = generate::find_demo_model().string();
  restoring_ = true;
  setParams(p);
  restoring_ = false;
  state_->choosePreset(GenerateState::Preset(s->value(kPresetKey, int(GenerateState::Preset::Custom)).toInt()));
  if (model_->folder().isEmpty()) model_->setFolder({});  // shows "no model folder chosen"
  onFormEdited();
}

QString GenerateWorkspace::message() const { return message_->text(); }
QStringList GenerateWorkspace::previews() const { return preview_->clips(); }
QString GenerateWorkspace::clipsText() const { return state_->clipsText(); }
int GenerateWorkspace::plannedClips() const { return state_->plannedClips(); }
QString GenerateWorkspace::estimateText() const { return estimate_->text(); }
QString GenerateWorkspace::frameSizeText() const { return state_->frameSizeText(); }
double GenerateWorkspace::audioDuration() const { return state_->audioDuration(); }
QString GenerateWorkspace::renderJobId() const { return session_->renderJob(); }
QString GenerateWorkspace::lastOutput() const { return session_->lastOutput(); }

void GenerateWorkspace::showMessage(const QString& text, bool error) {
  messageError_ = error;
  message_->setText(text);
  message_->setStyleSheet(error ? toneStyle(Tone::Error, palette()) : QString());
}

// ---- inputs ----------------------------------------------------------------------------------------

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
      portraitArea_->setThumbnail(QPixmap::fromImage(p.thumbnail), p.summary);
      portraitArea_->setToolTip(p.path);
      if (rejections_.isEmpty()) showMessage(tr("Portrait: %1").arg(p.summary), false);
      checkPortrait(p.path);
      state_->setPortrait(p.path, QSize(p.width, p.height));
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
  checkPortraitAsync(path, AppSettings::load().curationWeights.value("pose_weights"), this,
                     [this, request](const PortraitCheckResult& r) {
                       if (request != portraitRequest_) return;  // a newer portrait was dropped meanwhile
                       if (!r.error.isEmpty()) {
                         portraitCheck_->setOverlay(std::nullopt, std::nan(""), {});
                       } else {
                         portraitCheck_->setFrame(r.image);
                         portraitCheck_->setOverlay(r.check.overlay,
                                                    r.check.face_sharpness.value.value_or(std::nan("")),
                                                    QSizeF(r.check.size.width, r.check.size.height));
                       }
                       portraitFindings_->setText(portraitFindingsHtml(r, palette()));
                     });
}

void GenerateWorkspace::setAudio(const QString& path, double duration_s, const QString& summary) {
  inputs_.audio = path;
  if (audioPlayer_) audioPlayer_->stop();
  waveform_->clear();
  audioArea_->setThumbnail({}, summary);
  audioArea_->setToolTip(path);
  state_->setAudio(path, duration_s);
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
          showMessage(tr("The waveform could not be drawn (%1); trimming is off for this file, rendering uses all "
                         "of it.").arg(r.error),
                      true);
          return;
        }
        const double d = state_->audioDuration();
        waveform_->setWaveform(r.min, r.max, d > 0 ? d : r.duration);
        if (d <= 0) {
          state_->setAudio(inputs_.audio, r.duration);
          onTrimChanged(0, r.duration);
        }
      });
}

void GenerateWorkspace::onTrimChanged(double start_s, double end_s) {
  state_->setTrim(start_s, end_s);
  const double d = state_->audioDuration();
  if (d > 0)
    trimLabel_->setText(tr("Using %1 – %2 (%3 of %4)").arg(seconds(start_s), seconds(end_s), seconds(end_s - start_s), seconds(d)));
  else
    trimLabel_->clear();
}

void GenerateWorkspace::rollSeed() { settings_->rollSeed(); }

void GenerateWorkspace::fitClipsToAudio() {
  const auto f = state_->fittedInferFrames();
  if (!f) return;
  generate::GenerateParams p = params();
  p.infer_frames = *f;
  settings_->setSettings(p);
  onFormEdited();
  showMessage(tr("Frames per clip set to %1: the video now ends %2 after the audio.")
                  .arg(*f)
                  .arg(seconds(state_->silentTail())),
              false);
}

void GenerateWorkspace::playTrimmedAudio() {
  if (!audioPlayer_ || inputs_.audio.isEmpty()) return;
  if (audioPlayer_->playing()) {
    audioPlayer_->stop();
    return;
  }
  // Only the trimmed part is decoded, so playback ends at the trim's end by itself.
  audioPlayer_->playFile(inputs_.audio, state_->trimStart(), state_->trimEnd());
}

// ---- jobs ------------------------------------------------------------------------------------------

void GenerateWorkspace::render() {
  onFormEdited();
  if (const auto why = state_->refusal()) {
    showMessage(*why, true);
    render_->setFocus();  // the reason sits right above the button
    return;
  }
  QString why;
  const QString id = session_->submit(params(), &why);
  if (id.isEmpty()) {
    showMessage(why, true);
    return;
  }
  saveSettings();
  exportMp4_->setEnabled(false);
  exportPng_->setEnabled(false);
  progress_->setValue(0);
  progressLabel_->setText(tr("Queued: %1.").arg(state_->clipsText()));
  showMessage(tr("Render queued: %1. Follow it in the preview and the job list.").arg(state_->clipsText()), false);
  emit renderStarted(id);
}

void GenerateWorkspace::runTestPattern() {
  QString why;
  if (session_->runTestPattern(&why).isEmpty())
    showMessage(why, true);
  else
    showMessage(tr("Test pattern queued (diagnostic, not generation)."), false);
}

void GenerateWorkspace::showJob(const QString& id) {
  if (id.isEmpty() || id == session_->renderJob() || id == session_->testPatternJob()) return;  // already followed
  const std::optional<JobUpdate> u = jobs_->job(id);
  if (!u || !session_->follow(*u)) return;  // a curation: the Curate workspace shows it
  preview_->clear();
  for (const QString& clip : jobs_->previews(id)) preview_->addClip(clip);
  const auto& r = u->record;
  const QString out = session_->lastOutput();
  if (!out.isEmpty() && id == session_->renderJob()) preview_->setFinal(out);
  exportMp4_->setEnabled(!out.isEmpty());
  exportPng_->setEnabled(!out.isEmpty());
  progress_->setValue(int(std::lround(std::clamp(r.fraction, 0.0, 1.0) * 1000)));
  progressLabel_->setText(QString::fromStdString(r.spec.title) + " — " + describeJob(*u));
}

void GenerateWorkspace::exportVideo() {
  if (lastOutput().isEmpty()) {
    showMessage(tr("Nothing to export yet: render first (or open a past render in the History tab)."), true);
    return;
  }
  const QString suggested =
      defaultExportPath(AppSettings::load().outputFolder, prompt_->toPlainText(), lastOutput());
  const QString dest = QFileDialog::getSaveFileName(this, tr("Export MP4"), suggested, tr("MP4 video (*.mp4)"));
  if (!dest.isEmpty()) exportVideoTo(dest);
}

void GenerateWorkspace::exportVideoTo(const QString& dest) {
  if (lastOutput().isEmpty()) {
    showMessage(tr("Nothing to export yet: render first (or open a past render in the History tab)."), true);
    return;
  }
  showMessage(tr("Exporting to %1…").arg(dest), false);
  exporter_->exportVideo(lastOutput(), dest);
}

void GenerateWorkspace::exportPngSequence() {
  if (lastOutput().isEmpty()) {
    showMessage(tr("Nothing to export yet: render first (or open a past render in the History tab)."), true);
    return;
  }
  QString start = AppSettings::load().outputFolder;
  if (!QDir().mkpath(start)) start = QDir::homePath();
  const QString parent = QFileDialog::getExistingDirectory(this, tr("Export PNG sequence into"), start);
  if (parent.isEmpty()) return;
  // A new folder named after the video (frame_000000.png, ...), never an existing one.
  const QString base = QDir(parent).absoluteFilePath(
      QFileInfo(exportFileName(prompt_->toPlainText(), lastOutput(), "x")).completeBaseName() + " frames");
  QString folder = base;
  for (int i = 2; QFileInfo::exists(folder); ++i) folder = base + QString(" %1").arg(i);
  exportPngSequenceTo(folder);
}

void GenerateWorkspace::exportPngSequenceTo(const QString& folder) {
  if (lastOutput().isEmpty()) {
    showMessage(tr("Nothing to export yet: render first (or open a past render in the History tab)."), true);
    return;
  }
  showMessage(tr("Writing PNG frames to %1…").arg(folder), false);
  exporter_->exportPngSequence(lastOutput(), folder);
}

}  // namespace s2v::ui
