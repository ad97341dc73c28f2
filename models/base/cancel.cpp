#include "models/base/cancel.h"

#include <chrono>

#include "models/base/error.h"

namespace s2v {

CancelToken::CancelToken(std::filesystem::path cancel_file) : cancel_file_(std::move(cancel_file)) {}

CancelToken::CancelToken(const CancelToken* parent) : parent_(parent) {}

const CancelToken& CancelToken::none() {
  static const CancelToken never;
  return never;
}

bool CancelToken::requested() const {
  if (flag_.load(std::memory_order_relaxed)) return true;
  if (parent_ && parent_->requested()) return true;
  if (cancel_file_.empty()) return false;
  // The file check is a stat(): cheap, but rate-limited for tight loops (per-frame workers poll
  // from several threads; one of them does the stat).
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t due = next_file_check_ns_.load(std::memory_order_relaxed);
  if (now < due || !next_file_check_ns_.compare_exchange_strong(due, now + 100'000'000)) return false;
  std::error_code ec;
  if (std::filesystem::exists(cancel_file_, ec)) {
    // once seen, the request stands (the file is removed when the job records its cancellation)
    flag_.store(true);
    return true;
  }
  return false;
}

void CancelToken::throw_if_requested() const {
  if (requested()) throw Cancelled();
}

}  // namespace s2v
