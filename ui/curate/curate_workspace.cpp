#include "ui/curate/curate_workspace.h"

#include <QDir>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include "core/media/probe.h"

namespace s2v::ui {

CurateWorkspace::CurateWorkspace(QWidget* parent) : QWidget(parent) {
  setObjectName("curateWorkspace");
  auto* open = new QPushButton(tr("Open folder…"), this);
  open->setObjectName("openFolder");
  status_ = new QLabel(tr("Open a folder of clips to score them. The curation metrics are not in this "
                          "build yet; clips are listed with their properties."), this);
  status_->setWordWrap(true);
  table_ = new QTableWidget(0, 5, this);
  table_->setObjectName("clipTable");
  table_->setHorizontalHeaderLabels({tr("path"), tr("duration_s"), tr("width"), tr("height"), tr("fps")});
  table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
  table_->setSortingEnabled(true);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  auto* bar = new QHBoxLayout;
  bar->addWidget(open);
  bar->addWidget(status_, 1);
  auto* l = new QVBoxLayout(this);
  l->addLayout(bar);
  l->addWidget(table_, 1);
  connect(open, &QPushButton::clicked, this, &CurateWorkspace::chooseFolder);
}

void CurateWorkspace::chooseFolder() {
  const QString d = QFileDialog::getExistingDirectory(this, tr("Folder of clips"));
  if (!d.isEmpty()) openFolder(d);
}

void CurateWorkspace::openFolder(const QString& folder) {
  table_->setSortingEnabled(false);
  table_->setRowCount(0);
  const auto files = QDir(folder).entryInfoList(QDir::Files, QDir::Name);
  for (const QFileInfo& fi : files) {
    media::MediaInfo info;
    try {
      info = media::probe(fi.absoluteFilePath().toStdString());
    } catch (const std::exception&) {
      continue;
    }
    if (info.kind != media::MediaKind::Video) continue;
    const int row = table_->rowCount();
    table_->insertRow(row);
    auto num = [](double v) {
      auto* it = new QTableWidgetItem;
      it->setData(Qt::DisplayRole, v);
      return it;
    };
    table_->setItem(row, 0, new QTableWidgetItem(fi.fileName()));
    table_->setItem(row, 1, num(info.duration_s));
    table_->setItem(row, 2, num(info.width));
    table_->setItem(row, 3, num(info.height));
    table_->setItem(row, 4, num(info.fps));
  }
  table_->setSortingEnabled(true);
  status_->setText(tr("%1 clips in %2").arg(table_->rowCount()).arg(folder));
}

}  // namespace s2v::ui
