#include "models/weights/threads.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <ATen/Parallel.h>

namespace s2v {

int use_all_cores_for_torch() {
  int n = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("S2V_THREADS")) {
    const int v = std::atoi(env);
    if (v > 0) n = v;
  }
  n = std::max(1, n);
  if (at::get_num_threads() != n) at::set_num_threads(n);
  return at::get_num_threads();
}

}  // namespace s2v
