#pragma once
// The Curate workspace: a folder or database of clips, a sortable table of scores, thresholds.
// Until the curation engine lands it lists the clips of a folder with their probed properties and
// says plainly that the metrics are not available.

#include <QWidget>

class QLabel;
class QTableWidget;

namespace s2v::ui {

class CurateWorkspace : public QWidget {
  Q_OBJECT
 public:
  explicit CurateWorkspace(QWidget* parent = nullptr);
  QTableWidget* table() const { return table_; }

 public slots:
  void openFolder(const QString& folder);
  void chooseFolder();

 private:
  QLabel* status_;
  QTableWidget* table_;
};

}  // namespace s2v::ui
