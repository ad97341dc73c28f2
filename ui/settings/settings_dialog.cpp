#include "ui/settings/settings_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>

namespace s2v::ui {

namespace {
QWidget* withBrowse(QLineEdit* edit, QWidget* parent, const QString& title) {
  auto* w = new QWidget(parent);
  auto* l = new QHBoxLayout(w);
  l->setContentsMargins(0, 0, 0, 0);
  auto* b = new QPushButton(QObject::tr("Browse…"), w);
  l->addWidget(edit, 1);
  l->addWidget(b);
  QObject::connect(b, &QPushButton::clicked, w, [edit, w, title] {
    const QString d = QFileDialog::getExistingDirectory(w, title, edit->text());
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
  device_->addItems({"cpu", "cuda"});
  device_->setCurrentText(s.device);
  dtype_ = new QComboBox(this);
  dtype_->setObjectName("dtype");
  dtype_->addItems({"float32", "bfloat16", "float16"});
  dtype_->setCurrentText(s.dtype);
  output_ = new QLineEdit(s.outputFolder, this);
  output_->setObjectName("outputFolder");
  auto* form = new QFormLayout(this);
  form->addRow(tr("Model folder"), withBrowse(model_, this, tr("Model folder")));
  form->addRow(tr("Device"), device_);
  form->addRow(tr("Precision"), dtype_);
  form->addRow(tr("Output folder"), withBrowse(output_, this, tr("Output folder")));
  auto* box = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  form->addRow(box);
  connect(box, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(box, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

AppSettings SettingsDialog::settings() const {
  AppSettings s;
  s.modelFolder = model_->text();
  s.device = device_->currentText();
  s.dtype = dtype_->currentText();
  s.outputFolder = output_->text();
  return s;
}

}  // namespace s2v::ui
