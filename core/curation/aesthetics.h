#pragma once
// Aesthetics: CLIP ViT-L/14 image tower (224×224, CLIP mean/std) → L2-normalised 768-d embedding
// → improved-aesthetic-predictor MLP (layers.0: 768→1024, layers.2: 1024→128, layers.4: 128→64,
// layers.6: 64→16, layers.7: 16→1, no activations). No fallback: n/a without weights.
// The network lives in models/; curation sees it only through this interface (no LibTorch here).

#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "models/base/cancel.h"

namespace s2v::curation {

class AestheticsModel {
 public:
  virtual ~AestheticsModel() = default;
  // frames: BGR CV_8UC3 sampled frames. Returns the clip score (≈ 1–10), e.g. the mean over
  // frames, or nullopt when the model cannot score them. `cancel` is checked between frames.
  virtual std::optional<double> score(const std::vector<cv::Mat>& frames,
                                      const CancelToken& cancel = CancelToken::none()) = 0;
  // e.g. "CLIP ViT-L/14 + improved-aesthetic-predictor MLP (sac+logos+ava1-l14-linearMSE)".
  virtual std::string method() const = 0;
};

inline constexpr const char* kAestheticsMethod = "CLIP ViT-L/14 + aesthetic MLP";
inline constexpr const char* kAestheticsNoWeights =
    "no CLIP ViT-L/14 and aesthetic-MLP weights are loaded (no fallback exists)";

}  // namespace s2v::curation
