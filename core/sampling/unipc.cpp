#include "core/sampling/unipc.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "core/sampling/schedule_math.h"
#include "models/base/error.h"

namespace s2v::sampling {

namespace {

// The weighted sum sum_k w[k] * d[k] (as the einsum "k,bkc...->bc..." of the reference).
torch::Tensor weighted_sum(const std::vector<double>& w, const std::vector<torch::Tensor>& d) {
  torch::Tensor acc = d[0] * w[0];
  for (size_t k = 1; k < d.size(); ++k) acc = acc + d[k] * w[k];
  return acc;
}

// The coefficient system of the B(h) updates: rows R[i] = rks^i, b[i] = h_phi_(i+1) * i! / B_h,
// as the loop "for i in range(1, order + 1)" in multistep_uni_{p,c}_bh_update.
void bh_system(const std::vector<float>& rks, float hh, float h_phi_1, float b_h, int order,
               std::vector<double>& r, std::vector<double>& b) {
  const int n = static_cast<int>(rks.size());
  r.assign(static_cast<size_t>(order) * n, 0.0);
  b.assign(order, 0.0);
  float h_phi_k = h_phi_1 / hh - 1.0f;
  float factorial = 1.0f;
  for (int i = 1; i <= order; ++i) {
    for (int k = 0; k < n; ++k) r[(i - 1) * n + k] = std::pow(rks[k], static_cast<float>(i - 1));
    b[i - 1] = h_phi_k * factorial / b_h;
    factorial *= static_cast<float>(i + 1);
    h_phi_k = h_phi_k / hh - 1.0f / factorial;
  }
}

}  // namespace

FlowUniPCMultistepScheduler::FlowUniPCMultistepScheduler(UniPCOptions options)
    : options_(std::move(options)) {
  if (options_.solver_order < 1)
    throw Error("UniPC scheduler: solver_order must be at least 1", ErrorKind::InvalidArgument);
  std::tie(sigma_max_, sigma_min_) =
      detail::train_sigma_range(options_.num_train_timesteps, options_.shift);
  model_outputs_.resize(options_.solver_order);
}

void FlowUniPCMultistepScheduler::set_timesteps(int steps, double shift) {
  if (steps < 1)
    throw Error("UniPC scheduler: the number of sampling steps must be at least 1, not " +
                    std::to_string(steps),
                ErrorKind::InvalidArgument);
  // sigmas = linspace(sigma_max, sigma_min, steps + 1)[:-1], shifted, in float64
  auto base = detail::linspace(sigma_max_, sigma_min_, steps + 1);
  sigma_values_.assign(steps + 1, 0.0f);  // final_sigmas_type "zero"
  timestep_values_.assign(steps, 0);
  for (int i = 0; i < steps; ++i) {
    const double s = detail::shift_sigma(base[i], shift);
    timestep_values_[i] = static_cast<int64_t>(s * options_.num_train_timesteps);
    sigma_values_[i] = static_cast<float>(s);
  }
  sigmas_ = torch::tensor(sigma_values_, torch::kFloat32);
  timesteps_ = torch::tensor(timestep_values_, torch::kInt64);
  std::fill(model_outputs_.begin(), model_outputs_.end(), torch::Tensor());
  last_sample_ = torch::Tensor();
  lower_order_nums_ = 0;
  this_order_ = 1;
  step_index_ = -1;
}

float FlowUniPCMultistepScheduler::lambda(int index) const {
  // alpha = 1 - sigma; lambda = log(alpha) - log(sigma)
  const float sigma = sigma_values_.at(index);
  return std::log(1.0f - sigma) - std::log(sigma);
}

torch::Tensor FlowUniPCMultistepScheduler::convert(const torch::Tensor& model_output,
                                                   const torch::Tensor& sample) const {
  const float sigma = sigma_values_[step_index_];
  if (options_.predict_x0) return sample - model_output * sigma;  // x0 = x - sigma * v
  return sample + model_output * (1.0f - sigma);                   // epsilon, as the reference
}

torch::Tensor FlowUniPCMultistepScheduler::predictor(const torch::Tensor& x, int order) const {
  const int i = step_index_;
  const float sigma_t = sigma_values_[i + 1], sigma_s0 = sigma_values_[i];
  const float alpha_t = 1.0f - sigma_t, alpha_s0 = 1.0f - sigma_s0;
  const float lambda_s0 = lambda(i);
  const float h = lambda(i + 1) - lambda_s0;
  const int n = static_cast<int>(model_outputs_.size());
  const torch::Tensor& m0 = model_outputs_[n - 1];

  std::vector<float> rks;
  std::vector<torch::Tensor> d1s;
  for (int k = 1; k < order; ++k) {
    const float rk = (lambda(i - k) - lambda_s0) / h;
    rks.push_back(rk);
    d1s.push_back((model_outputs_[n - 1 - k] - m0) / rk);
  }
  rks.push_back(1.0f);

  const float hh = options_.predict_x0 ? -h : h;
  const float h_phi_1 = std::expm1(hh);
  const float b_h = options_.bh1 ? hh : std::expm1(hh);

  torch::Tensor pred_res;
  if (!d1s.empty()) {
    std::vector<double> rhos;
    if (order == 2) {
      rhos = {0.5};
    } else {
      std::vector<double> r, b;
      bh_system(rks, hh, h_phi_1, b_h, order, r, b);
      // R[:-1, :-1], b[:-1]
      const int m = order - 1, cols = static_cast<int>(rks.size());
      std::vector<double> r_sub(static_cast<size_t>(m) * m);
      for (int a = 0; a < m; ++a)
        for (int c = 0; c < m; ++c) r_sub[a * m + c] = r[a * cols + c];
      b.resize(m);
      rhos = detail::solve(r_sub, b);
    }
    pred_res = weighted_sum(rhos, d1s);
  }

  torch::Tensor x_t;
  if (options_.predict_x0) {
    x_t = x * (sigma_t / sigma_s0) - m0 * (alpha_t * h_phi_1);
    if (pred_res.defined()) x_t = x_t - pred_res * (alpha_t * b_h);
  } else {
    x_t = x * (alpha_t / alpha_s0) - m0 * (sigma_t * h_phi_1);
    if (pred_res.defined()) x_t = x_t - pred_res * (sigma_t * b_h);
  }
  return x_t.to(x.scalar_type());
}

torch::Tensor FlowUniPCMultistepScheduler::corrector(const torch::Tensor& model_t,
                                                     const torch::Tensor& x, int order) const {
  const int i = step_index_;
  const float sigma_t = sigma_values_[i], sigma_s0 = sigma_values_[i - 1];
  const float alpha_t = 1.0f - sigma_t, alpha_s0 = 1.0f - sigma_s0;
  const float lambda_s0 = lambda(i - 1);
  const float h = lambda(i) - lambda_s0;
  const int n = static_cast<int>(model_outputs_.size());
  const torch::Tensor& m0 = model_outputs_[n - 1];

  std::vector<float> rks;
  std::vector<torch::Tensor> d1s;
  for (int k = 1; k < order; ++k) {
    const float rk = (lambda(i - (k + 1)) - lambda_s0) / h;
    rks.push_back(rk);
    d1s.push_back((model_outputs_[n - 1 - k] - m0) / rk);
  }
  rks.push_back(1.0f);

  const float hh = options_.predict_x0 ? -h : h;
  const float h_phi_1 = std::expm1(hh);
  const float b_h = options_.bh1 ? hh : std::expm1(hh);

  std::vector<double> rhos;
  if (order == 1) {
    rhos = {0.5};
  } else {
    std::vector<double> r, b;
    bh_system(rks, hh, h_phi_1, b_h, order, r, b);
    rhos = detail::solve(r, b);
  }
  const torch::Tensor d1_t = model_t - m0;
  torch::Tensor res = d1_t * rhos.back();
  if (!d1s.empty()) res = weighted_sum(std::vector<double>(rhos.begin(), rhos.end() - 1), d1s) + res;

  torch::Tensor x_t;
  if (options_.predict_x0)
    x_t = x * (sigma_t / sigma_s0) - m0 * (alpha_t * h_phi_1) - res * (alpha_t * b_h);
  else
    x_t = x * (alpha_t / alpha_s0) - m0 * (sigma_t * h_phi_1) - res * (sigma_t * b_h);
  return x_t.to(x.scalar_type());
}

torch::Tensor FlowUniPCMultistepScheduler::step(const torch::Tensor& model_output,
                                                int64_t timestep, const torch::Tensor& sample) {
  if (timestep_values_.empty())
    throw Error("UniPC scheduler: step() called before set_timesteps()",
                ErrorKind::InvalidArgument);
  if (step_index_ < 0) step_index_ = detail::index_for_timestep(timestep_values_, timestep);
  const int steps = static_cast<int>(timestep_values_.size());
  if (step_index_ >= steps)
    throw Error("UniPC scheduler: all " + std::to_string(steps) + " steps were already taken",
                ErrorKind::InvalidArgument);

  const bool use_corrector = step_index_ > 0 &&
                             options_.disable_corrector.count(step_index_ - 1) == 0 &&
                             last_sample_.defined();
  const torch::Tensor converted = convert(model_output, sample);
  torch::Tensor x = sample;
  if (use_corrector) x = corrector(converted, last_sample_, this_order_);

  std::rotate(model_outputs_.begin(), model_outputs_.begin() + 1, model_outputs_.end());
  model_outputs_.back() = converted;

  int order = options_.solver_order;
  if (options_.lower_order_final) order = std::min(order, steps - step_index_);
  this_order_ = std::min(order, lower_order_nums_ + 1);  // warm-up of the multistep history

  last_sample_ = x;
  torch::Tensor prev = predictor(x, this_order_);
  if (lower_order_nums_ < options_.solver_order) ++lower_order_nums_;
  ++step_index_;
  return prev;
}

}  // namespace s2v::sampling
