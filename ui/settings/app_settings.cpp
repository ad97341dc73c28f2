#include "ui/settings/app_settings.h"

#include <QSettings>
#include <QStandardPaths>

#include "core/curation/network_models.h"

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
  for (const auto& n : curation::curation_networks()) {
    const QString key = QString::fromStdString(n.param);
    const QString v = s.value("curation/" + key).toString();
    if (!v.isEmpty()) a.curationWeights[key] = v;
  }
  a.curationJobs = s.value("curation/jobs", a.curationJobs).toInt();
  return a;
}

void AppSettings::save() const {
  QSettings s;
  s.setValue("model/folder", modelFolder);
  s.setValue("model/device", device);
  s.setValue("model/dtype", dtype);
  s.setValue("output/folder", outputFolder);
  for (const auto& n : curation::curation_networks()) {
    const QString key = QString::fromStdString(n.param);
    s.setValue("curation/" + key, curationWeights.value(key));
  }
  s.setValue("curation/jobs", curationJobs);
}

}  // namespace s2v::ui
