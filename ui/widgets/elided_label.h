#pragma once
// A one-line label that elides its text to the width it is given (the full text in the tooltip)
// instead of asking for the width of the whole text: a long model name or estimate never widens
// the window.

#include <QLabel>

namespace s2v::ui {

class ElidedLabel : public QLabel {
  Q_OBJECT
 public:
  explicit ElidedLabel(QWidget* parent = nullptr, Qt::TextElideMode mode = Qt::ElideRight);
  void setFullText(const QString& text);
  QString fullText() const { return full_; }
  QSize minimumSizeHint() const override;
  QSize sizeHint() const override;

 protected:
  void resizeEvent(QResizeEvent* e) override;

 private:
  void relayout();
  QString full_;
  Qt::TextElideMode mode_;
};

}  // namespace s2v::ui
