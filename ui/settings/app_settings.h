#pragma once
// Application settings kept with QSettings: model folder, device, precision, output folder, the
// look (theme), and the curation networks' weight files (keyed by their job param,
// core/curation/network_models.h).

#include <QMap>
#include <QSettings>
#include <QString>
#include <memory>

namespace s2v::ui {

struct AppSettings {
  QString modelFolder;
  QString device = "auto";     // "auto", "cpu" or "cuda": the Generate form's default
  QString dtype = "auto";      // "auto", "float32", "bfloat16", "float16"
  QString outputFolder;        // default: QStandardPaths::MoviesLocation + "/S2V Studio"
  QString theme = "system";    // "system" (follow the desktop), "light", "dark"
  QMap<QString, QString> curationWeights;  // e.g. "pose_weights" -> file; empty = the fallback
  int curationJobs = 2;                     // threads per clip (s2v curate --jobs)

  static AppSettings load();
  void save() const;
  static QString defaultOutputFolder();
};

// The settings file: <config>/s2v-studio/s2v-studio.conf. The application sets no organization
// (which would move its data folder away from the CLI's ~/.local/share/s2v-studio), and a plain
// QSettings() would then file everything under "Unknown Organization"; the application's name
// stands in for it. Settings of the old place are copied over once.
std::unique_ptr<QSettings> studioSettings();

}  // namespace s2v::ui
