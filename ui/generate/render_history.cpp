#include "ui/generate/render_history.h"

#include <QDesktopServices>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QUrl>
#include <QVBoxLayout>
#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/generate/model_folder.h"
#include "core/jobs/job_store.h"
#include "core/media/video_reader.h"
#include "ui/generate/async.h"
#include "ui/generate/exporter.h"
#include "ui/jobs/job_queue_adapter.h"
#include "ui/settings/app_settings.h"
#include "ui/settings/theme.h"

namespace s2v::ui {

namespace {

// The seed a job drew (state.json, written before the first clip), -1 when unknown.
int64_t drawnSeed(const std::filesystem::path& folder) {
  std::ifstream in(folder / "state.json");
  if (!in) return -1;
  try {
    const auto j = nlohmann::json::parse(in);
    if (j.contains("seed") && j["seed"].is_number_integer()) return j["seed"].get<int64_t>();
  } catch (const std::exception&) {
  }
  return -1;
}

QString modelNameOf(const generate::GenerateParams& p) {
  if (!p.components.dit.empty()) return QFileInfo(QString::fromStdString(p.components.dit)).fileName();
  if (p.ckpt_dir.empty()) return QObject::tr("(none)");
  const auto demo = generate::find_demo_model();
  std::error_code ec;
  if (!demo.empty() && std::filesystem::equivalent(demo, p.ckpt_dir, ec)) return QObject::tr("Demo model");
  return QFileInfo(QString::fromStdString(p.ckpt_dir)).fileName();
}

QString lengthText(double s) { return s >= 0 ? QString::number(s, 'f', 1) + " s" : QString(); }

}  // namespace

std::optional<RenderEntry> renderEntryOf(const jobs::JobRecord& r, const QString& storeRoot) {
  if (r.spec.kind != generate::kGenerateKind || r.state != jobs::JobState::Done || r.output.empty()) return std::nullopt;
  RenderEntry e;
  try {
    e.params = generate::GenerateParams::from_json(r.spec.params);
  } catch (const std::exception&) {
    return std::nullopt;  // a record from another version: nothing to put back into the form
  }
  e.id = QString::fromStdString(r.id);
  const std::filesystem::path folder = std::filesystem::path(storeRoot.toStdString()) / r.id;
  e.folder = QString::fromStdString(folder.string());
  e.output = QString::fromStdString(r.output);
  e.title = QString::fromStdString(r.spec.title);
  e.seed = e.params.base_seed >= 0 ? e.params.base_seed : drawnSeed(folder);
  e.finished = QDateTime::fromMSecsSinceEpoch(r.updated_ms);
  e.jobSeconds = r.attempts == 1 && r.updated_ms > r.created_ms ? (r.updated_ms - r.created_ms) / 1000.0 : 0.0;
  e.modelName = modelNameOf(e.params);
  return e;
}

std::vector<RenderEntry> readRenderHistory(const QString& storeRoot) {
  std::vector<RenderEntry> out;
  const jobs::JobStore store(storeRoot.toStdString());
  for (const auto& r : store.list())
    if (auto e = renderEntryOf(r, storeRoot)) out.push_back(std::move(*e));
  std::stable_sort(out.begin(), out.end(), [](const RenderEntry& a, const RenderEntry& b) { return a.finished > b.finished; });
  return out;
}

// ---- RenderHistoryModel ----------------------------------------------------------------------

RenderHistoryModel::RenderHistoryModel(const QString& storeRoot, QObject* parent)
    : QAbstractTableModel(parent), root_(storeRoot) {}

int RenderHistoryModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(rows_.size()); }
int RenderHistoryModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

int RenderHistoryModel::rowOf(const QString& id) const {
  for (size_t i = 0; i < rows_.size(); ++i)
    if (rows_[i].id == id) return int(i);
  return -1;
}

bool RenderHistoryModel::infoReady(int row) const {
  return row >= 0 && row < int(info_.size()) && info_[size_t(row)].ready;
}

QVariant RenderHistoryModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, o, role);
  switch (section) {
    case VideoColumn: return tr("Finished");
    case PromptColumn: return tr("Prompt");
    case LengthColumn: return tr("Length");
    case SeedColumn: return tr("Seed");
    case ModelColumn: return tr("Model");
    case SizeColumn: return tr("Size");
  }
  return {};
}

QVariant RenderHistoryModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= int(rows_.size())) return {};
  const RenderEntry& e = rows_[size_t(index.row())];
  const Info& info = info_[size_t(index.row())];
  if (role == IdRole) return e.id;
  if (role == OutputRole) return e.output;
  if (role == FinishedRole) return e.finished;
  const int col = index.column();
  // What needs the file (thumbnail, length, size) is read when a view first shows the row.
  const bool needsInfo = (col == VideoColumn && role == Qt::DecorationRole) ||
                         ((col == LengthColumn || col == SizeColumn) && role == Qt::DisplayRole);
  if (needsInfo && !info.requested) requestInfo(index.row());
  switch (role) {
    case Qt::DisplayRole:
      switch (col) {
        case VideoColumn: return QLocale().toString(e.finished, QLocale::ShortFormat);
        case PromptColumn:
          return e.params.prompt.empty() ? tr("(no prompt) %1").arg(QFileInfo(QString::fromStdString(e.params.audio)).fileName())
                                         : QString::fromStdString(e.params.prompt);
        case LengthColumn: return info.ready ? (info.error.isEmpty() ? lengthText(info.duration_s) : tr("missing")) : tr("…");
        case SeedColumn: return e.seed >= 0 ? QString::number(e.seed) : tr("unknown");
        case ModelColumn: return e.modelName;
        case SizeColumn:
          return info.ready && info.width > 0 ? QString("%1×%2").arg(info.width).arg(info.height) : QString();
      }
      break;
    case Qt::DecorationRole:
      if (col == VideoColumn && info.ready && !info.thumbnail.isNull()) return info.thumbnail;
      break;
    case Qt::ToolTipRole:
      if (col == VideoColumn || col == LengthColumn)
        return info.ready && !info.error.isEmpty() ? tr("%1\n%2").arg(e.output, info.error) : e.output;
      if (col == PromptColumn) return QString::fromStdString(e.params.prompt);
      if (col == ModelColumn) return QString::fromStdString(e.params.ckpt_dir);
      if (col == SeedColumn)
        return e.params.base_seed < 0 ? tr("Drawn at random for this render") : tr("Set in the form");
      break;
    case Qt::ForegroundRole:
      if (info.ready && !info.error.isEmpty()) return toneColour(Tone::Error, QPalette());
      break;
    case Qt::TextAlignmentRole:
      if (col == LengthColumn || col == SeedColumn) return int(Qt::AlignRight | Qt::AlignVCenter);
      break;
  }
  return {};
}

void RenderHistoryModel::requestInfo(int row) const {
  Info& info = info_[size_t(row)];
  info.requested = true;
  ++requests_;
  const QString id = rows_[size_t(row)].id, output = rows_[size_t(row)].output;
  const quint64 generation = generation_;
  auto* self = const_cast<RenderHistoryModel*>(this);
  runOffGuiThread(
      self,
      [output] {
        Info r;
        r.requested = r.ready = true;
        try {
          media::VideoReader reader(output.toStdString());
          const media::MediaInfo& mi = reader.info();
          r.duration_s = mi.duration_s;
          r.width = reader.width();
          r.height = reader.height();
          r.frames = mi.frame_count;
          // a frame a second in (the first frames of a take are often still settling)
          if (mi.duration_s > 2.0) reader.seek(1.0);
          media::RgbFrame f;
          if (reader.read(f))
            r.thumbnail = QImage(f.rgb.data(), f.width, f.height, f.stride(), QImage::Format_RGB888)
                              .scaled(kThumbnail, Qt::KeepAspectRatio, Qt::SmoothTransformation);
        } catch (const std::exception& e) {
          r.error = QObject::tr("The video cannot be read (%1): it may have been moved or deleted.").arg(QString::fromUtf8(e.what()));
        }
        return r;
      },
      [self, id, generation](const Info& r) {
        if (generation != self->generation_) return;
        const int row = self->rowOf(id);
        if (row < 0) return;
        self->info_[size_t(row)] = r;
        emit self->dataChanged(self->index(row, 0), self->index(row, ColumnCount - 1));
        if (self->rows_[size_t(row)].jobSeconds > 0 && r.error.isEmpty()) emit self->speedSamplesChanged();
      });
}

void RenderHistoryModel::reload() {
  loading_ = true;
  const quint64 generation = ++generation_;
  const QString root = root_;
  runOffGuiThread(
      this, [root] { return readRenderHistory(root); },
      [this, generation](const std::vector<RenderEntry>& rows) {
        if (generation != generation_) return;
        beginResetModel();
        rows_ = rows;
        info_.assign(rows_.size(), Info{});
        endResetModel();
        loading_ = false;
        // The newest renders' speeds feed the time estimate: read them even if no view asks.
        for (int i = 0; i < std::min<int>(5, int(rows_.size())); ++i)
          if (!info_[size_t(i)].requested) requestInfo(i);
        emit loaded(int(rows_.size()));
      });
}

void RenderHistoryModel::addRecord(const jobs::JobRecord& record) {
  auto e = renderEntryOf(record, root_);
  if (!e) return;
  if (const int row = rowOf(e->id); row >= 0) {
    rows_[size_t(row)] = *e;
    info_[size_t(row)] = Info{};
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
    return;
  }
  beginInsertRows({}, 0, 0);
  rows_.insert(rows_.begin(), *e);
  info_.insert(info_.begin(), Info{});
  endInsertRows();
  requestInfo(0);
}

bool RenderHistoryModel::remove(int row, QString* why) {
  if (row < 0 || row >= int(rows_.size())) return false;
  const RenderEntry e = rows_[size_t(row)];
  QStringList left;
  if (QFileInfo::exists(e.output) && !QFile::remove(e.output)) left << e.output;
  if (QFileInfo(e.folder).isDir() && !QDir(e.folder).removeRecursively()) left << e.folder;
  if (!left.isEmpty()) {
    if (why) *why = tr("Could not delete %1: check the permissions of the folder.").arg(left.join(", "));
    return false;
  }
  beginRemoveRows({}, row, row);
  rows_.erase(rows_.begin() + row);
  info_.erase(info_.begin() + row);
  endRemoveRows();
  return true;
}

std::vector<RenderSpeedSample> RenderHistoryModel::speedSamples() const {
  std::vector<RenderSpeedSample> out;
  for (size_t i = 0; i < rows_.size(); ++i) {
    const Info& info = info_[i];
    const RenderEntry& e = rows_[i];
    if (!info.ready || !info.error.isEmpty() || e.jobSeconds <= 0 || info.frames <= 0) continue;
    RenderSpeedSample s;
    s.modelKey = renderModelKey(e.params);
    s.device = resolvedDevice(e.params);
    s.seconds = e.jobSeconds;
    s.work = renderWork(e.params, info.frames, info.height, info.width);
    s.when = e.finished;
    out.push_back(s);
  }
  return out;
}

// ---- HistoryPanel ----------------------------------------------------------------------------

HistoryPanel::HistoryPanel(JobQueueAdapter* jobs, const QString& storeRoot, QWidget* parent) : QWidget(parent) {
  setObjectName("historyPanel");
  model_ = new RenderHistoryModel(storeRoot, this);
  proxy_ = new QSortFilterProxyModel(this);
  proxy_->setSourceModel(model_);
  proxy_->setFilterKeyColumn(RenderHistoryModel::PromptColumn);
  proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
  filter_ = new QLineEdit(this);
  filter_->setObjectName("historyFilter");
  filter_->setPlaceholderText(tr("Filter by prompt"));
  filter_->setClearButtonEnabled(true);
  view_ = new QTableView(this);
  view_->setObjectName("historyView");
  view_->setModel(proxy_);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view_->setIconSize(RenderHistoryModel::kThumbnail);
  view_->setWordWrap(false);
  view_->setTextElideMode(Qt::ElideRight);
  view_->verticalHeader()->hide();
  view_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
  view_->verticalHeader()->setDefaultSectionSize(RenderHistoryModel::kThumbnail.height() + 8);
  view_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  view_->horizontalHeader()->setSectionResizeMode(RenderHistoryModel::PromptColumn, QHeaderView::Stretch);
  view_->setColumnWidth(RenderHistoryModel::VideoColumn, RenderHistoryModel::kThumbnail.width() + 140);
  view_->setSortingEnabled(false);
  status_ = new QLabel(tr("Reading the render history…"), this);
  status_->setObjectName("historyStatus");
  status_->setWordWrap(true);
  open_ = new QPushButton(tr("Open"), this);
  open_->setObjectName("historyOpen");
  open_->setToolTip(tr("Play the video in the system's player (double-click a row)"));
  reveal_ = new QPushButton(tr("Show in folder"), this);
  reveal_->setObjectName("historyReveal");
  reveal_->setToolTip(tr("Open the folder that holds the video"));
  export_ = new QPushButton(tr("Export again…"), this);
  export_->setObjectName("historyExport");
  export_->setToolTip(tr("Copy the video to a place you choose (the Output folder of Settings by default)"));
  use_ = new QPushButton(tr("Use these settings"), this);
  use_->setObjectName("historyUseSettings");
  use_->setToolTip(tr("Put this render's portrait, audio, prompt, seed, model and settings into the Generate form"));
  delete_ = new QPushButton(tr("Delete…"), this);
  delete_->setObjectName("historyDelete");
  delete_->setToolTip(tr("Delete the video and its job folder (asks first)"));
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(open_);
  buttons->addWidget(reveal_);
  buttons->addWidget(export_);
  buttons->addWidget(use_);
  buttons->addStretch(1);
  buttons->addWidget(delete_);
  auto* l = new QVBoxLayout(this);
  l->addWidget(filter_);
  l->addWidget(view_, 1);
  l->addWidget(status_);
  l->addLayout(buttons);

  confirm = [this](const QString& question) {
    return QMessageBox::question(this, tr("Delete render"), question) == QMessageBox::Yes;
  };
  askExportPath = [this](const QString& suggested) {
    return QFileDialog::getSaveFileName(this, tr("Export MP4"), suggested, tr("MP4 video (*.mp4)"));
  };
  connect(filter_, &QLineEdit::textChanged, proxy_, &QSortFilterProxyModel::setFilterFixedString);
  connect(view_, &QAbstractItemView::activated, this, &HistoryPanel::openSelected);
  connect(view_->selectionModel(), &QItemSelectionModel::currentChanged, this, &HistoryPanel::updateButtons);
  connect(open_, &QPushButton::clicked, this, &HistoryPanel::openSelected);
  connect(reveal_, &QPushButton::clicked, this, &HistoryPanel::revealSelected);
  connect(export_, &QPushButton::clicked, this, &HistoryPanel::exportSelected);
  connect(use_, &QPushButton::clicked, this, &HistoryPanel::useSelectedSettings);
  connect(delete_, &QPushButton::clicked, this, &HistoryPanel::deleteSelected);
  connect(model_, &RenderHistoryModel::loaded, this, [this](int n) {
    setStatus(n == 0 ? tr("No finished renders yet: they appear here when a render is done, and stay after a restart.")
                     : n == 1 ? tr("1 finished render") : tr("%1 finished renders").arg(n),
              false);
    updateButtons();
  });
  connect(model_, &QAbstractItemModel::rowsInserted, this, [this] {
    setStatus(tr("%1 finished renders").arg(model_->rowCount()), false);
  });
  connect(jobs, &JobQueueAdapter::jobChanged, this, [this](const JobUpdate& u) {
    if (u.record.state == jobs::JobState::Done) model_->addRecord(u.record);
  });
  updateButtons();
  model_->reload();
}

QString HistoryPanel::status() const { return status_->text(); }

QString HistoryPanel::selectedId() const { return view_->currentIndex().data(RenderHistoryModel::IdRole).toString(); }

void HistoryPanel::select(const QString& id) {
  const int row = model_->rowOf(id);
  if (row < 0) return;
  view_->setCurrentIndex(proxy_->mapFromSource(model_->index(row, 0)));
}

void HistoryPanel::setStatus(const QString& text, bool error) {
  status_->setText(text);
  status_->setStyleSheet(error ? toneStyle(Tone::Error, palette()) : QString());
}

void HistoryPanel::updateButtons() {
  const bool any = view_->currentIndex().isValid();
  for (QPushButton* b : {open_, reveal_, export_, use_, delete_}) b->setEnabled(any);
}

namespace {
int sourceRow(QTableView* view, QSortFilterProxyModel* proxy) {
  const QModelIndex i = view->currentIndex();
  return i.isValid() ? proxy->mapToSource(i).row() : -1;
}
}  // namespace

void HistoryPanel::openSelected() {
  const int row = sourceRow(view_, proxy_);
  if (row < 0) return;
  const QString out = model_->entry(row).output;
  if (!QFileInfo::exists(out)) {
    setStatus(tr("%1 is gone (moved or deleted): delete this entry, or render it again with Use these settings.").arg(out), true);
    return;
  }
  QDesktopServices::openUrl(QUrl::fromLocalFile(out));
}

void HistoryPanel::revealSelected() {
  const int row = sourceRow(view_, proxy_);
  if (row < 0) return;
  const QString out = model_->entry(row).output;
  const QString folder = QFileInfo::exists(out) ? QFileInfo(out).absolutePath() : model_->entry(row).folder;
  QDesktopServices::openUrl(QUrl::fromLocalFile(folder));
}

void HistoryPanel::exportSelected() {
  const int row = sourceRow(view_, proxy_);
  if (row < 0) return;
  const RenderEntry& e = model_->entry(row);
  if (!QFileInfo::exists(e.output)) {
    setStatus(tr("%1 is gone (moved or deleted): there is nothing to export.").arg(e.output), true);
    return;
  }
  const QString dest = askExportPath(defaultExportPath(AppSettings::load().outputFolder,
                                                       QString::fromStdString(e.params.prompt), e.output));
  if (dest.isEmpty()) return;
  auto* exporter = new Exporter(this);
  connect(exporter, &Exporter::exported, this, [this, exporter](const QString& d, bool ok, const QString& m) {
    setStatus(m, !ok);
    emit exported(d, ok, m);
    exporter->deleteLater();
  });
  setStatus(tr("Exporting to %1…").arg(dest), false);
  exporter->exportVideo(e.output, dest);
}

void HistoryPanel::useSelectedSettings() {
  const int row = sourceRow(view_, proxy_);
  if (row < 0) return;
  const RenderEntry& e = model_->entry(row);
  generate::GenerateParams p = e.params;
  if (e.seed >= 0) p.base_seed = e.seed;  // the same video again: the seed that was drawn
  p.out.clear();
  emit useSettings(p);
  setStatus(tr("The settings of %1 are in the Generate form.").arg(QLocale().toString(e.finished, QLocale::ShortFormat)), false);
}

void HistoryPanel::deleteSelected() {
  const int row = sourceRow(view_, proxy_);
  if (row < 0) return;
  const RenderEntry e = model_->entry(row);
  const QString question = tr("Delete this render?\n\n%1\n\nThe video and the job folder (its clips) are removed:\n%2\n%3")
                               .arg(QString::fromStdString(e.params.prompt), e.output, e.folder);
  if (!confirm(question)) return;
  QString why;
  if (model_->remove(row, &why))
    setStatus(tr("Deleted the render of %1.").arg(QLocale().toString(e.finished, QLocale::ShortFormat)), false);
  else
    setStatus(why, true);
  updateButtons();
}

}  // namespace s2v::ui
