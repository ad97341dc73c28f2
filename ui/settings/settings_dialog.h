#pragma once
#include <QDialog>

#include "ui/settings/app_settings.h"

class QComboBox;
class QLineEdit;

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
};

}  // namespace s2v::ui
