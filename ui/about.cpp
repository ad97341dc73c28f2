#include "ui/about.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QMessageBox>
#include <cstdio>

extern "C" {
#include <libavutil/avutil.h>
}

#include "s2v_version.h"

namespace s2v::ui {

QString versionsText() {
  return QStringLiteral("S2V Studio %1\nQt %2\nLibTorch %3\nFFmpeg %4")
      .arg(QStringLiteral(S2V_VERSION), QString::fromLatin1(qVersion()),
           QStringLiteral(S2V_TORCH_VERSION), QString::fromLatin1(av_version_info()));
}

void showAbout(QWidget* parent) {
  QMessageBox::about(parent, QObject::tr("About S2V Studio"),
                     QObject::tr("<b>S2V Studio</b><br>Audio-driven portrait video (Wan2.2-S2V) and "
                                 "data curation.<br><br>%1")
                         .arg(versionsText().toHtmlEscaped().replace("\n", "<br>")));
}

namespace {

void describe(QCommandLineParser& p) {
  p.setApplicationDescription(QObject::tr(
      "S2V Studio: turns a portrait, an audio track and a prompt into a talking or singing video "
      "(Wan2.2-S2V), and scores video clips for dataset curation.\n"
      "Files named on the command line go to the Generate workspace (a picture as the portrait, "
      "audio or a video with sound as the audio). The command-line tool is s2v."));
  p.addHelpOption();
  p.addVersionOption();
  p.addOption({"tab", QObject::tr("Opens a workspace: generate, curate or history."), "workspace"});
  p.addOption({"open-results", QObject::tr("Shows a curation results database in the Curate workspace."), "db"});
  // Qt's X11 option, listed so that it is not taken for a file; QApplication applies it.
  p.addOption({"geometry", QObject::tr("Window size and position (X11), e.g. 1280x800+0+0."), "WxH+X+Y"});
  p.addPositionalArgument("files", QObject::tr("Portrait and audio files for the Generate workspace."), "[file...]");
}

}  // namespace

int answerInfoOptions(int argc, char** argv) {
  bool asked = false;
  for (int i = 1; i < argc; ++i) {
    const QByteArray a(argv[i]);
    if (a == "--") break;
    asked = asked || a == "--version" || a == "-v" || a == "--help" || a == "-h" || a == "--help-all" || a == "-?";
  }
  if (!asked) return -1;
  // A core application only: no display is opened to answer.
  QCoreApplication core(argc, argv);
  QCoreApplication::setApplicationName("s2v-studio");
  QCoreApplication::setApplicationVersion(S2V_VERSION);
  QCommandLineParser p;
  describe(p);
  p.parse(QCoreApplication::arguments());  // Qt's own options (-platform ...) are not an error here
  if (p.isSet("version")) {
    std::printf("s2v-studio %s\n", S2V_VERSION);
    std::fflush(stdout);
    return 0;
  }
  std::fputs(qPrintable(p.helpText()), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace s2v::ui
