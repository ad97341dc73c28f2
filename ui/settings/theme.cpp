#include "ui/settings/theme.h"

#include <QApplication>
#include <QProcess>
#include <QStyle>
#include <QStyleFactory>
#include <algorithm>
#include <cmath>

namespace s2v::ui {

Theme themeFromString(const QString& s) {
  if (s == "light") return Theme::Light;
  if (s == "dark") return Theme::Dark;
  return Theme::System;
}

QString themeToString(Theme t) {
  switch (t) {
    case Theme::Light: return "light";
    case Theme::Dark: return "dark";
    case Theme::System: break;
  }
  return "system";
}

bool isDark(const QPalette& p) { return p.color(QPalette::Window).lightness() < 128; }

namespace {

// The palette the platform gave before any theme was applied (restored for System / Light).
QPalette& platformPalette() {
  static QPalette p = QApplication::palette();
  return p;
}
QString& platformStyle() {
  static QString s = QApplication::style() ? QApplication::style()->name() : QString();
  return s;
}

bool gnomePrefersDark() {
  // One short, bounded query at start-up; no gsettings (or no GNOME) means "no preference".
  QProcess p;
  p.start("gsettings", {"get", "org.gnome.desktop.interface", "color-scheme"});
  if (!p.waitForStarted(200) || !p.waitForFinished(500)) {
    p.kill();
    p.waitForFinished(100);
    return false;
  }
  return p.exitCode() == 0 && p.readAllStandardOutput().contains("prefer-dark");
}

double luminance(const QColor& c) {
  auto lin = [](double v) { return v <= 0.03928 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF());
}

QColor mix(const QColor& a, const QColor& b, double t) {
  return QColor::fromRgbF(float(a.redF() * (1 - t) + b.redF() * t), float(a.greenF() * (1 - t) + b.greenF() * t),
                          float(a.blueF() * (1 - t) + b.blueF() * t));
}

}  // namespace

double contrastRatio(const QColor& a, const QColor& b) {
  const double la = luminance(a), lb = luminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

bool desktopPrefersDark() {
  if (isDark(platformPalette())) return true;
  if (qEnvironmentVariable("GTK_THEME").endsWith(":dark", Qt::CaseInsensitive)) return true;
  const QString desktop = qEnvironmentVariable("XDG_CURRENT_DESKTOP");
  return desktop.contains("GNOME", Qt::CaseInsensitive) && gnomePrefersDark();
}

QPalette darkPalette() {
  QPalette p;
  const QColor window(45, 45, 48), base(30, 30, 32), text(230, 230, 230), disabled(130, 130, 130);
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, QColor(40, 40, 44));
  p.setColor(QPalette::ToolTipBase, QColor(60, 60, 64));
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::PlaceholderText, QColor(150, 150, 150));
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, QColor(55, 55, 60));
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, QColor(255, 110, 110));
  p.setColor(QPalette::Light, QColor(75, 75, 80));
  p.setColor(QPalette::Midlight, QColor(65, 65, 70));
  p.setColor(QPalette::Mid, QColor(120, 120, 125));
  p.setColor(QPalette::Dark, QColor(25, 25, 28));
  p.setColor(QPalette::Shadow, QColor(10, 10, 10));
  p.setColor(QPalette::Highlight, QColor(42, 110, 200));
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::Link, QColor(110, 170, 255));
  p.setColor(QPalette::LinkVisited, QColor(170, 140, 255));
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
    p.setColor(QPalette::Disabled, role, disabled);
  return p;
}

void applyTheme(Theme t) {
  platformPalette();  // remember the platform's look before the first change
  platformStyle();
  const bool dark = t == Theme::Dark || (t == Theme::System && desktopPrefersDark());
  if (dark) {
    if (!isDark(platformPalette()) || t == Theme::Dark) {
      QApplication::setStyle(QStyleFactory::create("Fusion"));
      QApplication::setPalette(t == Theme::System && isDark(platformPalette()) ? platformPalette() : darkPalette());
    }
    return;
  }
  if (t == Theme::Light && isDark(platformPalette())) {
    QApplication::setStyle(QStyleFactory::create("Fusion"));
    QApplication::setPalette(QApplication::style()->standardPalette());
    return;
  }
  if (!platformStyle().isEmpty()) QApplication::setStyle(QStyleFactory::create(platformStyle()));
  QApplication::setPalette(platformPalette());
}

QColor toneColour(Tone t, const QPalette& p) {
  const bool dark = isDark(p);
  QColor c;
  switch (t) {
    case Tone::Error: c = dark ? QColor(255, 120, 120) : QColor(176, 0, 32); break;
    case Tone::Warning: c = dark ? QColor(255, 180, 90) : QColor(160, 80, 0); break;
    case Tone::Good: c = dark ? QColor(120, 210, 120) : QColor(30, 110, 30); break;
    case Tone::Muted: c = mix(p.color(QPalette::WindowText), p.color(QPalette::Window), 0.35); break;
  }
  // Push towards the text colour until it reads on this window (a custom palette may be odd).
  const QColor bg = p.color(QPalette::Window), fg = p.color(QPalette::WindowText);
  for (int i = 0; i < 10 && contrastRatio(c, bg) < 4.5; ++i) c = mix(c, fg, 0.25);
  return c;
}

QString toneStyle(Tone t, const QPalette& p) { return QString("color: %1;").arg(toneColour(t, p).name()); }

QColor tint(const QColor& hue, const QPalette& p) {
  return mix(p.color(QPalette::Base), hue, isDark(p) ? 0.35 : 0.3);
}

}  // namespace s2v::ui
