// Curation metrics on Debian's real sample clips (opencv-doc) and ffmpeg-made variants of them.
#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/imgproc.hpp>

#include "core/curation/curate.h"
#include "core/curation/metrics.h"
#include "core/curation/preset.h"
#include "curation_test_util.h"

using namespace s2v::curation;
using s2v::curation::test::decode_clip;
using s2v::curation::test::ffmpeg;
using s2v::curation::test::sample_dir;

namespace {

constexpr double kClipSeconds = 8.0;  // enough sampled frames for every metric, short to run

double value(const ClipScores& s, const char* name) {
  const Metric m = s.metric(name);
  return m.value ? *m.value : std::nan("");
}

void log_scores(const char* label, const ClipScores& s) {
  QString line = QString("%1:").arg(label);
  for (const auto& n : metric_names()) {
    const Metric m = s.metric(n);
    line += QString(" %1=%2").arg(QString::fromStdString(n),
                                  m.value ? QString::number(*m.value, 'g', 4) : QString("n/a"));
  }
  qInfo().noquote() << line;
}

// Draws a subtitle-like word pair (white, black outline) with its centre at `centre`.
void burn_text(cv::Mat& img, const std::string& text, cv::Point centre, double scale) {
  int base = 0;
  const auto size = cv::getTextSize(text, cv::FONT_HERSHEY_DUPLEX, scale, 2, &base);
  const cv::Point org(centre.x - size.width / 2, centre.y + size.height / 2);
  cv::putText(img, text, org, cv::FONT_HERSHEY_DUPLEX, scale, cv::Scalar(0, 0, 0), 6, cv::LINE_AA);
  cv::putText(img, text, org, cv::FONT_HERSHEY_DUPLEX, scale, cv::Scalar(255, 255, 255), 2,
              cv::LINE_AA);
}

}  // namespace

class TestCurationMetrics : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir tmp_;
  std::string megamind_, vtest_;
  std::unique_ptr<ClipScorer> scorer_;
  std::map<std::string, ClipScores> cache_;

  std::string tmp(const char* name) const { return tmp_.filePath(name).toStdString(); }

  void need_samples() {
    if (!std::filesystem::exists(megamind_) || !std::filesystem::exists(vtest_))
      QSKIP("Debian's opencv-doc sample clips (Megamind.avi, vtest.avi) are not installed");
  }

  // ffmpeg variant of Megamind (video filter and/or audio filter); "" when ffmpeg fails.
  std::string variant(const char* name, const QStringList& filters, double seconds = kClipSeconds) {
    const std::string out = tmp(name);
    if (std::filesystem::exists(out)) return out;
    QStringList args = {"-i", QString::fromStdString(megamind_)};
    if (seconds > 0) args << "-t" << QString::number(seconds);
    args << filters << "-c:v" << "libx264" << "-preset" << "ultrafast" << "-crf" << "14"
         << "-c:a" << "pcm_s16le" << QString::fromStdString(out);
    return ffmpeg(args) ? out : std::string();
  }

  const ClipScores& scored(const std::string& key, const ClipFrames& clip) {
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    ClipScores s = scorer_->score(clip);
    log_scores(key.c_str(), s);
    return cache_[key] = std::move(s);
  }

  const ClipScores& megamind() {
    return scored("megamind", decode_clip(megamind_, kClipSeconds));
  }

 private slots:
  void initTestCase() {
    megamind_ = (sample_dir() / "Megamind.avi").string();
    vtest_ = (sample_dir() / "vtest.avi").string();
    QVERIFY(tmp_.isValid());
    scorer_ = std::make_unique<ClipScorer>();
  }

  void talkingCharacterHasOneFaceAndNamedMethods() {
    need_samples();
    const auto& s = megamind();
    QCOMPARE(s.width, 720);
    QCOMPARE(s.height, 528);
    QVERIFY(value(s, "single_person_ratio") >= 0.5);
    QVERIFY(value(s, "talking_face_run_s") >= 1.0);
    QVERIFY(value(s, "face_sharpness") > 0.0);
    QVERIFY(value(s, "clarity") > 0.0 && value(s, "clarity") < 100.0);
    QVERIFY(!s.metric("hand_sharpness").available());
    QVERIFY(s.metric("hand_sharpness").na_reason.find("hand") != std::string::npos);
    QVERIFY(!s.metric("aesthetics").available());
    QVERIFY(s.metric("aesthetics").na_reason.find("weights") != std::string::npos);
    for (const auto& n : metric_names()) QVERIFY2(!s.metric(n).method.empty(), n.c_str());
    QVERIFY(s.metric("motion").method.find("DIS") != std::string::npos);
    QVERIFY(s.metric("clarity").method.find("BRISQUE") != std::string::npos);
  }

  void seriesAndOverlaysHaveOneEntryPerSampledFrame() {
    need_samples();
    const auto& s = megamind();
    const size_t n = s.series_t.size();
    QVERIFY(n >= size_t(kClipSeconds * 4) - 1);
    QCOMPARE(s.overlays.size(), n);
    for (const char* k : {"people", "faces", "face_sharpness", "motion", "clarity", "text_area"}) {
      QVERIFY2(s.series.count(k), k);
      QCOMPARE(s.series.at(k).size(), n);
    }
    QVERIFY(std::isnan(s.series.at("motion")[0]));
    ClipScores back;
    back.set_series_json(s.series_json());
    QCOMPARE(back.series_t.size(), n);
    QCOMPARE(back.overlays.size(), n);
    QCOMPARE(back.overlays[n / 2].faces.size(), s.overlays[n / 2].faces.size());
  }

  void blurLowersFaceSharpnessAndClarity() {
    need_samples();
    const std::string blurred = variant("blurred.mkv", {"-vf", "gblur=sigma=3"});
    QVERIFY(!blurred.empty());
    const auto& sharp = megamind();
    const auto& blur = scored("blurred", decode_clip(blurred));
    QVERIFY(blur.metric("face_sharpness").available());
    QVERIFY2(value(blur, "face_sharpness") < 0.5 * value(sharp, "face_sharpness"),
             "blurring must at least halve the face Laplacian variance");
    QVERIFY(value(blur, "clarity") < value(sharp, "clarity") - 5.0);
  }

  void crowdFailsOnePerson() {
    need_samples();
    const auto& crowd = scored("vtest", decode_clip(vtest_, 12.0));
    const auto& one = megamind();
    QVERIFY(value(crowd, "people_max") >= 2);
    QVERIFY(value(crowd, "single_person_ratio") < value(one, "single_person_ratio"));
    ClipScores judged = crowd;
    apply_preset(Preset::builtin("talking-head"), judged);
    QCOMPARE(judged.verdict, std::string("fail"));
    const auto& failed = judged.failed_metrics;
    QVERIFY(std::find(failed.begin(), failed.end(), "people_max") != failed.end());
  }

  void shakenClipMovesMoreAndFrozenClipNotAtAll() {
    need_samples();
    const std::string shaken = variant(
        "shaken.mkv", {"-vf", "crop=iw-48:ih-48:x='24+22*sin(n*1.9)':y='24+22*cos(n*2.7)'"});
    QVERIFY(!shaken.empty());
    const std::string still = tmp("still.png");
    QVERIFY(ffmpeg({"-ss", "3", "-i", QString::fromStdString(megamind_), "-frames:v", "1",
                    QString::fromStdString(still)}));
    const std::string frozen = tmp("frozen.mkv");
    QVERIFY(ffmpeg({"-loop", "1", "-framerate", "24", "-i", QString::fromStdString(still), "-t",
                    "6", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "14",
                    QString::fromStdString(frozen)}));
    MotionScorer motion;
    auto grey_frames = [](const ClipFrames& c) {
      std::vector<cv::Mat> g(c.frames.size());
      for (size_t i = 0; i < g.size(); ++i) cv::cvtColor(c.frames[i], g[i], cv::COLOR_BGR2GRAY);
      return g;
    };
    const double base = value(megamind(), "motion");
    const auto shake = motion.score(grey_frames(decode_clip(shaken, 0, false)));
    const auto still_m = motion.score(grey_frames(decode_clip(frozen, 0, false)));
    qInfo("motion: original %.3f, shaken %.3f, frozen %.4f", base, *shake.motion.value,
          *still_m.motion.value);
    QVERIFY(*shake.motion.value > 1.5 * base);
    QVERIFY(*still_m.motion.value < 0.1 * base);
    QVERIFY(*still_m.motion.value < 0.5);
  }

  void textOverFaceIsFlagged() {
    need_samples();
    PeopleFaceDetector det;
    cv::Rect last(220, 170, 90, 90);
    auto clip = decode_clip(megamind_, kClipSeconds, false, [&](cv::Mat& img, int) {
      auto faces = det.detect_faces([&] {
        cv::Mat g;
        cv::cvtColor(img, g, cv::COLOR_BGR2GRAY);
        return g;
      }());
      if (faces.size() == 1) last = faces[0];
      burn_text(img, "HELLO THERE",
                cv::Point(last.x + last.width / 2, last.y + last.height * 3 / 4), 0.9);
    });
    const auto& s = scored("text-over-face", clip);
    QVERIFY(value(s, "text_area_ratio") > 0.0);
    QCOMPARE(value(s, "subtitle_over_face_or_hands"), 1.0);
  }

  void bottomTextIsFoundButNotFlagged() {
    need_samples();
    auto clip = decode_clip(megamind_, kClipSeconds, false, [&](cv::Mat& img, int) {
      burn_text(img, "WE WILL SEE ABOUT THAT", cv::Point(img.cols / 2, img.rows - 24), 0.9);
    });
    const auto& s = scored("text-bottom", clip);
    const auto& plain = megamind();
    QVERIFY(value(s, "text_area_ratio") > 0.01);
    QVERIFY(value(s, "text_area_ratio") > value(plain, "text_area_ratio") + 0.01);
    QCOMPARE(value(s, "subtitle_over_face_or_hands"), 0.0);
    QCOMPARE(value(plain, "subtitle_over_face_or_hands"), 0.0);
  }

  void shiftedAudioMovesTheOffset() {
    need_samples();
    // The whole clip (11 s): the mouth-motion fallback needs every speaking shot.
    const std::string shifted = variant("shifted.mkv", {"-af", "adelay=500:all=1"}, 0);
    QVERIFY(!shifted.empty());
    const auto& base = scored("megamind-full", decode_clip(megamind_));
    const auto& late = scored("audio+0.5s", decode_clip(shifted));
    QVERIFY(base.metric("av_offset_s").available());
    QVERIFY(late.metric("av_offset_s").available());
    const double moved = value(late, "av_offset_s") - value(base, "av_offset_s");
    qInfo("offset moved by %.3f s (expected +0.5)", moved);
    QVERIFY(std::abs(moved - 0.5) <= 0.13);
    QVERIFY(value(base, "av_sync_confidence") > 0.05);
    QVERIFY(value(late, "av_sync_confidence") > 0.05);
  }

  void noAudioMakesSyncNotApplicable() {
    need_samples();
    auto clip = decode_clip(megamind_, kClipSeconds, true);
    clip.audio.clear();
    const auto sync = av_sync(clip, std::vector<FrameDetections>(clip.frames.size()));
    QVERIFY(!sync.av_offset_s.available());
    QVERIFY(!sync.av_sync_confidence.available());
    QVERIFY(sync.av_offset_s.na_reason.find("no audio") != std::string::npos);
    // vtest.avi has no audio stream at all.
    const auto& crowd = scored("vtest", decode_clip(vtest_, 12.0));
    QVERIFY(!crowd.metric("av_sync_confidence").available());
  }
};

QTEST_GUILESS_MAIN(TestCurationMetrics)
#include "test_curation_metrics.moc"
