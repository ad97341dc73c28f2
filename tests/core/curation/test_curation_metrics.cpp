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

// A talking face with a clear signal: 12 s at 25 fps, one face box; its mouth (the lower third
// of the box) opens with a syllable envelope of irregular onsets and lengths (a fixed LCG, so no
// period the correlation could lock onto), and the audio, a 180 Hz tone under that envelope,
// follows `delay` seconds later (positive: audio lags video).
ClipFrames synthetic_speaker(double delay, std::vector<FrameDetections>& dets) {
  constexpr double kFps = 25.0, kSeconds = 12.0;
  std::vector<std::pair<double, double>> syllables;  // (onset, length) in seconds
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return (state >> 8) / double(1 << 24);
  };
  for (double t = -4.0; t < kSeconds + 4.0;) {
    const double len = 0.12 + 0.2 * next();
    syllables.emplace_back(t, len);
    t += len + 0.05 + 0.35 * next();
  }
  auto envelope = [&](double t) {
    for (const auto& [on, len] : syllables)
      if (t >= on && t < on + len) return std::sin(M_PI * (t - on) / len);
    return 0.0;
  };
  ClipFrames clip;
  clip.path = "synthetic-speaker";
  clip.duration_s = kSeconds;
  clip.width = 640;
  clip.height = 480;
  clip.source_fps = kFps;
  clip.fps = 4.0;
  const cv::Rect face(120, 50, 80, 104);  // working pixels (320x240)
  for (int i = 0; i < int(kSeconds * clip.fps); ++i) {
    cv::Mat f(240, 320, CV_8UC3, cv::Scalar(60, 70, 80));
    cv::rectangle(f, face, cv::Scalar(150, 160, 170), cv::FILLED);
    clip.frames.push_back(f);
    clip.timestamps.push_back(i / clip.fps);
    FrameDetections d;
    d.faces.push_back(face);
    dets.push_back(d);
  }
  clip.sync_fps = kFps;
  for (int k = 0; k < int(kSeconds * kFps); ++k) {
    cv::Mat g(240, 320, CV_8UC1, cv::Scalar(70));
    cv::rectangle(g, face, cv::Scalar(160), cv::FILLED);
    const int open = static_cast<int>(std::lround(14 * envelope(k / kFps)));
    cv::rectangle(g, cv::Rect(145, 132, 30, 2 + open), cv::Scalar(30), cv::FILLED);
    clip.sync_frames.push_back(g);
  }
  clip.audio.resize(static_cast<size_t>(kSeconds * clip.audio_rate));
  for (size_t n = 0; n < clip.audio.size(); ++n) {
    const double t = double(n) / clip.audio_rate;
    clip.audio[n] = static_cast<float>(0.4 * envelope(t - delay) * std::sin(2 * M_PI * 180 * t));
  }
  return clip;
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

  // The sync fallback as ClipScorer runs it: detections on the sampled frames, then av_sync.
  static SyncMetrics sync_of(const ClipFrames& clip) {
    PeopleFaceDetector det;
    std::vector<FrameDetections> dets;
    for (const auto& f : clip.frames) dets.push_back(det.detect(f));
    resolve_persons(dets, clip.timestamps, clip.frames.empty() ? cv::Size() : clip.frames[0].size());
    return av_sync(clip, dets);
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

  void smallPeopleOfACrowdAreCounted() {
    need_samples();
    // vtest.avi re-encoded at 480 px wide: its pedestrians are 50-80 px tall, below the HOG
    // window's reach at the working resolution; a person counts 5 at 2 s and 6 at 6 s. The plain
    // HOG pass alone found at most 2 here (docs/performance.md, "Curation"); the pass on the
    // frame upsampled 2x finds them.
    const std::string small = tmp("crowd480.mkv");
    QVERIFY(ffmpeg({"-i", QString::fromStdString(vtest_), "-t", "12", "-vf", "scale=480:-2", "-c:v", "libx264",
                    "-preset", "ultrafast", "-crf", "16", QString::fromStdString(small)}));
    const auto& crowd = scored("crowd480", decode_clip(small, 12.0));
    QVERIFY(value(crowd, "people_max") >= 3);
    QVERIFY(value(scored("vtest", decode_clip(vtest_, 12.0)), "people_max") >= 3);
    // Not one lucky frame: by eye (PNGs at 0, 3, 6, 9 and 10 s: 3, 4, 6, 6-7, 6-7 people) no
    // frame of these 12 s shows fewer than 3; half of the sampled frames must count 3 or more,
    // which leaves room for people hidden behind others or the sign post.
    const auto& people = crowd.series.at("people");
    const double share =
        double(std::count_if(people.begin(), people.end(), [](double n) { return n >= 3; })) /
        double(std::max<size_t>(people.size(), 1));
    qInfo("crowd at 480 px: people_max %g, %.0f%% of %zu sampled frames count 3 or more",
          value(crowd, "people_max"), 100 * share, people.size());
    QVERIFY(share >= 0.5);
  }

  void closeUpsAndEmptyScenesKeepTheirCount() {
    need_samples();
    // The small-people pass must not add people where there are none to add. Megamind is
    // close-ups: by eye at most two people in a frame (the speaker and a diner behind, or the
    // other speaker's back), and the close-up rule counts faces there.
    const auto& one = megamind();
    QVERIFY(value(one, "people_max") <= 2);
    // tree.avi: foliage and, at the end, a hand, never a person; one false window at most.
    const auto tree = sample_dir() / "tree.avi";
    if (!std::filesystem::exists(tree)) QSKIP("opencv-doc's tree.avi is not installed");
    const auto& leaves = scored("tree", decode_clip(tree.string(), 0, false));
    QVERIFY(leaves.metric("people_max").available());
    QVERIFY(value(leaves, "people_max") <= 1);
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

  void shiftedAudioIsFoundOnASpeaker() {
    // A synthetic speaker with a clear signal: the mouth opens with an aperiodic syllable
    // envelope, the audio carries the same envelope `delay` seconds later. Every delay inside the
    // +-2 s search is found to the frame; one beyond +-1 s is flagged out of sync and scores below
    // the in-sync clip (on main before the flag, 1.5 s late scored 0.764 > 0.698 in sync); one
    // beyond the search range scores below the in-sync clip too.
    double in_sync = 0;
    for (double delay : {0.0, 0.5, -0.5, 1.5, -1.5, 3.0}) {
      std::vector<FrameDetections> dets;
      const ClipFrames clip = synthetic_speaker(delay, dets);
      const SyncMetrics m = av_sync(clip, dets);
      QVERIFY(m.av_sync_confidence.available());
      const double conf = *m.av_sync_confidence.value;
      qInfo("audio delayed %.1f s: offset %s, confidence %.3f", delay,
            m.av_offset_s.available() ? qPrintable(QString::number(*m.av_offset_s.value, 'f', 3))
                                      : m.av_offset_s.na_reason.c_str(),
            conf);
      if (delay == 0.0) in_sync = conf;
      if (std::abs(delay) <= kSyncSearchS) {
        QVERIFY2(m.av_offset_s.available(), m.av_offset_s.na_reason.c_str());
        // one video frame (25 fps) of slack: the envelope is sampled once per frame
        QVERIFY(std::abs(*m.av_offset_s.value - delay) <= 1.0 / 25 + 1e-9);
      }
      if (std::abs(delay) <= kSyncInSyncS) {
        QVERIFY(!m.beyond_in_sync);
        QVERIFY(conf > 0.5);
      } else if (std::abs(delay) <= kSyncSearchS) {
        // Found and flagged: the best in-sync NCC minus the peak, below 0, so the talking-head
        // preset (av_sync_confidence >= 0.05) fails the clip.
        QVERIFY(m.beyond_in_sync);
        QVERIFY(m.av_sync_confidence.method.find("beyond the in-sync range") != std::string::npos);
        QVERIFY(conf < 0.0);
        ClipScores judged;
        judged.set("av_sync_confidence", m.av_sync_confidence);
        apply_preset(Preset::builtin("talking-head"), judged);
        const auto& failed = judged.failed_metrics;
        QVERIFY(std::find(failed.begin(), failed.end(), "av_sync_confidence") != failed.end());
      } else {
        QVERIFY(conf < 0.5 * in_sync);
      }
    }
  }

  void shiftedAudioOnMegamindIsMeasured() {
    need_samples();
    // Megamind (the whole 11 s: the fallback needs every speaking shot; music under the voice):
    // the mouth-motion fallback's correlation here is at its noise level (peaks of 0.2-0.3 at many
    // lags, within about 1.7 robust standard deviations of the median), so neither the offset nor
    // which of the two copies scores higher is decided by the audio; the ordering is asserted on
    // the synthetic speaker above. What must hold here: a noise-level curve is not flagged out of
    // sync (its lobes beyond +-1 s beat the in-sync ones by less than the curve's spread), so the
    // clip is judged on its in-sync lags as with the +-1 s search. Figures: docs/performance.md.
    const std::string late15 = variant("late15.mkv", {"-af", "adelay=1500:all=1"}, 0);
    QVERIFY(!late15.empty());
    const auto base = sync_of(decode_clip(megamind_));
    const auto late = sync_of(decode_clip(late15));
    QVERIFY(base.av_offset_s.available() && base.av_sync_confidence.available());
    QVERIFY(late.av_offset_s.available() && late.av_sync_confidence.available());
    qInfo("Megamind: as recorded %+.3f s / %.3f%s; audio 1.5 s late %+.3f s / %.3f%s",
          *base.av_offset_s.value, *base.av_sync_confidence.value,
          base.beyond_in_sync ? " (flagged)" : "", *late.av_offset_s.value,
          *late.av_sync_confidence.value, late.beyond_in_sync ? " (flagged)" : "");
    QVERIFY(!base.beyond_in_sync);
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
