#pragma once
// Job submission and tracking for the Generate workspace, without widgets: Render submits a
// "generate" job (its parameters checked first), Run test pattern a diagnostic job; the session
// follows them through the queue and says what to show: progress, each finished clip, the final
// video, why a job failed.

#include <QObject>
#include <QString>

#include "core/generate/generate_params.h"

namespace s2v::ui {

class JobQueueAdapter;
struct JobUpdate;

class RenderSession : public QObject {
  Q_OBJECT
 public:
  explicit RenderSession(JobQueueAdapter* jobs, QObject* parent = nullptr);

  // Queues a render of p; the job ID, or empty with *why (a sentence with the next step).
  QString submit(const generate::GenerateParams& p, QString* why);
  QString runTestPattern(QString* why);

  // Follows the job u (the job dock's selection) instead: a render or a test pattern; false for
  // any other kind (a curation), which changes nothing.
  bool follow(const JobUpdate& u);

  QString renderJob() const { return renderJob_; }
  QString testPatternJob() const { return testPatternJob_; }
  QString lastOutput() const { return lastOutput_; }

 signals:
  void started(const QString& jobId);
  void previewCleared();
  void clipReady(const QString& path);        // a finished clip of the current job
  void progress(double fraction, const QString& text);
  void outputReady(const QString& path);      // a finished render or test pattern: exportable
  void finished(const QString& output);       // the render is done
  void failed(const QString& reason);         // the render failed (reason as the job says it)
  void stopped(const QString& text);          // cancelled or interrupted, with what to do next

 private:
  void onPreview(const QString& jobId, const QString& path);
  void onChanged(const JobUpdate& u);
  void onProgress(const JobUpdate& u);
  JobQueueAdapter* jobs_;
  QString renderJob_, testPatternJob_, lastOutput_;
};

}  // namespace s2v::ui
