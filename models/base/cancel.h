#pragma once
// CancelToken: the one cooperative stop signal of the engine. A job owns one (core/jobs); every
// long stage it calls takes it by const reference and checks it between units of work it can
// abandon without harm — a denoising step, a VAE chunk, an encoder layer, a tensor while loading,
// a decoded frame, a frame pair of an optical-flow network — and throws s2v::Cancelled.
//
// A token is requested by request() in this process, by a cancel file another process creates
// (`s2v jobs cancel ID`), or through its parent: a child token stops on its own request (a helper
// thread that must end because its owner failed) and whenever its parent does.
// Thread-safe: any thread may poll or request. No Qt, no LibTorch.

#include <atomic>
#include <cstdint>
#include <filesystem>

namespace s2v {

class CancelToken {
 public:
  CancelToken() = default;
  // Also requested once `cancel_file` exists (polled at most every 100 ms).
  explicit CancelToken(std::filesystem::path cancel_file);
  // Requested when this token or `parent` is; parent must outlive this token.
  explicit CancelToken(const CancelToken* parent);
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // A token that is never requested: the default argument of every stage that takes one.
  static const CancelToken& none();

  void request() { flag_ = true; }
  bool requested() const;
  void throw_if_requested() const;  // throws s2v::Cancelled

 private:
  mutable std::atomic<bool> flag_{false};  // set by request() or by a seen cancel file
  const CancelToken* parent_ = nullptr;
  std::filesystem::path cancel_file_;
  mutable std::atomic<int64_t> next_file_check_ns_{0};
};

}  // namespace s2v
