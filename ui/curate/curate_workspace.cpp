#include "ui/curate/curate_workspace.h"

#include <QComboBox>
#include <QCryptographicHash>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSaveFile>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QScrollArea>
#include <QThread>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "core/curate_job/curate_job.h"
#include "core/curation/curate_params.h"
#include "core/curation/results_db.h"
#include "ui/curate/clip_viewer.h"
#include "ui/curate/curate_model.h"
#include "ui/curate/histogram_panel.h"
#include "ui/curate/sample_clips.h"
#include "ui/curate/threshold_panel.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/settings/app_settings.h"
#include "ui/widgets/input_guards.h"

namespace s2v::ui {

namespace {

QString curateDbFolder() {
  const QString dir = QFileInfo(JobQueueAdapter::defaultStoreRoot()).dir().absoluteFilePath("curate");
  QDir().mkpath(dir);
  return dir;
}

// A bound of the range filter: empty text = open (NaN).
double bound(const QLineEdit* e) {
  bool ok = false;
  const double v = e->text().trimmed().toDouble(&ok);
  return ok ? v : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

CurateWorkspace::CurateWorkspace(JobQueueAdapter* jobs, QWidget* parent) : QWidget(parent), jobs_(jobs) {
  setObjectName("curateWorkspace");
  model_ = new CurateTableModel(this);
  proxy_ = new CurateFilterProxy(this);
  proxy_->setSourceModel(model_);
  basePreset_ = model_->preset();

  // Row 1: sources, preset, outputs, in a tool bar: on a narrow window what does not fit goes
  // into its » menu instead of being clipped.
  auto* open = new QPushButton(tr("Score folder…"), this);
  open->setObjectName("openFolder");
  open->setToolTip(tr("Score every clip of a folder through the job queue"));
  auto* openDb = new QPushButton(tr("Open results…"), this);
  openDb->setObjectName("openDatabase");
  openDb->setToolTip(tr("Show a results database made here or by “s2v curate”"));
  auto* samples = new QPushButton(tr("Score the sample clips"), this);
  samples->setObjectName("scoreSamples");
  samples->setToolTip(tr("Copies Debian opencv-doc's Megamind.avi, vtest.avi and tree.avi into %1 and scores "
                         "their first 10 seconds").arg(sampleFolder()));
  presetBox_ = new QComboBox(this);
  presetBox_->setObjectName("presetBox");
  presetBox_->setToolTip(tr("The thresholds that judge each clip; “(modified)” once a slider has moved"));
  presetBox_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  for (const auto& n : curation::Preset::builtin_names()) presetBox_->addItem(QString::fromStdString(n));
  auto* loadPreset = new QPushButton(tr("Load preset…"), this);
  loadPreset->setObjectName("loadPreset");
  auto* savePresetButton = new QPushButton(tr("Save preset as…"), this);
  savePresetButton->setObjectName("savePreset");
  savePresetButton->setToolTip(tr("Save the thresholds as they are now, as a preset file"));
  auto* exportButton = new QPushButton(tr("Export passing…"), this);
  exportButton->setObjectName("exportPassing");
  exportButton->setToolTip(tr("Write the paths (or a CSV) of the clips that pass"));
  auto* bar = new QToolBar(this);
  bar->setObjectName("curateBar");
  bar->addWidget(open);
  bar->addWidget(openDb);
  bar->addWidget(samples);
  bar->addSeparator();
  bar->addWidget(new QLabel(tr("Preset: "), this));
  bar->addWidget(presetBox_);
  bar->addWidget(loadPreset);
  bar->addWidget(savePresetButton);
  bar->addSeparator();
  bar->addWidget(exportButton);

  status_ = new QLabel(tr("Score a folder of clips, or open a results database made by “s2v curate”. "
                          "Metrics without the paper's networks use OpenCV/Tesseract fallbacks; the "
                          "tooltips say which method made each number."), this);
  status_->setObjectName("curateStatus");
  status_->setWordWrap(true);

  // Row 2: filters.
  auto* filterText = new QLineEdit(this);
  filterText->setObjectName("filterText");
  filterText->setPlaceholderText(tr("Filter by path or verdict"));
  filterText->setClearButtonEnabled(true);
  auto* verdictBox = new QComboBox(this);
  verdictBox->setObjectName("verdictFilter");
  verdictBox->addItem(tr("all verdicts"), QString());
  for (const char* v : {"pass", "fail", "review", "error"}) verdictBox->addItem(v, QString(v));
  rangeMetric_ = new QComboBox(this);
  rangeMetric_->setObjectName("rangeMetric");
  rangeMetric_->addItem(tr("no range"), -1);
  for (const auto& m : curation::metric_names())
    rangeMetric_->addItem(QString::fromStdString(m), CurateTableModel::metricColumn(m));
  rangeMin_ = new QLineEdit(this);
  rangeMin_->setObjectName("rangeMin");
  rangeMin_->setPlaceholderText(tr("min"));
  rangeMin_->setMaximumWidth(80);
  rangeMax_ = new QLineEdit(this);
  rangeMax_->setObjectName("rangeMax");
  rangeMax_->setPlaceholderText(tr("max"));
  rangeMax_->setMaximumWidth(80);
  auto* filters = new QHBoxLayout;
  filterText->setMinimumWidth(80);
  filters->addWidget(filterText, 2);
  filters->addWidget(verdictBox);
  filters->addSpacing(12);
  filters->addWidget(new QLabel(tr("Range:"), this));
  filters->addWidget(rangeMetric_);
  filters->addWidget(rangeMin_);
  filters->addWidget(rangeMax_);

  table_ = new QTableView(this);
  table_->setObjectName("clipTable");
  table_->setModel(proxy_);
  table_->setSortingEnabled(true);
  table_->sortByColumn(-1, Qt::AscendingOrder);  // DB order until a header is clicked
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->verticalHeader()->hide();
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);

  thresholds_ = new ThresholdPanel(model_, this);
  histogram_ = new HistogramPanel(model_, this);
  auto* tabs = new QTabWidget(this);
  tabs->setObjectName("curateTabs");
  // The thresholds scroll (vertically only) when the window is short, instead of squeezing rows.
  auto* thresholdScroll = new QScrollArea(this);
  thresholdScroll->setObjectName("thresholdScroll");
  thresholdScroll->setWidget(thresholds_);
  thresholdScroll->setWidgetResizable(true);
  thresholdScroll->setFrameShape(QFrame::NoFrame);
  thresholdScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  tabs->addTab(thresholdScroll, tr("Thresholds"));
  tabs->addTab(histogram_, tr("Histogram"));
  viewer_ = new ClipViewer(this);

  auto* left = new QSplitter(Qt::Vertical, this);
  left->addWidget(table_);
  left->addWidget(tabs);
  left->setStretchFactor(0, 3);
  left->setStretchFactor(1, 2);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->setObjectName("curateSplit");
  split->setChildrenCollapsible(false);
  split->addWidget(left);
  split->addWidget(viewer_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);

  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(4, 4, 4, 4);
  l->addWidget(bar);
  l->addWidget(status_);
  l->addLayout(filters);
  l->addWidget(split, 1);

  connect(open, &QPushButton::clicked, this, &CurateWorkspace::chooseFolder);
  connect(openDb, &QPushButton::clicked, this, &CurateWorkspace::chooseDatabase);
  connect(samples, &QPushButton::clicked, this, [this] { scoreSampleClips(); });
  connect(loadPreset, &QPushButton::clicked, this, &CurateWorkspace::choosePresetLoad);
  connect(savePresetButton, &QPushButton::clicked, this, &CurateWorkspace::choosePresetSave);
  connect(exportButton, &QPushButton::clicked, this, &CurateWorkspace::chooseExport);
  connect(presetBox_, &QComboBox::activated, this, [this](int i) {
    const QString base = presetBox_->itemData(i).toString();
    usePreset(base.isEmpty() ? presetBox_->itemText(i) : base);
  });
  connect(filterText, &QLineEdit::textChanged, proxy_, &CurateFilterProxy::setText);
  connect(verdictBox, &QComboBox::currentIndexChanged, this,
          [this, verdictBox](int) { proxy_->setVerdict(verdictBox->currentData().toString()); });
  connect(rangeMetric_, &QComboBox::currentIndexChanged, this, &CurateWorkspace::applyRangeFilter);
  connect(rangeMin_, &QLineEdit::editingFinished, this, &CurateWorkspace::applyRangeFilter);
  connect(rangeMax_, &QLineEdit::editingFinished, this, &CurateWorkspace::applyRangeFilter);
  // Double-click or Enter opens the clip.
  connect(table_, &QAbstractItemView::activated, this,
          [this](const QModelIndex& i) { openClip(proxy_->mapToSource(i).row()); });
  connect(model_, &CurateTableModel::verdictsChanged, this, &CurateWorkspace::updateStatus);
  ignoreWheelUnlessFocused(this);
  connect(jobs_, &JobQueueAdapter::jobChanged, this, &CurateWorkspace::onJobChanged);
  connect(jobs_, &JobQueueAdapter::previewReady, this, &CurateWorkspace::onRowScored);
}

QString CurateWorkspace::status() const { return status_->text(); }

QString CurateWorkspace::defaultSavePath(const QString& name) {
  // The Output folder of Settings (created), never whatever folder the app was started from.
  QString folder = AppSettings::load().outputFolder;
  if (folder.isEmpty() || !QDir().mkpath(folder)) folder = QDir::homePath();
  return QDir(folder).absoluteFilePath(name);
}

void CurateWorkspace::updateStatus() {
  if (model_->rowCount() == 0 && dbPath_.isEmpty()) return;
  showPresetName();
  const int n = model_->rowCount();
  const QString counts = (n == 1 ? tr("1 clip") : tr("%1 clips").arg(n)) +
                         tr(", %1 pass, %2 fail, %3 review, %4 error (preset %5)")
                             .arg(model_->count("pass"))
                             .arg(model_->count("fail"))
                             .arg(model_->count("review"))
                             .arg(model_->count("error"))
                             .arg(presetLabel());
  status_->setText(message_.isEmpty() ? counts : message_ + ": " + counts);
}

bool CurateWorkspace::presetModified() const {
  const auto& now = model_->preset().thresholds;
  const auto& base = basePreset_.thresholds;
  if (now.size() != base.size()) return true;
  for (size_t i = 0; i < now.size(); ++i)
    if (now[i].metric != base[i].metric || now[i].op != base[i].op || now[i].value != base[i].value) return true;
  return false;
}

QString CurateWorkspace::presetLabel() const {
  const QString name = QString::fromStdString(basePreset_.name);
  return presetModified() ? tr("%1 (modified)").arg(name) : name;
}

void CurateWorkspace::showPresetName() {
  // The box names the preset the thresholds came from, and says when they were moved since.
  const QString name = QString::fromStdString(basePreset_.name);
  int i = -1;
  for (int k = 0; k < presetBox_->count(); ++k) {
    const QString base = presetBox_->itemData(k).toString().isEmpty() ? presetBox_->itemText(k) : presetBox_->itemData(k).toString();
    presetBox_->setItemData(k, base);
    presetBox_->setItemText(k, base);
    if (base == name) i = k;
  }
  if (i < 0) {
    presetBox_->addItem(name, name);
    i = presetBox_->count() - 1;
  }
  presetBox_->setItemText(i, presetLabel());
  presetBox_->setCurrentIndex(i);
}

void CurateWorkspace::applyRangeFilter() {
  if (rangeColumn_ >= 0) proxy_->clearRange(rangeColumn_);
  rangeColumn_ = rangeMetric_->currentData().toInt();
  if (rangeColumn_ >= 0) proxy_->setRange(rangeColumn_, bound(rangeMin_), bound(rangeMax_));
}

void CurateWorkspace::chooseFolder() {
  const QString d = QFileDialog::getExistingDirectory(this, tr("Folder of clips"));
  if (!d.isEmpty()) openFolder(d);
}

void CurateWorkspace::chooseDatabase() {
  const QString f = QFileDialog::getOpenFileName(this, tr("Results database"), {}, tr("SQLite (*.db);;All files (*)"));
  if (!f.isEmpty()) openDatabase(f);
}

void CurateWorkspace::chooseExport() {
  const QString f = QFileDialog::getSaveFileName(this, tr("Export the passing clips"), defaultSavePath("passing.txt"),
                                                 tr("List of paths (*.txt);;CSV (*.csv)"));
  if (!f.isEmpty()) exportPassing(f);
}

void CurateWorkspace::choosePresetSave() {
  const QString f = QFileDialog::getSaveFileName(this, tr("Save preset as"),
                                                 defaultSavePath(QString::fromStdString(basePreset_.name) + ".json"),
                                                 tr("Preset (*.json)"));
  if (!f.isEmpty()) savePreset(f);
}

void CurateWorkspace::choosePresetLoad() {
  const QString f = QFileDialog::getOpenFileName(this, tr("Load preset"), {}, tr("Preset (*.json)"));
  if (!f.isEmpty()) usePreset(f);
}

void CurateWorkspace::submitCurate(const QStringList& inputs, const QString& db, const QString& title,
                                   double maxSeconds) {
  pendingDb_ = db;
  curation::CurateParams p;
  for (const auto& s : inputs) p.inputs.push_back(s.toStdString());
  p.db = db.toStdString();
  // The thresholds on screen judge the rows the job stores, so the table and the database agree.
  p.preset = nlohmann::json::parse(model_->preset().to_json());
  p.max_seconds = std::max(0.0, maxSeconds);
  // The networks chosen in Settings (the job checks and loads them; a bad file fails the job
  // with a sentence naming it).
  const AppSettings settings = AppSettings::load();
  p.jobs = settings.curationJobs;
  for (auto it = settings.curationWeights.begin(); it != settings.curationWeights.end(); ++it)
    if (!it.value().isEmpty()) p.weights[it.key().toStdString()] = it.value().toStdString();
  jobs::JobSpec spec;
  spec.kind = curation::kCurateKind;
  spec.title = title.toStdString();
  spec.params = p.to_json();
  // The table follows the job from its first row: the rows of this database appear as they are
  // scored (the whole database, with clips scored by earlier runs, is read when the job ends).
  dbPath_ = db;
  message_ = tr("Scoring");
  ++loadGeneration_;  // a database still being read would replace the live rows
  model_->setRows({});
  pendingJob_ = jobs_->submit(spec);
}

void CurateWorkspace::openFolder(const QString& folder) {
  const QString abs = QFileInfo(folder).absoluteFilePath();
  const QString hash = QCryptographicHash::hash(abs.toUtf8(), QCryptographicHash::Sha1).toHex().left(10);
  submitCurate({abs}, QDir(curateDbFolder()).absoluteFilePath(QFileInfo(abs).fileName() + "-" + hash + ".db"),
               tr("Curate %1").arg(QFileInfo(abs).fileName()), 0.0);
  if (!pendingJob_.isEmpty()) status_->setText(tr("Scoring %1 … (see the job dock)").arg(abs));
}

void CurateWorkspace::scoreSampleClips(double maxSeconds) {
  status_->setText(tr("Copying the sample clips into %1 …").arg(sampleFolder()));
  // Copying ~10 MB may touch a cold disk: off the GUI thread.
  auto* result = new QStringList;
  auto* error = new QString;
  QThread* copier = QThread::create([result, error] { *result = copySampleClips(kOpenCvDocData, error); });
  connect(copier, &QThread::finished, this, [this, copier, result, error, maxSeconds] {
    const QStringList clips = *result;
    const QString err = *error;
    delete result;
    delete error;
    copier->deleteLater();
    if (clips.isEmpty()) {
      status_->setText(tr("No sample clips: install Debian's opencv-doc (it ships Megamind.avi, vtest.avi and "
                          "tree.avi in %1)%2").arg(kOpenCvDocData, err.isEmpty() ? QString() : " — " + err));
      return;
    }
    const QString db = QDir(curateDbFolder()).absoluteFilePath("samples.db");
    submitCurate(clips, db, tr("Curate the sample clips"), maxSeconds);
    if (!pendingJob_.isEmpty())
      status_->setText(tr("Scoring %1 sample clips from %2 … (see the job dock)").arg(clips.size()).arg(sampleFolder()));
  });
  copier->start();
}

void CurateWorkspace::onJobChanged(const JobUpdate& u) {
  if (pendingJob_.isEmpty() || QString::fromStdString(u.record.id) != pendingJob_) return;
  const jobs::JobState state = u.record.state;
  if (!jobs::is_final(state) && state != jobs::JobState::Interrupted) return;
  pendingJob_.clear();
  // Every end opens the database: a cancelled or failed run keeps the rows it committed.
  const QString db = pendingDb_;
  const QString ending = state == jobs::JobState::Done        ? QString()
                         : state == jobs::JobState::Cancelled ? tr("Scoring cancelled")
                         : state == jobs::JobState::Failed
                             ? tr("Scoring failed: %1 (the job list keeps the details; Retry resumes)")
                                   .arg(QString::fromStdString(u.record.error))
                             : tr("Scoring interrupted");
  if (!QFileInfo::exists(db)) {  // stopped before the database was created
    status_->setText(ending.isEmpty() ? tr("No results database was written") : ending);
    return;
  }
  openDatabase(db);
  if (!ending.isEmpty()) {
    // openDatabase names the file when it is read; the ending stays in front of the counts
    const int generation = loadGeneration_;
    connect(this, &CurateWorkspace::databaseLoaded, this, [this, ending, generation] {
      if (generation != loadGeneration_) return;
      message_ = ending;
      updateStatus();
    }, Qt::SingleShotConnection);
    status_->setText(ending);
  }
}

void CurateWorkspace::onRowScored(const QString& jobId, const QString& clipPath) {
  // only while the table shows the job's database (another one may have been opened meanwhile);
  // the database read when the job ends holds every row, so a row dropped here is not lost
  if (pendingJob_.isEmpty() || jobId != pendingJob_ || dbPath_ != pendingDb_) return;
  const int generation = loadGeneration_;
  auto row = std::make_shared<std::optional<curation::ClipScores>>();
  QThread* reader = QThread::create([row, db = pendingDb_.toStdString(), clip = clipPath.toStdString()] {
    try {
      *row = curation::ResultsDb(db, curation::ResultsDb::Mode::ReadOnly).get(clip);
    } catch (const std::exception&) {
      // the row shows when the job ends and the whole database is read
    }
  });
  connect(reader, &QThread::finished, this, [this, reader, row, generation] {
    reader->deleteLater();
    if (generation != loadGeneration_ || !row->has_value()) return;
    model_->upsertRow(std::move(**row));
    updateStatus();
  });
  reader->start();
}

void CurateWorkspace::openDatabase(const QString& dbPath) {
  // Reading every row (and its series JSON) of a large database is slow: off the GUI thread. The
  // last call wins when loads overlap.
  const int generation = ++loadGeneration_;
  status_->setText(tr("Reading %1 …").arg(QFileInfo(dbPath).fileName()));
  struct Loaded {
    std::vector<curation::ClipScores> rows;
    QString error;
  };
  auto loaded = std::make_shared<Loaded>();
  QThread* reader = QThread::create([loaded, path = dbPath.toStdString()] {
    try {
      loaded->rows = curation::ResultsDb(path).all();
    } catch (const std::exception& e) {
      loaded->error = QString::fromUtf8(e.what());
    }
  });
  connect(reader, &QThread::finished, this, [this, reader, loaded, dbPath, generation] {
    reader->deleteLater();
    if (generation != loadGeneration_) return;
    if (!loaded->error.isEmpty()) {
      status_->setText(tr("Cannot open %1 (%2): open a results database made by S2V Studio or “s2v curate”.")
                         .arg(dbPath, loaded->error));
      emit databaseFailed(dbPath, loaded->error);
      return;
    }
    dbPath_ = dbPath;
    message_ = QFileInfo(dbPath).fileName();
    const int n = static_cast<int>(loaded->rows.size());
    model_->setRows(std::move(loaded->rows));  // judged with the current preset
    table_->resizeColumnsToContents();
    for (int c = 0; c < model_->columnCount(); ++c)  // long failed_metrics lists stay readable by tooltip
      table_->setColumnWidth(c, std::min(table_->columnWidth(c), 220));
    updateStatus();
    emit databaseLoaded(dbPath, n);
  });
  reader->start();
}

void CurateWorkspace::openClip(int sourceRow) {
  if (sourceRow < 0 || sourceRow >= model_->rowCount()) return;
  const auto& row = model_->row(sourceRow);
  viewer_->setClip(row);
  emit clipOpened(QString::fromStdString(row.path));
}

bool CurateWorkspace::exportPassing(const QString& file) {
  try {
    model_->exportPassing(file);
  } catch (const std::exception& e) {
    status_->setText(tr("The passing list was not written: %1. Choose another place.").arg(QString::fromUtf8(e.what())));
    return false;
  }
  message_ = tr("%1 passing clips written to %2").arg(model_->count("pass")).arg(file);
  updateStatus();
  return true;
}

bool CurateWorkspace::savePreset(const QString& file) {
  curation::Preset p = model_->preset();
  p.name = QFileInfo(file).completeBaseName().toStdString();
  const QByteArray text = QByteArray::fromStdString(p.to_json() + "\n");
  QSaveFile out(file);
  if (!out.open(QIODevice::WriteOnly) || out.write(text) != text.size() || !out.commit()) {
    status_->setText(tr("Cannot save the preset '%1' (%2): choose another folder.").arg(file, out.errorString()));
    return false;
  }
  basePreset_ = p;
  message_ = tr("Preset saved to %1").arg(file);
  updateStatus();
  return true;
}

void CurateWorkspace::usePreset(const QString& nameOrFile) {
  try {
    const std::string s = nameOrFile.toStdString();
    curation::Preset p = QFileInfo(nameOrFile).isFile() ? curation::Preset::load(s) : curation::Preset::builtin(s);
    basePreset_ = p;
    model_->setPreset(std::move(p));
  } catch (const std::exception& e) {
    status_->setText(tr("The preset was not loaded: %1. Choose a preset file saved by S2V Studio or s2v curate.")
                         .arg(QString::fromUtf8(e.what())));
    return;
  }
  updateStatus();
  showPresetName();
}

}  // namespace s2v::ui
