#include "models/clip/aesthetic.h"

#include <algorithm>

#include <torch/torch.h>

#include "models/base/error.h"
#include "models/weights/checkpoint.h"
#include "models/weights/key_map.h"

namespace s2v::clip {

namespace nn = torch::nn;

AestheticMlpImpl::AestheticMlpImpl(int64_t input_size) {
  // as MLP in simple_inference.py: Linear, Dropout(0.2), Linear, Dropout(0.2), Linear,
  // Dropout(0.1), Linear, Linear
  layers = register_module("layers", nn::Sequential(nn::Linear(input_size, 1024), nn::Dropout(0.2),
                                                    nn::Linear(1024, 128), nn::Dropout(0.2),
                                                    nn::Linear(128, 64), nn::Dropout(0.1),
                                                    nn::Linear(64, 16), nn::Linear(16, 1)));
  eval();
}

// embedding: [B, 768] -> [B, 1]
torch::Tensor AestheticMlpImpl::forward(const torch::Tensor& embedding) {
  return layers->forward(embedding);
}

void load_aesthetic_mlp(AestheticMlpImpl& mlp, const std::shared_ptr<weights::TensorSource>& source) {
  std::vector<std::string> expected;
  for (const auto& p : mlp.named_parameters(true)) expected.push_back(p.key());
  auto view = weights::apply_key_map(source, weights::detect_key_map(source->names(), expected));
  weights::load_module(mlp, *view, "aesthetic MLP");
  mlp.eval();
}

ClipAesthetics::ClipAesthetics(ClipVision clip, AestheticMlp mlp, AestheticsOptions options)
    : clip_(std::move(clip)), mlp_(std::move(mlp)), options_(options) {
  clip_->eval();
  mlp_->eval();
}

std::vector<double> ClipAesthetics::frame_scores(const std::vector<cv::Mat>& frames, const CancelToken& cancel) {
  torch::NoGradGuard no_grad;
  std::vector<double> out;
  out.reserve(frames.size());
  const size_t step = static_cast<size_t>(std::max(1, options_.batch));
  const auto param = clip_->parameters().front();
  for (size_t begin = 0; begin < frames.size(); begin += step) {
    cancel.throw_if_requested();
    const size_t end = std::min(frames.size(), begin + step);
    std::vector<torch::Tensor> batch;
    for (size_t i = begin; i < end; ++i)
      batch.push_back(preprocess_clip(frames[i], clip_->config().image_size));
    // [n, 3, S, S] -> unit embeddings [n, 768] -> scores [n]
    auto emb = clip_->embed(torch::stack(batch).to(param.device(), param.scalar_type()));
    auto s = mlp_->forward(emb.to(torch::kFloat32).to(mlp_->parameters().front().device()))
                 .to(torch::kCPU, torch::kFloat64)
                 .flatten();
    for (int64_t i = 0; i < s.size(0); ++i) out.push_back(s[i].item<double>());
  }
  return out;
}

std::optional<double> ClipAesthetics::score(const std::vector<cv::Mat>& frames, const CancelToken& cancel) {
  if (frames.empty()) return std::nullopt;
  const size_t n = frames.size();
  const size_t k = std::min(n, static_cast<size_t>(std::max(1, options_.max_frames)));
  std::vector<cv::Mat> picked;
  for (size_t j = 0; j < k; ++j) picked.push_back(frames[(2 * j + 1) * n / (2 * k)]);  // centres of k equal spans
  const auto s = frame_scores(picked, cancel);
  double sum = 0.0;
  for (double v : s) sum += v;
  return sum / double(s.size());
}

std::string ClipAesthetics::method() const {
  const auto& c = clip_->config();
  return "CLIP ViT-" + std::string(c.width == 1024 ? "L" : std::to_string(c.width)) + "/" +
         std::to_string(c.patch_size) + " + improved-aesthetic-predictor MLP (mean of " +
         std::to_string(options_.max_frames) + " frames)";
}

std::shared_ptr<ClipAesthetics> make_aesthetics_model(const std::filesystem::path& clip_weights,
                                                      const std::filesystem::path& mlp_weights,
                                                      AestheticsOptions options) {
  auto clip_source = weights::open_checkpoint(clip_weights);
  const auto config = infer_clip_vision_config(*clip_source);
  ClipVision clip(config);
  load_clip_vision(*clip, clip_source);
  auto mlp_source = weights::open_checkpoint(mlp_weights);
  if (mlp_source->contains("layers.0.weight")) {
    const auto in = mlp_source->meta("layers.0.weight").shape.at(1);
    if (in != config.output_dim)
      throw Error("the aesthetic MLP in '" + mlp_weights.string() + "' takes " + std::to_string(in) +
                      "-d embeddings but the CLIP model in '" + clip_weights.string() + "' gives " +
                      std::to_string(config.output_dim),
                  ErrorKind::InvalidArgument, mlp_weights.string());
  }
  AestheticMlp mlp(config.output_dim);
  load_aesthetic_mlp(*mlp, mlp_source);
  return std::make_shared<ClipAesthetics>(clip, mlp, options);
}

}  // namespace s2v::clip
