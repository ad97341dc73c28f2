#pragma once
// The job dock: every job as a row with a thumbnail, its title, its state and a progress bar; the
// selection drives the Generate workspace's preview and export. Double-click previews a job; the
// context menu previews, exports, opens its folder or output, cancels, retries or removes it.

#include <QDockWidget>

class QListView;
class QMenu;
class QPushButton;

namespace s2v::ui {

class JobListModel;
class JobQueueAdapter;

class JobDock : public QDockWidget {
  Q_OBJECT
 public:
  JobDock(JobQueueAdapter* adapter, QWidget* parent = nullptr);
  JobListModel* model() const { return model_; }
  QListView* view() const { return view_; }
  QString selectedJobId() const;
  void selectJob(const QString& id);
  // The context menu of a job (tests trigger its actions by object name).
  QMenu* contextMenuFor(const QString& id);

 public slots:
  void cancelSelected();
  void retrySelected();
  void openSelectedOutput();
  void openSelectedFolder();
  void removeSelected();  // asks first: the job's clips are deleted

 signals:
  void jobSelected(const QString& id);
  void previewRequested(const QString& id);
  void exportRequested(const QString& id);
  void message(const QString& text);  // for the status bar

 private:
  void updateButtons();
  bool open(const QString& path, const QString& what);
  JobQueueAdapter* adapter_;
  JobListModel* model_;
  QListView* view_;
  QPushButton* cancel_;
  QPushButton* retry_;
  QPushButton* open_;
};

}  // namespace s2v::ui
