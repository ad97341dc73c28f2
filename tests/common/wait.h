#pragma once
// Waiting in tests: every wait has a deadline, and running past it is a failure that names what
// was awaited instead of a hang that ctest kills without a word. Deadlines are generous bounds
// on work whose normal duration is far shorter (they only turn a hang into a message), and stay
// below the suites' ctest TIMEOUT so the message is printed.

#include <chrono>
#include <string>
#include <thread>

#include <QtTest/QtTest>

#include "core/jobs/job_queue.h"

namespace s2v::test {

using namespace std::chrono_literals;

// Polls pred every `poll` until it holds or `deadline` has passed; true when it held.
template <class Pred>
bool wait_for(Pred&& pred, std::chrono::milliseconds deadline, std::chrono::milliseconds poll = 5ms) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(poll);
  }
}

// Waits until the queue has nothing queued or running, at most `deadline`. Past it the test is
// marked failed (naming `what`), the queue is asked to cancel everything, and false is returned;
// a helper that must return a value returns what it has and the test's checks fail on it.
inline bool wait_idle(jobs::JobQueue& queue, std::chrono::milliseconds deadline, const std::string& what = "the job") {
  if (queue.wait_until_idle(deadline)) return true;
  QTest::qFail(("timed out after " + std::to_string(deadline.count() / 1000) + " s waiting for " + what).c_str(),
               __FILE__, __LINE__);
  for (const auto& r : queue.jobs())
    if (!jobs::is_final(r.state)) queue.cancel(r.id);
  queue.wait_until_idle(60s);
  return false;
}

}  // namespace s2v::test

// Inside a Qt Test function: QVERIFY2 on a wait_for with a deadline in milliseconds.
#define S2V_WAIT_FOR(pred, deadline_ms, what)                                                        \
  QVERIFY2(s2v::test::wait_for([&] { return bool(pred); }, std::chrono::milliseconds(deadline_ms)), \
           (std::string("timed out after ") + std::to_string((deadline_ms) / 1000) + " s waiting for " + \
            (what))                                                                                  \
               .c_str())
