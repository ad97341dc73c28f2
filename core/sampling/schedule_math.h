#pragma once
// Helpers shared by the flow-matching schedulers (internal to s2v_sampling).

#include <cstdint>
#include <utility>
#include <vector>

namespace s2v::sampling::detail {

// numpy.linspace(start, stop, num) in float64, endpoint included (the last value is exactly stop).
std::vector<double> linspace(double start, double stop, int num);

// shift * s / (1 + (shift - 1) * s), the flow-matching time shift.
inline double shift_sigma(double s, double shift) { return shift * s / (1.0 + (shift - 1.0) * s); }

// (sigma_max, sigma_min) of the training schedule as the schedulers' constructors compute it:
// sigmas = 1 - reversed(linspace(1, 1/N, N)) in float32, shifted by `shift` in float32.
std::pair<float, float> train_sigma_range(int num_train_timesteps, double shift);

// As index_for_timestep: the position of `timestep` in `timesteps`, the second one when it occurs
// more than once; throws s2v::Error when it does not occur.
int index_for_timestep(const std::vector<int64_t>& timesteps, int64_t timestep);

// Solves the small dense system A x = b (row-major n x n) by Gaussian elimination with pivoting.
std::vector<double> solve(std::vector<double> a, std::vector<double> b);

}  // namespace s2v::sampling::detail
