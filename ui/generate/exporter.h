#pragma once
// Export of a finished video, off the GUI thread: an MP4 copied atomically (the final name only
// ever holds a whole file) or every frame as a PNG file; and where an export goes by default (the
// Output folder of Settings, named after the prompt and the time, never "output.mp4" in whatever
// folder the app was started from).

#include <QObject>
#include <QString>

namespace s2v::ui {

// A file name for an export: the first words of title (or the source's name), then the date:
// "a-woman-singing 2026-12-04 09.31.mp4". Only letters, digits, '-' and ' '.
QString exportFileName(const QString& title, const QString& source, const QString& extension = "mp4");
// outputFolder/exportFileName(...), the folder created when missing (so that the save dialog opens
// there). Falls back to the home folder when the Output folder cannot be created.
QString defaultExportPath(const QString& outputFolder, const QString& title, const QString& source);

class Exporter : public QObject {
  Q_OBJECT
 public:
  using QObject::QObject;
  void exportVideo(const QString& src, const QString& dest);
  void exportPngSequence(const QString& src, const QString& folder);

 signals:
  // message: "Exported … to …" or the cause and what to do.
  void exported(const QString& dest, bool ok, const QString& message);
};

}  // namespace s2v::ui
