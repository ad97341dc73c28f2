#pragma once
#include <QDialog>
#include <QMap>

#include "ui/settings/app_settings.h"

class QComboBox;
class QLineEdit;
class QSpinBox;

namespace s2v::ui {

class SettingsDialog : public QDialog {
  Q_OBJECT
 public:
  SettingsDialog(const AppSettings& current, QWidget* parent = nullptr);
  AppSettings settings() const;

 private:
  QLineEdit* model_;
  QComboBox* device_;
  QComboBox* dtype_;
  QLineEdit* output_;
  QComboBox* theme_;
  QMap<QString, QLineEdit*> weights_;  // by job param, e.g. "pose_weights"
  QSpinBox* curationJobs_;
};

}  // namespace s2v::ui
