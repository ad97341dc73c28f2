#include "ui/jobs/job_dock.h"

#include <QApplication>
#include <algorithm>
#include <QDesktopServices>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QListView>
#include <QPainter>
#include <QPushButton>
#include <QStyledItemDelegate>
#include <QUrl>
#include <QVBoxLayout>

#include "ui/jobs/job_list_model.h"

namespace s2v::ui {

namespace {

// Draws each job as its title line plus a progress bar.
class JobDelegate : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  QSize sizeHint(const QStyleOptionViewItem& o, const QModelIndex&) const override {
    return {o.rect.width(), o.fontMetrics.height() * 2 + 14};
  }
  void paint(QPainter* p, const QStyleOptionViewItem& o, const QModelIndex& i) const override {
    const bool selected = o.state & QStyle::State_Selected;
    const int lh = o.fontMetrics.height();
    p->save();
    if (selected) p->fillRect(o.rect, o.palette.highlight());
    const QRect textRect(o.rect.left() + 6, o.rect.top() + 4, o.rect.width() - 12, lh);
    p->setPen(o.palette.color(selected ? QPalette::HighlightedText : QPalette::Text));
    p->drawText(textRect, Qt::AlignLeft | Qt::AlignVCenter,
                o.fontMetrics.elidedText(i.data(Qt::DisplayRole).toString(), Qt::ElideRight, textRect.width()));
    const double f = std::clamp(i.data(JobListModel::FractionRole).toDouble(), 0.0, 1.0);
    const QRect bar(o.rect.left() + 6, textRect.bottom() + 4, o.rect.width() - 12, lh - 4);
    p->fillRect(bar, QColor(215, 215, 215));
    const QString state = i.data(JobListModel::StateRole).toString();
    const QColor fill = state == "failed" ? QColor(190, 50, 50)
                        : state == "done" ? QColor(60, 160, 90) : QColor(60, 140, 220);
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
  cancel_ = new QPushButton(tr("Cancel"), body);
  cancel_->setObjectName("cancelJob");
  retry_ = new QPushButton(tr("Retry / Resume"), body);
  retry_->setObjectName("retryJob");
  open_ = new QPushButton(tr("Open output"), body);
  open_->setObjectName("openOutput");
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(cancel_);
  buttons->addWidget(retry_);
  buttons->addWidget(open_);
  auto* layout = new QVBoxLayout(body);
  layout->addWidget(view_);
  layout->addLayout(buttons);
  setWidget(body);
  connect(cancel_, &QPushButton::clicked, this, &JobDock::cancelSelected);
  connect(retry_, &QPushButton::clicked, this, &JobDock::retrySelected);
  connect(open_, &QPushButton::clicked, this, &JobDock::openSelectedOutput);
  connect(view_->selectionModel(), &QItemSelectionModel::currentChanged, this, &JobDock::updateButtons);
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

void JobDock::updateButtons() {
  const QModelIndex i = view_->currentIndex();
  cancel_->setEnabled(i.data(JobListModel::CanCancelRole).toBool());
  retry_->setEnabled(i.data(JobListModel::CanRetryRole).toBool());
  open_->setEnabled(!i.data(JobListModel::OutputRole).toString().isEmpty());
}

void JobDock::cancelSelected() {
  if (const QString id = selectedJobId(); !id.isEmpty()) adapter_->cancel(id);
}

void JobDock::retrySelected() {
  if (const QString id = selectedJobId(); !id.isEmpty()) adapter_->resume(id);
}

void JobDock::openSelectedOutput() {
  const QString out = view_->currentIndex().data(JobListModel::OutputRole).toString();
  if (!out.isEmpty() && QFileInfo::exists(out)) QDesktopServices::openUrl(QUrl::fromLocalFile(out));
}

}  // namespace s2v::ui
