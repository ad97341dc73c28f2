#pragma once
// Application settings kept with QSettings: model folder, device, dtype, output folder.

#include <QString>

namespace s2v::ui {

struct AppSettings {
  QString modelFolder;
  QString device = "cpu";      // "cpu" or "cuda"
  QString dtype = "float32";   // "float32", "bfloat16", "float16"
  QString outputFolder;        // default: QStandardPaths::MoviesLocation + "/S2V Studio"

  static AppSettings load();
  void save() const;
  static QString defaultOutputFolder();
};

}  // namespace s2v::ui
