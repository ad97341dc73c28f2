#pragma once
// The checkpoint folder: a picker (defaulting to the bundled demo model), the folder's label,
// parameter count and every problem inspect_model_folder finds. Inspection runs on a worker.

#include <QWidget>
#include <memory>

#include "core/generate/model_folder.h"

class QLabel;
class QLineEdit;
class QPushButton;

namespace s2v::ui {

class ModelPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ModelPanel(QWidget* parent = nullptr);

  QString folder() const { return folder_; }
  // The last finished inspection of folder() (nullptr while none / still inspecting).
  const generate::ModelFolder* model() const { return model_.get(); }
  bool inspecting() const { return pending_ > 0; }
  QString labelText() const;     // what the label shows ("Demo model (random weights: ...)")
  QString problemsText() const;

 public slots:
  void setFolder(const QString& folder);  // inspects it on a worker
  void chooseFolder();                    // file dialog
  void useDemoModel();

 signals:
  void folderChanged(const QString& folder);
  void inspected();                       // model() is up to date

 private:
  QString folder_;
  std::shared_ptr<const generate::ModelFolder> model_;
  int pending_ = 0;
  quint64 request_ = 0;
  QLineEdit* path_;
  QPushButton* choose_;
  QPushButton* demo_;
  QLabel* label_;
  QLabel* params_;
  QLabel* problems_;
};

// "14.0 B", "1.3 M", "820 K" parameters.
QString formatParameterCount(uint64_t n);

}  // namespace s2v::ui
