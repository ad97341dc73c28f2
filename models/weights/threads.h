#pragma once
// LibTorch's intra-op threads for the calling thread. Debian's LibTorch (OpenMP) starts every
// thread with one intra-op thread when it counts one physical core, and OpenMP keeps the count per
// thread, so a job worker (a std::thread) would run every convolution on one core of a 2-vCPU
// machine. Each torch-heavy job calls this on its own thread first. No LibTorch in this header.

namespace s2v {

// Sets the calling thread's intra-op threads to $S2V_THREADS when set, else to
// std::thread::hardware_concurrency(); returns the count in effect.
int use_all_cores_for_torch();

}  // namespace s2v
