#include "ui/curate/sample_clips.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include "models/base/atomic_file.h"
#include "ui/jobs/job_queue_adapter.h"

namespace s2v::ui {

QStringList sampleClipNames() { return {"Megamind.avi", "vtest.avi", "tree.avi"}; }

QString sampleFolder() {
  // The job store root is <app data>/jobs; the samples sit beside it.
  return QFileInfo(JobQueueAdapter::defaultStoreRoot()).dir().absoluteFilePath("samples");
}

QStringList copySampleClips(const QString& sourceDir, QString* error) {
  const QDir out(sampleFolder());
  QDir().mkpath(out.path());
  QStringList present;
  for (const QString& name : sampleClipNames()) {
    const QFileInfo src(QDir(sourceDir).filePath(name));
    const QString dst = out.filePath(name);
    const QFileInfo have(dst);
    if (src.isFile() && (!have.isFile() || have.size() != src.size())) {
      bool ok = true;
      try {
        s2v::copy_file_atomically(src.absoluteFilePath().toStdString(), dst.toStdString());
      } catch (const std::exception&) {
        ok = false;
      }
      if (!ok) {
        if (error && error->isEmpty())
          *error = QObject::tr("cannot copy the sample '%1' to '%2'").arg(src.absoluteFilePath(), dst);
        continue;
      }
    }
    if (QFileInfo(dst).isFile()) present << dst;
  }
  return present;
}

}  // namespace s2v::ui
