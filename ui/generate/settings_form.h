#pragma once
// The generation settings as a form: a preset (Draft / Final), the size area with the frame size
// it gives, steps, shift, guidance, solver, seed (with a dice button), clips, frames per clip,
// device and precision, offloading and the GPU memory to plan for. It edits the fields of a
// GenerateParams it owns (settings()) and says so with edited(); GenerateState judges them.

#include <QGroupBox>

#include "core/generate/generate_params.h"
#include "ui/generate/generate_state.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSpinBox;
class QToolButton;

namespace s2v::ui {

class GenerateSettingsForm : public QGroupBox {
  Q_OBJECT
 public:
  explicit GenerateSettingsForm(QWidget* parent = nullptr);

  // base with the fields of this form written over it.
  generate::GenerateParams settings(const generate::GenerateParams& base) const;
  // Shows p's fields (without emitting edited()).
  void setSettings(const generate::GenerateParams& p);
  // The engine found a GPU with gb of memory: fills GPU memory when it is unset.
  void suggestGpuMemory(double gb);
  // What GenerateState says about the size and the preset.
  void showFrameSize(const QString& text, const QString& note);
  void showPreset(GenerateState::Preset chosen, const QString& label);

  // The official size areas and the small draft one: "1024*704", ... "384*384".
  static QStringList sizePresets();

 public slots:
  void rollSeed();  // a new random seed (Ctrl+D)

 signals:
  void edited();
  void presetChosen(s2v::ui::GenerateState::Preset preset);

 private:
  bool loading_ = false;
  QComboBox* preset_;
  QComboBox* size_;
  QLabel* sizeResult_;
  QLabel* sizeNote_;
  QSpinBox* steps_;
  QDoubleSpinBox* shift_;
  QDoubleSpinBox* guide_;
  QComboBox* solver_;
  QSpinBox* seed_;
  QToolButton* dice_;
  QSpinBox* clips_;
  QSpinBox* inferFrames_;
  QComboBox* device_;
  QComboBox* dtype_;
  QCheckBox* offloadModel_;
  QCheckBox* offloadBlocks_;
  QDoubleSpinBox* vram_;
  QCheckBox* initFirstFrame_;
};

}  // namespace s2v::ui
