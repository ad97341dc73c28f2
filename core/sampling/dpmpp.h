#pragma once
// FlowDPMSolverMultistepScheduler of wan/utils/fm_solvers.py as speech2video.py constructs it:
// algorithm "dpmsolver++" (data prediction x0 = x - sigma * v), solver_order 2, "midpoint"
// second-order update, lower_order_final, final sigma 0 (so the last step is first order). The
// planned sigmas come from get_sampling_sigmas(steps, shift) passed through retrieve_timesteps.

#include <vector>

#include "core/sampling/scheduler.h"

namespace s2v::sampling {

struct DpmOptions {
  int num_train_timesteps = 1000;
  int solver_order = 2;           // 1, 2 or 3
  bool heun = false;              // solver_type "heun" instead of "midpoint"
  bool lower_order_final = true;
  bool euler_at_final = false;
};

class FlowDPMSolverMultistepScheduler final : public Scheduler {
 public:
  explicit FlowDPMSolverMultistepScheduler(DpmOptions options = {});

  // As get_sampling_sigmas(steps, shift) + retrieve_timesteps(scheduler, sigmas=...): sigmas
  // linspace(1, 0, steps + 1)[:steps], shifted; the scheduler's own shift (1) changes nothing.
  void set_timesteps(int steps, double shift) override;
  // As set_timesteps(sigmas=...): an explicit schedule in [0, 1], largest first (no shift).
  void set_sigmas(const std::vector<double>& sigmas);

  const torch::Tensor& timesteps() const override { return timesteps_; }
  const torch::Tensor& sigmas() const override { return sigmas_; }
  torch::Tensor step(const torch::Tensor& model_output, int64_t timestep,
                     const torch::Tensor& sample) override;
  int step_index() const override { return step_index_ < 0 ? 0 : step_index_; }
  std::string name() const override { return "dpm++"; }

 private:
  float lambda(int index) const;

  DpmOptions options_;
  torch::Tensor timesteps_, sigmas_;
  std::vector<float> sigma_values_;
  std::vector<int64_t> timestep_values_;
  std::vector<torch::Tensor> model_outputs_;  // the last solver_order x0 predictions, oldest first
  int lower_order_nums_ = 0;
  int step_index_ = -1;
};

}  // namespace s2v::sampling
