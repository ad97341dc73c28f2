#include "ui/generate/exporter.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <filesystem>

#include "core/media/mux.h"
#include "models/base/atomic_file.h"
#include "ui/generate/async.h"

namespace s2v::ui {

namespace {
struct CopyResult {
  bool ok = false;
  QString message;
};
}  // namespace

QString exportFileName(const QString& title, const QString& source, const QString& extension) {
  QString base = title.simplified();
  if (base.isEmpty()) base = QFileInfo(source).completeBaseName();
  base.replace(QRegularExpression("[^\\p{L}\\p{N}]+"), "-");
  base = base.left(40);
  while (base.endsWith('-')) base.chop(1);
  while (base.startsWith('-')) base.remove(0, 1);
  if (base.isEmpty()) base = "s2v";
  return base + " " + QDateTime::currentDateTime().toString("yyyy-MM-dd hh.mm") + "." + extension;
}

QString defaultExportPath(const QString& outputFolder, const QString& title, const QString& source) {
  QString folder = outputFolder;
  if (folder.isEmpty() || !QDir().mkpath(folder)) folder = QDir::homePath();
  return QDir(folder).absoluteFilePath(exportFileName(title, source));
}

void Exporter::exportVideo(const QString& src, const QString& dest) {
  runOffGuiThread(
      this,
      [src, dest]() {
        CopyResult r;
        namespace fs = std::filesystem;
        const fs::path to = dest.toStdString();
        std::error_code ec;
        if (to.has_parent_path()) fs::create_directories(to.parent_path(), ec);
        try {
          s2v::copy_file_atomically(src.toStdString(), to);  // the final name only ever holds a whole file
        } catch (const std::exception& e) {
          r.message = QObject::tr("Could not export to %1: %2. Choose another place (is the disk full or "
                                  "read-only?).").arg(dest, QString::fromUtf8(e.what()));
          return r;
        }
        r.ok = true;
        r.message = QObject::tr("Exported to %1").arg(dest);
        return r;
      },
      [this, dest](const CopyResult& r) { emit exported(dest, r.ok, r.message); });
}

void Exporter::exportPngSequence(const QString& src, const QString& folder) {
  runOffGuiThread(
      this,
      [src, folder]() {
        CopyResult r;
        try {
          const int64_t n = media::export_png_sequence(src.toStdString(), folder.toStdString());
          r.ok = true;
          r.message = QObject::tr("Exported %1 PNG frames to %2").arg(n).arg(folder);
        } catch (const std::exception& e) {
          r.message = QObject::tr("The PNG frames could not be written to %1: %2. Choose another folder.")
                          .arg(folder, QString::fromUtf8(e.what()));
        }
        return r;
      },
      [this, folder](const CopyResult& r) { emit exported(folder, r.ok, r.message); });
}

}  // namespace s2v::ui
