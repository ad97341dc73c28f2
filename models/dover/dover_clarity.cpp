#include "models/dover/dover_clarity.h"

#include <string>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/checkpoint.h"

namespace s2v::dover {

namespace {

std::vector<cv::Mat> pick(const std::vector<cv::Mat>& frames, int count) {
  std::vector<cv::Mat> out;
  for (auto i : spread_indices(static_cast<int64_t>(frames.size()), count)) out.push_back(frames[size_t(i)]);
  return out;
}

}  // namespace

DoverClarity::DoverClarity(Dover model, DoverClarityOptions options)
    : model_(std::move(model)), options_(options) {
  model_->eval();
}

std::string DoverClarity::method() const { return "DOVER (technical+aesthetic fused, x100)"; }

DoverResult DoverClarity::evaluate(const curation::ClipFrames& clip, const CancelToken& cancel) {
  const auto& native = clip.native_frames;
  const auto& sampled = clip.frames;
  if (native.empty() && sampled.empty())
    throw Error("DOVER: the clip has no decoded frames", ErrorKind::InvalidArgument, clip.path);
  DoverResult r;
  // technical: the native clip (the decoder gives clip_len frames at frame_interval; another
  // count is spread/repeated to clip_len)
  std::vector<cv::Mat> tech;
  if (!native.empty()) {
    tech = static_cast<int>(native.size()) == options_.clip_len ? native : pick(native, options_.clip_len);
    if (clip.native_stride != options_.frame_interval)
      r.note = "technical clip at a source-frame stride of " + std::to_string(clip.native_stride) +
               " (dover.yml: " + std::to_string(options_.frame_interval) + ")";
  } else {
    tech = pick(sampled, options_.clip_len);
    r.note = "technical fragments from the sampled working-resolution frames (no source-resolution frames)";
  }
  std::vector<cv::Mat> aes;
  if (options_.aesthetic_from_sampled_frames && !sampled.empty()) {
    aes = pick(sampled, options_.clip_len);
  } else {
    aes = pick(native.empty() ? sampled : native, options_.clip_len);
  }
  torch::NoGradGuard no_grad;
  cancel.throw_if_requested();
  const auto tv = normalise_view(technical_fragments(tech, options_.fragments)).unsqueeze(0);
  const auto av =
      normalise_view(aesthetic_resize(aes, options_.aesthetic_size, options_.aesthetic_size)).unsqueeze(0);
  cancel.throw_if_requested();
  const auto s = model_->forward(tv, av);
  // as evaluate_one_video.py: r.mean().item() of each head map, then fuse_results
  r.technical = s.technical.mean().item<float>();
  r.aesthetic = s.aesthetic.mean().item<float>();
  r.fused = fuse_scores(r.technical, r.aesthetic);
  return r;
}

curation::Metric DoverClarity::score(const curation::ClipFrames& clip, std::vector<double>*,
                                     const CancelToken& cancel) {
  if (clip.native_frames.empty() && clip.frames.empty())
    return curation::Metric::na(method(), "no decoded frames");
  const auto& f = clip.native_frames.empty() ? clip.frames.front() : clip.native_frames.front();
  if (f.rows < options_.fragments.fsize_h || f.cols < options_.fragments.fsize_w)
    return curation::Metric::na(method(), "frames smaller than one " + std::to_string(options_.fragments.fsize_w) +
                                              "x" + std::to_string(options_.fragments.fsize_h) + " fragment");
  const auto r = evaluate(clip, cancel);
  return curation::Metric::of(r.fused * 100.0, r.note.empty() ? method() : method() + "; " + r.note);
}

std::shared_ptr<DoverClarity> make_clarity_model(const std::filesystem::path& weights,
                                                 DoverClarityOptions options) {
  auto source = weights::open_checkpoint(weights);
  Dover model(infer_dover_config(*source));
  load_dover(*model, source);
  return std::make_shared<DoverClarity>(model, options);
}

}  // namespace s2v::dover
