#pragma once
// DWPose-style skeleton drawing (as draw_bodypose / draw_handpose / draw_facepose of DWPose's
// util.py): black background, 17 body limbs as filled ellipses in the DWPose colour table, the
// canvas dimmed to 60%, body joints as circles, hand edges in HSV rainbow colours with blue joints,
// face points as white dots. The same frames are S2V's pose-conditioning video. OpenCV only.

#include <array>
#include <vector>

#include <opencv2/core.hpp>

#include "core/pose_draw/pose.h"

namespace s2v::pose {

struct DrawOptions {
  int stickwidth = 4;      // half-width of the limb ellipses (DWPose: 4)
  int joint_radius = 4;    // body and hand joints
  int face_radius = 3;
  int hand_thickness = 2;
  bool draw_body = true;
  bool draw_hands = true;
  bool draw_face = true;
};

// Wan's scaling of the stick width for a canvas: max(1, min(H, W) / 200).
int scaled_stickwidth(cv::Size canvas);

// The 19 OpenPose limbs (1-based point pairs, as DWPose's limbSeq); DWPose draws the first 17.
extern const std::array<std::array<int, 2>, 19> kLimbSeq;
inline constexpr int kDrawnLimbs = 17;
// The 18 DWPose colours, RGB.
extern const std::array<cv::Vec3b, 18> kBodyColorsRgb;
// The 20 hand edges (0-based point pairs).
extern const std::array<std::array<int, 2>, 20> kHandEdges;
// RGB colour of hand edge i: hsv_to_rgb(i / 20, 1, 1) * 255, rounded as OpenCV rounds it.
cv::Vec3b hand_edge_color_rgb(int edge);

// Draws poses (coordinates in canvas pixels) onto canvas (BGR CV_8UC3) in DWPose's order: body
// limbs of every pose, dim the whole canvas to 60% (as DWPose, which dims after the limbs), body
// joints, then hands, then faces.
void draw_poses(cv::Mat& canvas, const std::vector<Pose>& poses, const DrawOptions& options = {});

// One pose-conditioning frame: a black out_size BGR canvas with poses whose coordinates are in
// a source_size image, scaled to out_size.
cv::Mat render_pose_frame(const std::vector<Pose>& poses, cv::Size source_size, cv::Size out_size,
                          const DrawOptions& options = {});

}  // namespace s2v::pose
