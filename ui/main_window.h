#pragma once
// The main window: Generate and Curate workspaces as tabs, the job dock, menus and shortcuts.
// Window geometry and dock state are restored on start. Quitting while jobs run asks whether to
// leave them running (their workers go on), cancel them or wait for them.

#include <QMainWindow>
#include <QMessageBox>

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
  // Shows a job: a render or test pattern in the Generate workspace, a curation's database in
  // the Curate workspace.
  void previewJob(const QString& id);

 protected:
  void closeEvent(QCloseEvent* e) override;

 private:
  void buildMenus();
  QMessageBox::ButtonRole askAboutRunningJobs();
  bool quitWhenIdle_ = false;
  JobQueueAdapter* jobs_;
  QTabWidget* tabs_;
  GenerateWorkspace* generate_;
  CurateWorkspace* curate_;
  JobDock* dock_;
};

}  // namespace s2v::ui
