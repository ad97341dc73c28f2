#include "core/curation/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>

#include <opencv2/imgproc.hpp>
#include <opencv2/quality.hpp>
#include <opencv2/video/tracking.hpp>

#include "models/base/error.h"

namespace s2v::curation {

double median_finite(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return std::nan("");
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) {
    const double lo = *std::max_element(v.begin(), v.begin() + mid);
    m = 0.5 * (m + lo);
  }
  return m;
}

namespace {
const double kNaN = std::nan("");
}

// ---- Pose and people ------------------------------------------------------------------------

PeopleMetrics people_metrics(const std::vector<FrameDetections>& dets, cv::Size frame, double fps,
                             const std::string& method) {
  PeopleMetrics out;
  if (dets.empty()) {
    const std::string why = "the clip has no sampled frames";
    out.people_max = Metric::na(method, why);
    out.single_person_ratio = Metric::na(method, why);
    out.talking_face_run_s = Metric::na(method, why);
    return out;
  }
  const double frame_area = double(frame.area());
  int people_max = 0, single = 0, run = 0, best_run = 0;
  for (const auto& d : dets) {
    const int n = int(d.persons.size());
    people_max = std::max(people_max, n);
    if (n == 1 && d.persons[0].area() >= 0.05 * frame_area) ++single;
    run = d.faces.size() == 1 ? run + 1 : 0;
    best_run = std::max(best_run, run);
    out.people_series.push_back(n);
    out.faces_series.push_back(double(d.faces.size()));
  }
  out.people_max = Metric::of(people_max, method);
  out.single_person_ratio = Metric::of(double(single) / double(dets.size()), method);
  out.talking_face_run_s = Metric::of(fps > 0 ? best_run / fps : 0.0, method);
  return out;
}

// ---- Sharpness ------------------------------------------------------------------------------

double box_sharpness(const cv::Mat& bgr, const cv::Rect& box, int side) {
  if (std::min(box.width, box.height) < 24) return kNaN;
  const int dx = cvRound(box.width * 0.05), dy = cvRound(box.height * 0.05);
  cv::Rect big(box.x - dx, box.y - dy, box.width + 2 * dx, box.height + 2 * dy);
  big &= cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (big.empty()) return kNaN;
  cv::Mat grey, small, lap;
  if (bgr.channels() == 3)
    cv::cvtColor(bgr(big), grey, cv::COLOR_BGR2GRAY);
  else
    grey = bgr(big);
  cv::resize(grey, small, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  cv::Laplacian(small, lap, CV_64F, 1);  // ksize 1: the 3×3 kernel [0 1 0; 1 -4 1; 0 1 0]
  cv::Scalar mean, stddev;
  cv::meanStdDev(lap, mean, stddev);
  return stddev[0] * stddev[0];
}

SharpnessMetrics sharpness_metrics(const std::vector<cv::Mat>& frames,
                                   const std::vector<FrameDetections>& dets) {
  const std::string face_method =
      "variance of 3x3 Laplacian on 128x128 face crops (+10%, area resize), median over frames";
  const std::string hand_method =
      "variance of 3x3 Laplacian on 64x64 hand crops (+10%, area resize), median over frames";
  SharpnessMetrics out;
  // Mean sharpness of the boxes of one frame (NaN when none is large enough).
  auto frame_mean = [](const cv::Mat& img, const std::vector<cv::Rect>& boxes, int side) {
    double sum = 0;
    int n = 0;
    for (const auto& b : boxes) {
      const double v = box_sharpness(img, b, side);
      if (std::isfinite(v)) {
        sum += v;
        ++n;
      }
    }
    return n ? sum / n : kNaN;
  };
  std::vector<double> hand_series;
  bool any_hand_box = false;
  for (size_t i = 0; i < frames.size() && i < dets.size(); ++i) {
    out.face_series.push_back(frame_mean(frames[i], dets[i].faces, 128));
    hand_series.push_back(frame_mean(frames[i], dets[i].hands, 64));
    any_hand_box = any_hand_box || !dets[i].hands.empty();
  }
  const double face = median_finite(out.face_series);
  out.face_sharpness = std::isfinite(face)
                           ? Metric::of(face, face_method)
                           : Metric::na(face_method, "no face of at least 24 px in any sampled frame");
  const double hand = median_finite(hand_series);
  if (std::isfinite(hand))
    out.hand_sharpness = Metric::of(hand, hand_method);
  else if (any_hand_box)
    out.hand_sharpness = Metric::na(hand_method, "no hand of at least 24 px in any sampled frame");
  else
    out.hand_sharpness = Metric::na(hand_method,
                                    "no hand boxes: the pose network (ViTPose whole-body) is not "
                                    "loaded and the fallback detects no hands");
  return out;
}

// ---- Motion ---------------------------------------------------------------------------------

struct MotionScorer::Impl {
  cv::Ptr<cv::DISOpticalFlow> dis = cv::DISOpticalFlow::create(cv::DISOpticalFlow::PRESET_MEDIUM);
};

MotionScorer::MotionScorer() : impl_(std::make_unique<Impl>()) {}
MotionScorer::~MotionScorer() = default;

std::string MotionScorer::method() {
  return "OpenCV DIS optical flow MEDIUM at 576 px, mean |flow| / diagonal x 1000 (fallback for "
         "UniMatch; not Open-Sora's raw magnitude at 320x576)";
}

// grey0, grey1: [H, W] CV_8U.
double MotionScorer::pair(const cv::Mat& grey0, const cv::Mat& grey1) {
  cv::Mat flow;
  impl_->dis->calc(grey0, grey1, flow);  // [H, W, 2] float
  double sum = 0.0;
  for (int y = 0; y < flow.rows; ++y) {
    const cv::Vec2f* row = flow.ptr<cv::Vec2f>(y);
    for (int x = 0; x < flow.cols; ++x) sum += std::hypot(row[x][0], row[x][1]);
  }
  const double mean = sum / double(flow.total());
  const double diag = std::hypot(double(flow.cols), double(flow.rows));
  return mean / diag * 1000.0;
}

MotionMetrics MotionScorer::score(const std::vector<cv::Mat>& grey_frames) {
  MotionMetrics out;
  for (size_t i = 1; i < grey_frames.size(); ++i)
    out.series.push_back(pair(grey_frames[i - 1], grey_frames[i]));
  if (out.series.empty()) {
    out.motion = Metric::na(method(), "fewer than two sampled frames");
  } else {
    out.motion = Metric::of(
        std::accumulate(out.series.begin(), out.series.end(), 0.0) / double(out.series.size()),
        method());
  }
  return out;
}

// ---- Clarity --------------------------------------------------------------------------------

struct ClarityScorer::Impl {
  cv::Ptr<cv::quality::QualityBRISQUE> brisque;
};

ClarityScorer::ClarityScorer(const std::string& model_dir) : impl_(std::make_unique<Impl>()) {
  const std::string model = model_dir + "/brisque_model_live.yml";
  const std::string range = model_dir + "/brisque_range_live.yml";
  try {
    impl_->brisque = cv::quality::QualityBRISQUE::create(model, range);
  } catch (const cv::Exception& e) {
    throw Error("cannot load the BRISQUE model '" + model + "': " + e.what(), ErrorKind::NotFound,
                model);
  }
  if (!impl_->brisque)
    throw Error("cannot load the BRISQUE model '" + model + "'", ErrorKind::NotFound, model);
}

ClarityScorer::~ClarityScorer() = default;

std::string ClarityScorer::method() {
  return "100 - BRISQUE (OpenCV quality, LIVE model), median over frames (fallback for DOVER)";
}

double ClarityScorer::brisque(const cv::Mat& bgr) { return impl_->brisque->compute(bgr)[0]; }

Metric ClarityScorer::score(const std::vector<cv::Mat>& frames, std::vector<double>* series) {
  std::vector<double> values;
  for (const auto& f : frames) values.push_back(100.0 - brisque(f));
  const double med = median_finite(values);
  if (series) *series = values;
  if (!std::isfinite(med)) return Metric::na(method(), "no frame could be scored");
  return Metric::of(med, method());
}

// ---- Subtitles (the OCR itself is in text.cpp) ---------------------------------------------

double text_area(const std::vector<cv::Rect>& boxes, cv::Size frame) {
  if (boxes.empty() || frame.area() == 0) return 0.0;
  cv::Mat mask = cv::Mat::zeros(frame, CV_8U);
  for (const auto& b : boxes) mask(b & cv::Rect(0, 0, frame.width, frame.height)).setTo(1);
  return double(cv::countNonZero(mask)) / double(frame.area());
}

TextMetrics text_metrics(std::vector<std::vector<cv::Rect>> boxes, const std::vector<char>& read,
                         const std::vector<FrameDetections>& dets, cv::Size frame,
                         const std::string& method, bool hands_known) {
  TextMetrics out;
  int over_frames = 0, read_frames = 0;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const bool was_read = i < read.size() && read[i];
    if (!was_read) {
      out.area_series.push_back(kNaN);
      continue;
    }
    ++read_frames;
    out.area_series.push_back(text_area(boxes[i], frame));
    bool over = false;
    if (i < dets.size()) {
      for (const auto& tb : boxes[i]) {
        for (const auto& f : dets[i].faces) over = over || overlap_of_smaller(tb, f) >= 0.2;
        for (const auto& h : dets[i].hands) over = over || overlap_of_smaller(tb, h) >= 0.2;
      }
    }
    if (over) ++over_frames;
  }
  out.boxes = std::move(boxes);
  if (read_frames == 0) {
    out.text_area_ratio = Metric::na(method, "no sampled frame was read by OCR");
    out.subtitle_over_face_or_hands = out.text_area_ratio;
    return out;
  }
  out.text_area_ratio = Metric::of(median_finite(out.area_series), method);
  out.subtitle_over_face_or_hands =
      Metric::of(over_frames >= 2 ? 1.0 : 0.0,
                 method + (hands_known ? "; text box over face/hand box by >= 20% in >= 2 frames"
                                       : "; text box over face box by >= 20% in >= 2 frames "
                                         "(faces only: no hand boxes without pose)"));
  return out;
}

// ---- Audio-visual sync ----------------------------------------------------------------------

std::vector<double> rms_envelope(const std::vector<float>& audio, int rate, double fps, int n) {
  std::vector<double> env(std::max(n, 0), 0.0);
  if (audio.empty() || rate <= 0 || fps <= 0) return env;
  const double half = 0.5 * rate / fps;
  for (int i = 0; i < n; ++i) {
    const double c = i * rate / fps;
    const long a = std::max(0L, long(std::floor(c - half)));
    const long b = std::min(long(audio.size()), long(std::ceil(c + half)));
    double s = 0.0;
    for (long k = a; k < b; ++k) s += double(audio[k]) * audio[k];
    env[i] = b > a ? std::sqrt(s / double(b - a)) : 0.0;
  }
  return env;
}

std::vector<double> ncc_lags(const std::vector<double>& a, const std::vector<double>& b,
                             int max_lag) {
  std::vector<double> out;
  const int n = int(std::min(a.size(), b.size()));
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    int m = 0;
    for (int t = 0; t < n; ++t) {
      const int u = t + lag;
      if (u < 0 || u >= n || !std::isfinite(a[t]) || !std::isfinite(b[u])) continue;
      sa += a[t];
      sb += b[u];
      saa += a[t] * a[t];
      sbb += b[u] * b[u];
      sab += a[t] * b[u];
      ++m;
    }
    if (m < 8) {
      out.push_back(kNaN);
      continue;
    }
    const double cov = sab - sa * sb / m;
    const double va = saa - sa * sa / m, vb = sbb - sb * sb / m;
    out.push_back(va > 1e-12 && vb > 1e-12 ? cov / std::sqrt(va * vb) : kNaN);
  }
  return out;
}

namespace {

// x minus its centred moving average over ±half samples (NaN stays NaN).
std::vector<double> high_pass(const std::vector<double>& x, int half) {
  std::vector<double> out(x.size(), kNaN);
  for (int i = 0; i < int(x.size()); ++i) {
    if (!std::isfinite(x[i])) continue;
    double s = 0;
    int m = 0;
    for (int j = std::max(0, i - half); j <= std::min(int(x.size()) - 1, i + half); ++j)
      if (std::isfinite(x[j])) {
        s += x[j];
        ++m;
      }
    out[i] = x[i] - s / m;
  }
  return out;
}

}  // namespace

std::string sync_not_applicable(const ClipFrames& clip, const std::vector<FrameDetections>& dets) {
  if (!clip.has_audio()) return "the clip has no audio";
  int single = 0;
  for (const auto& d : dets) single += d.faces.size() == 1;
  if (dets.empty() || single * 2 < int(dets.size()))
    return "no single visible face (one face in " + std::to_string(single) + " of " +
           std::to_string(dets.size()) + " sampled frames)";
  return {};
}

SyncMetrics av_sync(const ClipFrames& clip, const std::vector<FrameDetections>& dets) {
  const std::string method =
      "mouth-region motion energy vs audio RMS envelope, NCC over +-2 s, +-1 s in sync (fallback "
      "for Light-ASD)";
  SyncMetrics out;
  auto na = [&](const std::string& why) {
    out.av_sync_confidence = Metric::na(method, why);
    out.av_offset_s = Metric::na(method, why);
    return out;
  };
  if (const std::string why = sync_not_applicable(clip, dets); !why.empty()) return na(why);

  // The video stream: dense grey frames when given, else the sampled frames.
  const bool dense = !clip.sync_frames.empty() && clip.sync_fps > 0;
  const double vfps = dense ? clip.sync_fps : clip.fps;
  const size_t n = dense ? clip.sync_frames.size() : clip.frames.size();
  if (n < 16 || vfps <= 0) return na("too few video frames for sync");
  auto grey_at = [&](size_t k) {
    cv::Mat g;
    const cv::Mat& f = dense ? clip.sync_frames[k] : clip.frames[k];
    if (f.channels() == 3)
      cv::cvtColor(f, g, cv::COLOR_BGR2GRAY);
    else
      g = f;
    return g;
  };
  const cv::Size work = clip.frames.empty() ? cv::Size() : clip.frames[0].size();

  // Face box of the nearest sampled frame with exactly one face, within one sampling interval.
  const double reach = 1.0 / std::max(clip.fps, 1e-6) + 1e-6;
  auto face_at = [&](double t) -> std::optional<cv::Rect> {
    double best = reach;
    std::optional<cv::Rect> box;
    for (size_t i = 0; i < dets.size(); ++i) {
      if (dets[i].faces.size() != 1) continue;
      const double ti = i < clip.timestamps.size() ? clip.timestamps[i] : i / clip.fps;
      if (std::abs(ti - t) <= best) {
        best = std::abs(ti - t);
        box = dets[i].faces[0];
      }
    }
    return box;
  };

  // Mouth energy per frame; shot cuts (a jump of the whole frame) are left out.
  std::vector<double> energy(n, kNaN), whole(n, kNaN);
  cv::Mat prev = grey_at(0);
  for (size_t k = 1; k < n; ++k) {
    cv::Mat cur = grey_at(k);
    whole[k] = cv::norm(prev, cur, cv::NORM_L1) / double(cur.total());
    const double t = dense ? k / vfps : (k < clip.timestamps.size() ? clip.timestamps[k] : k / vfps);
    auto face = face_at(t);
    if (face && work.width > 0) {
      const double sx = double(cur.cols) / work.width, sy = double(cur.rows) / work.height;
      // Lower third of the face box: the mouth.
      cv::Rect mouth(cvRound(face->x * sx), cvRound((face->y + face->height * 2.0 / 3.0) * sy),
                     cvRound(face->width * sx), cvRound(face->height / 3.0 * sy));
      mouth &= cv::Rect(0, 0, cur.cols, cur.rows);
      if (mouth.width >= 4 && mouth.height >= 2) {
        cv::Mat a, b, diff;
        cv::resize(prev(mouth), a, cv::Size(48, 16), 0, 0, cv::INTER_AREA);
        cv::resize(cur(mouth), b, cv::Size(48, 16), 0, 0, cv::INTER_AREA);
        cv::absdiff(a, b, diff);
        energy[k] = cv::mean(diff)[0];
      }
    }
    prev = cur;
  }
  const double whole_med = median_finite(whole);
  for (size_t k = 1; k < n; ++k)
    if (whole[k] > std::max(3.0 * whole_med, 12.0)) {
      energy[k] = kNaN;
      if (k + 1 < n) energy[k + 1] = kNaN;
    }
  auto env = rms_envelope(clip.audio, clip.audio_rate, vfps, int(n));
  // Both signals: log scale for the audio, then minus their 1 s moving average, so that slow
  // loudness changes and head movement do not dominate the correlation.
  for (auto& e : env) e = std::log(e + 1e-4);
  const int half = std::max(1, int(std::lround(vfps / 2)));
  energy = high_pass(energy, half);
  env = high_pass(env, half);
  // Lags of +-2 s: a search of +-1 s could not see a 1.5 s shift and scored such a copy higher than
  // the original (its best in-range lag was a side lobe). A peak on the edge of the range may be the
  // slope of one beyond it: then no offset is claimed and the confidence is 0, so a preset that
  // asks for sync fails the clip instead of passing a side lobe.
  const int max_lag = int(std::lround(kSyncSearchS * vfps));
  out.ncc = ncc_lags(energy, env, max_lag);
  out.lag_step_s = 1.0 / vfps;
  int best = -1;
  for (int i = 0; i < int(out.ncc.size()); ++i)
    if (std::isfinite(out.ncc[i]) && (best < 0 || out.ncc[i] > out.ncc[best])) best = i;
  if (best < 0) return na("mouth motion or audio envelope is constant");
  if (best == 0 || best == int(out.ncc.size()) - 1) {
    char why[96];
    std::snprintf(why, sizeof why, "offset beyond the search range (+-%.0f s)", kSyncSearchS);
    out.av_offset_s = Metric::na(method, why);
    out.av_sync_confidence = Metric::of(0.0, method);
    return out;
  }
  const double med = median_finite(out.ncc);
  // The best lag within +-kSyncInSyncS, and the spread of the curve: a robust standard deviation
  // over lags (1.4826 x the median absolute deviation). The lobes of a clip whose mouth and audio
  // barely correlate differ by less than that (Megamind's by 0.4-0.55 of it); a clear offset
  // beyond the in-sync range stands out by more (a synthetic speaker 1.5 s late: 2.3).
  const int in_sync = int(std::lround(kSyncInSyncS * vfps));
  int best_in = -1;
  for (int i = max_lag - in_sync; i <= max_lag + in_sync; ++i)
    if (i >= 0 && i < int(out.ncc.size()) && std::isfinite(out.ncc[i]) &&
        (best_in < 0 || out.ncc[i] > out.ncc[best_in]))
      best_in = i;
  std::vector<double> dev;
  for (double v : out.ncc)
    if (std::isfinite(v)) dev.push_back(std::abs(v - med));
  const double spread = 1.4826 * median_finite(dev);
  out.beyond_in_sync = best_in < 0 || out.ncc[best] - out.ncc[best_in] > spread;
  if (!out.beyond_in_sync) {
    out.av_offset_s = Metric::of((best_in - max_lag) / vfps, method);
    out.av_sync_confidence = Metric::of(out.ncc[best_in] - med, method);
    return out;
  }
  // Found out of sync: the confidence that the clip is in sync is how much worse the best in-sync
  // alignment is (< 0), so a copy shifted by 1-2 s never scores above the clip it came from and a
  // preset that asks for sync fails it.
  char flagged[128];
  std::snprintf(flagged, sizeof flagged,
                "; offset beyond the in-sync range (+-%.0f s): confidence = best in-sync NCC - peak",
                kSyncInSyncS);
  out.av_offset_s = Metric::of((best - max_lag) / vfps, method + flagged);
  out.av_sync_confidence =
      Metric::of(best_in >= 0 ? out.ncc[best_in] - out.ncc[best] : -out.ncc[best], method + flagged);
  return out;
}

}  // namespace s2v::curation
