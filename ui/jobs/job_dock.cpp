#include "ui/jobs/job_dock.h"

#include <QApplication>
#include <QContextMenuEvent>
#include <QDesktopServices>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QListView>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QStyledItemDelegate>
#include <QUrl>
#include <QVBoxLayout>
#include <algorithm>

#include "ui/jobs/job_list_model.h"
#include "ui/jobs/job_queue_adapter.h"

namespace s2v::ui {

namespace {

constexpr int kThumbW = 72, kThumbH = 40;

// Draws each job as a thumbnail, its title, its state line and a progress bar.
class JobDelegate : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  QSize sizeHint(const QStyleOptionViewItem& o, const QModelIndex&) const override {
    return {o.rect.width(), std::max(kThumbH + 8, o.fontMetrics.height() * 3 + 14)};
  }
  void paint(QPainter* p, const QStyleOptionViewItem& o, const QModelIndex& i) const override {
    const bool selected = o.state & QStyle::State_Selected;
    const int lh = o.fontMetrics.height();
    p->save();
    if (selected) p->fillRect(o.rect, o.palette.highlight());
    const QRect thumb(o.rect.left() + 4, o.rect.top() + 4, kThumbW, kThumbH);
    const QImage img = i.data(Qt::DecorationRole).value<QImage>();
    p->fillRect(thumb, QColor(40, 40, 40));
    if (!img.isNull()) {
      const QSize s = img.size().scaled(thumb.size(), Qt::KeepAspectRatio);
      p->drawImage(QRect(thumb.center() - QPoint(s.width() / 2, s.height() / 2), s), img);
    }
    const int x = thumb.right() + 8, w = o.rect.right() - 6 - x;
    QFont bold = o.font;
    bold.setBold(true);
    p->setFont(bold);
    p->setPen(o.palette.color(selected ? QPalette::HighlightedText : QPalette::Text));
    const QRect title(x, o.rect.top() + 4, w, lh);
    p->drawText(title, Qt::AlignLeft | Qt::AlignVCenter,
                QFontMetrics(bold).elidedText(i.data(JobListModel::TitleRole).toString(), Qt::ElideRight, w));
    p->setFont(o.font);
    const QString state = i.data(JobListModel::StateRole).toString();
    const bool cancelling = i.data(JobListModel::CancellingRole).toBool();
    if (!selected && (state == "failed" || cancelling)) p->setPen(state == "failed" ? QColor(176, 0, 32) : QColor(179, 92, 0));
    const QRect line(x, title.bottom() + 2, w, lh);
    p->drawText(line, Qt::AlignLeft | Qt::AlignVCenter,
                o.fontMetrics.elidedText(i.data(JobListModel::DescriptionRole).toString(), Qt::ElideRight, w));
    const double f = std::clamp(i.data(JobListModel::FractionRole).toDouble(), 0.0, 1.0);
    const QRect bar(x, line.bottom() + 4, w, std::max(4, lh / 2));
    p->fillRect(bar, QColor(215, 215, 215));
    const QColor fill = state == "failed" ? QColor(190, 50, 50)
                        : state == "done" ? QColor(60, 160, 90)
                        : cancelling      ? QColor(220, 140, 40)
                                          : QColor(60, 140, 220);
    p->fillRect(QRect(bar.left(), bar.top(), static_cast<int>(bar.width() * f), bar.height()), fill);
    p->restore();
  }
};

}  // namespace

JobDock::JobDock(JobQueueAdapter* adapter, QWidget* parent)
    : QDockWidget(tr("Jobs"), parent), adapter_(adapter) {
  setObjectName("jobDock");
  auto* body = new QWidget(this);
  model_ = new JobListModel(adapter, this);
  view_ = new QListView(body);
  view_->setObjectName("jobList");
  view_->setModel(model_);
  view_->setItemDelegate(new JobDelegate(view_));
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setContextMenuPolicy(Qt::CustomContextMenu);
  view_->setToolTip(tr("Double-click a job to preview it; right-click for more"));
  cancel_ = new QPushButton(tr("Cancel"), body);
  cancel_->setObjectName("cancelJob");
  retry_ = new QPushButton(tr("Retry / Resume"), body);
  retry_->setObjectName("retryJob");
  open_ = new QPushButton(tr("Open output"), body);
  open_->setObjectName("openOutput");
  // Two rows: the dock stays narrow enough to leave a 1024-pixel window to the workspace.
  auto* buttons = new QGridLayout;
  buttons->addWidget(cancel_, 0, 0);
  buttons->addWidget(retry_, 0, 1);
  buttons->addWidget(open_, 1, 0, 1, 2);
  auto* layout = new QVBoxLayout(body);
  layout->addWidget(view_);
  layout->addLayout(buttons);
  setWidget(body);
  connect(cancel_, &QPushButton::clicked, this, &JobDock::cancelSelected);
  connect(retry_, &QPushButton::clicked, this, &JobDock::retrySelected);
  connect(open_, &QPushButton::clicked, this, &JobDock::openSelectedOutput);
  connect(view_->selectionModel(), &QItemSelectionModel::currentChanged, this, [this](const QModelIndex& i) {
    updateButtons();
    if (i.isValid()) emit jobSelected(i.data(JobListModel::IdRole).toString());
  });
  connect(view_, &QListView::doubleClicked, this, [this](const QModelIndex& i) {
    emit previewRequested(i.data(JobListModel::IdRole).toString());
  });
  connect(view_, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
    const QModelIndex i = view_->indexAt(pos);
    if (!i.isValid()) return;
    view_->setCurrentIndex(i);
    QMenu* menu = contextMenuFor(i.data(JobListModel::IdRole).toString());
    menu->setAttribute(Qt::WA_DeleteOnClose);
    menu->popup(view_->viewport()->mapToGlobal(pos));
  });
  connect(model_, &QAbstractItemModel::dataChanged, this, &JobDock::updateButtons);
  connect(model_, &QAbstractItemModel::rowsInserted, this, [this](const QModelIndex&, int, int last) {
    view_->setCurrentIndex(model_->index(last));  // follow the newest job
  });
  updateButtons();
}

QString JobDock::selectedJobId() const {
  return view_->currentIndex().data(JobListModel::IdRole).toString();
}

void JobDock::selectJob(const QString& id) { view_->setCurrentIndex(model_->index(model_->rowOf(id))); }

QMenu* JobDock::contextMenuFor(const QString& id) {
  const QModelIndex i = model_->index(model_->rowOf(id));
  auto* menu = new QMenu(this);
  menu->setObjectName("jobMenu");
  auto add = [&](const QString& text, const char* name, bool enabled, auto slot) {
    QAction* a = menu->addAction(text);
    a->setObjectName(name);
    a->setEnabled(enabled);
    connect(a, &QAction::triggered, this, [this, id, slot] {
      selectJob(id);
      slot();
    });
  };
  const bool hasOutput = !i.data(JobListModel::OutputRole).toString().isEmpty();
  add(tr("Preview"), "jobPreview", i.data(JobListModel::CanPreviewRole).toBool(),
      [this, id] { emit previewRequested(id); });
  add(tr("Export…"), "jobExport", hasOutput && i.data(JobListModel::StateRole).toString() == "done",
      [this, id] { emit exportRequested(id); });
  add(tr("Open output"), "jobOpenOutput", hasOutput, [this] { openSelectedOutput(); });
  add(tr("Open folder"), "jobOpenFolder", true, [this] { openSelectedFolder(); });
  menu->addSeparator();
  add(tr("Cancel"), "jobCancel", i.data(JobListModel::CanCancelRole).toBool(), [this] { cancelSelected(); });
  add(tr("Retry / Resume"), "jobRetry", i.data(JobListModel::CanRetryRole).toBool(), [this] { retrySelected(); });
  add(tr("Remove…"), "jobRemove", i.data(JobListModel::CanRemoveRole).toBool(), [this] { removeSelected(); });
  return menu;
}

void JobDock::updateButtons() {
  const QModelIndex i = view_->currentIndex();
  cancel_->setEnabled(i.data(JobListModel::CanCancelRole).toBool());
  retry_->setEnabled(i.data(JobListModel::CanRetryRole).toBool());
  open_->setEnabled(!i.data(JobListModel::OutputRole).toString().isEmpty());
}

void JobDock::cancelSelected() {
  if (const QString id = selectedJobId(); !id.isEmpty() && adapter_->cancel(id))
    emit message(tr("Cancelling %1…").arg(view_->currentIndex().data(JobListModel::TitleRole).toString()));
}

void JobDock::retrySelected() {
  if (const QString id = selectedJobId(); !id.isEmpty()) adapter_->resume(id);
}

bool JobDock::open(const QString& path, const QString& what) {
  if (path.isEmpty() || !QFileInfo::exists(path)) {
    emit message(tr("The %1 is not there any more: %2").arg(what, path));
    return false;
  }
  if (QDesktopServices::openUrl(QUrl::fromLocalFile(path))) return true;
  // no desktop launcher (a bare window manager, a server): say where it is instead of nothing
  emit message(tr("No program is set up to open the %1; it is %2").arg(what, path));
  return false;
}

void JobDock::openSelectedOutput() {
  open(view_->currentIndex().data(JobListModel::OutputRole).toString(), tr("output"));
}

void JobDock::openSelectedFolder() {
  if (const QString id = selectedJobId(); !id.isEmpty()) open(adapter_->jobFolder(id), tr("job folder"));
}

void JobDock::removeSelected() {
  const QString id = selectedJobId();
  if (id.isEmpty()) return;
  QMessageBox ask(QMessageBox::Question, tr("Remove job"),
                  tr("Remove “%1” and delete its folder (the clips it kept)? An exported or output file "
                     "outside the folder stays.")
                      .arg(view_->currentIndex().data(JobListModel::TitleRole).toString()),
                  QMessageBox::Yes | QMessageBox::No, this);
  ask.setObjectName("removeJobDialog");
  if (ask.exec() == QMessageBox::Yes) adapter_->remove(id);
}

}  // namespace s2v::ui
