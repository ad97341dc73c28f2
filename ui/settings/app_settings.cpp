#include "ui/settings/app_settings.h"

#include <QCoreApplication>
#include <QStandardPaths>

#include "core/curation/network_models.h"

namespace s2v::ui {

std::unique_ptr<QSettings> studioSettings() {
  const QString app = QCoreApplication::applicationName();
  const QString org = QCoreApplication::organizationName();
  auto s = std::make_unique<QSettings>(org.isEmpty() ? app : org, app);
  if (org.isEmpty() && s->allKeys().isEmpty()) {
    // What earlier versions wrote through QSettings() with no organization.
    QSettings old("Unknown Organization", app);
    for (const QString& k : old.allKeys()) s->setValue(k, old.value(k));
  }
  return s;
}

QString AppSettings::defaultOutputFolder() {
  QString base = QStandardPaths::writableLocation(QStandardPaths::MoviesLocation);
  if (base.isEmpty()) base = QStandardPaths::writableLocation(QStandardPaths::HomeLocation);
  return base + "/S2V Studio";
}

AppSettings AppSettings::load() {
  const auto s = studioSettings();
  AppSettings a;
  a.modelFolder = s->value("model/folder").toString();
  a.device = s->value("model/device", a.device).toString();
  a.dtype = s->value("model/dtype", a.dtype).toString();
  a.outputFolder = s->value("output/folder", defaultOutputFolder()).toString();
  if (a.outputFolder.isEmpty()) a.outputFolder = defaultOutputFolder();
  a.theme = s->value("view/theme", a.theme).toString();
  for (const auto& n : curation::curation_networks()) {
    const QString key = QString::fromStdString(n.param);
    const QString v = s->value("curation/" + key).toString();
    if (!v.isEmpty()) a.curationWeights[key] = v;
  }
  a.curationJobs = s->value("curation/jobs", a.curationJobs).toInt();
  return a;
}

void AppSettings::save() const {
  const auto s = studioSettings();
  s->setValue("model/folder", modelFolder);
  s->setValue("model/device", device);
  s->setValue("model/dtype", dtype);
  s->setValue("output/folder", outputFolder);
  s->setValue("view/theme", theme);
  for (const auto& n : curation::curation_networks()) {
    const QString key = QString::fromStdString(n.param);
    s->setValue("curation/" + key, curationWeights.value(key));
  }
  s->setValue("curation/jobs", curationJobs);
}

}  // namespace s2v::ui
