#pragma once
// Checkpoints the curate-job suites write for the paper's networks: random weights under the
// official names, at sizes a CPU test runs.

#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "models/unimatch/unimatch.h"
#include "models/weights/safetensors.h"

namespace s2v::test {

// A module's parameters and buffers as a safetensors checkpoint (the names are the official ones).
inline void save_module(torch::nn::Module& m, const std::string& file) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (auto& p : m.named_parameters(true)) state.emplace_back(p.key(), p.value().detach().clone());
  for (auto& b : m.named_buffers(true)) state.emplace_back(b.key(), b.value().detach().clone());
  weights::save_safetensors(file, state);
}

// A small UniMatch (32 feature channels, one transformer layer, no refinement) with random
// weights, written as its checkpoint would be.
inline void write_small_unimatch(const std::string& file) {
  unimatch::UniMatchConfig small;
  small.feature_channels = 32;
  small.num_transformer_layers = 1;
  small.ffn_dim_expansion = 2;
  small.reg_refine = false;
  unimatch::UniMatch flow(small);
  save_module(*flow, file);
}

}  // namespace s2v::test
