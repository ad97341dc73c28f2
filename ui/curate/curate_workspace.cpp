#include "ui/curate/curate_workspace.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QStandardPaths>
#include <QTableWidget>
#include <QVBoxLayout>

#include "core/curate_job/curate_job.h"
#include "core/curation/results_db.h"
#include "ui/jobs/job_queue_adapter.h"

namespace s2v::ui {

CurateWorkspace::CurateWorkspace(JobQueueAdapter* jobs, QWidget* parent) : QWidget(parent), jobs_(jobs) {
  setObjectName("curateWorkspace");
  auto* open = new QPushButton(tr("Score folder…"), this);
  open->setObjectName("openFolder");
  auto* openDb = new QPushButton(tr("Open results…"), this);
  openDb->setObjectName("openDatabase");
  status_ = new QLabel(tr("Score a folder of clips, or open a results database made by “s2v curate”. "
                          "Metrics without the paper's networks use OpenCV/Tesseract fallbacks; the "
                          "*_method columns say which."), this);
  status_->setObjectName("curateStatus");
  status_->setWordWrap(true);
  table_ = new QTableWidget(0, 0, this);
  table_->setObjectName("clipTable");
  table_->setSortingEnabled(true);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  auto* bar = new QHBoxLayout;
  bar->addWidget(open);
  bar->addWidget(openDb);
  bar->addWidget(status_, 1);
  auto* l = new QVBoxLayout(this);
  l->addLayout(bar);
  l->addWidget(table_, 1);
  connect(open, &QPushButton::clicked, this, &CurateWorkspace::chooseFolder);
  connect(openDb, &QPushButton::clicked, this, &CurateWorkspace::chooseDatabase);
  connect(jobs_, &JobQueueAdapter::jobChanged, this, &CurateWorkspace::onJobChanged);
}

QString CurateWorkspace::status() const { return status_->text(); }

void CurateWorkspace::chooseFolder() {
  const QString d = QFileDialog::getExistingDirectory(this, tr("Folder of clips"));
  if (!d.isEmpty()) openFolder(d);
}

void CurateWorkspace::chooseDatabase() {
  const QString f = QFileDialog::getOpenFileName(this, tr("Results database"), {}, tr("SQLite (*.db);;All files (*)"));
  if (!f.isEmpty()) openDatabase(f);
}

void CurateWorkspace::openFolder(const QString& folder) {
  const QString abs = QFileInfo(folder).absoluteFilePath();
  const QString dir = JobQueueAdapter::defaultStoreRoot() + "/../curate";
  QDir().mkpath(dir);
  const QString hash = QCryptographicHash::hash(abs.toUtf8(), QCryptographicHash::Sha1).toHex().left(10);
  pendingDb_ = QDir(dir).absoluteFilePath(QFileInfo(abs).fileName() + "-" + hash + ".db");
  jobs::JobSpec spec;
  spec.kind = curation::kCurateKind;
  spec.title = tr("Curate %1").arg(QFileInfo(abs).fileName()).toStdString();
  spec.params = {{"inputs", {abs.toStdString()}}, {"db", pendingDb_.toStdString()}, {"preset", "talking-head"}};
  pendingJob_ = jobs_->submit(spec);
  if (!pendingJob_.isEmpty()) status_->setText(tr("Scoring %1 … (see the job dock)").arg(abs));
}

void CurateWorkspace::onJobChanged(const JobUpdate& u) {
  if (QString::fromStdString(u.record.id) != pendingJob_) return;
  if (u.record.state == jobs::JobState::Done) {
    pendingJob_.clear();
    openDatabase(pendingDb_);
  } else if (u.record.state == jobs::JobState::Failed) {
    status_->setText(tr("Scoring failed: %1").arg(QString::fromStdString(u.record.error)));
  }
}

void CurateWorkspace::openDatabase(const QString& dbPath) {
  std::vector<curation::ClipScores> rows;
  try {
    rows = curation::ResultsDb(dbPath.toStdString()).all();
  } catch (const std::exception& e) {
    status_->setText(tr("Cannot open %1: %2").arg(dbPath, QString::fromUtf8(e.what())));
    return;
  }
  const auto& metrics = curation::metric_names();
  QStringList headers = {"path", "verdict", "failed_metrics", "duration_s", "width", "height", "fps"};
  for (auto& m : metrics) headers << QString::fromStdString(m);
  table_->setSortingEnabled(false);
  table_->clear();
  table_->setColumnCount(headers.size());
  table_->setHorizontalHeaderLabels(headers);
  table_->setRowCount(static_cast<int>(rows.size()));
  auto number = [](double v) {
    auto* it = new QTableWidgetItem;
    it->setData(Qt::DisplayRole, v);
    return it;
  };
  int pass = 0;
  for (int r = 0; r < static_cast<int>(rows.size()); ++r) {
    const auto& s = rows[r];
    auto* path = new QTableWidgetItem(QFileInfo(QString::fromStdString(s.path)).fileName());
    path->setToolTip(QString::fromStdString(s.error.empty() ? s.path : s.path + "\n" + s.error));
    table_->setItem(r, 0, path);
    auto* verdict = new QTableWidgetItem(QString::fromStdString(s.verdict));
    const QColor bg = s.verdict == "pass" ? QColor(200, 235, 205)
                      : s.verdict == "fail" ? QColor(245, 200, 200)
                      : s.verdict == "error" ? QColor(220, 220, 220) : QColor(250, 235, 190);
    verdict->setBackground(bg);
    pass += s.verdict == "pass";
    table_->setItem(r, 1, verdict);
    table_->setItem(r, 2, new QTableWidgetItem(QString::fromStdString(curation::join_failed(s.failed_metrics))));
    table_->setItem(r, 3, number(s.duration_s));
    table_->setItem(r, 4, number(s.width));
    table_->setItem(r, 5, number(s.height));
    table_->setItem(r, 6, number(s.fps));
    for (int m = 0; m < static_cast<int>(metrics.size()); ++m) {
      const auto metric = s.metric(metrics[m]);
      QTableWidgetItem* it = metric.value ? number(*metric.value) : new QTableWidgetItem(tr("n/a"));
      it->setToolTip(QString::fromStdString(metric.value ? metric.method : metric.na_reason));
      table_->setItem(r, 7 + m, it);
    }
  }
  table_->setSortingEnabled(true);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  status_->setText(tr("%1: %2 clips, %3 pass").arg(QFileInfo(dbPath).fileName()).arg(rows.size()).arg(pass));
  emit databaseLoaded(dbPath, static_cast<int>(rows.size()));
}

}  // namespace s2v::ui
