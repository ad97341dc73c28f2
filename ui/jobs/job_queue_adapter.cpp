#include "ui/jobs/job_queue_adapter.h"

#include <signal.h>

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>
#include <QTimer>
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "core/curate_job/curate_job.h"
#include "core/diagnostics/test_pattern.h"
#include "core/generate/generate_params.h"
#include "core/jobs/worker_protocol.h"
#include "models/base/error.h"
#include "ui/engine/engine_process.h"

namespace s2v::ui {

namespace {

// The kinds `s2v worker` runs (the engine's registry; the GUI has none of its own).
bool engineRunsKind(const std::string& kind) {
  return kind == generate::kGenerateKind || kind == curation::kCurateKind || kind == diagnostics::kTestPatternKind;
}

QByteArray readFrom(const QString& path, qint64 pos) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  if (pos > 0 && pos <= f.size()) f.seek(pos);
  return f.readAll();
}

}  // namespace

QString JobQueueAdapter::defaultStoreRoot() {
  const QByteArray env = qgetenv("S2V_DATA_DIR");
  if (!env.isEmpty()) return QString::fromLocal8Bit(env) + "/jobs";
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/jobs";
}

JobQueueAdapter::JobQueueAdapter(QObject* parent) : QObject(parent) {
  qRegisterMetaType<s2v::ui::JobUpdate>();
  store_ = std::make_unique<jobs::JobStore>(defaultStoreRoot().toStdString());
  poll_ = new QTimer(this);
  poll_->setInterval(100);
  connect(poll_, &QTimer::timeout, this, &JobQueueAdapter::poll);
  // The journal: past jobs, and jobs a worker of an earlier session still runs (it holds the
  // lock, so the record still reads "running"): those are followed through their stream.
  for (auto& r : store_->list()) {
    auto e = std::make_unique<Entry>();
    e->u.record = r;
    e->lane = laneOf(r.spec);
    if (r.state == jobs::JobState::Running) {
      e->attached = true;
      const QString stream = jobFolder(QString::fromStdString(r.id)) + "/" + jobs::kWorkerStream;
      const QByteArray all = readFrom(stream, 0);
      e->streamPos = all.size();
      // its last complete line says where it is now
      const QList<QByteArray> lines = all.split('\n');
      for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        try {
          jobs::apply_progress_line(nlohmann::json::parse(it->toStdString()), e->u.record, e->u.progress);
          e->u.record.state = jobs::JobState::Running;
          break;
        } catch (const std::exception&) {
        }
      }
      wasActive_ = true;
    }
    entries_.push_back(std::move(e));
  }
  if (wasActive_) poll_->start();
}

JobQueueAdapter::~JobQueueAdapter() {
  poll_->stop();
  std::vector<Entry*> ours;
  for (auto& e : entries_)
    if (e->proc) ours.push_back(e.get());
  for (Entry* e : ours) {
    e->proc->disconnect(this);
    if (shutdown_ == Shutdown::LeaveRunning) {
      // Deleting a QProcess kills its process: this one is let go on purpose. The worker writes to
      // files and holds its journal lock; the next session follows it.
      e->proc->setParent(nullptr);
      e->proc = nullptr;
      continue;
    }
    store_->request_cancel(e->u.record.id);
  }
  for (Entry* e : ours) {
    if (!e->proc) continue;
    if (!e->proc->waitForFinished(cancelGraceMs_)) {
      e->proc->kill();
      e->proc->waitForFinished(5000);
    }
    // after a polite stop the worker journalled "cancelled"; after a kill the record is ours to fix
    try {
      if (auto r = store_->load(e->u.record.id); r && !jobs::is_final(r->state)) {
        r->state = jobs::JobState::Cancelled;
        r->stage = "cancelled";
        store_->save(*r);
      }
    } catch (const std::exception&) {
    }
  }
}

JobQueueAdapter::Entry* JobQueueAdapter::find(const QString& id) const {
  const std::string key = id.toStdString();
  for (auto& e : entries_)
    if (e->u.record.id == key) return e.get();
  return nullptr;
}

QString JobQueueAdapter::jobFolder(const QString& id) const {
  try {
    return QString::fromStdString(store_->folder(id.toStdString()).string());
  } catch (const std::exception&) {
    return {};
  }
}

QString JobQueueAdapter::laneOf(const jobs::JobSpec& spec) const {
  if (spec.kind != generate::kGenerateKind) return QStringLiteral("cpu");  // curation, the test pattern
  const QString device = QString::fromStdString(spec.params.value("device", std::string("auto")));
  if (device == "cpu") return device;
  if (device.startsWith("cuda:")) return device;
  return QStringLiteral("cuda:0");  // "cuda", and "auto" (the GPU when there is one)
}

QString JobQueueAdapter::submit(const jobs::JobSpec& spec) {
  if (!engineRunsKind(spec.kind)) {
    emit error(tr("this build cannot run jobs of kind '%1'").arg(QString::fromStdString(spec.kind)));
    return {};
  }
  jobs::JobRecord r;
  try {
    r = store_->create(spec);
  } catch (const std::exception& e) {
    emit error(QString::fromUtf8(e.what()));
    return {};
  }
  auto e = std::make_unique<Entry>();
  e->u.record = r;
  e->lane = laneOf(r.spec);
  const QString id = QString::fromStdString(r.id);
  entries_.push_back(std::move(e));
  pending_.push_back(id);
  wasActive_ = true;
  emit jobAdded(entries_.back()->u);
  schedule();
  return id;
}

void JobQueueAdapter::schedule() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    Entry* e = find(*it);
    if (!e) {
      it = pending_.erase(it);
      continue;
    }
    int busy = 0;
    for (auto& o : entries_) busy += (o->proc || o->attached) && o->lane == e->lane ? 1 : 0;
    if (busy >= maxPerDevice_) {
      ++it;
      continue;
    }
    it = pending_.erase(it);
    start(*e);
  }
}

void JobQueueAdapter::start(Entry& e) {
  const QString id = QString::fromStdString(e.u.record.id);
  const QString folder = jobFolder(id);
  const QString exe = engineExecutable();
  if (exe.isEmpty()) {
    e.u.record.state = jobs::JobState::Failed;
    e.u.record.stage = "failed";
    e.u.record.error = tr("the engine (s2v) was not found beside s2v-studio or on PATH (set S2V_CLI to it)").toStdString();
    save(e);
    emitChanged(e);
    checkIdle();
    return;
  }
  e.streamPos = QFileInfo(folder + "/" + jobs::kWorkerStream).size();
  e.partial.clear();
  e.u.cancelling = false;
  {
    QFile log(folder + "/" + jobs::kWorkerLog);
    if (log.open(QIODevice::Append))
      log.write(QString("== s2v worker %1 started %2\n").arg(id, QDateTime::currentDateTime().toString(Qt::ISODate)).toUtf8());
  }
  auto* p = new QProcess(this);
  p->setStandardInputFile(QProcess::nullDevice());
  p->setStandardOutputFile(folder + "/" + jobs::kWorkerStream, QIODevice::Append);
  p->setStandardErrorFile(folder + "/" + jobs::kWorkerLog, QIODevice::Append);
  p->setProgram(exe);
  p->setArguments(QStringList{"worker", id, "--json"} + workerArgs_);
  connect(p, &QProcess::finished, this, [this, id](int code, QProcess::ExitStatus status) {
    workerFinished(id, code, status == QProcess::CrashExit);
  });
  connect(p, &QProcess::errorOccurred, this, [this, id, p, exe](QProcess::ProcessError err) {
    if (err != QProcess::FailedToStart) return;
    Entry* e = find(id);
    if (!e || e->proc != p) return;
    p->deleteLater();
    e->proc = nullptr;
    e->u.record.state = jobs::JobState::Failed;
    e->u.record.stage = "failed";
    e->u.record.error = tr("the engine '%1' could not be started: %2").arg(exe, p->errorString()).toStdString();
    save(*e);
    emitChanged(*e);
    schedule();
    checkIdle();
  });
  e.proc = p;
  // shown at once; the worker journals "running" itself when it has the job's lock
  e.u.record.state = jobs::JobState::Running;
  e.u.record.stage = "starting";
  e.u.progress = {};
  e.u.progress.fraction = e.u.record.fraction;
  e.u.record.error.clear();
  e.u.record.error_kind.clear();
  p->start();
  emitChanged(e);
  poll_->start();
}

void JobQueueAdapter::follow(Entry& e) {
  const QString id = QString::fromStdString(e.u.record.id);
  const QString path = jobFolder(id) + "/" + jobs::kWorkerStream;
  if (QFileInfo(path).size() < e.streamPos) e.streamPos = 0;  // replaced meanwhile
  const QByteArray data = readFrom(path, e.streamPos);
  if (data.isEmpty()) return;
  e.streamPos += data.size();
  e.partial += data;
  for (qsizetype nl; (nl = e.partial.indexOf('\n')) >= 0;) {
    const QByteArray line = e.partial.left(nl);
    e.partial.remove(0, nl + 1);
    jobs::JobEvent::Type type;
    try {
      const nlohmann::json j = nlohmann::json::parse(line.toStdString());
      if (j.value("job", std::string()) != e.u.record.id) continue;
      type = jobs::apply_progress_line(j, e.u.record, e.u.progress);
    } catch (const std::exception&) {
      continue;  // not a line of the stream (a stray print): the log has such things
    }
    if (type == jobs::JobEvent::Type::Progress) emit jobProgress(e.u);
    else emit jobChanged(e.u);
    if (jobs::is_final(e.u.record.state)) checkIdle();
    if (!e.u.progress.preview.empty()) {
      const QString preview = QString::fromStdString(e.u.progress.preview);
      if (!e.previews.contains(preview)) e.previews << preview;
      emit previewReady(id, preview);
    }
  }
}

void JobQueueAdapter::poll() {
  bool active = false;
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = *entries_[i];
    if (!e.proc && !e.attached) continue;
    active = true;
    follow(e);
    if (e.attached && !store_->is_locked(e.u.record.id)) finishAttached(e);
  }
  if (!active) poll_->stop();
}

void JobQueueAdapter::workerFinished(const QString& id, int code, bool crashed) {
  Entry* e = find(id);
  if (!e || !e->proc) return;
  follow(*e);  // the lines it wrote last
  const QString logPath = jobFolder(id) + "/" + jobs::kWorkerLog;
  e->proc->deleteLater();
  e->proc = nullptr;
  if (e->killTimer) e->killTimer->stop();
  const bool cancelling = e->u.cancelling;
  e->u.cancelling = false;
  const bool resumeAfter = e->resumeAfterExit;
  e->resumeAfterExit = false;
  std::optional<jobs::JobRecord> rec;
  try {
    rec = store_->load(e->u.record.id);  // the worker's journal is the truth of a normal exit
  } catch (const std::exception&) {
  }
  // the last lines of this attempt's log (after the header start() wrote)
  auto logTail = [&] {
    QByteArray log = readFrom(logPath, 0);
    const qsizetype header = log.lastIndexOf("== s2v worker ");
    if (header >= 0) log = log.mid(log.indexOf('\n', header) + 1);
    return lastLines(log, 8);
  };
  auto& r = e->u.record;
  if (rec) {
    const double fraction = std::max(r.fraction, rec->fraction);
    r = *rec;
    r.fraction = fraction;
  }
  if (rec && jobs::is_final(rec->state)) {
    // done, cancelled, failed (out of memory included): as the worker journalled it (a worker
    // that dies after journalling the end still did the job)
  } else if (crashed && cancelling) {
    // killed by us after the grace period: the cancel the person asked for
    r.state = jobs::JobState::Cancelled;
    r.stage = "cancelled";
    save(*e);
  } else if (crashed) {
    QString why = tr("the engine crashed (%1)").arg(describeSignal(code));
    if (code == SIGKILL) why += tr(": killed from outside (the kernel's out-of-memory killer, or a person)");
    const QString tail = logTail();
    if (!tail.isEmpty()) why += tr("; the last lines of its log:\n%1").arg(tail);
    r.state = jobs::JobState::Failed;
    r.stage = "failed";
    r.error = why.toStdString();
    r.error_kind = jobs::kCrashedKind;
    save(*e);
  } else if (rec && rec->state == jobs::JobState::Running && store_->is_locked(r.id)) {
    e->attached = true;  // another process runs it (the worker found it locked): follow that one
  } else {
    QString why = tr("the engine stopped without finishing the job (exit status %1)").arg(code);
    const QString tail = logTail();
    if (!tail.isEmpty()) why += ": " + tail;
    r.state = jobs::JobState::Failed;
    r.stage = "failed";
    r.error = why.toStdString();
    save(*e);
  }
  if (resumeAfter && resume(id)) return;  // (resume() says what became of it)
  emitChanged(*e);
  schedule();
  checkIdle();
}

void JobQueueAdapter::finishAttached(Entry& e) {
  follow(e);
  e.attached = false;
  const bool cancelling = e.u.cancelling;
  e.u.cancelling = false;
  try {
    if (auto rec = store_->load(e.u.record.id)) e.u.record = *rec;
  } catch (const std::exception&) {
  }
  auto& r = e.u.record;
  if (!jobs::is_final(r.state)) {
    // it died without a word; we never had its exit status
    r.state = cancelling ? jobs::JobState::Cancelled : jobs::JobState::Interrupted;
    r.stage = cancelling ? "cancelled" : "interrupted";
    if (!cancelling) r.error = tr("its worker stopped without finishing (see worker.log in the job folder)").toStdString();
    save(e);
  }
  emitChanged(e);
  schedule();
  checkIdle();
}

bool JobQueueAdapter::cancel(const QString& id) {
  Entry* e = find(id);
  if (!e) return false;
  auto& r = e->u.record;
  if (auto p = std::find(pending_.begin(), pending_.end(), id); p != pending_.end()) {
    pending_.erase(p);
    r.state = jobs::JobState::Cancelled;
    r.stage = "cancelled";
    save(*e);
    emitChanged(*e);
    checkIdle();
    return true;
  }
  if (e->resumeAfterExit) {
    // a Retry waiting for the worker that ended the job to exit: dropped; the job keeps the
    // state that worker journalled (workerFinished reads it)
    e->resumeAfterExit = false;
    r.state = jobs::JobState::Cancelled;
    r.stage = "cancelled";
    emitChanged(*e);
    checkIdle();
    return true;
  }
  if (e->proc || e->attached) {
    if (e->u.cancelling) return true;
    try {
      store_->request_cancel(r.id);
    } catch (const std::exception&) {
    }
    e->u.cancelling = true;
    if (!e->killTimer) {
      e->killTimer = new QTimer(this);
      e->killTimer->setSingleShot(true);
      connect(e->killTimer, &QTimer::timeout, this, [this, id] {
        if (Entry* x = find(id); x && x->u.cancelling) kill(*x);
      });
    }
    e->killTimer->start(cancelGraceMs_);
    emitChanged(*e);
    return true;
  }
  if (r.state == jobs::JobState::Queued || r.state == jobs::JobState::Running) {
    // another session's queue holds it: ask through the cancel file
    store_->request_cancel(r.id);
    return true;
  }
  return false;
}

void JobQueueAdapter::kill(Entry& e) {
  if (e.proc) {
    e.proc->kill();  // SIGKILL: workerFinished records the cancel
    return;
  }
  if (!e.attached || !store_->is_locked(e.u.record.id)) return;
  // a worker of an earlier session: its pid is in the record it journalled
  QFile f(jobFolder(QString::fromStdString(e.u.record.id)) + "/job.json");
  if (!f.open(QIODevice::ReadOnly)) return;
  try {
    const int pid = nlohmann::json::parse(f.readAll().toStdString()).value("owner_pid", 0);
    if (pid > 0) ::kill(pid, SIGKILL);
  } catch (const std::exception&) {
  }
}

void JobQueueAdapter::cancelAll() {
  for (const QString& id : activeJobs()) cancel(id);
}

bool JobQueueAdapter::resume(const QString& id) {
  Entry* e = find(id);
  if (!e || e->attached) return false;
  auto& r = e->u.record;
  if (e->proc) {
    // The stream said the job ended (failed, cancelled) and its worker is exiting: it still holds
    // the journal's lock, so the resume is made when it has gone (workerFinished).
    const bool ended = r.state == jobs::JobState::Failed || r.state == jobs::JobState::Cancelled;
    if (!ended || !engineRunsKind(r.spec.kind)) return false;
    e->resumeAfterExit = true;
    r.state = jobs::JobState::Queued;
    r.stage = "queued";
    r.error.clear();
    r.error_kind.clear();
    wasActive_ = true;
    emitChanged(*e);
    return true;
  }
  const bool resumable = r.state == jobs::JobState::Failed || r.state == jobs::JobState::Cancelled ||
                         r.state == jobs::JobState::Interrupted;
  if (!resumable || !engineRunsKind(r.spec.kind)) return false;
  try {
    if (store_->is_locked(r.id)) return false;  // another process runs it
    store_->clear_cancel(r.id);
  } catch (const std::exception& err) {
    emit error(QString::fromUtf8(err.what()));
    return false;
  }
  const jobs::JobRecord before = r;
  r.state = jobs::JobState::Queued;
  r.stage = "queued";
  r.error.clear();
  r.error_kind.clear();
  try {
    store_->save(r);
  } catch (const std::exception& err) {
    r = before;
    emit error(QString::fromUtf8(err.what()));
    return false;
  }
  pending_.push_back(id);
  wasActive_ = true;
  emitChanged(*e);
  schedule();
  return true;
}

bool JobQueueAdapter::remove(const QString& id) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const auto& e) { return e->u.record.id == id.toStdString(); });
  if (it == entries_.end()) return false;
  Entry& e = **it;
  if (e.proc || e.attached || std::find(pending_.begin(), pending_.end(), id) != pending_.end()) {
    emit error(tr("Cancel the job before removing it."));
    return false;
  }
  try {
    store_->remove(e.u.record.id);
  } catch (const std::exception& err) {
    emit error(QString::fromUtf8(err.what()));
    return false;
  }
  entries_.erase(it);
  emit jobRemoved(id);
  return true;
}

std::vector<jobs::JobRecord> JobQueueAdapter::jobs() const {
  std::vector<jobs::JobRecord> out;
  for (auto& e : entries_) out.push_back(e->u.record);
  return out;
}

std::optional<JobUpdate> JobQueueAdapter::job(const QString& id) const {
  if (Entry* e = find(id)) return e->u;
  return std::nullopt;
}

QStringList JobQueueAdapter::previews(const QString& id) const {
  Entry* e = find(id);
  if (!e) return {};
  QStringList out;
  const QString folder = jobFolder(id);
  // every attempt's announcements, in order (a resumed job's first clips came from an earlier one)
  for (const QByteArray& line : readFrom(folder + "/" + jobs::kWorkerStream, 0).split('\n')) {
    if (!line.contains("\"preview\"")) continue;
    try {
      const QString p = QString::fromStdString(nlohmann::json::parse(line.toStdString()).value("preview", std::string()));
      if (!p.isEmpty() && !out.contains(p)) out << p;
    } catch (const std::exception&) {
    }
  }
  for (const QString& p : e->previews)
    if (!out.contains(p)) out << p;
  if (out.isEmpty()) {
    // a job no worker ran (an earlier version, the CLI without --json): the clip files it kept
    const QString output = QFileInfo(QString::fromStdString(e->u.record.output)).absoluteFilePath();
    for (const QString& dir : {folder + "/clips", folder}) {
      const QStringList files = QDir(dir).entryList({"*.mp4"}, QDir::Files, QDir::Name);
      for (const QString& f : files)
        if (QFileInfo(dir + "/" + f).absoluteFilePath() != output) out << dir + "/" + f;
      if (!out.isEmpty()) break;
    }
  }
  out.erase(std::remove_if(out.begin(), out.end(), [](const QString& p) { return !QFileInfo::exists(p); }), out.end());
  return out;
}

QStringList JobQueueAdapter::activeJobs() const {
  QStringList out;
  for (auto& e : entries_) {
    const QString id = QString::fromStdString(e->u.record.id);
    // a worker that journalled the job's end is only exiting: the job is no longer active
    const bool running = (e->proc && !jobs::is_final(e->u.record.state)) || e->attached;
    if (running || std::find(pending_.begin(), pending_.end(), id) != pending_.end()) out << id;
  }
  return out;
}

qint64 JobQueueAdapter::workerPid(const QString& id) const {
  Entry* e = find(id);
  if (!e) return 0;
  if (e->proc) return e->proc->processId();
  if (!e->attached) return 0;
  QFile f(jobFolder(id) + "/job.json");
  if (!f.open(QIODevice::ReadOnly)) return 0;
  try {
    return nlohmann::json::parse(f.readAll().toStdString()).value("owner_pid", 0);
  } catch (const std::exception&) {
    return 0;
  }
}

void JobQueueAdapter::save(Entry& e) {
  try {
    store_->save(e.u.record);
  } catch (const std::exception& err) {
    emit error(QString::fromUtf8(err.what()));
  }
}

void JobQueueAdapter::emitChanged(Entry& e) { emit jobChanged(e.u); }

void JobQueueAdapter::checkIdle() {
  if (wasActive_ && isIdle()) {
    wasActive_ = false;
    emit idle();
  }
}

}  // namespace s2v::ui
