#include "ui/settings/settings_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QGroupBox>
#include <QPushButton>
#include <QSpinBox>
#include <algorithm>

#include "core/curation/network_models.h"
#include "ui/widgets/input_guards.h"

namespace s2v::ui {

namespace {
// folder: choose a folder; else a file.
QWidget* withBrowse(QLineEdit* edit, QWidget* parent, const QString& title, bool folder = true) {
  auto* w = new QWidget(parent);
  auto* l = new QHBoxLayout(w);
  l->setContentsMargins(0, 0, 0, 0);
  auto* b = new QPushButton(QObject::tr("Browse…"), w);
  l->addWidget(edit, 1);
  l->addWidget(b);
  QObject::connect(b, &QPushButton::clicked, w, [edit, w, title, folder] {
    const QString d = folder ? QFileDialog::getExistingDirectory(w, title, edit->text())
                             : QFileDialog::getOpenFileName(w, title, edit->text(),
                                                            QObject::tr("Weights (*.pth *.pt *.bin *.safetensors *.model *.ckpt);;All files (*)"));
    if (!d.isEmpty()) edit->setText(d);
  });
  return w;
}
}  // namespace

SettingsDialog::SettingsDialog(const AppSettings& s, QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Settings"));
  setObjectName("settingsDialog");
  model_ = new QLineEdit(s.modelFolder, this);
  model_->setObjectName("modelFolder");
  model_->setPlaceholderText(tr("Wan2.2-S2V-14B checkpoint folder (or the bundled demo model)"));
  device_ = new QComboBox(this);
  device_->setObjectName("device");
  device_->addItems({"auto", "cpu", "cuda"});
  device_->setCurrentText(s.device);
  device_->setToolTip(tr("Where the Generate form renders by default: auto picks the GPU when there is one"));
  dtype_ = new QComboBox(this);
  dtype_->setObjectName("dtype");
  dtype_->addItems({"auto", "float32", "bfloat16", "float16"});
  dtype_->setCurrentText(s.dtype);
  dtype_->setToolTip(tr("The Generate form's default precision: auto = bfloat16 on a GPU, float32 on the CPU"));
  theme_ = new QComboBox(this);
  theme_->setObjectName("theme");
  theme_->addItem(tr("Follow the desktop"), "system");
  theme_->addItem(tr("Light"), "light");
  theme_->addItem(tr("Dark"), "dark");
  theme_->setCurrentIndex(std::max(0, theme_->findData(s.theme)));
  theme_->setToolTip(tr("The look of S2V Studio: the desktop's (dark when it is dark), or always light or dark"));
  output_ = new QLineEdit(s.outputFolder, this);
  output_->setObjectName("outputFolder");
  output_->setToolTip(tr("Where exports go by default (created when missing)"));
  auto* form = new QFormLayout(this);
  form->addRow(tr("Model folder"), withBrowse(model_, this, tr("Model folder")));
  form->addRow(tr("Device"), device_);
  form->addRow(tr("Precision"), dtype_);
  form->addRow(tr("Output folder"), withBrowse(output_, this, tr("Output folder")));
  form->addRow(tr("Look"), theme_);
  // The paper's curation networks: each file replaces its metric's fallback (CURATION.md).
  auto* nets = new QGroupBox(tr("Curation networks (optional; empty = the OpenCV/Tesseract fallback)"), this);
  auto* nf = new QFormLayout(nets);
  for (const auto& n : curation::curation_networks()) {
    const QString key = QString::fromStdString(n.param);
    auto* edit = new QLineEdit(s.curationWeights.value(key), nets);
    edit->setObjectName(key);
    edit->setToolTip(QString::fromStdString(n.help));
    edit->setPlaceholderText(tr("not set"));
    weights_[key] = edit;
    nf->addRow(QString::fromStdString(n.label), withBrowse(edit, nets, QString::fromStdString(n.label), false));
  }
  curationJobs_ = new QSpinBox(nets);
  curationJobs_->setObjectName("curationJobs");
  curationJobs_->setRange(1, 64);
  curationJobs_->setValue(s.curationJobs);
  curationJobs_->setToolTip(tr("How many threads score the frames of one clip"));
  nf->addRow(tr("Threads per clip"), curationJobs_);
  form->addRow(nets);
  auto* box = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  form->addRow(box);
  connect(box, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(box, &QDialogButtonBox::rejected, this, &QDialog::reject);
  ignoreWheelUnlessFocused(this);
}

AppSettings SettingsDialog::settings() const {
  AppSettings s;
  s.modelFolder = model_->text();
  s.device = device_->currentText();
  s.dtype = dtype_->currentText();
  s.outputFolder = output_->text();
  s.theme = theme_->currentData().toString();
  for (auto it = weights_.begin(); it != weights_.end(); ++it)
    if (!it.value()->text().trimmed().isEmpty()) s.curationWeights[it.key()] = it.value()->text().trimmed();
  s.curationJobs = curationJobs_->value();
  return s;
}

}  // namespace s2v::ui
