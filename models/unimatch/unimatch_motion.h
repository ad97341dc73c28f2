#pragma once
// UniMatch as curation's MotionModel (CURATION.md "Motion"): the flow of consecutive sampled
// frames (i-1, i) at 320×576 as Open-Sora's motion scoring computes it (RGB 0..255, a portrait
// frame transposed, bilinear resize with align_corners), mean |flow| per pair divided by the input
// diagonal ×1000 (the unit of the DIS fallback). Open-Sora's raw score is the mean |flow| itself
// (value × 0.659), but over 10 frames 15 source frames apart (0.5 s at 30 fps) where ours pairs
// frames 1/4 s apart, so its flows are about twice ours for the same motion.
//
//   auto motion = s2v::unimatch::make_motion_model("gmflow-scale2-regrefine6-mixdata-train320x576-4e7b215d.pth");
//   options.motion = motion;  // curation::CurateOptions

#include <filesystem>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "core/curation/network_models.h"
#include "models/unimatch/unimatch.h"

namespace s2v::unimatch {

struct UniMatchMotionOptions {
  int max_pairs = 8;       // pairs run per clip, evenly chosen; the others are NaN in the series
  int input_h = 320;       // network input (Open-Sora: 320×576, landscape; portrait is transposed)
  int input_w = 576;
  int num_reg_refine = 0;  // 0: the default of the config (6 with refinement)
  int pairs_per_batch = 1; // pairs per forward pass (memory grows linearly)
};

class UniMatchMotion : public curation::MotionModel {
 public:
  UniMatchMotion(UniMatch model, UniMatchMotionOptions options = {});

  // `cancel` is checked before each batch of pairs (one pair with the default pairs_per_batch),
  // so a cancel waits for one frame pair at most.
  curation::MotionMetrics score(const curation::ClipFrames& clip,
                                const CancelToken& cancel = CancelToken::none()) override;
  std::string method() const override;

  // A BGR CV_8UC3 frame as the network input: [3, input_h, input_w] RGB 0..255 float, transposed
  // first when it is portrait (as Open-Sora's VideoTextDataset).
  torch::Tensor to_input(const cv::Mat& bgr) const;
  // Flow [B, 2, input_h, input_w] of batches of inputs [B, 3, input_h, input_w].
  torch::Tensor flow(const torch::Tensor& img0, const torch::Tensor& img1);
  // mean |flow| / sqrt(input_h² + input_w²) × 1000 of one flow [2, H, W].
  double normalised_magnitude(const torch::Tensor& flow) const;
  // Indices i (pair (i-1, i)) of the pairs run for n sampled frames: all when n - 1 <= max_pairs,
  // else max_pairs spread evenly over 1..n-1.
  static std::vector<int> chosen_pairs(int n, int max_pairs);

  UniMatch model() const { return model_; }  // shares the module
  const UniMatchRun& run() const { return run_; }

 private:
  UniMatch model_;
  UniMatchMotionOptions options_;
  UniMatchRun run_;
};

// Builds the motion model from a checkpoint: the official .pth ({'model': state_dict}) or a
// safetensors file with the official names (any prefix unimatch_view reads), the configuration
// inferred from the tensor shapes. Throws s2v::Error naming the file and every missing or
// mis-shaped tensor.
std::shared_ptr<UniMatchMotion> make_motion_model(const std::filesystem::path& weights,
                                                  UniMatchMotionOptions options = {});

}  // namespace s2v::unimatch
