# What the LibTorch found offers beyond Debian's 1.13, tested by compiling a snippet against it (a
# version number says too little: these APIs moved between 2.x releases). The answers go to the
# generated header s2v_torch_features.h, so a misspelt or moved API disables one feature instead of
# breaking the build on a machine nobody can debug on for long (a lent GPU).
#   S2V_TORCH_SDP_BACKENDS  at::globalContext().setSDPUseFlash / MemEfficient / Math (2.0+)
#   S2V_TORCH_SDP_CUDNN     at::globalContext().setSDPUseCuDNN (2.4+)
#   S2V_TORCH_CUDA_MEMSTATS c10::cuda::CUDACachingAllocator::getDeviceStats / resetPeakStats
#                           (a CUDA LibTorch with the CUDA toolkit headers)
#   S2V_TORCH_ALLOCATOR_MUTABLE c10::Allocator with a non-const allocate() and a pure copy_data()
#                           (2.3+; 1.13 has allocate() const and no copy_data)
function(s2v_torch_check var snippet)
  if(DEFINED CACHE{${var}})
    return()
  endif()
  set(src ${CMAKE_BINARY_DIR}/torch_checks/${var}.cpp)
  file(WRITE ${src} "${snippet}\n")
  set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)  # compile only: no GPU driver needed to link
  # Include directories, not LINK_LIBRARIES: try_compile re-exports linked imported targets into its
  # own project, and PyTorch 2.11's torch_cpu names protobuf::libprotobuf in its link interface, a
  # target defined only in the scope of find_package(Torch) (the configure failed on the H200 so).
  set(includes "")
  foreach(dir IN LISTS TORCH_INCLUDE_DIRS CUDAToolkit_INCLUDE_DIRS)
    list(APPEND includes "-I${dir}")
  endforeach()
  try_compile(ok ${CMAKE_BINARY_DIR}/torch_checks/${var}
    SOURCES ${src}
    COMPILE_DEFINITIONS ${S2V_TORCH_CXX_FLAGS} ${includes}
    CXX_STANDARD 20
    OUTPUT_VARIABLE log)
  if(ok)
    message(STATUS "LibTorch feature ${var}: yes")
  else()
    message(STATUS "LibTorch feature ${var}: no")
    file(WRITE ${CMAKE_BINARY_DIR}/torch_checks/${var}.log "${log}")
  endif()
  set(${var} ${ok} CACHE INTERNAL "LibTorch offers ${var}")
endfunction()

s2v_torch_check(S2V_TORCH_SDP_BACKENDS [=[
#include <ATen/Context.h>
void f() {
  auto& c = at::globalContext();
  c.setSDPUseFlash(c.userEnabledFlashSDP());
  c.setSDPUseMemEfficient(c.userEnabledMemEfficientSDP());
  c.setSDPUseMath(c.userEnabledMathSDP());
}]=])
s2v_torch_check(S2V_TORCH_SDP_CUDNN [=[
#include <ATen/Context.h>
void f() { auto& c = at::globalContext(); c.setSDPUseCuDNN(c.userEnabledCuDNNSDP()); }]=])
s2v_torch_check(S2V_TORCH_CUDA_MEMSTATS [=[
#include <c10/cuda/CUDACachingAllocator.h>
long long f() {
  c10::cuda::CUDACachingAllocator::resetPeakStats(0);
  const auto s = c10::cuda::CUDACachingAllocator::getDeviceStats(0);
  return static_cast<long long>(s.allocated_bytes[0].peak + s.reserved_bytes[0].peak);
}]=])

s2v_torch_check(S2V_TORCH_ALLOCATOR_MUTABLE [=[
#include <cstring>
#include <c10/core/Allocator.h>
struct A final : c10::Allocator {
  c10::DataPtr allocate(size_t) override { return {}; }
  void copy_data(void* d, const void* s, std::size_t n) const override { std::memcpy(d, s, n); }
};
void f() { A a; (void)a.allocate(1); }]=])

configure_file(${CMAKE_CURRENT_LIST_DIR}/torch_features.h.in
               ${PROJECT_BINARY_DIR}/generated/s2v_torch_features.h)
