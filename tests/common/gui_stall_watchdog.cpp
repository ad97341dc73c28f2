// Linked into every GUI test (tests/ui/CMakeLists.txt): when the GUI thread stops processing
// events for S2V_GUI_STALL_S seconds (default 120, under the GUI suites' 300 s ctest timeouts),
// print the GUI thread's stack and abort.
//
// Why: a QTRY_* wait processes events in a loop; when something blocks the GUI thread the wait
// never returns and ctest kills the test at its timeout with no clue where the thread was. The
// abort comes well before the timeout and its output names the blocking call.
//
// How: a background thread posts a stamping call to the application object every 250 ms; the GUI
// thread runs it whenever it processes events (nested loops included, so an open modal dialog is
// not a stall). If no stamp lands for the limit, the watchdog sends SIGUSR2 to the GUI thread,
// whose handler writes its backtrace to stderr (backtrace_symbols_fd: async-signal-safe enough
// for a process that aborts right after), then aborts.

#include <QCoreApplication>
#include <QMetaObject>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <execinfo.h>
#include <pthread.h>
#include <thread>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<int64_t> g_last_stamp_ms{0};
std::atomic<bool> g_dumped{false};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

void write_stderr(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  [[maybe_unused]] ssize_t w = ::write(2, s, n);
}

void dump_stack(int) {
  void* frames[128];
  const int n = backtrace(frames, 128);
  write_stderr("\n=== GUI thread stack at the stall ===\n");
  backtrace_symbols_fd(frames, n, 2);
  write_stderr("=== end of stack ===\n");
  g_dumped = true;
}

class Watchdog {
 public:
  Watchdog() : gui_(pthread_self()) {  // static initialisation runs on the main (GUI) thread
    const char* env = std::getenv("S2V_GUI_STALL_S");
    limit_ms_ = int64_t(1000 * (env ? std::atof(env) : 120.0));
    if (limit_ms_ <= 0) return;  // S2V_GUI_STALL_S=0 turns it off (a debugger session)
    struct sigaction sa {};
    sa.sa_handler = dump_stack;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, nullptr);
    thread_ = std::thread([this] { run(); });
    thread_.detach();
  }

 private:
  void run() {
    int64_t armed_since = 0;  // the first stamp is awaited from the moment the app exists
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      QCoreApplication* app = QCoreApplication::instance();
      if (!app) {
        armed_since = 0;
        continue;
      }
      if (armed_since == 0) {
        armed_since = now_ms();
        g_last_stamp_ms = armed_since;
      }
      QMetaObject::invokeMethod(app, [] { g_last_stamp_ms = now_ms(); }, Qt::QueuedConnection);
      const int64_t silent = now_ms() - g_last_stamp_ms.load();
      if (silent < limit_ms_) continue;
      std::fprintf(stderr, "\nFAIL: the GUI thread processed no events for %.1f s (S2V_GUI_STALL_S=%.0f)\n",
                   silent / 1000.0, limit_ms_ / 1000.0);
      std::fflush(stderr);
      pthread_kill(gui_, SIGUSR2);
      for (int i = 0; i < 40 && !g_dumped; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::abort();
    }
  }

  pthread_t gui_;
  int64_t limit_ms_ = 0;
  std::thread thread_;
};

const Watchdog g_watchdog;

}  // namespace
