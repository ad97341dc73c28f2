#pragma once
// The portrait check of the Generate workspace: curation's detectors (and the pose model of
// Settings, when one loads) on the dropped portrait, off the GUI thread; the result as the picture
// with its boxes and a short HTML summary of what a curation preset would reject.

#include <QImage>
#include <QObject>
#include <QPalette>
#include <QString>
#include <functional>

#include "core/curation/portrait.h"

namespace s2v::ui {

struct PortraitCheckResult {
  QImage image;                   // the portrait at the working resolution (RGB)
  curation::PortraitCheck check;
  QString error;                  // the portrait could not be read or checked
  QString poseError;              // the pose model could not be loaded: the detectors answered
};

// Runs the check on the global thread pool; done runs on context's thread.
void checkPortraitAsync(const QString& path, const QString& poseWeights, QObject* context,
                        std::function<void(const PortraitCheckResult&)> done);
// "<b>1 face · face sharpness 300 · clarity 60</b><br>Looks good…" in colours readable on p.
QString portraitFindingsHtml(const PortraitCheckResult& r, const QPalette& p);

}  // namespace s2v::ui
