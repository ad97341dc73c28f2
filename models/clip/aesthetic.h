#pragma once
// The improved-aesthetic-predictor (christophschuhmann/improved-aesthetic-predictor) MLP on
// L2-normalised CLIP ViT-L/14 image embeddings, and curation's AestheticsModel built from it:
// layers.0 Linear 768→1024, layers.2 1024→128, layers.4 128→64, layers.6 64→16, layers.7 16→1,
// no activations (the dropouts at 1, 3, 5 are identities at inference).
//
//   auto model = s2v::clip::make_aesthetics_model("clip_vit_l14.safetensors",
//                                                 "sac+logos+ava1-l14-linearMSE.pth");
//   options.aesthetics = model;  // curation::CurateOptions

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "core/curation/aesthetics.h"
#include "models/clip/clip_vision.h"

namespace s2v::clip {

class AestheticMlpImpl : public torch::nn::Module {
 public:
  explicit AestheticMlpImpl(int64_t input_size = 768);
  torch::Tensor forward(const torch::Tensor& embedding);  // [B, 768] -> [B, 1]
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(AestheticMlp);

// Loads layers.{0,2,4,6,7}.{weight,bias}; one s2v::ValidationError lists every problem.
void load_aesthetic_mlp(AestheticMlpImpl& mlp, const std::shared_ptr<weights::TensorSource>& source);

struct AestheticsOptions {
  int max_frames = 4;  // frames scored per clip, evenly spaced (ViT-L/14 is slow on a CPU)
  int batch = 4;
};

class ClipAesthetics : public curation::AestheticsModel {
 public:
  ClipAesthetics(ClipVision clip, AestheticMlp mlp, AestheticsOptions options = {});
  // The mean MLP score over up to max_frames evenly spaced frames; nullopt without frames.
  std::optional<double> score(const std::vector<cv::Mat>& frames,
                              const CancelToken& cancel = CancelToken::none()) override;
  std::string method() const override;
  // The per-frame scores of the given frames (all of them).
  // `cancel` is checked before each batch.
  std::vector<double> frame_scores(const std::vector<cv::Mat>& frames, const CancelToken& cancel = CancelToken::none());

 private:
  ClipVision clip_;
  AestheticMlp mlp_;
  AestheticsOptions options_;
};

// Builds the aesthetics model from a CLIP checkpoint (visual.* names: an OpenAI-layout state
// dict such as open_clip's ViT-L-14 'openai' .bin, or a safetensors file) and the MLP's .pth or
// safetensors. Throws s2v::Error naming the file and every missing/mis-shaped tensor, or when
// the CLIP output width differs from the MLP's input.
std::shared_ptr<ClipAesthetics> make_aesthetics_model(const std::filesystem::path& clip_weights,
                                                      const std::filesystem::path& mlp_weights,
                                                      AestheticsOptions options = {});

}  // namespace s2v::clip
