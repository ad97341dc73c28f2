#include "core/pose_draw/draw.h"

#include <cmath>

#include <opencv2/imgproc.hpp>

namespace s2v::pose {

const std::array<std::array<int, 2>, 19> kLimbSeq = {{
    {2, 3}, {2, 6}, {3, 4}, {4, 5}, {6, 7}, {7, 8}, {2, 9}, {9, 10}, {10, 11}, {2, 12},
    {12, 13}, {13, 14}, {2, 1}, {1, 15}, {15, 17}, {1, 16}, {16, 18}, {3, 17}, {6, 18}}};

const std::array<cv::Vec3b, 18> kBodyColorsRgb = {{
    {255, 0, 0}, {255, 85, 0}, {255, 170, 0}, {255, 255, 0}, {170, 255, 0}, {85, 255, 0},
    {0, 255, 0}, {0, 255, 85}, {0, 255, 170}, {0, 255, 255}, {0, 170, 255}, {0, 85, 255},
    {0, 0, 255}, {85, 0, 255}, {170, 0, 255}, {255, 0, 255}, {255, 0, 170}, {255, 0, 85}}};

const std::array<std::array<int, 2>, 20> kHandEdges = {{
    {0, 1}, {1, 2}, {2, 3}, {3, 4}, {0, 5}, {5, 6}, {6, 7}, {7, 8}, {0, 9}, {9, 10},
    {10, 11}, {11, 12}, {0, 13}, {13, 14}, {14, 15}, {15, 16}, {0, 17}, {17, 18}, {18, 19},
    {19, 20}}};

namespace {

cv::Scalar bgr(const cv::Vec3b& rgb) { return cv::Scalar(rgb[2], rgb[1], rgb[0]); }

// DWPose truncates coordinates with int() and draws hand/face points only when both pixel
// coordinates are > eps (0.01), i.e. ≥ 1 after truncation.
bool on_canvas(int x, int y) { return x > 0 && y > 0; }

void draw_body(cv::Mat& canvas, const std::vector<Pose>& poses, const DrawOptions& o) {
  // as draw_bodypose: limbs first (for i in limbs, for each person), then dim, then joints
  for (int i = 0; i < kDrawnLimbs; ++i) {
    for (const auto& p : poses) {
      const Keypoint& a = p.body[kLimbSeq[i][0] - 1];
      const Keypoint& b = p.body[kLimbSeq[i][1] - 1];
      if (!a.visible() || !b.visible()) continue;
      const double mx = 0.5 * (a.x + b.x), my = 0.5 * (a.y + b.y);
      const double length = std::hypot(a.x - b.x, a.y - b.y);
      const double angle = std::atan2(a.y - b.y, a.x - b.x) * 180.0 / CV_PI;
      std::vector<cv::Point> polygon;
      cv::ellipse2Poly(cv::Point(static_cast<int>(mx), static_cast<int>(my)),
                       cv::Size(static_cast<int>(length / 2), o.stickwidth),
                       static_cast<int>(angle), 0, 360, 1, polygon);
      cv::fillConvexPoly(canvas, polygon, bgr(kBodyColorsRgb[i]));
    }
  }
  // (canvas * 0.6).astype(uint8): truncation, not rounding
  canvas.forEach<cv::Vec3b>([](cv::Vec3b& px, const int*) {
    for (int c = 0; c < 3; ++c) px[c] = static_cast<uchar>(px[c] * 0.6);
  });
  for (int i = 0; i < kBodyPoints; ++i) {
    for (const auto& p : poses) {
      const Keypoint& k = p.body[i];
      if (!k.visible()) continue;
      cv::circle(canvas, cv::Point(static_cast<int>(k.x), static_cast<int>(k.y)), o.joint_radius,
                 bgr(kBodyColorsRgb[i]), cv::FILLED);
    }
  }
}

void draw_hand(cv::Mat& canvas, const std::array<Keypoint, kHandPoints>& hand,
               const DrawOptions& o) {
  // as draw_handpose
  for (size_t e = 0; e < kHandEdges.size(); ++e) {
    const Keypoint& a = hand[kHandEdges[e][0]];
    const Keypoint& b = hand[kHandEdges[e][1]];
    if (!a.visible() || !b.visible()) continue;
    const cv::Point pa(static_cast<int>(a.x), static_cast<int>(a.y));
    const cv::Point pb(static_cast<int>(b.x), static_cast<int>(b.y));
    if (!on_canvas(pa.x, pa.y) || !on_canvas(pb.x, pb.y)) continue;
    cv::line(canvas, pa, pb, bgr(hand_edge_color_rgb(static_cast<int>(e))), o.hand_thickness);
  }
  for (const auto& k : hand) {
    if (!k.visible()) continue;
    const cv::Point pt(static_cast<int>(k.x), static_cast<int>(k.y));
    if (!on_canvas(pt.x, pt.y)) continue;
    cv::circle(canvas, pt, o.joint_radius, cv::Scalar(255, 0, 0), cv::FILLED);  // RGB (0,0,255)
  }
}

void draw_face(cv::Mat& canvas, const std::array<Keypoint, kFacePoints>& face,
               const DrawOptions& o) {
  // as draw_facepose
  for (const auto& k : face) {
    if (!k.visible()) continue;
    const cv::Point pt(static_cast<int>(k.x), static_cast<int>(k.y));
    if (!on_canvas(pt.x, pt.y)) continue;
    cv::circle(canvas, pt, o.face_radius, cv::Scalar(255, 255, 255), cv::FILLED);
  }
}

}  // namespace

int scaled_stickwidth(cv::Size canvas) {
  return std::max(1, std::min(canvas.width, canvas.height) / 200);
}

cv::Vec3b hand_edge_color_rgb(int edge) {
  // matplotlib.colors.hsv_to_rgb([h, 1, 1]) with h = edge / 20
  const double h = static_cast<double>(edge) / static_cast<double>(kHandEdges.size());
  const int i = static_cast<int>(h * 6.0);
  const double f = h * 6.0 - i;
  double r = 0, g = 0, b = 0;
  switch (i % 6) {
    case 0: r = 1; g = f; b = 0; break;
    case 1: r = 1 - f; g = 1; b = 0; break;
    case 2: r = 0; g = 1; b = f; break;
    case 3: r = 0; g = 1 - f; b = 1; break;
    case 4: r = f; g = 0; b = 1; break;
    default: r = 1; g = 0; b = 1 - f; break;
  }
  return {cv::saturate_cast<uchar>(r * 255.0), cv::saturate_cast<uchar>(g * 255.0),
          cv::saturate_cast<uchar>(b * 255.0)};
}

void draw_poses(cv::Mat& canvas, const std::vector<Pose>& poses, const DrawOptions& options) {
  CV_Assert(canvas.type() == CV_8UC3);
  if (options.draw_body) draw_body(canvas, poses, options);
  if (options.draw_hands) {
    // DWPose stacks every left hand, then every right hand
    for (const auto& p : poses) draw_hand(canvas, p.left_hand, options);
    for (const auto& p : poses) draw_hand(canvas, p.right_hand, options);
  }
  if (options.draw_face)
    for (const auto& p : poses) draw_face(canvas, p.face, options);
}

cv::Mat render_pose_frame(const std::vector<Pose>& poses, cv::Size source_size, cv::Size out_size,
                          const DrawOptions& options) {
  cv::Mat canvas(out_size, CV_8UC3, cv::Scalar::all(0));
  const double sx = source_size.width > 0 ? double(out_size.width) / source_size.width : 1.0;
  const double sy = source_size.height > 0 ? double(out_size.height) / source_size.height : 1.0;
  std::vector<Pose> scaled_poses;
  scaled_poses.reserve(poses.size());
  for (const auto& p : poses) scaled_poses.push_back(scaled(p, sx, sy));
  draw_poses(canvas, scaled_poses, options);
  return canvas;
}

}  // namespace s2v::pose
