#pragma once
// Runs blocking work (probing, decoding, inspecting a checkpoint, copying a file) on the global
// thread pool and delivers its result on the thread of `context` (the GUI thread for a widget),
// so that the GUI thread never waits on files. Nothing is delivered if `context` is gone.

#include <QMetaObject>
#include <QObject>
#include <QPointer>
#include <QThreadPool>
#include <functional>
#include <type_traits>
#include <utility>

namespace s2v::ui {

// work: R() run on a pool thread; done: void(R) run on context's thread. R must be copyable.
template <class Work, class Done>
void runOffGuiThread(QObject* context, Work work, Done done) {
  using R = std::invoke_result_t<Work&>;
  QPointer<QObject> guard(context);
  std::function<void(R)> deliver = std::move(done);
  QThreadPool::globalInstance()->start([guard, work = std::move(work), deliver]() mutable {
    R result = work();
    if (!guard) return;
    QMetaObject::invokeMethod(guard.data(), [result, deliver] { deliver(result); }, Qt::QueuedConnection);
  });
}

}  // namespace s2v::ui
