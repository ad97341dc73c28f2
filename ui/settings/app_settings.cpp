#include "ui/settings/app_settings.h"

#include <QSettings>
#include <QStandardPaths>

namespace s2v::ui {

QString AppSettings::defaultOutputFolder() {
  QString base = QStandardPaths::writableLocation(QStandardPaths::MoviesLocation);
  if (base.isEmpty()) base = QStandardPaths::writableLocation(QStandardPaths::HomeLocation);
  return base + "/S2V Studio";
}

AppSettings AppSettings::load() {
  QSettings s;
  AppSettings a;
  a.modelFolder = s.value("model/folder").toString();
  a.device = s.value("model/device", a.device).toString();
  a.dtype = s.value("model/dtype", a.dtype).toString();
  a.outputFolder = s.value("output/folder", defaultOutputFolder()).toString();
  return a;
}

void AppSettings::save() const {
  QSettings s;
  s.setValue("model/folder", modelFolder);
  s.setValue("model/device", device);
  s.setValue("model/dtype", dtype);
  s.setValue("output/folder", outputFolder);
}

}  // namespace s2v::ui
