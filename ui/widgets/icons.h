#pragma once
// Icons drawn with QPainter, so that no glyph depends on the fonts a machine has (an emoji die
// rendered as an empty box on a fresh Debian).

#include <QIcon>

namespace s2v::ui {

// A die showing five pips, in the palette's button text colour.
QIcon diceIcon(const QPalette& palette);

}  // namespace s2v::ui
