// apply_torch_threads_setting: S2V_THREADS sets a worker thread's (a std::thread's) LibTorch
// intra-op threads; unset or invalid, LibTorch's own default is left alone.
#include <QtTest>

#include <array>
#include <thread>

#include <ATen/Parallel.h>

#include "models/weights/threads.h"

namespace {
// {count before, count returned, count after} on a fresh thread.
std::array<int, 3> on_new_thread() {
  std::array<int, 3> r{};
  std::thread([&] {
    r[0] = at::get_num_threads();
    r[1] = s2v::apply_torch_threads_setting();
    r[2] = at::get_num_threads();
  }).join();
  return r;
}
}  // namespace

class TestThreads : public QObject {
  Q_OBJECT
 private slots:
  void unsetLeavesLibTorchsDefault() {
    qunsetenv("S2V_THREADS");
    const auto r = on_new_thread();
    QCOMPARE(r[1], r[0]);
    QCOMPARE(r[2], r[0]);
  }

  void environmentSetsTheWorkersCount() {
    qputenv("S2V_THREADS", "3");
    auto r = on_new_thread();
    QCOMPARE(r[1], 3);
    QCOMPARE(r[2], 3);
    qputenv("S2V_THREADS", "not a number");
    r = on_new_thread();
    QCOMPARE(r[1], r[0]);
    qunsetenv("S2V_THREADS");
  }
};

QTEST_GUILESS_MAIN(TestThreads)
#include "tst_threads.moc"
