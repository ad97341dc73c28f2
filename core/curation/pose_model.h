#pragma once
// Pose: ViTPose whole-body (COCO-WholeBody, 133 keypoints) top-down on person boxes, converted to
// the DWPose layout (core/pose_draw/pose.h). The network lives in models/pose; curation sees it
// only through this interface (no LibTorch here). When no pose model is set, curation falls back
// to the HOG + face-cascade detectors (detect.h).

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/curation/detect.h"
#include "core/pose_draw/pose.h"

namespace s2v::curation {

class PoseModel {
 public:
  virtual ~PoseModel() = default;
  // bgr: CV_8UC3 frame; person_boxes: boxes in its pixels (empty: the whole frame is one box).
  // Returns one pose per box, keypoints in frame pixels, each pose's `box` set to its input box.
  virtual std::vector<pose::Pose> estimate(const cv::Mat& bgr,
                                           const std::vector<cv::Rect>& person_boxes) = 0;
  // e.g. "ViTPose-H whole-body 256x192 (top-down on person boxes)".
  virtual std::string method() const = 0;
};

// How poses become curation's boxes.
struct PoseBoxRules {
  int min_body_points = 4;   // a pose with fewer visible body points is not a person
  int min_face_points = 10;  // of 68
  int min_hand_points = 8;   // of 21
  double person_pad = 0.10;  // share of the keypoint box added on each side
  double face_pad = 0.15;    // each side; plus face_top extra above (the 68 points start at the brows)
  double face_top = 0.25;
  double hand_pad = 0.20;    // each side of the squared hand box
};

namespace pose_boxes_detail {
inline cv::Rect clip_rect(double x0, double y0, double x1, double y1, cv::Size frame) {
  const int l = std::clamp(static_cast<int>(std::floor(x0)), 0, frame.width);
  const int t = std::clamp(static_cast<int>(std::floor(y0)), 0, frame.height);
  const int r = std::clamp(static_cast<int>(std::ceil(x1)), 0, frame.width);
  const int b = std::clamp(static_cast<int>(std::ceil(y1)), 0, frame.height);
  return {l, t, std::max(0, r - l), std::max(0, b - t)};
}
template <size_t N>
void extend(const std::array<pose::Keypoint, N>& part, double& x0, double& y0, double& x1,
            double& y1) {
  for (const auto& k : part)
    if (k.visible()) {
      x0 = std::min<double>(x0, k.x); y0 = std::min<double>(y0, k.y);
      x1 = std::max<double>(x1, k.x); y1 = std::max<double>(y1, k.y);
    }
}
}  // namespace pose_boxes_detail

// The detections of one frame from its poses: a person box (all visible points, padded) per pose
// with enough body points (also its `bodies`), a face box from the 68 face points, a hand box
// from each hand's 21 points. close_up is false (no HOG window rule applies to keypoints).
inline FrameDetections detections_from_poses(const std::vector<pose::Pose>& poses, cv::Size frame,
                                             const PoseBoxRules& rules = {}) {
  namespace d = pose_boxes_detail;
  FrameDetections out;
  for (const auto& p : poses) {
    if (pose::count_visible(p.body) < rules.min_body_points) continue;
    double x0 = 1e30, y0 = 1e30, x1 = -1e30, y1 = -1e30;
    d::extend(p.body, x0, y0, x1, y1);
    d::extend(p.face, x0, y0, x1, y1);
    d::extend(p.left_hand, x0, y0, x1, y1);
    d::extend(p.right_hand, x0, y0, x1, y1);
    const double pw = (x1 - x0) * rules.person_pad, ph = (y1 - y0) * rules.person_pad;
    out.persons.push_back(d::clip_rect(x0 - pw, y0 - ph, x1 + pw, y1 + ph, frame));
    if (pose::count_visible(p.face) >= rules.min_face_points) {
      const auto f = pose::visible_bounds(p.face);
      const double fw = f.width * rules.face_pad, fh = f.height * rules.face_pad;
      out.faces.push_back(d::clip_rect(f.x - fw, f.y - fh - f.height * rules.face_top,
                                       f.x + f.width + fw, f.y + f.height + fh, frame));
    }
    for (const auto* hand : {&p.left_hand, &p.right_hand}) {
      if (pose::count_visible(*hand) < rules.min_hand_points) continue;
      const auto h = pose::visible_bounds(*hand);
      const double side = std::max(h.width, h.height) * (1.0 + 2.0 * rules.hand_pad);
      const double cx = h.x + h.width * 0.5, cy = h.y + h.height * 0.5;
      out.hands.push_back(d::clip_rect(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2, frame));
    }
  }
  out.bodies = out.persons;
  return out;
}

}  // namespace s2v::curation
