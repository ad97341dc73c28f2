#pragma once
// FlowUniPCMultistepScheduler of wan/utils/fm_solvers_unipc.py: UniPC (predictor UniP + corrector
// UniC, B(h) = expm1(h) "bh2") on the data prediction x0 = x - sigma * v, for flow matching.
// The official defaults: solver_order 2, predict_x0, lower_order_final, no disabled corrector
// steps, final sigma 0, no thresholding.

#include <set>
#include <vector>

#include "core/sampling/scheduler.h"

namespace s2v::sampling {

struct UniPCOptions {
  int num_train_timesteps = 1000;
  int solver_order = 2;
  double shift = 1.0;             // construction shift (speech2video.py passes 1)
  bool predict_x0 = true;         // false: update on the noise prediction instead
  bool bh1 = false;               // solver_type "bh1" (B(h) = h); default "bh2"
  bool lower_order_final = true;
  std::set<int> disable_corrector;
};

class FlowUniPCMultistepScheduler final : public Scheduler {
 public:
  explicit FlowUniPCMultistepScheduler(UniPCOptions options = {});

  // As set_timesteps(num_inference_steps, shift=shift): sigmas spaced linearly from the training
  // schedule's sigma_max to 0 (exclusive), then shifted.
  void set_timesteps(int steps, double shift) override;
  const torch::Tensor& timesteps() const override { return timesteps_; }
  const torch::Tensor& sigmas() const override { return sigmas_; }
  torch::Tensor step(const torch::Tensor& model_output, int64_t timestep,
                     const torch::Tensor& sample) override;
  int step_index() const override { return step_index_ < 0 ? 0 : step_index_; }
  std::string name() const override { return "unipc"; }

  const UniPCOptions& options() const { return options_; }

 private:
  // as convert_model_output: flow prediction -> x0 (or epsilon)
  torch::Tensor convert(const torch::Tensor& model_output, const torch::Tensor& sample) const;
  // as multistep_uni_p_bh_update
  torch::Tensor predictor(const torch::Tensor& sample, int order) const;
  // as multistep_uni_c_bh_update
  torch::Tensor corrector(const torch::Tensor& this_model_output, const torch::Tensor& last_sample,
                          int order) const;
  float lambda(int index) const;

  UniPCOptions options_;
  float sigma_max_ = 1.f, sigma_min_ = 0.f;
  torch::Tensor timesteps_, sigmas_;
  std::vector<float> sigma_values_;
  std::vector<int64_t> timestep_values_;
  std::vector<torch::Tensor> model_outputs_;  // the last solver_order converted outputs, oldest first
  torch::Tensor last_sample_;
  int lower_order_nums_ = 0;
  int this_order_ = 1;
  int step_index_ = -1;
};

}  // namespace s2v::sampling
