#pragma once
// The main window: Generate, Curate and History workspaces as tabs, the job dock, menus and
// shortcuts. Window geometry and dock state are restored on start (clamped to the screen).
// Quitting while jobs run asks whether to leave them running (their workers go on), cancel them
// or wait for them.

#include <QMainWindow>
#include <QMessageBox>

class QTabWidget;

namespace s2v::ui {

class CurateWorkspace;
class GenerateWorkspace;
class HistoryPanel;
class JobDock;
class JobQueueAdapter;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  GenerateWorkspace* generate() const { return generate_; }
  CurateWorkspace* curate() const { return curate_; }
  HistoryPanel* history() const { return history_; }
  JobDock* jobDock() const { return dock_; }
  JobQueueAdapter* jobs() const { return jobs_; }
  QTabWidget* tabs() const { return tabs_; }

  enum Tab { GenerateTab = 0, CurateTab = 1, HistoryTab = 2 };

 public slots:
  void openSettings();
  void cancelCurrentJob();
  // Shows a job: a render or test pattern in the Generate workspace, a curation's database in
  // the Curate workspace.
  void previewJob(const QString& id);
  // Applies the settings that take effect at once (look, Generate's device/precision/model).
  void applySettings();

 protected:
  void closeEvent(QCloseEvent* e) override;
  void resizeEvent(QResizeEvent* e) override;

 private:
  void buildMenus();
  QMessageBox::ButtonRole askAboutRunningJobs();
  bool quitWhenIdle_ = false;
  void fitDockToWidth();
  JobQueueAdapter* jobs_;
  QTabWidget* tabs_;
  GenerateWorkspace* generate_;
  CurateWorkspace* curate_;
  HistoryPanel* history_;
  JobDock* dock_;
};

}  // namespace s2v::ui
