#pragma once
// LibTorch's intra-op threads for the calling thread, from $S2V_THREADS. OpenMP keeps the count
// per thread, so each torch-heavy job applies the setting on its own worker thread. Unset, the
// count stays LibTorch's own default (its count of physical cores): on the 2-vCPU build machine
// one thread renders the demo model faster than two (46 s vs 67 s at --size 128*128,
// docs/performance.md), so more threads are opt-in. No LibTorch in this header.

namespace s2v {

// Sets the calling thread's intra-op threads to $S2V_THREADS when it is a positive number;
// returns the count in effect.
int apply_torch_threads_setting();

}  // namespace s2v
