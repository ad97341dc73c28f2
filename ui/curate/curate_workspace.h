#pragma once
// The Curate workspace: open a folder (scored by a "curate" job through the queue), the sample
// clips, or an existing results database; review every clip in a sortable, filterable table whose
// verdicts follow threshold sliders live; view a clip with its overlays and per-frame plots; see
// each metric's histogram with its threshold; export the passing list; save the tuned preset.

#include <QString>
#include <QWidget>

#include "core/curation/preset.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QTableView;

namespace s2v::ui {

class ClipViewer;
class CurateFilterProxy;
class CurateTableModel;
class HistogramPanel;
class JobQueueAdapter;
class ThresholdPanel;
struct JobUpdate;

class CurateWorkspace : public QWidget {
  Q_OBJECT
 public:
  explicit CurateWorkspace(JobQueueAdapter* jobs, QWidget* parent = nullptr);

  QTableView* table() const { return table_; }
  CurateTableModel* model() const { return model_; }
  CurateFilterProxy* proxy() const { return proxy_; }
  ThresholdPanel* thresholds() const { return thresholds_; }
  HistogramPanel* histogram() const { return histogram_; }
  ClipViewer* viewer() const { return viewer_; }
  QString status() const;
  QString databasePath() const { return dbPath_; }
  // The preset the thresholds came from, "(modified)" once a threshold moved.
  QString presetLabel() const;
  bool presetModified() const;
  // name in the Output folder of Settings (created), for the save dialogs.
  static QString defaultSavePath(const QString& name);

 public slots:
  void openFolder(const QString& folder);   // queues a curate job, loads its database when done
  // Reads the rows off the GUI thread; databaseLoaded (or databaseFailed) follows.
  void openDatabase(const QString& dbPath);
  // Copies the opencv-doc samples into <app data>/samples (off the GUI thread) and scores them
  // through the queue, `maxSeconds` of each (0 = whole clips), then shows their table.
  void scoreSampleClips(double maxSeconds = 10.0);
  void openClip(int sourceRow);             // shows the row in the clip viewer
  bool exportPassing(const QString& file);  // false (and a status sentence) on failure
  bool savePreset(const QString& file);
  void usePreset(const QString& nameOrFile);  // a built-in preset name or a preset JSON file
  void chooseFolder();
  void chooseDatabase();
  void chooseExport();
  void choosePresetSave();
  void choosePresetLoad();

 signals:
  void databaseLoaded(const QString& dbPath, int rows);
  void databaseFailed(const QString& dbPath, const QString& error);
  void clipOpened(const QString& path);

 private:
  void onJobChanged(const JobUpdate& u);
  // A row the running curate job has just committed: read off the GUI thread, then shown.
  void onRowScored(const QString& jobId, const QString& clipPath);
  void submitCurate(const QStringList& inputs, const QString& db, const QString& title, double maxSeconds);
  void applyRangeFilter();
  void updateStatus();
  void showPresetName();
  JobQueueAdapter* jobs_;
  CurateTableModel* model_;
  CurateFilterProxy* proxy_;
  QTableView* table_;
  ThresholdPanel* thresholds_;
  HistogramPanel* histogram_;
  ClipViewer* viewer_;
  QLabel* status_;
  QComboBox* presetBox_;
  QComboBox* rangeMetric_;
  QLineEdit* rangeMin_;
  QLineEdit* rangeMax_;
  curation::Preset basePreset_;  // as loaded or saved: presetModified() compares with it
  QString dbPath_;
  QString message_;  // the last sentence about loading/scoring, before the counts
  QString pendingJob_;
  QString pendingDb_;
  int rangeColumn_ = -1;
  int loadGeneration_ = 0;
};

}  // namespace s2v::ui
