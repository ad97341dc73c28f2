#pragma once
// The model: a folder picker (the official folder, a ComfyUI models/ folder, or the bundled demo
// model), the label, a table of its components (file, format, parameters, memory) where any one
// component can be replaced by a file of its own, the notes and every problem inspect_model_folder
// finds. Inspection runs in the engine (`s2v inspect-model --json`), never on the GUI thread.

#include <QWidget>
#include <memory>

#include "core/generate/model_folder.h"

class QLabel;
class QLineEdit;
class QPushButton;
class QTreeWidget;

namespace s2v::ui {

class ModelPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ModelPanel(QWidget* parent = nullptr);

  QString folder() const { return folder_; }
  // Files that replace single components (empty fields: the folder's own).
  const generate::ComponentOverrides& overrides() const { return overrides_; }
  // The last finished inspection of folder() (nullptr while none / still inspecting).
  const generate::ModelFolder* model() const { return model_.get(); }
  bool inspecting() const { return pending_ > 0; }
  QString labelText() const;     // what the label shows ("Demo model (random weights: ...)")
  QString problemsText() const;
  // Memory of the engine's first CUDA device in GB (0: none, or not inspected yet).
  double gpuMemoryGb() const { return gpuMemoryGb_; }

 public slots:
  void setFolder(const QString& folder);  // inspects it on a worker
  void setOverrides(const generate::ComponentOverrides& overrides);  // re-inspects
  void chooseFolder();                    // file dialog
  void useDemoModel();
  // Replaces the component of the selected row with a file (dialog) / the folder's own again.
  void replaceSelectedComponent();
  void resetSelectedComponent();

 signals:
  void folderChanged(const QString& folder);
  void inspected();                       // model() is up to date
  void gpuMemoryDetected(double gb);      // the first inspection that found a CUDA device

 private:
  void inspect();
  void showInspection();

  QString folder_;
  generate::ComponentOverrides overrides_;
  std::shared_ptr<const generate::ModelFolder> model_;
  int pending_ = 0;
  quint64 request_ = 0;
  double gpuMemoryGb_ = 0;
  QLineEdit* path_;
  QPushButton* choose_;
  QPushButton* demo_;
  QLabel* label_;
  QLabel* params_;
  QTreeWidget* components_;
  QPushButton* replace_;
  QPushButton* reset_;
  QLabel* notes_;
  QLabel* problems_;
};

// "14.0 B", "1.3 M", "820 K" parameters.
QString formatParameterCount(uint64_t n);
// "31.2 GB", "820 MB" (decimal units, as download sizes are quoted).
QString formatBytes(uint64_t n);

}  // namespace s2v::ui
