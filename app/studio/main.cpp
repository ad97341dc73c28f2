// s2v-studio: the desktop application.
#include <QApplication>
#include <QIcon>
#include <QTabWidget>

#include "s2v_version.h"
#include "ui/curate/curate_workspace.h"
#include "ui/main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("s2v-studio");
  QApplication::setApplicationDisplayName("S2V Studio");
  QApplication::setApplicationVersion(S2V_VERSION);
  QApplication::setDesktopFileName("s2v-studio");
  QApplication::setWindowIcon(QIcon(":/icons/s2v-studio.svg"));
  // --tab generate|curate opens a workspace (used by scripts/screenshot.sh).
  const QStringList args = QApplication::arguments();
  s2v::ui::MainWindow w;
  if (const int i = args.indexOf("--tab"); i >= 0 && i + 1 < args.size())
    w.tabs()->setCurrentIndex(args[i + 1] == "curate" ? 1 : 0);
  // --open-results DB shows a curation database in the Curate workspace.
  if (const int i = args.indexOf("--open-results"); i >= 0 && i + 1 < args.size())
    w.curate()->openDatabase(args[i + 1]);
  w.show();
  return app.exec();
}
