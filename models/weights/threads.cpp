#include "models/weights/threads.h"

#include <cstdlib>

#include <ATen/Parallel.h>

namespace s2v {

int apply_torch_threads_setting() {
  if (const char* env = std::getenv("S2V_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0 && at::get_num_threads() != n) at::set_num_threads(n);
  }
  return at::get_num_threads();
}

}  // namespace s2v
