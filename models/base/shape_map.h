#pragma once
// Tensor name -> shape (row-major, PyTorch order): what a checkpoint's header tells before any
// data is read. Configuration inference and component detection work from this alone.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s2v {

using ShapeMap = std::map<std::string, std::vector<int64_t>>;

// The number of elements of a shape (1 for a scalar).
inline int64_t shape_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace s2v
