#pragma once
// The Curate workspace: open a folder (scored by a "curate" job through the queue) or an existing
// results database, and review every clip's scores in a sortable table with verdict colouring.

#include <QString>
#include <QWidget>

class QLabel;
class QTableWidget;

namespace s2v::ui {

class JobQueueAdapter;
struct JobUpdate;

class CurateWorkspace : public QWidget {
  Q_OBJECT
 public:
  explicit CurateWorkspace(JobQueueAdapter* jobs, QWidget* parent = nullptr);
  QTableWidget* table() const { return table_; }
  QString status() const;

 public slots:
  void openFolder(const QString& folder);   // queues a curate job, loads its database when done
  void openDatabase(const QString& dbPath);
  void chooseFolder();
  void chooseDatabase();

 signals:
  void databaseLoaded(const QString& dbPath, int rows);

 private:
  void onJobChanged(const JobUpdate& u);
  JobQueueAdapter* jobs_;
  QLabel* status_;
  QTableWidget* table_;
  QString pendingJob_;
  QString pendingDb_;
};

}  // namespace s2v::ui
