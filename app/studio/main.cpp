// s2v-studio: the desktop application.
#include <QApplication>
#include <QFileInfo>
#include <QIcon>
#include <QTabWidget>

#include "s2v_version.h"
#include "ui/about.h"
#include "ui/curate/curate_workspace.h"
#include "ui/generate/generate_workspace.h"
#include "ui/main_window.h"
#include "ui/settings/app_settings.h"
#include "ui/settings/theme.h"

int main(int argc, char** argv) {
  // --version / --help answer on stdout and exit, without a window or a display.
  if (const int rc = s2v::ui::answerInfoOptions(argc, argv); rc >= 0) return rc;
  QApplication app(argc, argv);
  QApplication::setApplicationName("s2v-studio");
  QApplication::setApplicationDisplayName("S2V Studio");
  QApplication::setApplicationVersion(S2V_VERSION);
  QApplication::setDesktopFileName("s2v-studio");
  QApplication::setWindowIcon(QIcon(":/icons/s2v-studio.svg"));
  s2v::ui::applyTheme(s2v::ui::themeFromString(s2v::ui::AppSettings::load().theme));
  // s2v-studio [--tab generate|curate|history] [--open-results DB] [FILE...]
  // --tab opens a workspace (used by scripts/screenshot.sh).
  const QStringList args = QApplication::arguments();
  s2v::ui::MainWindow w;
  if (const int i = args.indexOf("--tab"); i >= 0 && i + 1 < args.size())
    w.tabs()->setCurrentIndex(args[i + 1] == "curate" ? 1 : args[i + 1] == "history" ? 2 : 0);
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
