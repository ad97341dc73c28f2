// bench_curate [--seconds S] [--no-baseline] [clip ...]
// Prints, per clip, the seconds spent and the real-time factor (RTF = seconds / clip duration;
// below 1 is faster than real time) of decoding and of each metric, for
//   ours:     decode once with the curate job's decoder (decode_clip: the 4 fps samples, 288 px
//             grey sync frames and the audio), ClipScorer with two workers sharing grey frames
//             and detections;
//   baseline: a straightforward single-threaded implementation: each metric decodes the clip
//             again (every frame retrieved and resized) and runs alone, re-detecting faces when
//             it needs them; OpenCV limited to one thread.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <time.h>

#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/curate_job/clip_decoder.h"
#include "core/curation/curate.h"
#include "core/curation/metrics.h"

using namespace s2v::curation;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU seconds of the whole process (all threads): independent of other load on the machine.
double cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

std::vector<float> read_audio(const std::string& path, double max_s) {
  std::string cmd = "ffmpeg -hide_banner -loglevel quiet -i '" + path + "'";
  if (max_s > 0) cmd += " -t " + std::to_string(max_s);
  cmd += " -vn -ac 1 -ar 16000 -f f32le - 2>/dev/null";
  std::vector<float> out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    float buf[4096];
    size_t n;
    while ((n = fread(buf, sizeof(float), 4096, p)) > 0) out.insert(out.end(), buf, buf + n);
    pclose(p);
  }
  return out;
}

// The straightforward decode a single metric would do: read every frame, resize every frame,
// keep the 4 fps samples.
ClipFrames decode_naive(const std::string& path, double max_s, bool audio, bool sync) {
  ClipFrames c;
  c.path = path;
  cv::VideoCapture cap(path);
  c.source_fps = cap.get(cv::CAP_PROP_FPS);
  if (!(c.source_fps > 0)) c.source_fps = 25;
  if (audio) c.audio = read_audio(path, max_s);
  c.sync_fps = sync && c.has_audio() ? c.source_fps : 0;
  double next_t = 0;
  int i = 0;
  cv::Mat f;
  for (; cap.read(f); ++i) {
    const double t = i / c.source_fps;
    if (max_s > 0 && t >= max_s) break;
    cv::Mat w = resize_long_side(f);
    if (c.sync_fps > 0) {
      cv::Mat g;
      cv::cvtColor(resize_long_side(f, 288), g, cv::COLOR_BGR2GRAY);
      c.sync_frames.push_back(g);
    }
    if (t + 1e-6 >= next_t) {
      c.frames.push_back(w.clone());
      c.timestamps.push_back(t);
      next_t += 1.0 / c.fps;
    }
  }
  c.duration_s = i / c.source_fps;
  return c;
}

std::vector<FrameDetections> detect_all(const ClipFrames& c) {
  PeopleFaceDetector det;
  std::vector<FrameDetections> d;
  for (const auto& f : c.frames) d.push_back(det.detect(f));
  resolve_persons(d, c.timestamps, c.frames.empty() ? cv::Size() : c.frames[0].size());
  return d;
}

// CPU seconds per metric of the straightforward implementation (one thread: CPU = wall on an
// idle machine).
std::map<std::string, double> baseline(const std::string& path, double max_s) {
  std::map<std::string, double> t;
  auto t0 = cpu_s();
  {
    auto c = decode_naive(path, max_s, false, false);
    t["people"] = cpu_s() - t0;
    auto d = detect_all(c);
    people_metrics(d, c.frames[0].size(), c.fps, "");
    t["people"] = cpu_s() - t0;
  }
  t0 = cpu_s();
  {
    auto c = decode_naive(path, max_s, false, false);
    auto d = detect_all(c);
    sharpness_metrics(c.frames, d);
    t["sharpness"] = cpu_s() - t0;
  }
  t0 = cpu_s();
  {
    auto c = decode_naive(path, max_s, false, false);
    MotionScorer m;
    std::vector<cv::Mat> g(c.frames.size());
    for (size_t i = 0; i < g.size(); ++i) cv::cvtColor(c.frames[i], g[i], cv::COLOR_BGR2GRAY);
    m.score(g);
    t["motion"] = cpu_s() - t0;
  }
  t0 = cpu_s();
  {
    auto c = decode_naive(path, max_s, false, false);
    ClarityScorer q;
    q.score(c.frames);
    t["clarity"] = cpu_s() - t0;
  }
  t0 = cpu_s();
  {
    auto c = decode_naive(path, max_s, false, false);
    auto d = detect_all(c);
    TextDetector td;
    std::vector<std::vector<cv::Rect>> boxes;
    for (const auto& f : c.frames) boxes.push_back(td.words(f));
    text_metrics(boxes, std::vector<char>(boxes.size(), 1), d, c.frames[0].size(), "", false);
    t["subtitles"] = cpu_s() - t0;
  }
  t0 = cpu_s();
  {
    auto c = decode_naive(path, max_s, true, true);
    if (c.has_audio()) {
      auto d = detect_all(c);
      av_sync(c, d);
    }
    t["av_sync"] = cpu_s() - t0;
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // rows appear as they are measured
  double max_s = 0;
  bool with_baseline = true;
  std::vector<std::string> clips;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) max_s = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-baseline")) with_baseline = false;
    else clips.push_back(argv[i]);
  }
  if (clips.empty()) {
    const std::string d = "/usr/share/doc/opencv-doc/examples/data/";
    clips = {d + "Megamind.avi", d + "vtest.avi"};
  }
  std::printf("bench_curate: %d OpenCV threads, %s\n", cv::getNumThreads(),
              max_s > 0 ? ("first " + std::to_string(max_s) + " s of each clip").c_str()
                        : "whole clips");
  const std::vector<std::string> metrics = {"people",    "sharpness", "motion",
                                            "clarity",   "subtitles", "av_sync"};
  ClipScorer scorer;  // models loaded once, as in a batch job
  CurateOptions serial_options;
  serial_options.workers = 1;
  ClipScorer serial(serial_options);  // per-metric attribution: one thread, OpenCV on one thread
  for (const auto& path : clips) {
    auto w0 = Clock::now();
    double c0 = cpu_s();
    DecodeOptions dopt;
    dopt.max_seconds = max_s;
    ClipFrames clip;
    try {
      clip = decode_clip(path, dopt);  // the curate job's decoder (core/media, FFmpeg)
    } catch (const std::exception& e) {
      std::printf("%s: cannot decode: %s\n", path.c_str(), e.what());
      continue;
    }
    const double decode_wall = since(w0), decode_cpu = cpu_s() - c0;
    if (clip.frames.empty()) {
      std::printf("%s: cannot decode\n", path.c_str());
      continue;
    }
    w0 = Clock::now();
    c0 = cpu_s();
    ClipScores s = scorer.score(clip);
    const double score_wall = since(w0), score_cpu = cpu_s() - c0;
    const double decode_s = decode_cpu, score_s = score_cpu;
    const double dur = max_s > 0 ? std::min(clip.duration_s, max_s) : clip.duration_s;  // the scored span
    std::printf("\n%s: %.2f s, %zu sampled frames, %zu sync frames, audio %s\n", path.c_str(), dur,
                clip.frames.size(), clip.sync_frames.size(), clip.has_audio() ? "yes" : "no");
    std::printf("  ours: CPU decode %.2f s + score %.2f s = %.2f s (CPU RTF %.3f; on 2 idle cores "
                "about RTF %.3f); wall here %.2f s (RTF %.3f, load average shared)\n",
                decode_s, score_s, decode_s + score_s, (decode_s + score_s) / dur,
                (decode_s + score_s) / 2 / dur, decode_wall + score_wall,
                (decode_wall + score_wall) / dur);
    std::printf("  per metric, one thread (ours: shared decode and detections, so sharpness, "
                "subtitles and sync reuse the people detections):\n");
    std::printf("  %-10s %12s %10s %14s %10s\n", "metric", "ours cpu-s", "ours RTF",
                "baseline cpu-s", "base RTF");
    std::map<std::string, double> base;
    const int threads = cv::getNumThreads();
    cv::setNumThreads(1);
    serial.score(clip);  // the same work on one thread: CPU seconds per metric
    if (with_baseline) base = baseline(path, max_s);
    cv::setNumThreads(threads);
    double base_total = 0;
    for (const auto& m : metrics) {
      const double ours = serial.timings().count(m) ? serial.timings().at(m) : 0.0;
      const double b = base.count(m) ? base.at(m) : std::nan("");
      if (std::isfinite(b)) base_total += b;
      std::printf("  %-10s %12.2f %10.3f %14.2f %10.3f\n", m.c_str(), ours, ours / dur, b, b / dur);
    }
    if (with_baseline)
      std::printf("  total CPU: ours %.2f s (RTF %.3f), baseline %.2f s (RTF %.3f), %.2fx less CPU\n",
                  decode_s + score_s, (decode_s + score_s) / dur, base_total, base_total / dur,
                  base_total / (decode_s + score_s));
    std::printf("  scores:");
    for (const auto& n : metric_names()) {
      const Metric m = s.metric(n);
      if (m.value) std::printf(" %s=%.3g", n.c_str(), *m.value);
      else std::printf(" %s=n/a", n.c_str());
    }
    std::printf("\n");
  }
  return 0;
}
