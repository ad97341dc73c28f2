#include "ui/generate/portrait_check.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/curation/clip_frames.h"
#include "core/media/video_reader.h"
#include "ui/engine/engine_process.h"
#include "ui/generate/async.h"
#include "ui/settings/theme.h"

namespace s2v::ui {

void checkPortraitAsync(const QString& path, const QString& poseWeights, QObject* context,
                        std::function<void(const PortraitCheckResult&)> done) {
  // The detectors run here, off the GUI thread; the ViTPose network of Settings needs LibTorch, so
  // with one the engine checks the portrait again (s2v portrait-check) and its answer follows.
  runOffGuiThread(
      context,
      [path] {
        PortraitCheckResult r;
        try {
          const media::RgbFrame f = media::read_image(path.toStdString());  // what the pipeline reads
          cv::Mat rgb(f.height, f.width, CV_8UC3, const_cast<uint8_t*>(f.rgb.data()), f.stride());
          cv::Mat bgr;
          cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
          r.check = curation::check_portrait(bgr);
          cv::Mat shown = curation::resize_long_side(rgb);
          r.image = QImage(shown.data, shown.cols, shown.rows, static_cast<qsizetype>(shown.step),
                           QImage::Format_RGB888).copy();
        } catch (const std::exception& e) {
          r.error = QString::fromUtf8(e.what());
        }
        return r;
      },
      [context, path, poseWeights, done](const PortraitCheckResult& r) {
        done(r);
        if (poseWeights.isEmpty() || !r.error.isEmpty()) return;
        runEngine(context, {"portrait-check", path, "--pose_weights", poseWeights, "--json"},
                  [r, done](const EngineResult& e) {
                    PortraitCheckResult withPose = r;
                    try {
                      const nlohmann::json j = nlohmann::json::parse(e.out.toStdString());
                      withPose.check = curation::portrait_check_from_json(j.at("check"));
                      withPose.poseError = QString::fromStdString(j.value("pose_error", std::string()));
                    } catch (const std::exception&) {
                      withPose.poseError = e.failure();
                    }
                    done(withPose);
                  });
      });
}

QString portraitFindingsHtml(const PortraitCheckResult& r, const QPalette& p) {
  if (!r.error.isEmpty())
    return QObject::tr("The portrait could not be checked (%1); rendering will read it the same way, so choose "
                       "another picture if this persists.").arg(r.error.toHtmlEscaped());
  const auto& c = r.check;
  QStringList facts;
  const int faces = static_cast<int>(c.overlay.faces.size());
  facts << (faces == 1 ? QObject::tr("1 face") : QObject::tr("%1 faces").arg(faces));
  if (c.face_sharpness.available()) facts << QObject::tr("face sharpness %1").arg(*c.face_sharpness.value, 0, 'f', 0);
  facts << QObject::tr("clarity %1").arg(*c.clarity.value, 0, 'f', 0);
  QString html = "<b>" + facts.join(" · ") + "</b><br>";
  if (c.warnings.empty()) {
    html += QString("<span style='%1'>%2</span><br>").arg(toneStyle(Tone::Good, p), QObject::tr("Looks good for S2V."));
  } else {
    for (const auto& w : c.warnings)
      html += QString("<span style='%1'>%2</span><br>")
                  .arg(toneStyle(Tone::Warning, p), QObject::tr("Warning: %1").arg(QString::fromStdString(w).toHtmlEscaped()));
  }
  html += QObject::tr("<small>Detector: %1</small>").arg(QString::fromStdString(c.method).toHtmlEscaped());
  if (!r.poseError.isEmpty())
    html += "<br><small>" +
            QObject::tr("The pose model of Settings could not be loaded (%1): the detectors checked the portrait; "
                        "choose another file under Settings → Curation networks.")
                .arg(r.poseError)
                .toHtmlEscaped() +
            "</small>";
  return html;
}

}  // namespace s2v::ui
