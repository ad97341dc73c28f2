#pragma once
// Guards against input traps in long forms:
// - a mouse wheel turned over a spin box, combo box or slider that does not have the focus
//   scrolls the form instead of changing the value (Steps 16 -> 19 while scrolling);
// - Tab in a plain-text field moves the focus instead of inserting a tab character.

class QPlainTextEdit;
class QWidget;

namespace s2v::ui {

// Every QAbstractSpinBox, QComboBox and QAbstractSlider under root (now and added later) takes
// wheel events only while it has the keyboard focus (a click or Tab gives it); it no longer takes
// the focus from the wheel either.
void ignoreWheelUnlessFocused(QWidget* root);
// The one widget.
void ignoreWheelUnlessFocusedOn(QWidget* w);
// Tab / Shift+Tab leave the field (Ctrl+Tab... as Qt does; a tab character can still be pasted).
void tabMovesFocus(QPlainTextEdit* edit);

}  // namespace s2v::ui
