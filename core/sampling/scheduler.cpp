#include "core/sampling/scheduler.h"

#include <cmath>

#include <torch/torch.h>

#include "core/sampling/dpmpp.h"
#include "core/sampling/schedule_math.h"
#include "core/sampling/unipc.h"
#include "models/base/error.h"

namespace s2v::sampling {

std::vector<int64_t> Scheduler::timestep_values() const {
  const auto t = timesteps().to(torch::kInt64).contiguous();
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

SolverKind parse_solver(const std::string& name) {
  if (name == "unipc") return SolverKind::UniPC;
  if (name == "dpm++" || name == "dpmpp") return SolverKind::DpmPP;
  throw Error("unknown sample solver '" + name + "': expected 'unipc' or 'dpm++'",
              ErrorKind::InvalidArgument, name);
}

std::unique_ptr<Scheduler> make_scheduler(SolverKind kind, int num_train_timesteps) {
  if (kind == SolverKind::UniPC) {
    UniPCOptions o;
    o.num_train_timesteps = num_train_timesteps;
    return std::make_unique<FlowUniPCMultistepScheduler>(o);
  }
  DpmOptions o;
  o.num_train_timesteps = num_train_timesteps;
  return std::make_unique<FlowDPMSolverMultistepScheduler>(o);
}

namespace detail {

std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> out(std::max(num, 0));
  if (num <= 0) return out;
  if (num == 1) {
    out[0] = start;
    return out;
  }
  // numpy: y = arange(num) * ((stop - start) / (num - 1)) + start; y[-1] = stop
  const double step = (stop - start) / static_cast<double>(num - 1);
  for (int i = 0; i < num; ++i) out[i] = static_cast<double>(i) * step + start;
  out[num - 1] = stop;
  return out;
}

std::pair<float, float> train_sigma_range(int num_train_timesteps, double shift) {
  const int n = num_train_timesteps;
  const auto alphas = linspace(1.0, 1.0 / n, n);  // reversed below: alphas[n-1] comes first
  const float s = static_cast<float>(shift);
  auto shifted = [&](double alpha) {
    const float sigma = static_cast<float>(1.0 - alpha);
    return s * sigma / (1.0f + (s - 1.0f) * sigma);
  };
  return {shifted(alphas[n - 1]), shifted(alphas[0])};
}

int index_for_timestep(const std::vector<int64_t>& timesteps, int64_t timestep) {
  std::vector<int> hits;
  for (size_t i = 0; i < timesteps.size(); ++i)
    if (timesteps[i] == timestep) hits.push_back(static_cast<int>(i));
  if (hits.empty())
    throw Error("scheduler step: timestep " + std::to_string(timestep) +
                    " is not one of the planned timesteps (call set_timesteps first)",
                ErrorKind::InvalidArgument);
  return hits.size() > 1 ? hits[1] : hits[0];
}

std::vector<double> solve(std::vector<double> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r * n + c]) > std::abs(a[p * n + c])) p = r;
    if (p != c) {
      for (size_t k = 0; k < n; ++k) std::swap(a[c * n + k], a[p * n + k]);
      std::swap(b[c], b[p]);
    }
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r * n + c] / a[c * n + c];
      for (size_t k = c; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double acc = b[i];
    for (size_t k = i + 1; k < n; ++k) acc -= a[i * n + k] * x[k];
    x[i] = acc / a[i * n + i];
  }
  return x;
}

}  // namespace detail
}  // namespace s2v::sampling
