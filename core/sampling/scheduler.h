#pragma once
// The common interface of the flow-matching samplers used by Wan2.2-S2V (UniPC, the default, and
// DPM-Solver++). Flow matching: x_t = t*noise + (1-t)*x0 and the model predicts (noise - x0).
//
// Use:
//   auto sched = s2v::sampling::make_scheduler(SolverKind::UniPC);
//   sched->set_timesteps(40, 3.0);
//   for (int64_t t : sched->timestep_values()) latent = sched->step(model(latent, t), t, latent);

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace s2v::sampling {

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // Plans `steps` denoising steps with the time shift `shift` (3 for 480p, 5 otherwise) and resets
  // the multistep history. As speech2video.py sets up its scheduler for the chosen solver.
  virtual void set_timesteps(int steps, double shift) = 0;

  // The integer timesteps the model receives, [steps] int64.
  virtual const torch::Tensor& timesteps() const = 0;
  // The noise levels, [steps + 1] float32, ending with 0.
  virtual const torch::Tensor& sigmas() const = 0;
  std::vector<int64_t> timestep_values() const;

  // One denoising step: the model output (flow prediction) at `timestep` for `sample` -> the sample
  // at the next (lower) noise level. Steps must be taken in order; the first call locates
  // `timestep` in timesteps() the way diffusers does (the second match if it occurs twice).
  // model_output, sample: [B, C, T, H, W] (any shape, same for both)
  virtual torch::Tensor step(const torch::Tensor& model_output, int64_t timestep,
                             const torch::Tensor& sample) = 0;

  // Index of the next step (0 before the first step).
  virtual int step_index() const = 0;
  virtual std::string name() const = 0;
};

enum class SolverKind { UniPC, DpmPP };

// Parses the official --sample_solver values "unipc" and "dpm++"; throws s2v::Error otherwise.
SolverKind parse_solver(const std::string& name);

// A scheduler constructed as speech2video.py does (num_train_timesteps 1000, shift 1 at
// construction, no dynamic shifting).
std::unique_ptr<Scheduler> make_scheduler(SolverKind kind, int num_train_timesteps = 1000);

}  // namespace s2v::sampling
