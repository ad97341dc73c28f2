#include "ui/about.h"

#include <QMessageBox>

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

}  // namespace s2v::ui
