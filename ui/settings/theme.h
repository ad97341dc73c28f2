#pragma once
// The look: follow the desktop (its palette, dark or light), or force light / dark (Fusion with a
// matching palette). Colours that carry meaning (an error, a warning, "looks good", a verdict
// tint) are picked for the palette in use, so that they stay readable on a dark window as on a
// light one; widgets ask here instead of hard-coding "#b00020".

#include <QColor>
#include <QPalette>
#include <QString>

class QWidget;

namespace s2v::ui {

enum class Theme { System, Light, Dark };
Theme themeFromString(const QString& s);  // "system" | "light" | "dark" (anything else: System)
QString themeToString(Theme t);

// True when the desktop asks for a dark look: the platform palette is dark, GTK_THEME names a
// ":dark" variant, or GNOME's color-scheme is "prefer-dark".
bool desktopPrefersDark();
// Applies the theme to the application (style and palette). System follows the desktop: its
// palette, or a dark Fusion palette where the desktop prefers dark but Qt's platform palette is
// light (Qt 6.4 on GNOME without a platform theme plugin).
void applyTheme(Theme t);
QPalette darkPalette();
bool isDark(const QPalette& p);

enum class Tone { Error, Warning, Good, Muted };
// A text colour of that meaning with at least 4.5:1 contrast on p's window colour (WCAG AA).
QColor toneColour(Tone t, const QPalette& p);
// "color: #rrggbb;" for a style sheet (empty for Tone::Muted on an unknown palette).
QString toneStyle(Tone t, const QPalette& p);
// A background tint of a hue (a verdict: pass green, fail red, ...) that keeps the palette's text
// readable: a light tint on a light base, a dark one on a dark base.
QColor tint(const QColor& hue, const QPalette& p);
// Contrast ratio of two colours (WCAG 2 relative luminance), 1 .. 21.
double contrastRatio(const QColor& a, const QColor& b);

}  // namespace s2v::ui
