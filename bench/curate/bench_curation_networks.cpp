// bench_curation_networks [--threads N] [--seconds S]   (--threads sets S2V_THREADS)
// Seconds per clip of the paper's curation networks at their real sizes (random weights: the
// time does not depend on the values), each through its curation adapter as a curate job runs
// it, on a synthetic clip of S seconds (default 10) at 25 fps, 1280×720:
//   DOVER      one clip: 32 source-resolution frames (technical fragments) + 32 sampled frames
//   UniMatch   gmflow-scale2-regrefine6 at 320×576, the adapter's default 8 pairs
//   Light-ASD  the face track at 25 fps, visual features once, 11 lags of audio (±1 s)
// and the real-time factor (RTF = seconds / clip duration; below 1 is faster than real time).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <ATen/Parallel.h>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "core/curation/clip_frames.h"
#include "models/dover/dover_clarity.h"
#include "models/light_asd/light_asd_sync.h"
#include "models/unimatch/unimatch_motion.h"
#include "models/weights/threads.h"

using namespace s2v;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A textured frame whose content slides with t, and a bright disc as the "face".
cv::Mat frame(int w, int h, int t) {
  cv::Mat f(h, w, CV_8UC3);
  cv::RNG rng(7);
  rng.fill(f, cv::RNG::UNIFORM, 0, 255);
  cv::GaussianBlur(f, f, cv::Size(0, 0), 3.0);
  const cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, 2.0 * t, 0, 1, t);
  cv::warpAffine(f, f, shift, f.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  cv::circle(f, {w / 2, h / 3}, h / 8, cv::Scalar(200, 180, 170), cv::FILLED);
  return f;
}

curation::ClipFrames synthetic_clip(double seconds) {
  curation::ClipFrames c;
  c.path = "synthetic";
  c.width = 1280;
  c.height = 720;
  c.source_fps = 25;
  c.duration_s = seconds;
  c.sync_fps = 25;
  c.native_stride = 2;
  const int n = static_cast<int>(seconds * 25);
  for (int i = 0; i < n; ++i) {
    const cv::Mat src = frame(1280, 720, i);
    cv::Mat grey;
    cv::cvtColor(curation::resize_long_side(src, 288), grey, cv::COLOR_BGR2GRAY);
    c.sync_frames.push_back(grey);
    if (i % 25 == 0 || i % 25 == 6 || i % 25 == 12 || i % 25 == 18) {  // ≈ 4 fps
      c.frames.push_back(curation::resize_long_side(src));
      c.timestamps.push_back(i / 25.0);
    }
    const int begin = (n - 63) / 2;
    if (i >= begin && i < begin + 63 && (i - begin) % 2 == 0) c.native_frames.push_back(src);
  }
  c.audio.resize(static_cast<size_t>(seconds * 16000));
  cv::RNG rng(3);
  for (auto& s : c.audio) s = static_cast<float>(rng.gaussian(0.1));
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  double seconds = 10;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) setenv("S2V_THREADS", argv[++i], 1);
    else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
  }
  const int threads = apply_torch_threads_setting();
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  const auto clip = synthetic_clip(seconds);
  // one face box per sampled frame, where the disc is
  std::vector<curation::FrameDetections> dets(clip.frames.size());
  for (auto& d : dets) d.faces.push_back(cv::Rect(288 - 40, 108 - 40, 80, 80));
  std::printf("bench_curation_networks: %.1f s synthetic clip (1280x720, 25 fps), %d LibTorch threads, "
              "real-size networks with random weights\n\n",
              seconds, threads);
  std::printf("| network | work per clip | seconds | RTF |\n|---|---|---|---|\n");

  {
    dover::DoverClarity dover{dover::Dover()};
    dover.score(clip, nullptr);  // warm-up
    const auto t0 = Clock::now();
    const auto m = dover.score(clip, nullptr);
    const double s = since(t0);
    std::printf("| DOVER | 32 native + 32 sampled frames | %.2f | %.3f |\n", s, s / seconds);
    if (!m.available()) std::printf("  (DOVER gave n/a: %s)\n", m.na_reason.c_str());
  }
  {
    unimatch::UniMatchMotion flow{unimatch::UniMatch(unimatch::UniMatchConfig::gmflow_scale2_regrefine6())};
    const auto t0 = Clock::now();
    const auto m = flow.score(clip);
    const double s = since(t0);
    int pairs = 0;
    for (double v : m.series) pairs += std::isfinite(v);
    std::printf("| UniMatch scale-2 refine-6 | %d pairs at 320x576 (%.2f s per pair) | %.2f | %.3f |\n", pairs,
                pairs ? s / pairs : 0.0, s, s / seconds);
  }
  {
    light_asd::LightAsdSync asd{light_asd::LightAsd()};
    const auto t0 = Clock::now();
    const auto m = asd.score(clip, dets);
    const double s = since(t0);
    std::printf("| Light-ASD | %zu face frames, 11 lags | %.2f | %.3f |\n", clip.sync_frames.size(), s, s / seconds);
    if (!m.av_sync_confidence.available()) std::printf("  (Light-ASD gave n/a: %s)\n", m.av_sync_confidence.na_reason.c_str());
  }
  return 0;
}
