#include "core/curation/curate.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>
#include <time.h>

#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>

#include "core/curation/metrics.h"
#include "models/base/error.h"

namespace s2v::curation {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU seconds of the calling thread: per-metric cost that does not depend on other load.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// The per-thread tools: none of OpenCV's cascades, DIS or Tesseract may be shared by threads.
struct Tools {
  PeopleFaceDetector detector;
  MotionScorer motion;
  ClarityScorer clarity;
  TextDetector text;
  explicit Tools(const CurateOptions& o)
      : detector(o.detectors), clarity(o.brisque_dir), text(o.tessdata) {}
};

// While our workers run, OpenCV's own thread pool is switched off: two workers already fill two
// cores, and a nested pool would only oversubscribe them.
class OpenCvThreadsGuard {
 public:
  explicit OpenCvThreadsGuard(bool active) : saved_(cv::getNumThreads()), active_(active) {
    if (active_) cv::setNumThreads(1);
  }
  ~OpenCvThreadsGuard() {
    if (active_) cv::setNumThreads(saved_);
  }

 private:
  int saved_;
  bool active_;
};

}  // namespace

struct ClipScorer::Impl {
  std::vector<std::unique_ptr<Tools>> tools;  // one per worker
};

ClipScorer::ClipScorer(CurateOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  if (options_.workers < 1 || options_.workers > 64)
    throw Error("curation workers must be between 1 and 64, got " + std::to_string(options_.workers),
                ErrorKind::InvalidArgument);
  const int workers = options_.workers;
  for (int i = 0; i < workers; ++i) impl_->tools.push_back(std::make_unique<Tools>(options_));
}

ClipScorer::~ClipScorer() = default;

ClipScores ClipScorer::score(const ClipFrames& clip, const CancelToken& cancel) {
  timings_.clear();
  ClipScores s;
  s.path = clip.path;
  s.duration_s = clip.duration_s;
  s.width = clip.width;
  s.height = clip.height;
  s.fps = clip.source_fps;
  const size_t n = clip.frames.size();
  if (n == 0) {
    s.error = "cannot score '" + clip.path + "': no frames were decoded";
    return s;
  }
  const cv::Size frame = clip.frames[0].size();
  for (const auto& f : clip.frames)
    if (f.size() != frame || f.type() != CV_8UC3)
      throw Error("cannot score '" + clip.path +
                      "': sampled frames must all be BGR 8-bit images of one size",
                  ErrorKind::InvalidArgument, clip.path);
  const auto t_all = Clock::now();

  // Shared by every metric: the grey frames (flow, OCR, detectors).
  std::vector<cv::Mat> grey(n);
  for (size_t i = 0; i < n; ++i) cv::cvtColor(clip.frames[i], grey[i], cv::COLOR_BGR2GRAY);

  // Per-frame work spread over the workers: detection, flow pair (i-1, i), BRISQUE, OCR.
  std::vector<FrameDetections> dets(n);
  std::vector<std::vector<pose::Pose>> poses(n);
  std::vector<double> motion(n, std::nan("")), clarity(n, std::nan(""));
  std::vector<std::vector<cv::Rect>> words(n);
  std::vector<char> read(n, 0);
  const int ocr_every = std::max(1, options_.ocr_every);
  const int clarity_every = std::max(1, options_.clarity_every);
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::exception_ptr failure;
  std::vector<MetricTimings> worker_times(impl_->tools.size());

  auto work = [&](Tools& tl, MetricTimings& wt) {
    try {
      for (;;) {
        if (stop.load() || cancel.requested()) return;
        const size_t i = next.fetch_add(1);
        if (i >= n) return;
        double t0 = thread_cpu_s();
        dets[i] = tl.detector.detect(clip.frames[i], grey[i]);
        if (options_.pose) {
          // person boxes of this frame alone (the close-up rule on its own faces), then ViTPose
          std::vector<FrameDetections> one{dets[i]};
          resolve_persons(one, {0.0}, frame);
          poses[i] = options_.pose->estimate(clip.frames[i], merge_boxes(one[0].persons));
          dets[i] = detections_from_poses(poses[i], frame);
        }
        wt["people"] += thread_cpu_s() - t0;
        if (i > 0 && !options_.motion_model) {
          t0 = thread_cpu_s();
          motion[i] = tl.motion.pair(grey[i - 1], grey[i]);
          wt["motion"] += thread_cpu_s() - t0;
        }
        if (i % clarity_every == 0 && !options_.clarity_model) {
          t0 = thread_cpu_s();
          clarity[i] = 100.0 - tl.clarity.brisque(clip.frames[i]);
          wt["clarity"] += thread_cpu_s() - t0;
        }
        if (i % ocr_every == 0) {
          t0 = thread_cpu_s();
          words[i] = tl.text.words(grey[i]);
          read[i] = 1;
          wt["subtitles"] += thread_cpu_s() - t0;
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
  };
  if (impl_->tools.size() > 1) {
    OpenCvThreadsGuard single_opencv(true);
    std::vector<std::thread> threads;
    for (size_t w = 1; w < impl_->tools.size(); ++w)
      threads.emplace_back(work, std::ref(*impl_->tools[w]), std::ref(worker_times[w]));
    work(*impl_->tools[0], worker_times[0]);
    for (auto& t : threads) t.join();
  } else {
    work(*impl_->tools[0], worker_times[0]);
  }
  if (failure) std::rethrow_exception(failure);
  cancel.throw_if_requested();
  for (const auto& wt : worker_times)
    for (const auto& [k, v] : wt) timings_[k] += v;

  // Clip-level aggregation on this thread; the networks, when set, run here with LibTorch's threads.
  double t0 = thread_cpu_s();
  std::vector<double> t = clip.timestamps;
  if (t.size() != n) {
    t.resize(n);
    for (size_t i = 0; i < n; ++i) t[i] = clip.fps > 0 ? i / clip.fps : double(i);
  }
  if (!options_.pose) resolve_persons(dets, t, frame);  // poses already give the persons
  Tools& tl = *impl_->tools[0];
  const auto people = people_metrics(
      dets, frame, clip.fps, options_.pose ? options_.pose->method() : tl.detector.method());
  s.set("people_max", people.people_max);
  s.set("single_person_ratio", people.single_person_ratio);
  s.set("talking_face_run_s", people.talking_face_run_s);
  timings_["people"] += thread_cpu_s() - t0;

  t0 = thread_cpu_s();
  const auto sharp = sharpness_metrics(clip.frames, dets);
  s.set("face_sharpness", sharp.face_sharpness);
  s.set("hand_sharpness", sharp.hand_sharpness);
  timings_["sharpness"] += thread_cpu_s() - t0;

  t0 = thread_cpu_s();
  if (options_.motion_model) {
    auto m = options_.motion_model->score(clip, cancel);
    s.set("motion", m.motion);
    motion = m.series;
    motion.resize(n, std::nan(""));
    timings_["motion"] += thread_cpu_s() - t0;
  } else {
    std::vector<double> pairs(motion.begin() + 1, motion.end());
    if (pairs.empty()) {
      s.set("motion", Metric::na(MotionScorer::method(), "fewer than two sampled frames"));
    } else {
      double sum = 0;
      for (double v : pairs) sum += v;
      s.set("motion", Metric::of(sum / double(pairs.size()), MotionScorer::method()));
    }
  }
  t0 = thread_cpu_s();
  if (options_.clarity_model) {
    s.set("clarity", options_.clarity_model->score(clip, &clarity, cancel));
    clarity.resize(n, std::nan(""));
    timings_["clarity"] += thread_cpu_s() - t0;
  } else {
    const double clar = median_finite(clarity);
    s.set("clarity", std::isfinite(clar)
                         ? Metric::of(clar, ClarityScorer::method())
                         : Metric::na(ClarityScorer::method(), "no frame could be scored"));
  }

  std::string text_method = tl.text.method();
  if (ocr_every > 1) text_method += ", every " + std::to_string(ocr_every) + " sampled frames";
  bool hands_known = false;
  for (const auto& d : dets) hands_known = hands_known || !d.hands.empty();
  auto text = text_metrics(words, read, dets, frame, text_method, hands_known);
  s.set("text_area_ratio", text.text_area_ratio);
  s.set("subtitle_over_face_or_hands", text.subtitle_over_face_or_hands);

  t0 = thread_cpu_s();
  if (options_.aesthetics) {
    auto a = options_.aesthetics->score(clip.frames, cancel);
    s.set("aesthetics", a ? Metric::of(*a, options_.aesthetics->method())
                          : Metric::na(options_.aesthetics->method(), "the model gave no score"));
  } else {
    s.set("aesthetics", Metric::na(kAestheticsMethod, kAestheticsNoWeights));
  }
  timings_["aesthetics"] += thread_cpu_s() - t0;

  t0 = thread_cpu_s();
  cancel.throw_if_requested();
  const auto sync = options_.sync_model ? options_.sync_model->score(clip, dets, cancel) : av_sync(clip, dets);
  s.set("av_sync_confidence", sync.av_sync_confidence);
  s.set("av_offset_s", sync.av_offset_s);
  timings_["av_sync"] += thread_cpu_s() - t0;

  // Series and overlays for the clip viewer.
  s.series_t = t;
  s.series["people"] = people.people_series;
  s.series["faces"] = people.faces_series;
  s.series["face_sharpness"] = sharp.face_series;
  s.series["motion"] = motion;  // motion[i]: pair (i-1, i); NaN at 0
  s.series["clarity"] = clarity;
  s.series["text_area"] = text.area_series;
  if (!sync.ncc.empty()) s.series["av_ncc"] = sync.ncc;
  for (size_t i = 0; i < n; ++i) {
    FrameOverlay o;
    o.t = t[i];
    o.people = dets[i].persons;
    o.faces = dets[i].faces;
    o.hands = dets[i].hands;
    o.text = text.boxes[i];
    o.poses = std::move(poses[i]);
    s.overlays.push_back(std::move(o));
  }
  timings_["wall"] = since(t_all);
  return s;
}

}  // namespace s2v::curation
