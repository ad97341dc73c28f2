#pragma once
// The job dock: every job with a progress bar, ETA, and Cancel / Retry / Open output.

#include <QDockWidget>

class QListView;
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

 public slots:
  void cancelSelected();
  void retrySelected();
  void openSelectedOutput();

 private:
  void updateButtons();
  JobQueueAdapter* adapter_;
  JobListModel* model_;
  QListView* view_;
  QPushButton* cancel_;
  QPushButton* retry_;
  QPushButton* open_;
};

}  // namespace s2v::ui
