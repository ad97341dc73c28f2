// use_all_cores_for_torch: a new std::thread (a job worker) gets every core for LibTorch, and
// S2V_THREADS overrides the count; the setting is per thread, as OpenMP keeps it.
#include <QtTest>

#include <thread>

#include <ATen/Parallel.h>

#include "models/weights/threads.h"

class TestThreads : public QObject {
  Q_OBJECT
 private slots:
  void workerThreadGetsEveryCore() {
    qunsetenv("S2V_THREADS");
    const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    int got = 0, after = 0;
    std::thread([&] {
      got = s2v::use_all_cores_for_torch();
      after = at::get_num_threads();
    }).join();
    QCOMPARE(got, cores);
    QCOMPARE(after, cores);
  }

  void environmentOverridesTheCount() {
    qputenv("S2V_THREADS", "3");
    int got = 0;
    std::thread([&] { got = s2v::use_all_cores_for_torch(); }).join();
    QCOMPARE(got, 3);
    qputenv("S2V_THREADS", "not a number");
    std::thread([&] { got = s2v::use_all_cores_for_torch(); }).join();
    QCOMPARE(got, std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
    qunsetenv("S2V_THREADS");
  }
};

QTEST_GUILESS_MAIN(TestThreads)
#include "tst_threads.moc"
