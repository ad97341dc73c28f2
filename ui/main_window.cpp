#include "ui/main_window.h"

#include <QAction>
#include <QCloseEvent>
#include <QMenuBar>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

#include "ui/about.h"
#include "ui/curate/curate_workspace.h"
#include "ui/generate/generate_workspace.h"
#include "ui/jobs/job_dock.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/settings/settings_dialog.h"

namespace s2v::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setObjectName("mainWindow");
  setWindowTitle(tr("S2V Studio"));
  jobs_ = new JobQueueAdapter(this);
  tabs_ = new QTabWidget(this);
  tabs_->setObjectName("workspaces");
  generate_ = new GenerateWorkspace(jobs_, tabs_);
  curate_ = new CurateWorkspace(jobs_, tabs_);
  tabs_->addTab(generate_, tr("&Generate"));
  tabs_->addTab(curate_, tr("C&urate"));
  setCentralWidget(tabs_);
  dock_ = new JobDock(jobs_, this);
  addDockWidget(Qt::RightDockWidgetArea, dock_);
  buildMenus();
  connect(jobs_, &JobQueueAdapter::error, this, [this](const QString& m) { statusBar()->showMessage(m, 8000); });
  connect(generate_, &GenerateWorkspace::inputRejected, this,
          [this](const QString& m) { statusBar()->showMessage(m, 8000); });
  statusBar()->showMessage(tr("Ready"));
  resize(1280, 800);
  QSettings s;
  restoreGeometry(s.value("window/geometry").toByteArray());
  restoreState(s.value("window/state").toByteArray());
  tabs_->setCurrentIndex(s.value("window/tab", 0).toInt());
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus() {
  auto* file = menuBar()->addMenu(tr("&File"));
  auto* render = file->addAction(tr("&Render"), generate_, &GenerateWorkspace::render);
  render->setObjectName("actionRender");
  render->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  auto* exportAct = file->addAction(tr("&Export MP4…"), generate_, &GenerateWorkspace::exportVideo);
  exportAct->setObjectName("actionExport");
  exportAct->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  auto* exportPng = file->addAction(tr("Export &PNG sequence…"), generate_, &GenerateWorkspace::exportPngSequence);
  exportPng->setObjectName("actionExportPng");
  exportPng->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
  auto* cancel = file->addAction(tr("&Cancel job"), this, &MainWindow::cancelCurrentJob);
  cancel->setObjectName("actionCancel");
  cancel->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Period), QKeySequence(Qt::Key_Escape)});
  file->addAction(tr("Run &test pattern"), generate_, &GenerateWorkspace::runTestPattern);
  file->addSeparator();
  file->addAction(tr("&Settings…"), QKeySequence::Preferences, this, &MainWindow::openSettings);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
  auto* view = menuBar()->addMenu(tr("&View"));
  view->addAction(dock_->toggleViewAction());
  auto* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About S2V Studio"), this, [this] { showAbout(this); });
}

void MainWindow::openSettings() {
  SettingsDialog d(AppSettings::load(), this);
  if (d.exec() == QDialog::Accepted) d.settings().save();
}

void MainWindow::cancelCurrentJob() {
  QString id = dock_->selectedJobId();
  if (id.isEmpty()) {
    for (auto& r : jobs_->jobs())
      if (r.state == jobs::JobState::Running) id = QString::fromStdString(r.id);
  }
  if (!id.isEmpty() && jobs_->cancel(id)) statusBar()->showMessage(tr("Cancelling %1…").arg(id), 4000);
}

void MainWindow::closeEvent(QCloseEvent* e) {
  QSettings s;
  s.setValue("window/geometry", saveGeometry());
  s.setValue("window/state", saveState());
  s.setValue("window/tab", tabs_->currentIndex());
  e->accept();
}

}  // namespace s2v::ui
