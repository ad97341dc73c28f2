#include "core/sampling/dpmpp.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "core/sampling/schedule_math.h"
#include "models/base/error.h"

namespace s2v::sampling {

FlowDPMSolverMultistepScheduler::FlowDPMSolverMultistepScheduler(DpmOptions options)
    : options_(options) {
  if (options_.solver_order < 1 || options_.solver_order > 3)
    throw Error("DPM++ scheduler: solver_order must be 1, 2 or 3", ErrorKind::InvalidArgument);
  model_outputs_.resize(options_.solver_order);
}

void FlowDPMSolverMultistepScheduler::set_timesteps(int steps, double shift) {
  if (steps < 1)
    throw Error("DPM++ scheduler: the number of sampling steps must be at least 1, not " +
                    std::to_string(steps),
                ErrorKind::InvalidArgument);
  // as get_sampling_sigmas: linspace(1, 0, steps + 1)[:steps], shifted
  auto base = detail::linspace(1.0, 0.0, steps + 1);
  base.pop_back();
  for (double& s : base) s = detail::shift_sigma(s, shift);
  set_sigmas(base);
}

void FlowDPMSolverMultistepScheduler::set_sigmas(const std::vector<double>& sigmas) {
  if (sigmas.empty())
    throw Error("DPM++ scheduler: the sigma schedule is empty", ErrorKind::InvalidArgument);
  const int steps = static_cast<int>(sigmas.size());
  sigma_values_.assign(steps + 1, 0.0f);  // final_sigmas_type "zero"
  timestep_values_.assign(steps, 0);
  for (int i = 0; i < steps; ++i) {
    // the construction shift is 1: shift * s / (1 + 0 * s) == s
    timestep_values_[i] = static_cast<int64_t>(sigmas[i] * options_.num_train_timesteps);
    sigma_values_[i] = static_cast<float>(sigmas[i]);
  }
  sigmas_ = torch::tensor(sigma_values_, torch::kFloat32);
  timesteps_ = torch::tensor(timestep_values_, torch::kInt64);
  std::fill(model_outputs_.begin(), model_outputs_.end(), torch::Tensor());
  lower_order_nums_ = 0;
  step_index_ = -1;
}

float FlowDPMSolverMultistepScheduler::lambda(int index) const {
  const float sigma = sigma_values_.at(index);
  return std::log(1.0f - sigma) - std::log(sigma);
}

torch::Tensor FlowDPMSolverMultistepScheduler::step(const torch::Tensor& model_output,
                                                    int64_t timestep,
                                                    const torch::Tensor& sample) {
  if (timestep_values_.empty())
    throw Error("DPM++ scheduler: step() called before set_timesteps()",
                ErrorKind::InvalidArgument);
  if (step_index_ < 0) step_index_ = detail::index_for_timestep(timestep_values_, timestep);
  const int steps = static_cast<int>(timestep_values_.size());
  const int i = step_index_;
  if (i >= steps)
    throw Error("DPM++ scheduler: all " + std::to_string(steps) + " steps were already taken",
                ErrorKind::InvalidArgument);

  // Lower orders at the end for stability (the final sigma is 0, so the last step is Euler).
  const bool lower_final = i == steps - 1;
  const bool lower_second = i == steps - 2 && options_.lower_order_final && steps < 15;

  // as convert_model_output (dpmsolver++, flow_prediction): x0 = x - sigma * v
  const torch::Tensor x0 = sample - model_output * sigma_values_[i];
  std::rotate(model_outputs_.begin(), model_outputs_.begin() + 1, model_outputs_.end());
  model_outputs_.back() = x0;

  const torch::Tensor x = sample.to(torch::kFloat32);
  const int n = static_cast<int>(model_outputs_.size());
  const float sigma_t = sigma_values_[i + 1], sigma_s0 = sigma_values_[i];
  const float alpha_t = 1.0f - sigma_t;
  const float lambda_t = lambda(i + 1), lambda_s0 = lambda(i);
  const float h = lambda_t - lambda_s0;
  const float e = std::exp(-h) - 1.0f;  // exp(-h) - 1
  const torch::Tensor& m0 = model_outputs_[n - 1];

  torch::Tensor prev;
  if (options_.solver_order == 1 || lower_order_nums_ < 1 || lower_final) {
    // as dpm_solver_first_order_update
    prev = x * (sigma_t / sigma_s0) - m0 * (alpha_t * e);
  } else if (options_.solver_order == 2 || lower_order_nums_ < 2 || lower_second) {
    // as multistep_dpm_solver_second_order_update
    const torch::Tensor& m1 = model_outputs_[n - 2];
    const float h_0 = lambda_s0 - lambda(i - 1);
    const float r0 = h_0 / h;
    const torch::Tensor d1 = (m0 - m1) * (1.0f / r0);
    if (!options_.heun)
      prev = x * (sigma_t / sigma_s0) - m0 * (alpha_t * e) - d1 * (0.5f * (alpha_t * e));
    else
      prev = x * (sigma_t / sigma_s0) - m0 * (alpha_t * e) + d1 * (alpha_t * (e / h + 1.0f));
  } else {
    // as multistep_dpm_solver_third_order_update
    const torch::Tensor& m1 = model_outputs_[n - 2];
    const torch::Tensor& m2 = model_outputs_[n - 3];
    const float lambda_s1 = lambda(i - 1), lambda_s2 = lambda(i - 2);
    const float r0 = (lambda_s0 - lambda_s1) / h, r1 = (lambda_s1 - lambda_s2) / h;
    const torch::Tensor d1_0 = (m0 - m1) * (1.0f / r0), d1_1 = (m1 - m2) * (1.0f / r1);
    const torch::Tensor d1 = d1_0 + (d1_0 - d1_1) * (r0 / (r0 + r1));
    const torch::Tensor d2 = (d1_0 - d1_1) * (1.0f / (r0 + r1));
    prev = x * (sigma_t / sigma_s0) - m0 * (alpha_t * e) + d1 * (alpha_t * (e / h + 1.0f)) -
           d2 * (alpha_t * ((e + h) / (h * h) - 0.5f));
  }
  if (lower_order_nums_ < options_.solver_order) ++lower_order_nums_;
  ++step_index_;
  return prev.to(model_output.scalar_type());
}

}  // namespace s2v::sampling
