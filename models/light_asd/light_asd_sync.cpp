#include "models/light_asd/light_asd_sync.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "core/curation/metrics.h"
#include "models/base/error.h"
#include "models/light_asd/mfcc.h"
#include "models/weights/checkpoint.h"

namespace s2v::light_asd {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Frames the visual encoder sees per pass, and the context added on each side: its temporal
// receptive field is ±6 frames (three blocks of 5-tap convs), so chunking with 8 frames of context
// gives the same embeddings as one pass over the whole clip, with bounded memory.
constexpr int64_t kVisualChunk = 64;
constexpr int64_t kVisualContext = 8;
// The grey of Columbia_test.py's padding (BGR 110, 110, 110).
constexpr int kPadGrey = 110;

struct TrackPoint {
  double t;
  double x0, y0, x1, y1;  // working-resolution box corners
};

// Linear interpolation of the box corners at time t, held at the ends (as interp1d over the
// track's own frames, which the official tracks never leave).
TrackPoint box_at(const std::vector<TrackPoint>& track, double t) {
  if (t <= track.front().t) return track.front();
  if (t >= track.back().t) return track.back();
  auto hi = std::upper_bound(track.begin(), track.end(), t,
                             [](double v, const TrackPoint& p) { return v < p.t; });
  const TrackPoint& b = *hi;
  const TrackPoint& a = *(hi - 1);
  const double w = b.t > a.t ? (t - a.t) / (b.t - a.t) : 0.0;
  return {t, a.x0 + w * (b.x0 - a.x0), a.y0 + w * (b.y0 - a.y0), a.x1 + w * (b.x1 - a.x1),
          a.y1 + w * (b.y1 - a.y1)};
}

std::string method_string(const LightAsdSyncOptions& o) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "Light-ASD active-speaker score, lag search +-%g s (step %g s)",
                o.max_lag_s, o.lag_step_s);
  return buf;
}
}  // namespace

std::vector<double> medfilt(const std::vector<double>& v, int kernel) {
  if (kernel <= 1 || v.empty()) return v;
  if (kernel % 2 == 0) ++kernel;
  const int half = kernel / 2;
  const int n = static_cast<int>(v.size());
  std::vector<double> out(v.size()), win(static_cast<size_t>(kernel));
  for (int i = 0; i < n; ++i) {
    for (int k = -half; k <= half; ++k) {
      const int j = i + k;
      win[size_t(k + half)] = (j < 0 || j >= n) ? 0.0 : v[size_t(j)];
    }
    std::nth_element(win.begin(), win.begin() + half, win.end());
    out[size_t(i)] = win[size_t(half)];
  }
  return out;
}

cv::Mat crop_face(const cv::Mat& grey, double cx, double cy, double bs, double cs) {
  CV_Assert(grey.type() == CV_8UC1);
  // as crop_video in Columbia_test.py: pad by bsi, then slice with Python's int() (truncation)
  const int bsi = static_cast<int>(bs * (1 + 2 * cs));
  cv::Mat padded;
  cv::copyMakeBorder(grey, padded, bsi, bsi, bsi, bsi, cv::BORDER_CONSTANT, cv::Scalar(kPadGrey));
  const double my = cy + bsi, mx = cx + bsi;
  int r0 = static_cast<int>(my - bs), r1 = static_cast<int>(my + bs * (1 + 2 * cs));
  int c0 = static_cast<int>(mx - bs * (1 + cs)), c1 = static_cast<int>(mx + bs * (1 + cs));
  // numpy slicing clamps to the array
  r0 = std::clamp(r0, 0, padded.rows);
  r1 = std::clamp(r1, 0, padded.rows);
  c0 = std::clamp(c0, 0, padded.cols);
  c1 = std::clamp(c1, 0, padded.cols);
  cv::Mat face224;
  if (r1 <= r0 || c1 <= c0)
    face224 = cv::Mat(224, 224, CV_8UC1, cv::Scalar(kPadGrey));
  else
    cv::resize(padded(cv::Range(r0, r1), cv::Range(c0, c1)), face224, cv::Size(224, 224), 0, 0,
               cv::INTER_LINEAR);
  // evaluate_network: the centre 112×112 of the 224×224 crop
  return face224(cv::Rect(56, 56, 112, 112)).clone();
}

LightAsdSync::LightAsdSync(LightAsd model, LightAsdSyncOptions options)
    : model_(std::move(model)), options_(options) {
  if (!(options_.lag_step_s > 0) || !(options_.max_lag_s >= 0))
    throw Error("Light-ASD sync: the lag step must be positive and the maximum lag not negative",
                ErrorKind::InvalidArgument);
  model_->eval();
}

std::string LightAsdSync::method() const { return method_string(options_); }

torch::Tensor LightAsdSync::face_crops(const curation::ClipFrames& clip,
                                       const std::vector<curation::FrameDetections>& dets) const {
  if (clip.frames.empty()) return {};
  const cv::Size work = clip.frames[0].size();
  // the single-face track of the sampled frames
  std::vector<TrackPoint> track;
  for (size_t i = 0; i < dets.size(); ++i) {
    if (dets[i].faces.size() != 1) continue;
    const double t = i < clip.timestamps.size() ? clip.timestamps[i] : i / std::max(clip.fps, 1e-6);
    const cv::Rect& b = dets[i].faces[0];
    track.push_back({t, double(b.x), double(b.y), double(b.x + b.width), double(b.y + b.height)});
  }
  if (track.empty() || work.width <= 0) return {};
  std::stable_sort(track.begin(), track.end(), [](auto& a, auto& b) { return a.t < b.t; });

  // the dense stream (every source frame) or else the sampled frames, resampled to 25 fps by
  // taking the nearest frame in time (as ffmpeg -r 25)
  const bool dense = !clip.sync_frames.empty() && clip.sync_fps > 0;
  const std::vector<cv::Mat>& src = dense ? clip.sync_frames : clip.frames;
  const double src_fps = dense ? clip.sync_fps : clip.fps;
  if (src.empty() || !(src_fps > 0)) return {};
  const auto n_out = static_cast<int64_t>(std::floor(src.size() * double(kVideoFps) / src_fps + 1e-6));
  std::vector<size_t> index(static_cast<size_t>(n_out));
  std::vector<double> xs, ys, ss;
  for (int64_t j = 0; j < n_out; ++j) {
    const auto k = std::min<size_t>(src.size() - 1,
                                    static_cast<size_t>(std::llround(j * src_fps / kVideoFps)));
    index[size_t(j)] = k;
    // time of the chosen frame: k / src_fps for the dense stream, its timestamp when sampled
    const double t = dense ? k / src_fps : (k < clip.timestamps.size() ? clip.timestamps[k] : k / src_fps);
    const TrackPoint b = box_at(track, t);
    const double sx = double(src[k].cols) / work.width, sy = double(src[k].rows) / work.height;
    // crop_video: s = half the longer side, centre (x, y), in the stream's pixels
    ss.push_back(std::max((b.y1 - b.y0) * sy, (b.x1 - b.x0) * sx) / 2);
    ys.push_back((b.y0 + b.y1) / 2 * sy);
    xs.push_back((b.x0 + b.x1) / 2 * sx);
  }
  ss = medfilt(ss, options_.smooth_kernel);
  xs = medfilt(xs, options_.smooth_kernel);
  ys = medfilt(ys, options_.smooth_kernel);

  auto out = torch::empty({n_out, kFaceSide, kFaceSide}, torch::kFloat32);
  cv::Mat grey;
  for (int64_t j = 0; j < n_out; ++j) {
    const cv::Mat& f = src[index[size_t(j)]];
    if (f.channels() == 3)
      cv::cvtColor(f, grey, cv::COLOR_BGR2GRAY);
    else
      grey = f;
    const cv::Mat face = crop_face(grey, xs[size_t(j)], ys[size_t(j)], ss[size_t(j)], options_.crop_scale);
    cv::Mat face_f;
    face.convertTo(face_f, CV_32F);
    std::memcpy(out[j].data_ptr<float>(), face_f.ptr<float>(), sizeof(float) * kFaceSide * kFaceSide);
  }
  return out;
}

std::vector<double> LightAsdSync::lag_scores(const torch::Tensor& frames, const torch::Tensor& mfcc_in,
                                             const CancelToken& cancel) const {
  // frames: [T, 112, 112]; mfcc: [N, 13]
  torch::NoGradGuard no_grad;
  LightAsd net = model_;  // the forward functions are not const
  const auto param = net->parameters().front();
  const int64_t T = frames.size(0);
  const int64_t N = mfcc_in.size(0);
  const auto mfcc = mfcc_in.to(param.device(), param.scalar_type());

  // visual embeddings once, in overlapping chunks: [1, T, 128]
  std::vector<torch::Tensor> parts;
  for (int64_t begin = 0; begin < T; begin += kVisualChunk) {
    cancel.throw_if_requested();
    const int64_t end = std::min(T, begin + kVisualChunk);
    const int64_t a = std::max<int64_t>(0, begin - kVisualContext);
    const int64_t b = std::min(T, end + kVisualContext);
    const auto x = frames.slice(0, a, b).unsqueeze(0).to(param.device(), param.scalar_type());
    parts.push_back(net->model->forward_visual_frontend(x).slice(1, begin - a, end - a));
  }
  const auto visual = torch::cat(parts, 1);

  const int lags = static_cast<int>(std::lround(options_.max_lag_s / options_.lag_step_s));
  const auto min_overlap = static_cast<int64_t>(std::ceil(options_.min_overlap_s * kVideoFps));
  std::vector<double> scores;
  for (int k = -lags; k <= lags; ++k) {
    cancel.throw_if_requested();
    // lag > 0: video frame j meets the audio of time j/25 + lag (audio lags video)
    const auto shift = static_cast<int64_t>(std::llround(k * options_.lag_step_s * 100.0));
    const int64_t j0 = std::max<int64_t>(0, (-shift + kAudioFramesPerVideoFrame - 1) / kAudioFramesPerVideoFrame);
    const int64_t j1 = std::min<int64_t>(T, (N - shift) / kAudioFramesPerVideoFrame);
    if (j1 - j0 < std::max<int64_t>(1, min_overlap)) {
      scores.push_back(kNaN);
      continue;
    }
    const auto a = mfcc.slice(0, kAudioFramesPerVideoFrame * j0 + shift,
                              kAudioFramesPerVideoFrame * j1 + shift).unsqueeze(0);
    const auto audio = net->model->forward_audio_frontend(a);  // [1, j1 - j0, 128]
    const auto logits = net->logits_of_embeddings(audio, visual.slice(1, j0, j1));
    scores.push_back(torch::softmax(logits, -1).select(1, 1).mean().item<double>());
  }
  return scores;
}

curation::SyncMetrics LightAsdSync::score(const curation::ClipFrames& clip,
                                          const std::vector<curation::FrameDetections>& dets,
                                          const CancelToken& cancel) {
  const std::string method = this->method();
  curation::SyncMetrics out;
  auto na = [&](const std::string& why) {
    out.av_sync_confidence = curation::Metric::na(method, why);
    out.av_offset_s = curation::Metric::na(method, why);
    return out;
  };
  // the same conditions as the fallback (curation::av_sync)
  if (const std::string why = curation::sync_not_applicable(clip, dets); !why.empty()) return na(why);

  const auto frames = face_crops(clip, dets);
  if (!frames.defined() || frames.size(0) < 16) return na("too few video frames for sync");
  MfccOptions mo;
  mo.sample_rate = clip.audio_rate;
  const auto features = mfcc(clip.audio, mo).to(torch::kFloat32);
  out.ncc = lag_scores(frames, features, cancel);
  out.lag_step_s = options_.lag_step_s;
  const int lags = (int(out.ncc.size()) - 1) / 2;
  int best = -1;
  for (int i = 0; i < int(out.ncc.size()); ++i)
    if (std::isfinite(out.ncc[size_t(i)]) && (best < 0 || out.ncc[size_t(i)] > out.ncc[size_t(best)])) best = i;
  if (best < 0) return na("the audio is too short for the lag search");
  const double med = curation::median_finite(out.ncc);
  out.av_offset_s = curation::Metric::of((best - lags) * options_.lag_step_s, method);
  out.av_sync_confidence = curation::Metric::of(out.ncc[size_t(best)] - med, method);
  return out;
}

std::shared_ptr<LightAsdSync> make_sync_model(const std::filesystem::path& weights,
                                              LightAsdSyncOptions options) {
  return std::make_shared<LightAsdSync>(load_light_asd(weights::open_checkpoint(weights)), options);
}

}  // namespace s2v::light_asd
