#include "ui/widgets/input_guards.h"

#include <QAbstractSlider>
#include <QAbstractSpinBox>
#include <QChildEvent>
#include <QComboBox>
#include <QEvent>
#include <QPlainTextEdit>
#include <QPointer>
#include <QWheelEvent>

namespace s2v::ui {

namespace {

bool guarded(QObject* o) {
  return qobject_cast<QAbstractSpinBox*>(o) || qobject_cast<QComboBox*>(o) || qobject_cast<QAbstractSlider*>(o);
}

// One filter for the whole application: a wheel event on an unfocused guarded widget is ignored
// and so travels on to the parent (the scroll area scrolls). Child-added events on a root guard
// widgets created later (a threshold row, a rebuilt form).
class WheelGuard : public QObject {
 public:
  static WheelGuard* instance() {
    static QPointer<WheelGuard> g;
    if (!g) g = new WheelGuard;
    return g;
  }
  void guard(QWidget* w) {
    if (!w || w->property("s2vWheelGuard").toBool()) return;
    w->setProperty("s2vWheelGuard", true);
    // StrongFocus: Tab and click give focus, the wheel does not (WheelFocus would).
    if (w->focusPolicy() == Qt::WheelFocus) w->setFocusPolicy(Qt::StrongFocus);
    w->installEventFilter(this);
  }
  void watch(QWidget* root) {
    if (root->property("s2vWheelRoot").toBool()) return;
    root->setProperty("s2vWheelRoot", true);
    root->installEventFilter(this);
  }

 protected:
  bool eventFilter(QObject* o, QEvent* e) override {
    if (e->type() == QEvent::Wheel && guarded(o)) {
      auto* w = static_cast<QWidget*>(o);
      // A combo box's or spin box's inner line edit holds the focus for it.
      if (!w->hasFocus() && !(w->focusProxy() && w->focusProxy()->hasFocus())) {
        e->ignore();
        return true;  // not for this widget; QApplication propagates the ignored event upwards
      }
    } else if (e->type() == QEvent::ChildPolished) {
      auto* child = static_cast<QChildEvent*>(e)->child();
      if (auto* w = qobject_cast<QWidget*>(child)) {
        if (guarded(w)) guard(w);
        for (QWidget* c : w->findChildren<QWidget*>())
          if (guarded(c)) guard(c);
        watch(w);
      }
    }
    return QObject::eventFilter(o, e);
  }
};

}  // namespace

void ignoreWheelUnlessFocusedOn(QWidget* w) { WheelGuard::instance()->guard(w); }

void ignoreWheelUnlessFocused(QWidget* root) {
  auto* g = WheelGuard::instance();
  if (guarded(root)) g->guard(root);
  for (QWidget* w : root->findChildren<QWidget*>())
    if (guarded(w)) g->guard(w);
  g->watch(root);
  for (QWidget* w : root->findChildren<QWidget*>()) g->watch(w);
}

void tabMovesFocus(QPlainTextEdit* edit) { edit->setTabChangesFocus(true); }

}  // namespace s2v::ui
