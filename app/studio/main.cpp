// s2v-studio: the desktop application.
#include <QApplication>
#include <QFileInfo>
#include <QIcon>
#include <QTabWidget>

#include "s2v_version.h"
#include "ui/curate/curate_workspace.h"
#include "ui/generate/generate_workspace.h"
#include "ui/main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("s2v-studio");
  QApplication::setApplicationDisplayName("S2V Studio");
  QApplication::setApplicationVersion(S2V_VERSION);
  QApplication::setDesktopFileName("s2v-studio");
  QApplication::setWindowIcon(QIcon(":/icons/s2v-studio.svg"));
  // s2v-studio [--tab generate|curate] [--open-results DB] [FILE...]
  // --tab opens a workspace (used by scripts/screenshot.sh).
  const QStringList args = QApplication::arguments();
  s2v::ui::MainWindow w;
  if (const int i = args.indexOf("--tab"); i >= 0 && i + 1 < args.size())
    w.tabs()->setCurrentIndex(args[i + 1] == "curate" ? 1 : 0);
  // --open-results DB shows a curation database in the Curate workspace.
  if (const int i = args.indexOf("--open-results"); i >= 0 && i + 1 < args.size())
    w.curate()->openDatabase(args[i + 1]);
  // Files named on the command line (or by the desktop's "Open with") go to the Generate
  // workspace, which sorts them by content into portrait / audio, as a drop does.
  QStringList files;
  for (int i = 1; i < args.size(); ++i) {
    if (args[i] == "--tab" || args[i] == "--open-results" || args[i] == "--geometry") {
      ++i;
      continue;
    }
    // every name goes to the workspace, which says why one cannot be used (missing, a folder,
    // a damaged picture) instead of dropping it silently
    if (!args[i].startsWith("-")) files << QFileInfo(args[i]).absoluteFilePath();
  }
  if (!files.isEmpty()) w.generate()->addFiles(files);
  w.show();
  return app.exec();
}
