#pragma once
// The sample clips of issue #7 item 7: Debian opencv-doc's Megamind.avi, vtest.avi and tree.avi,
// copied into <app data>/samples so that the Curate workspace (and scripts/run-sample.sh, which
// does the same with cp) can score them.

#include <QString>
#include <QStringList>

namespace s2v::ui {

// Where Debian's opencv-doc keeps its example videos.
inline constexpr const char* kOpenCvDocData = "/usr/share/doc/opencv-doc/examples/data";

QStringList sampleClipNames();  // Megamind.avi, vtest.avi, tree.avi
// <app data>/samples: $S2V_DATA_DIR/samples, else the AppDataLocation's (as the job store).
QString sampleFolder();
// Copies each sample missing from the sample folder (or of a different size) from `sourceDir`
// (atomically, through a temporary name) and returns the paths of the samples now in the folder,
// in sampleClipNames() order. Samples absent from sourceDir are left out; *error (when given)
// names the first file that could not be copied.
QStringList copySampleClips(const QString& sourceDir = kOpenCvDocData, QString* error = nullptr);

}  // namespace s2v::ui
