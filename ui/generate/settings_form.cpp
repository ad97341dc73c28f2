#include "ui/generate/settings_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QRandomGenerator>
#include <QRegularExpressionValidator>
#include <QSpinBox>
#include <QToolButton>
#include <algorithm>
#include <limits>

#include "core/generate/model_folder.h"
#include "ui/widgets/icons.h"

namespace s2v::ui {

namespace {

struct SizePreset {
  const char* area;
  const char* what;
};
// The official --size choices (area presets: the output keeps the portrait's aspect ratio) and a
// small one for drafts.
const SizePreset kSizes[] = {
    {"1024*704", QT_TRANSLATE_NOOP("GenerateSettingsForm", "the official default (720p class)")},
    {"704*1024", QT_TRANSLATE_NOOP("GenerateSettingsForm", "the same area, for tall portraits")},
    {"1280*720", QT_TRANSLATE_NOOP("GenerateSettingsForm", "720p")},
    {"720*1280", QT_TRANSLATE_NOOP("GenerateSettingsForm", "720p, tall")},
    {"832*480", QT_TRANSLATE_NOOP("GenerateSettingsForm", "480p: about twice as fast as the default")},
    {"480*832", QT_TRANSLATE_NOOP("GenerateSettingsForm", "480p, tall")},
    {"384*384", QT_TRANSLATE_NOOP("GenerateSettingsForm", "draft: about five times as fast as the default; "
                                                          "check framing and motion before a long render")},
};

}  // namespace

QStringList GenerateSettingsForm::sizePresets() {
  QStringList out;
  for (const auto& s : kSizes) out << s.area;
  return out;
}

GenerateSettingsForm::GenerateSettingsForm(QWidget* parent) : QGroupBox(tr("Settings"), parent) {
  setObjectName("generateSettings");
  const generate::GenerateParams defaults;
  auto* f = new QFormLayout(this);
  f->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  f->setRowWrapPolicy(QFormLayout::WrapLongRows);

  preset_ = new QComboBox(this);
  preset_->setObjectName("preset");
  preset_->addItem(GenerateState::presetName(GenerateState::Preset::Draft), int(GenerateState::Preset::Draft));
  preset_->addItem(GenerateState::presetName(GenerateState::Preset::Final), int(GenerateState::Preset::Final));
  preset_->addItem(GenerateState::presetName(GenerateState::Preset::Custom), int(GenerateState::Preset::Custom));
  preset_->setItemData(0, tr("A quick look: 384*384 area and 12 steps"), Qt::ToolTipRole);
  preset_->setItemData(1, tr("The official settings: 1024*704 area, 40 steps"), Qt::ToolTipRole);
  preset_->setItemData(2, tr("Your own settings"), Qt::ToolTipRole);
  preset_->setToolTip(tr("Draft renders small and fast to check a take; Final uses the official settings. "
                         "Changing a setting below marks the preset as modified."));
  f->addRow(tr("Preset"), preset_);

  size_ = new QComboBox(this);
  size_->setObjectName("size");
  size_->setEditable(true);
  for (const auto& s : kSizes) {
    size_->addItem(s.area);
    size_->setItemData(size_->count() - 1, tr(s.what), Qt::ToolTipRole);
  }
  size_->setValidator(new QRegularExpressionValidator(QRegularExpression("\\d{2,5}\\*\\d{2,5}"), size_));
  size_->setToolTip(tr("The pixel area (width*height) the video may use; the portrait's aspect ratio is kept. "
                       "1024*704 is the official default, 832*480 renders about twice as fast, 384*384 is a draft."));
  size_->setMinimumContentsLength(8);
  sizeResult_ = new QLabel(this);
  sizeResult_->setObjectName("frameSize");
  auto* sizeRow = new QHBoxLayout;
  sizeRow->addWidget(size_);
  sizeRow->addWidget(sizeResult_, 1);
  f->addRow(tr("Size (area)"), sizeRow);
  sizeNote_ = new QLabel(this);
  sizeNote_->setObjectName("frameSizeNote");
  sizeNote_->setWordWrap(true);
  sizeNote_->hide();
  f->addRow(QString(), sizeNote_);

  steps_ = new QSpinBox(this);
  steps_->setObjectName("steps");
  steps_->setRange(1, 200);
  steps_->setToolTip(tr("Denoising steps per clip (official: %1). Fewer is faster and rougher.").arg(defaults.sample_steps));
  f->addRow(tr("Steps"), steps_);

  shift_ = new QDoubleSpinBox(this);
  shift_->setObjectName("shift");
  shift_->setRange(0.1, 20.0);
  shift_->setSingleStep(0.5);
  shift_->setDecimals(2);
  shift_->setToolTip(tr("How the noise schedule leans towards the start (official: 3 for 480p, 5 above)"));
  f->addRow(tr("Shift"), shift_);

  guide_ = new QDoubleSpinBox(this);
  guide_->setObjectName("guidance");
  guide_->setRange(0.0, 20.0);
  guide_->setSingleStep(0.5);
  guide_->setDecimals(2);
  guide_->setToolTip(tr("How strongly the prompt steers the video (official: %1). 1 or less turns guidance off "
                        "and halves the work.").arg(defaults.sample_guide_scale));
  f->addRow(tr("Guidance"), guide_);

  solver_ = new QComboBox(this);
  solver_->setObjectName("solver");
  solver_->addItems({"unipc", "dpm++"});
  solver_->setToolTip(tr("The sampler: UniPC (the official default) or DPM++"));
  f->addRow(tr("Solver"), solver_);

  seed_ = new QSpinBox(this);
  seed_->setObjectName("seed");
  seed_->setRange(-1, std::numeric_limits<int>::max());
  seed_->setSpecialValueText(tr("random"));
  seed_->setToolTip(tr("The same seed and settings give the same video; “random” draws a new one per render "
                       "(the History tab shows the one drawn)"));
  dice_ = new QToolButton(this);
  dice_->setObjectName("rollSeed");
  dice_->setIcon(diceIcon(palette()));
  dice_->setToolTip(tr("Draw a new random seed (Ctrl+D)"));
  dice_->setAccessibleName(tr("Draw a new random seed"));
  auto* seedRow = new QHBoxLayout;
  seedRow->addWidget(seed_, 1);
  seedRow->addWidget(dice_);
  f->addRow(tr("Seed"), seedRow);

  clips_ = new QSpinBox(this);
  clips_->setObjectName("clips");
  clips_->setRange(0, 1000);
  clips_->setSpecialValueText(tr("auto"));
  clips_->setToolTip(tr("How many clips to render; auto = as many as the trimmed audio needs"));
  f->addRow(tr("Clips"), clips_);

  inferFrames_ = new QSpinBox(this);
  inferFrames_->setObjectName("inferFrames");
  inferFrames_->setRange(4, 400);
  inferFrames_->setSingleStep(4);
  inferFrames_->setToolTip(tr("Frames per clip, a multiple of 4 (official: %1 = 5 s at 16 fps)").arg(defaults.infer_frames));
  f->addRow(tr("Frames per clip"), inferFrames_);

  device_ = new QComboBox(this);
  device_->setObjectName("device");
  device_->setEditable(true);
  device_->addItems({"auto", "cpu", "cuda"});
  device_->setToolTip(tr("Where to render: auto picks the GPU when there is one (cuda:1 picks the second GPU)"));
  dtype_ = new QComboBox(this);
  dtype_->setObjectName("dtype");
  dtype_->addItems({"auto", "float32", "bfloat16", "float16"});
  dtype_->setToolTip(tr("Number precision: auto = bfloat16 on a GPU, float32 on the CPU"));
  auto* devRow = new QHBoxLayout;
  devRow->addWidget(device_, 1);
  devRow->addWidget(dtype_, 1);
  f->addRow(tr("Device / precision"), devRow);

  vram_ = new QDoubleSpinBox(this);
  vram_->setObjectName("vram");
  vram_->setRange(0.0, 1024.0);
  vram_->setDecimals(0);
  vram_->setSuffix(tr(" GB"));
  vram_->setSpecialValueText(tr("no plan"));
  vram_->setToolTip(tr("The memory of the GPU to plan for: the render then picks the cheapest settings that fit "
                       "(everything on the GPU, the encoders and VAE offloaded, or the DiT streamed block by block) "
                       "and the estimate says which and why. Defaults to the GPU found on this machine."));
  f->addRow(tr("GPU memory"), vram_);
  offloadModel_ = new QCheckBox(tr("Offload encoders and VAE while denoising"), this);
  offloadModel_->setObjectName("offloadModel");
  offloadModel_->setToolTip(tr("Keeps only the DiT on the GPU while it runs (official: on)"));
  offloadBlocks_ = new QCheckBox(tr("Stream DiT blocks from CPU memory (small GPUs)"), this);
  offloadBlocks_->setObjectName("offloadBlocks");
  offloadBlocks_->setToolTip(tr("Lets the 14B model run on a 24 GB card, more slowly"));
  initFirstFrame_ = new QCheckBox(tr("Start from the portrait"), this);
  initFirstFrame_->setObjectName("initFirstFrame");
  initFirstFrame_->setToolTip(tr("The portrait itself is the first frame of the video"));
  for (QCheckBox* c : {offloadModel_, offloadBlocks_, initFirstFrame_}) f->addRow(QString(), c);

  auto changed = [this] {
    if (!loading_) emit edited();
  };
  for (QSpinBox* s : {steps_, seed_, clips_, inferFrames_}) connect(s, &QSpinBox::valueChanged, this, changed);
  for (QDoubleSpinBox* s : {shift_, guide_, vram_}) connect(s, &QDoubleSpinBox::valueChanged, this, changed);
  for (QComboBox* c : {size_, solver_, device_, dtype_}) connect(c, &QComboBox::currentTextChanged, this, changed);
  for (QCheckBox* c : {offloadModel_, offloadBlocks_, initFirstFrame_}) connect(c, &QCheckBox::toggled, this, changed);
  connect(dice_, &QToolButton::clicked, this, &GenerateSettingsForm::rollSeed);
  connect(preset_, &QComboBox::activated, this, [this](int i) {
    emit presetChosen(GenerateState::Preset(preset_->itemData(i).toInt()));
  });
  // Frames per clip must stay a multiple of 4.
  connect(inferFrames_, &QSpinBox::editingFinished, this, [this] {
    inferFrames_->setValue(std::max(4, inferFrames_->value() / 4 * 4));
  });
  setSettings(defaults);
}

generate::GenerateParams GenerateSettingsForm::settings(const generate::GenerateParams& base) const {
  generate::GenerateParams p = base;
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

void GenerateSettingsForm::setSettings(const generate::GenerateParams& p) {
  loading_ = true;
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
  vram_->setValue(p.vram_gb > 0 ? p.vram_gb : engineGpuMemoryGb());
  initFirstFrame_->setChecked(p.init_first_frame);
  loading_ = false;
}

void GenerateSettingsForm::suggestGpuMemory(double gb) {
  if (vram_->value() > 0 || gb <= 0) return;
  vram_->setValue(gb);  // emits edited(): the estimate plans for this GPU
}

void GenerateSettingsForm::showFrameSize(const QString& text, const QString& note) {
  sizeResult_->setText(text);
  sizeNote_->setText(note);
  sizeNote_->setVisible(!note.isEmpty());
}

void GenerateSettingsForm::showPreset(GenerateState::Preset chosen, const QString& label) {
  const int i = preset_->findData(int(chosen));
  if (i >= 0) {
    preset_->setCurrentIndex(i);
    preset_->setItemText(i, label);
  }
  for (int k = 0; k < preset_->count(); ++k)
    if (k != i) preset_->setItemText(k, GenerateState::presetName(GenerateState::Preset(preset_->itemData(k).toInt())));
}

void GenerateSettingsForm::rollSeed() {
  const int old = seed_->value();
  int s = old;
  while (s == old) s = int(QRandomGenerator::global()->bounded(0, std::numeric_limits<int>::max()));
  seed_->setValue(s);
}

}  // namespace s2v::ui
