#include "ui/widgets/icons.h"

#include <QPainter>
#include <QPalette>
#include <QPixmap>

namespace s2v::ui {

QIcon diceIcon(const QPalette& palette) {
  QIcon icon;
  for (int side : {16, 24, 32, 48}) {
    QPixmap pm(side, side);
    pm.fill(Qt::transparent);
    QPainter p(&pm);
    p.setRenderHint(QPainter::Antialiasing);
    const QColor ink = palette.color(QPalette::ButtonText);
    const double m = side * 0.08, r = side * 0.18;
    p.setPen(QPen(ink, std::max(1.0, side / 16.0)));
    p.setBrush(Qt::NoBrush);
    const QRectF body(m, m, side - 2 * m, side - 2 * m);
    p.drawRoundedRect(body, r, r);
    p.setPen(Qt::NoPen);
    p.setBrush(ink);
    const double pip = side * 0.075;
    const double a = body.left() + body.width() * 0.27, b = body.center().x(), c = body.right() - body.width() * 0.27;
    const double ya = body.top() + body.height() * 0.27, yb = body.center().y(), yc = body.bottom() - body.height() * 0.27;
    for (const QPointF& pt : {QPointF(a, ya), QPointF(c, ya), QPointF(b, yb), QPointF(a, yc), QPointF(c, yc)})
      p.drawEllipse(pt, pip, pip);
    icon.addPixmap(pm);
  }
  return icon;
}

}  // namespace s2v::ui
