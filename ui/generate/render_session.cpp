#include "ui/generate/render_session.h"

#include <algorithm>
#include <cmath>

#include "core/diagnostics/test_pattern.h"
#include "core/generate/generate_job.h"
#include "ui/jobs/job_queue_adapter.h"

namespace s2v::ui {

namespace {
QString mmss(double s) {
  const int t = int(std::lround(std::max(0.0, s)));
  return QString("%1:%2").arg(t / 60).arg(t % 60, 2, 10, QChar('0'));
}
}  // namespace

RenderSession::RenderSession(JobQueueAdapter* jobs, QObject* parent) : QObject(parent), jobs_(jobs) {
  connect(jobs_, &JobQueueAdapter::previewReady, this, &RenderSession::onPreview);
  connect(jobs_, &JobQueueAdapter::jobChanged, this, &RenderSession::onChanged);
  connect(jobs_, &JobQueueAdapter::jobProgress, this, &RenderSession::onProgress);
}

QString RenderSession::submit(const generate::GenerateParams& p, QString* why) {
  jobs::JobSpec spec;
  try {
    p.validate();
    spec = generate::make_generate_spec(p);
  } catch (const std::exception& e) {
    if (why) *why = tr("A setting is not valid: %1. Correct it under Settings.").arg(QString::fromUtf8(e.what()));
    return {};
  }
  const QString id = jobs_->submit(spec);
  if (id.isEmpty()) {
    if (why) *why = tr("The render could not be queued (the status bar says why): check that the data folder is writable.");
    return {};
  }
  renderJob_ = id;
  lastOutput_.clear();
  emit previewCleared();
  emit started(id);
  return id;
}

QString RenderSession::runTestPattern(QString* why) {
  diagnostics::TestPatternParams p;
  jobs::JobSpec spec;
  spec.kind = diagnostics::kTestPatternKind;
  spec.title = diagnostics::kTestPatternLabel;
  spec.params = p.to_json();
  const QByteArray delay = qgetenv("S2V_TEST_PATTERN_DELAY_MS");
  if (!delay.isEmpty()) spec.params["frame_delay_ms"] = delay.toInt();
  const QString id = jobs_->submit(spec);
  if (id.isEmpty()) {
    if (why) *why = tr("The test pattern could not be queued (the status bar says why).");
    return {};
  }
  testPatternJob_ = id;
  emit previewCleared();
  return id;
}

bool RenderSession::follow(const JobUpdate& u) {
  const std::string& kind = u.record.spec.kind;
  const bool pattern = kind == diagnostics::kTestPatternKind;
  if (!pattern && kind != generate::kGenerateKind) return false;
  const QString id = QString::fromStdString(u.record.id);
  renderJob_ = pattern ? QString() : id;
  testPatternJob_ = pattern ? id : QString();
  const bool done = u.record.state == jobs::JobState::Done && !u.record.output.empty();
  lastOutput_ = done ? QString::fromStdString(u.record.output) : QString();
  return true;
}

void RenderSession::onPreview(const QString& jobId, const QString& path) {
  if (jobId != renderJob_ && jobId != testPatternJob_) return;
  emit clipReady(path);
}

void RenderSession::onProgress(const JobUpdate& u) {
  if (QString::fromStdString(u.record.id) != renderJob_) return;
  const jobs::Progress& pr = u.progress;
  QStringList parts;
  if (pr.clips > 0) parts << tr("Clip %1/%2").arg(pr.clip).arg(pr.clips);
  if (!pr.stage.empty()) {
    QString stage = QString::fromStdString(pr.stage);
    if (pr.steps > 0) stage += QString(" %1/%2").arg(pr.step).arg(pr.steps);
    parts << stage;
  }
  if (pr.eta_s >= 0) parts << tr("%1 left").arg(mmss(pr.eta_s));
  emit progress(std::clamp(pr.fraction, 0.0, 1.0), parts.join(" · "));
}

void RenderSession::onChanged(const JobUpdate& u) {
  const QString id = QString::fromStdString(u.record.id);
  const bool mine = id == renderJob_;
  if (u.record.state == jobs::JobState::Done && !u.record.output.empty() && (mine || id == testPatternJob_)) {
    lastOutput_ = QString::fromStdString(u.record.output);
    emit outputReady(lastOutput_);
  }
  if (!mine) return;
  switch (u.record.state) {
    case jobs::JobState::Running: emit progress(-1, tr("Rendering…")); break;
    case jobs::JobState::Done: emit finished(lastOutput_); break;
    case jobs::JobState::Failed: emit failed(QString::fromStdString(u.record.error)); break;
    case jobs::JobState::Cancelled:
      emit stopped(tr("Cancelled: the finished clips are kept; Retry in the job list resumes."));
      break;
    case jobs::JobState::Interrupted:
      emit stopped(tr("Interrupted: Retry in the job list resumes from the last clip."));
      break;
    case jobs::JobState::Queued: break;
  }
}

}  // namespace s2v::ui
