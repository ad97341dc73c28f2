#include "models/wan/vae_alloc.h"

#include <atomic>
#include <cstddef>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include "s2v_torch_features.h"

namespace s2v::wan::vae {

namespace {

constexpr size_t kMinBlock = size_t(64) << 10;  // smaller blocks come from malloc's own bins
constexpr size_t kPage = 4096;
constexpr size_t kMaxCached = size_t(2) << 30;  // bounds the memory held beyond a pass's peak

// A c10 CPU allocator whose context is the data pointer (so LibTorch's raw allocate/deallocate,
// which oneDNN's scratch buffers use, works). Every block comes from c10::alloc_cpu, so a block
// freed by LibTorch's default deleter is still freed correctly. Blocks are tracked only while a
// scope is active; an untracked pointer (allocated before or outside a scope, or by the allocator
// that was installed before this one) is freed with c10::free_cpu.
class ReusingCpuAllocator final : public c10::Allocator {
 public:
#if S2V_TORCH_ALLOCATOR_MUTABLE
  c10::DataPtr allocate(size_t n) override { return make(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    std::memcpy(dest, src, count);
  }
#else
  c10::DataPtr allocate(size_t n) const override { return make(n); }
#endif
  c10::DeleterFnPtr raw_deleter() const override { return &ReusingCpuAllocator::release; }

  static c10::DataPtr make(size_t n) {
    void* p = instance().take(n);
    return {p, p, &ReusingCpuAllocator::release, c10::Device(c10::DeviceType::CPU)};
  }

  static ReusingCpuAllocator& instance() {
    static ReusingCpuAllocator a;
    return a;
  }

  void begin() {
    std::lock_guard<std::mutex> lock(mu_);
    ++scopes_;
  }

  void end() {
    std::multimap<size_t, void*> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--scopes_ > 0) return;
      drop.swap(cached_);
      cached_bytes_ = 0;
    }
    for (const auto& [size, p] : drop) c10::free_cpu(p);
  }

 private:
  void* take(size_t n) {
    if (n < kMinBlock || scopes_.load(std::memory_order_relaxed) == 0) return c10::alloc_cpu(n);
    const size_t size = (n + kPage - 1) / kPage * kPage;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = cached_.find(size); it != cached_.end()) {
        void* p = it->second;
        cached_.erase(it);
        cached_bytes_ -= size;
        live_[p] = size;
        live_count_.fetch_add(1, std::memory_order_relaxed);
        return p;
      }
    }
    void* p = c10::alloc_cpu(size);
    std::lock_guard<std::mutex> lock(mu_);
    live_[p] = size;
    live_count_.fetch_add(1, std::memory_order_relaxed);
    return p;
  }

  static void release(void* p) {
    if (p == nullptr) return;
    auto& a = instance();
    // outside every scope, with no tracked block left, a free is a plain free
    if (a.scopes_.load(std::memory_order_relaxed) > 0 || a.live_count_.load(std::memory_order_relaxed) > 0) {
      std::lock_guard<std::mutex> lock(a.mu_);
      if (auto it = a.live_.find(p); it != a.live_.end()) {
        const size_t size = it->second;
        a.live_.erase(it);
        a.live_count_.fetch_sub(1, std::memory_order_relaxed);
        if (a.scopes_ > 0 && a.cached_bytes_ + size <= kMaxCached) {
          a.cached_.emplace(size, p);
          a.cached_bytes_ += size;
          return;
        }
      }
    }
    c10::free_cpu(p);
  }

  std::mutex mu_;
  std::atomic<int> scopes_{0};
  std::atomic<size_t> live_count_{0};        // live_.size(), read without the lock
  std::unordered_map<void*, size_t> live_;   // blocks handed out while a scope was active
  std::multimap<size_t, void*> cached_;      // freed blocks kept for reuse, by size
  size_t cached_bytes_ = 0;
};

// Installed at load time, as c10 installs its default CPU allocator (SetAllocator is not
// thread-safe, so not later); priority 1 outranks the default's 0.
const bool kInstalled = [] {
  c10::SetCPUAllocator(&ReusingCpuAllocator::instance(), /*priority=*/1);
  return true;
}();

}  // namespace

CpuBlockReuse::CpuBlockReuse() { ReusingCpuAllocator::instance().begin(); }
CpuBlockReuse::~CpuBlockReuse() { ReusingCpuAllocator::instance().end(); }

}  // namespace s2v::wan::vae
