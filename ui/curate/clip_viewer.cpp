#include "ui/curate/clip_viewer.h"

#include <QChart>
#include <QChartView>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineSeries>
#include <QPainter>
#include <QPushButton>
#include <QScrollArea>
#include <QShortcut>
#include <QSlider>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/curation/clip_frames.h"
#include "core/pose_draw/draw.h"

#include "ui/settings/theme.h"
#include "ui/widgets/frame_playback.h"

namespace s2v::ui {

namespace {
constexpr int kSliderSteps = 1000;  // per second of video
QColor rgb(const cv::Vec3b& c) { return {c[0], c[1], c[2]}; }

// The overlay's whole-body skeletons in DWPose's colours (core/pose_draw's tables): the 17 body
// limbs, the 20 edges of each hand, the face points as dots. map: working pixels -> widget.
template <class Map>
void drawSkeletons(QPainter& p, const std::vector<pose::Pose>& poses, double scale, Map map) {
  p.save();
  p.setRenderHint(QPainter::Antialiasing, true);
  const double width = std::max(1.5, 4.0 * scale);
  auto line = [&](const pose::Keypoint& a, const pose::Keypoint& b, const QColor& c, double w) {
    if (!a.visible() || !b.visible()) return;
    p.setPen(QPen(c, w, Qt::SolidLine, Qt::RoundCap));
    p.drawLine(map(a.x, a.y), map(b.x, b.y));
  };
  for (const auto& pose : poses) {
    for (int l = 0; l < pose::kDrawnLimbs; ++l) {
      const auto& e = pose::kLimbSeq[static_cast<size_t>(l)];  // 1-based
      line(pose.body[static_cast<size_t>(e[0] - 1)], pose.body[static_cast<size_t>(e[1] - 1)],
           rgb(pose::kBodyColorsRgb[static_cast<size_t>(l)]), width);
    }
    for (const auto* hand : {&pose.left_hand, &pose.right_hand})
      for (int e = 0; e < static_cast<int>(pose::kHandEdges.size()); ++e) {
        const auto& edge = pose::kHandEdges[static_cast<size_t>(e)];
        line((*hand)[static_cast<size_t>(edge[0])], (*hand)[static_cast<size_t>(edge[1])],
             rgb(pose::hand_edge_color_rgb(e)), std::max(1.0, width / 2));
      }
    p.setPen(Qt::NoPen);
    p.setBrush(Qt::white);
    const double r = std::max(1.0, 1.5 * scale);
    for (const auto& k : pose.face)
      if (k.visible()) p.drawEllipse(map(k.x, k.y), r, r);
  }
  p.restore();
}

}  // namespace

// ---- FrameView ----------------------------------------------------------------------------------

FrameView::FrameView(QWidget* parent) : QWidget(parent) {
  setObjectName("frameView");
  setMinimumSize(240, 160);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void FrameView::setOverlay(std::optional<curation::FrameOverlay> overlay, double faceSharpness, QSizeF workingSize) {
  overlay_ = std::move(overlay);
  faceSharpness_ = faceSharpness;
  working_ = workingSize;
  update();
}

void FrameView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), Qt::black);
  // The picture's aspect: the decoded frame's, else the working size's.
  QSizeF src = !image_.isNull() ? QSizeF(image_.size()) : working_;
  if (src.isEmpty()) return;
  const QSizeF fit = src.scaled(QSizeF(size()), Qt::KeepAspectRatio);
  const QRectF target(QPointF((width() - fit.width()) / 2.0, (height() - fit.height()) / 2.0), fit);
  if (!image_.isNull()) p.drawImage(target, image_);
  if (!overlay_ || working_.isEmpty()) return;
  const double sx = target.width() / working_.width(), sy = target.height() / working_.height();
  auto map = [&](const cv::Rect& r) {
    return QRect(qRound(target.left() + r.x * sx), qRound(target.top() + r.y * sy), qRound(r.width * sx),
                 qRound(r.height * sy));
  };
  p.setRenderHint(QPainter::Antialiasing, false);  // exact box colours
  auto boxes = [&](const std::vector<cv::Rect>& rs, const QColor& c) {
    p.setPen(QPen(c, 2));
    p.setBrush(Qt::NoBrush);
    for (const auto& r : rs) p.drawRect(map(r));
  };
  boxes(overlay_->people, peopleColour());
  boxes(overlay_->text, textColour());
  boxes(overlay_->hands, handColour());
  boxes(overlay_->faces, faceColour());
  drawSkeletons(p, overlay_->poses, std::min(sx, sy),
                [&](double x, double y) { return QPointF(target.left() + x * sx, target.top() + y * sy); });
  // Sharpness of the frame's faces next to each face box (the metric's per-frame value).
  p.setRenderHint(QPainter::TextAntialiasing, true);
  QFont f = font();
  f.setPointSizeF(std::max(7.0, f.pointSizeF() * 0.9));
  p.setFont(f);
  for (const auto& r : overlay_->faces) {
    const QRect b = map(r);
    const QString label = std::isfinite(faceSharpness_) ? tr("sharpness %1").arg(faceSharpness_, 0, 'f', 0) : tr("sharpness n/a");
    const QRect textBox = p.fontMetrics().boundingRect(label).adjusted(-2, -1, 2, 1);
    QRect bg(b.left(), std::max(0, b.top() - textBox.height() - 1), textBox.width(), textBox.height());
    p.fillRect(bg, QColor(0, 0, 0, 170));
    p.setPen(Qt::white);
    p.drawText(bg, Qt::AlignCenter, label);
  }
}

// ---- ClipViewer ---------------------------------------------------------------------------------

ClipViewer::ClipViewer(QWidget* parent) : QWidget(parent) {
  setObjectName("clipViewer");
  title_ = new QLabel(tr("Double-click a clip (or press Enter) to view it with its overlays."), this);
  title_->setObjectName("viewerTitle");
  title_->setWordWrap(true);
  frame_ = new FrameView(this);
  auto* legend = new QLabel(
      tr("<span style='color:%1'>■ people</span> <span style='color:%2'>■ faces</span> "
         "<span style='color:%3'>■ hands</span> <span style='color:%4'>■ text</span> "
         "<span title='drawn when a pose model scored the clip'>╱ skeleton</span>")
          .arg(FrameView::peopleColour().name(), FrameView::faceColour().name(), FrameView::handColour().name(),
               FrameView::textColour().name()),
      this);
  legend->setObjectName("viewerLegend");
  legend->setWordWrap(true);
  playButton_ = new QPushButton(tr("Play"), this);
  playButton_->setObjectName("playPause");
  playButton_->setEnabled(false);
  slider_ = new QSlider(Qt::Horizontal, this);
  slider_->setObjectName("viewerPosition");
  slider_->setEnabled(false);
  slider_->setMinimumWidth(kSeekMinWidth);
  timeLabel_ = new QLabel("0.00 s", this);
  // The seek slider has the row to itself (the legend sits under it): never a stub.
  auto* controls = new QHBoxLayout;
  controls->addWidget(playButton_);
  controls->addWidget(slider_, 1);
  controls->addWidget(timeLabel_);

  chartsBox_ = new QWidget(this);
  chartsLayout_ = new QVBoxLayout(chartsBox_);
  chartsLayout_->setContentsMargins(0, 0, 0, 0);
  chartsLayout_->setSpacing(2);
  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  scroll->setWidget(chartsBox_);
  scroll->setMinimumHeight(150);

  auto* l = new QVBoxLayout(this);
  l->addWidget(title_);
  l->addWidget(frame_, 3);
  l->addLayout(controls);
  l->addWidget(legend);
  l->addWidget(scroll, 2);

  playback_ = new FramePlayback(this);
  connect(playback_, &FramePlayback::positionChanged, this, &ClipViewer::showPosition);
  connect(playback_, &FramePlayback::playingChanged, this,
          [this](bool on) { playButton_->setText(on ? tr("Pause") : tr("Play")); });
  connect(playback_, &FramePlayback::frameReady, this, [this](const QImage& image, double) {
    frame_->setFrame(image);
    emit frameShown(position_);
  });
  connect(playback_, &FramePlayback::failed, this, [this](const QString& error) {
    title_->setText(tr("%1 — cannot show the frame: %2")
                        .arg(QFileInfo(QString::fromStdString(clip_.path)).fileName(), error));
    emit frameFailed(error);
  });
  connect(playButton_, &QPushButton::clicked, this, &ClipViewer::togglePlay);
  connect(slider_, &QSlider::valueChanged, this, [this](int v) {
    const double t = v / double(kSliderSteps);
    if (std::abs(t - position_) > 0.5 / kSliderSteps) setPosition(t);
  });
  auto* space = new QShortcut(QKeySequence(Qt::Key_Space), this, nullptr, nullptr, Qt::WidgetWithChildrenShortcut);
  connect(space, &QShortcut::activated, this, &ClipViewer::togglePlay);
}

ClipViewer::~ClipViewer() = default;

bool ClipViewer::playing() const { return playback_->playing(); }

void ClipViewer::setClip(const curation::ClipScores& clip) {
  pause();
  clip_ = clip;
  duration_ = clip.duration_s;
  if (!clip.series_t.empty()) duration_ = std::max(duration_, clip.series_t.back());
  title_->setText(tr("%1 — %2").arg(QFileInfo(QString::fromStdString(clip.path)).fileName(),
                                    QString::fromStdString(clip.verdict)));
  title_->setToolTip(QString::fromStdString(clip.path));
  frame_->setFrame({});
  slider_->blockSignals(true);
  slider_->setRange(0, std::max(1, int(std::lround(duration_ * kSliderSteps))));
  slider_->setValue(0);
  slider_->blockSignals(false);
  slider_->setEnabled(true);
  playButton_->setEnabled(true);
  buildCharts();
  // Start on the first sampled frame that has something to draw.
  double start = 0.0;
  for (const auto& o : clip.overlays)
    if (!o.people.empty() || !o.faces.empty() || !o.hands.empty() || !o.text.empty()) {
      start = o.t;
      break;
    }
  position_ = start;
  playback_->setSource(QString::fromStdString(clip.path), start, duration_);
  showPosition(start);
}

void ClipViewer::buildCharts() {
  for (auto& [name, plot] : plots_) delete plot.view;
  plots_.clear();
  const auto& t = clip_.series_t;
  for (const auto& [key, values] : clip_.series) {
    if (values.size() != t.size() || t.empty()) continue;  // per-frame series only (not per-lag)
    Plot plot;
    plot.line = new QLineSeries;
    plot.line->setName(QString::fromStdString(key));
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) continue;  // n/a at this frame: a gap in the points
      plot.line->append(t[i], values[i]);
      lo = std::min(lo, values[i]);
      hi = std::max(hi, values[i]);
    }
    if (!std::isfinite(lo)) lo = 0.0, hi = 1.0;
    if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
    const double pad = (hi - lo) * 0.05;
    plot.ymin = lo - pad;
    plot.ymax = hi + pad;
    plot.cursor = new QLineSeries;
    plot.cursor->setPen(QPen(QColor(220, 30, 30), 1.5));
    auto* chart = new QChart;
    chart->legend()->hide();
    if (isDark(palette())) chart->setTheme(QChart::ChartThemeDark);
    chart->setTitle(QString::fromStdString(key));
    chart->setMargins(QMargins(2, 0, 2, 0));
    chart->addSeries(plot.line);
    chart->addSeries(plot.cursor);
    auto* ax = new QValueAxis;
    ax->setRange(0.0, std::max(duration_, t.back()));
    ax->setLabelFormat("%.1f");
    auto* ay = new QValueAxis;
    ay->setRange(plot.ymin, plot.ymax);
    ay->setTickCount(3);
    chart->addAxis(ax, Qt::AlignBottom);
    chart->addAxis(ay, Qt::AlignLeft);
    for (auto* s : {plot.line, plot.cursor}) {
      s->attachAxis(ax);
      s->attachAxis(ay);
    }
    plot.view = new QChartView(chart, chartsBox_);
    plot.view->setObjectName("plot_" + QString::fromStdString(key));
    plot.view->setMinimumHeight(120);
    plot.view->setRenderHint(QPainter::Antialiasing);
    chartsLayout_->addWidget(plot.view);
    plots_[QString::fromStdString(key)] = plot;
  }
}

QStringList ClipViewer::chartNames() const {
  QStringList out;
  for (const auto& [name, plot] : plots_) out << name;
  return out;
}

int ClipViewer::chartPoints(const QString& series) const {
  auto it = plots_.find(series);
  return it == plots_.end() ? -1 : static_cast<int>(it->second.line->count());
}

double ClipViewer::cursorTime(const QString& series) const {
  auto it = plots_.find(series);
  if (it == plots_.end() || it->second.cursor->count() == 0) return std::numeric_limits<double>::quiet_NaN();
  return it->second.cursor->at(0).x();
}

QChartView* ClipViewer::chart(const QString& series) const {
  auto it = plots_.find(series);
  return it == plots_.end() ? nullptr : it->second.view;
}

void ClipViewer::setPosition(double t) {
  t = std::clamp(t, 0.0, std::max(0.0, duration_));
  if (t == position_) return;
  showPosition(t);
  playback_->setPosition(t);
}

void ClipViewer::showPosition(double t) {
  position_ = t;
  slider_->blockSignals(true);
  slider_->setValue(int(std::lround(t * kSliderSteps)));
  slider_->blockSignals(false);
  timeLabel_->setText(tr("%1 / %2 s").arg(t, 0, 'f', 2).arg(duration_, 0, 'f', 2));
  for (auto& [name, plot] : plots_) plot.cursor->replace({QPointF(t, plot.ymin), QPointF(t, plot.ymax)});
  updateOverlay();
}

void ClipViewer::updateOverlay() {
  overlayIndex_ = -1;
  const auto& ov = clip_.overlays;
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < ov.size(); ++i) {
    const double d = std::abs(ov[i].t - position_);
    if (d < best) best = d, overlayIndex_ = static_cast<int>(i);
  }
  const int w = clip_.width, h = clip_.height;
  QSizeF working;
  if (w > 0 && h > 0) {
    // The overlays are in the working resolution: 576 px on the long side (clip_frames.h).
    const double s = double(curation::kWorkingLongSide) / std::max(w, h);
    working = QSizeF(std::lround(w * s), std::lround(h * s));
  }
  double sharp = std::numeric_limits<double>::quiet_NaN();
  auto fs = clip_.series.find("face_sharpness");
  if (overlayIndex_ >= 0 && fs != clip_.series.end() && overlayIndex_ < static_cast<int>(fs->second.size()))
    sharp = fs->second[static_cast<size_t>(overlayIndex_)];
  frame_->setOverlay(overlayIndex_ >= 0 ? std::optional(ov[static_cast<size_t>(overlayIndex_)]) : std::nullopt,
                     sharp, working);
}

void ClipViewer::play() {
  if (!clip_.path.empty()) playback_->play();
}

void ClipViewer::pause() { playback_->pause(); }

void ClipViewer::togglePlay() { playing() ? pause() : play(); }

}  // namespace s2v::ui
