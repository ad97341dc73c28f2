#pragma once
// Application settings kept with QSettings: model folder, device, dtype, output folder, and the
// curation networks' weight files (keyed by their job param, core/curation/network_models.h).

#include <QMap>
#include <QString>

namespace s2v::ui {

struct AppSettings {
  QString modelFolder;
  QString device = "cpu";      // "cpu" or "cuda"
  QString dtype = "float32";   // "float32", "bfloat16", "float16"
  QString outputFolder;        // default: QStandardPaths::MoviesLocation + "/S2V Studio"
  QMap<QString, QString> curationWeights;  // e.g. "pose_weights" -> file; empty = the fallback
  int curationJobs = 2;                     // threads per clip (s2v curate --jobs)

  static AppSettings load();
  void save() const;
  static QString defaultOutputFolder();
};

}  // namespace s2v::ui
