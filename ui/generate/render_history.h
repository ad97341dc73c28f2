#pragma once
// The render history: every finished "generate" job of the journal (<data>/jobs, shared with the
// CLI), newest first, with a thumbnail, the video's length, the date, the prompt, the seed that
// was used and the model; open it, show it in its folder, export it again, put its settings back
// into the Generate form, or delete it with its files. Built from the journal, so it survives
// restarts; a model/view table whose thumbnails and lengths are read off the GUI thread only for
// the rows a view asks for, so thousands of renders stay responsive.

#include <QAbstractTableModel>
#include <QDateTime>
#include <QImage>
#include <QWidget>
#include <functional>
#include <vector>

#include "core/generate/generate_params.h"
#include "ui/generate/generate_state.h"

class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;

namespace s2v::jobs {
struct JobRecord;
}

namespace s2v::ui {

class JobQueueAdapter;
struct JobUpdate;

struct RenderEntry {
  QString id;
  QString folder;                 // the job's folder in the journal
  QString output;                 // the rendered video
  QString title;
  generate::GenerateParams params;
  int64_t seed = -1;              // the seed used (drawn when params.base_seed was -1), -1 unknown
  QDateTime finished;
  double jobSeconds = 0;          // wall time when it ran in one attempt, else 0
  QString modelName;              // "Demo model", the folder's name, or the replacing DiT's file
};

// Reads the finished renders of a journal (blocking: call off the GUI thread), newest first.
std::vector<RenderEntry> readRenderHistory(const QString& storeRoot);
// The entry of one record (nullopt unless it is a finished generate job).
std::optional<RenderEntry> renderEntryOf(const jobs::JobRecord& r, const QString& storeRoot);

class RenderHistoryModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { VideoColumn, PromptColumn, LengthColumn, SeedColumn, ModelColumn, SizeColumn, ColumnCount };
  enum Role { IdRole = Qt::UserRole + 1, OutputRole, FinishedRole };
  static constexpr QSize kThumbnail{128, 72};

  explicit RenderHistoryModel(const QString& storeRoot, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation o, int role) const override;

  const RenderEntry& entry(int row) const { return rows_.at(size_t(row)); }
  int rowOf(const QString& id) const;
  bool loading() const { return loading_; }
  // Thumbnails (with the video's length and size) read so far, and asked for: a view of a few
  // rows asks for a few, however long the history.
  int infoRequests() const { return requests_; }
  bool infoReady(int row) const;

  // Deletes the render's video and its job folder; false with *why when a file stays.
  bool remove(int row, QString* why);
  // Finished renders' speeds (for GenerateState's time estimate), from rows whose info was read.
  std::vector<RenderSpeedSample> speedSamples() const;

 public slots:
  void reload();                         // reads the journal off the GUI thread; loaded() follows
  void addRecord(const s2v::jobs::JobRecord& record);  // a render that just finished

 signals:
  void loaded(int rows);
  void speedSamplesChanged();

 private:
  struct Info {
    bool requested = false, ready = false;
    QImage thumbnail;
    double duration_s = -1;
    int width = 0, height = 0;
    int64_t frames = 0;
    QString error;
  };
  void requestInfo(int row) const;
  QString root_;
  std::vector<RenderEntry> rows_;
  mutable std::vector<Info> info_;
  mutable int requests_ = 0;
  bool loading_ = false;
  quint64 generation_ = 0;
};

class HistoryPanel : public QWidget {
  Q_OBJECT
 public:
  HistoryPanel(JobQueueAdapter* jobs, const QString& storeRoot, QWidget* parent = nullptr);

  RenderHistoryModel* model() const { return model_; }
  QTableView* view() const { return view_; }
  QString status() const;
  QString selectedId() const;
  void select(const QString& id);
  // Asked before a delete (tests answer without a dialog): true deletes.
  std::function<bool(const QString& question)> confirm;
  // Asked for an export's destination (tests answer without a dialog): empty cancels.
  std::function<QString(const QString& suggested)> askExportPath;

 public slots:
  void openSelected();
  void revealSelected();
  void exportSelected();
  void useSelectedSettings();
  void deleteSelected();

 signals:
  // "Use these settings": the render's parameters (inputs included) for the Generate form.
  void useSettings(const s2v::generate::GenerateParams& params);
  void exported(const QString& dest, bool ok, const QString& message);

 private:
  void updateButtons();
  void setStatus(const QString& text, bool error);
  RenderHistoryModel* model_;
  QSortFilterProxyModel* proxy_;
  QTableView* view_;
  QLineEdit* filter_;
  QLabel* status_;
  QPushButton* open_;
  QPushButton* reveal_;
  QPushButton* export_;
  QPushButton* use_;
  QPushButton* delete_;
};

}  // namespace s2v::ui
