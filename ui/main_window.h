#pragma once
// The main window: Generate and Curate workspaces as tabs, the job dock, menus and shortcuts.
// Window geometry and dock state are restored on start.

#include <QMainWindow>

class QTabWidget;

namespace s2v::ui {

class CurateWorkspace;
class GenerateWorkspace;
class JobDock;
class JobQueueAdapter;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  GenerateWorkspace* generate() const { return generate_; }
  CurateWorkspace* curate() const { return curate_; }
  JobDock* jobDock() const { return dock_; }
  JobQueueAdapter* jobs() const { return jobs_; }
  QTabWidget* tabs() const { return tabs_; }

 public slots:
  void openSettings();
  void cancelCurrentJob();

 protected:
  void closeEvent(QCloseEvent* e) override;

 private:
  void buildMenus();
  JobQueueAdapter* jobs_;
  QTabWidget* tabs_;
  GenerateWorkspace* generate_;
  CurateWorkspace* curate_;
  JobDock* dock_;
};

}  // namespace s2v::ui
