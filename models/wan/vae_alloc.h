#pragma once
// Reuse of freed CPU memory while a VAE pass runs.
//
// A chunked causal VAE pass allocates and frees the same few large activations (a chunk's input
// with its cached frames, oneDNN's blocked copies, the convolution outputs) thousands of times.
// glibc returns such blocks to the kernel (mmap above 32 MiB, heap trimming below) and every new
// one is faulted in again page by page: on the 2-vCPU build machine that more than doubled the
// demo model's 256x256 clip decode (23.6 CPU seconds, against 10.8 with the blocks kept;
// bench_vae, docs/performance.md).
//
// While at least one CpuBlockReuse lives, CPU blocks of 64 KiB or more that LibTorch frees are
// kept (up to 2 GiB) and handed out again for the same size; when the last one goes, they are
// freed. Outside such a scope LibTorch's CPU allocation is unchanged: the allocator behind it is
// installed when the program loads (as LibTorch installs its own) and passes every request to
// LibTorch's default allocation. No LibTorch in this header.

namespace s2v::wan::vae {

class CpuBlockReuse {
 public:
  CpuBlockReuse();
  ~CpuBlockReuse();
  CpuBlockReuse(const CpuBlockReuse&) = delete;
  CpuBlockReuse& operator=(const CpuBlockReuse&) = delete;
};

}  // namespace s2v::wan::vae
