#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QFileInfo>
#include <QMenuBar>
#include <QPushButton>
#include <QScreen>
#include <QStatusBar>
#include <QTabWidget>
#include <algorithm>

#include "core/curate_job/curate_job.h"
#include "ui/about.h"
#include "ui/curate/curate_workspace.h"
#include "ui/generate/generate_state.h"
#include "ui/generate/generate_workspace.h"
#include "ui/generate/render_history.h"
#include "ui/jobs/job_dock.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/settings/app_settings.h"
#include "ui/settings/settings_dialog.h"
#include "ui/settings/theme.h"

namespace s2v::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setObjectName("mainWindow");
  setWindowTitle(tr("S2V Studio"));
  jobs_ = new JobQueueAdapter(this);
  tabs_ = new QTabWidget(this);
  tabs_->setObjectName("workspaces");
  tabs_->setDocumentMode(true);
  generate_ = new GenerateWorkspace(jobs_, tabs_);
  curate_ = new CurateWorkspace(jobs_, tabs_);
  history_ = new HistoryPanel(jobs_, JobQueueAdapter::defaultStoreRoot(), tabs_);
  tabs_->addTab(generate_, tr("&Generate"));
  tabs_->addTab(curate_, tr("C&urate"));
  tabs_->addTab(history_, tr("&History"));
  setCentralWidget(tabs_);
  dock_ = new JobDock(jobs_, this);
  addDockWidget(Qt::RightDockWidgetArea, dock_);
  buildMenus();
  connect(jobs_, &JobQueueAdapter::error, this, [this](const QString& m) { statusBar()->showMessage(m, 8000); });
  // the dock's selection is what the preview shows and what Export writes
  connect(dock_, &JobDock::jobSelected, generate_, &GenerateWorkspace::showJob);
  connect(dock_, &JobDock::previewRequested, this, &MainWindow::previewJob);
  connect(dock_, &JobDock::exportRequested, this, [this](const QString& id) {
    previewJob(id);
    generate_->exportVideo();
  });
  connect(dock_, &JobDock::message, this, [this](const QString& m) { statusBar()->showMessage(m, 10000); });
  connect(jobs_, &JobQueueAdapter::idle, this, [this] {
    if (quitWhenIdle_) close();
  });
  connect(generate_, &GenerateWorkspace::inputRejected, this,
          [this](const QString& m) { statusBar()->showMessage(m, 8000); });
  connect(history_, &HistoryPanel::useSettings, this, [this](const generate::GenerateParams& p) {
    generate_->useRender(p);
    tabs_->setCurrentIndex(GenerateTab);
  });
  // The history's finished renders time the next one.
  auto speeds = [this] { generate_->state()->setSpeedSamples(history_->model()->speedSamples()); };
  connect(history_->model(), &RenderHistoryModel::speedSamplesChanged, this, speeds);
  connect(history_->model(), &RenderHistoryModel::loaded, this, speeds);
  statusBar()->showMessage(tr("Ready"));
  resize(1280, 800);
  const auto s = studioSettings();
  restoreGeometry(s->value("window/geometry").toByteArray());
  restoreState(s->value("window/state").toByteArray());
  tabs_->setCurrentIndex(std::clamp(s->value("window/tab", 0).toInt(), 0, tabs_->count() - 1));
  // A geometry saved on a larger screen never puts the window (and the job dock) off this one.
  if (const QScreen* screen = this->screen()) {
    const QRect avail = screen->availableGeometry();
    if (width() > avail.width() || height() > avail.height())
      resize(std::min(width(), avail.width()), std::min(height(), avail.height()));
  }
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
  if (d.exec() == QDialog::Accepted) {
    d.settings().save();
    applySettings();
  }
}

void MainWindow::applySettings() {
  const AppSettings s = AppSettings::load();
  applyTheme(themeFromString(s.theme));
  generate_->applyAppSettings(s);
}

void MainWindow::cancelCurrentJob() {
  QString id = dock_->selectedJobId();
  if (id.isEmpty()) {
    for (auto& r : jobs_->jobs())
      if (r.state == jobs::JobState::Running) id = QString::fromStdString(r.id);
  }
  if (!id.isEmpty() && jobs_->cancel(id)) statusBar()->showMessage(tr("Cancelling %1…").arg(id), 4000);
}

void MainWindow::resizeEvent(QResizeEvent* e) {
  QMainWindow::resizeEvent(e);
  fitDockToWidth();
}

void MainWindow::fitDockToWidth() {
  // The job dock takes a quarter of the window at most: on a small screen the workspace keeps
  // the room it needs (the dock can still be dragged wider).
  if (!dock_->isVisible() || dock_->isFloating()) return;
  const int want = std::max(dock_->minimumSizeHint().width(), std::min(dock_->width(), width() / 4));
  if (dock_->width() > want) resizeDocks({dock_}, {want}, Qt::Horizontal);
}

void MainWindow::previewJob(const QString& id) {
  const auto u = jobs_->job(id);
  if (!u) return;
  if (u->record.spec.kind == curation::kCurateKind) {
    // a curation's result is its database: the Curate workspace shows it
    const std::string db = u->record.output.empty() ? u->record.spec.params.value("db", std::string()) : u->record.output;
    if (!db.empty() && QFileInfo::exists(QString::fromStdString(db))) {
      tabs_->setCurrentWidget(curate_);
      curate_->openDatabase(QString::fromStdString(db));
    }
    return;
  }
  tabs_->setCurrentWidget(generate_);
  generate_->showJob(id);
}

QMessageBox::ButtonRole MainWindow::askAboutRunningJobs() {
  const int n = int(jobs_->activeJobs().size());
  QMessageBox box(QMessageBox::Question, tr("Jobs are running"),
                  n == 1 ? tr("A job is queued or running.") : tr("%1 jobs are queued or running.").arg(n),
                  QMessageBox::NoButton, this);
  box.setObjectName("quitDialog");
  box.setInformativeText(
      tr("Leave running: the render goes on without the window (it keeps its job folder locked); "
         "the next start shows it and its progress.\nCancel: stop the jobs (the finished clips are kept; "
         "Retry resumes), then quit.\nWait: quit when the jobs are done."));
  auto* leave = box.addButton(tr("Leave running"), QMessageBox::AcceptRole);
  leave->setObjectName("quitLeaveRunning");
  auto* cancel = box.addButton(tr("Cancel jobs"), QMessageBox::DestructiveRole);
  cancel->setObjectName("quitCancelJobs");
  auto* wait = box.addButton(tr("Wait"), QMessageBox::YesRole);
  wait->setObjectName("quitWait");
  auto* stay = box.addButton(tr("Don't quit"), QMessageBox::RejectRole);
  stay->setObjectName("quitStay");
  box.setDefaultButton(stay);
  box.setEscapeButton(stay);
  box.exec();
  return box.buttonRole(box.clickedButton());
}

void MainWindow::closeEvent(QCloseEvent* e) {
  if (!jobs_->isIdle()) {
    if (quitWhenIdle_) {  // already cancelling or waiting: the window closes when they have ended
      e->ignore();
      return;
    }
    switch (askAboutRunningJobs()) {
      case QMessageBox::AcceptRole:
        jobs_->setShutdownPolicy(JobQueueAdapter::Shutdown::LeaveRunning);
        break;
      case QMessageBox::DestructiveRole:
        quitWhenIdle_ = true;
        jobs_->cancelAll();
        statusBar()->showMessage(tr("Cancelling the jobs; S2V Studio quits when they have stopped…"));
        e->ignore();
        return;
      case QMessageBox::YesRole:
        quitWhenIdle_ = true;
        statusBar()->showMessage(tr("S2V Studio quits when the jobs are done…"));
        e->ignore();
        return;
      default:
        e->ignore();
        return;
    }
  }
  const auto s = studioSettings();
  s->setValue("window/geometry", saveGeometry());
  s->setValue("window/state", saveState());
  s->setValue("window/tab", tabs_->currentIndex());
  e->accept();
}

}  // namespace s2v::ui
