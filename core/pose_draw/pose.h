#pragma once
// Whole-body poses in the DWPose layout (18 OpenPose body points, 21 + 21 hand points, 68 face
// points, each with a confidence) and their conversion from the 133 COCO-WholeBody keypoints that
// ViTPose whole-body predicts. Torch-free: OpenCV types only, so curation and the UI can use it.

#include <algorithm>
#include <array>
#include <vector>

#include <opencv2/core/types.hpp>

namespace s2v::pose {

// One keypoint in image pixels. A dropped point (below its confidence threshold) has score 0 and
// x = y = -1, as DWPose marks invisible points with -1.
struct Keypoint {
  float x = -1.0f;
  float y = -1.0f;
  float score = 0.0f;

  bool visible() const { return score > 0.0f; }
};

// COCO-WholeBody: 17 body, 6 feet, 68 face, 21 left hand, 21 right hand.
inline constexpr int kWholeBodyPoints = 133;
inline constexpr int kCocoBodyPoints = 17;
inline constexpr int kFaceBegin = 23;
inline constexpr int kLeftHandBegin = 91;
inline constexpr int kRightHandBegin = 112;

inline constexpr int kBodyPoints = 18;  // OpenPose order
inline constexpr int kHandPoints = 21;
inline constexpr int kFacePoints = 68;

// OpenPose-18 body order used by DWPose.
enum BodyPoint {
  kNose = 0, kNeck, kRShoulder, kRElbow, kRWrist, kLShoulder, kLElbow, kLWrist, kRHip, kRKnee,
  kRAnkle, kLHip, kLKnee, kLAnkle, kREye, kLEye, kREar, kLEar
};

// The COCO-WholeBody index of each OpenPose body point (-1: the neck, which COCO lacks and
// DWPose inserts as the mean of the two shoulders). As the mmpose_idx/openpose_idx reordering of
// DWPose's wholebody.py.
inline constexpr std::array<int, kBodyPoints> kBodyFromCoco = {
    0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3};

struct Pose {
  std::array<Keypoint, kBodyPoints> body;
  std::array<Keypoint, kHandPoints> left_hand;
  std::array<Keypoint, kHandPoints> right_hand;
  std::array<Keypoint, kFacePoints> face;
  float score = 0.0f;  // mean raw confidence of the 17 COCO body points
  cv::Rect2f box;      // the person box the pose was estimated in (empty when unknown)
};

// Confidence thresholds under which a point is dropped (DWPose uses 0.3 for every part).
struct ConversionOptions {
  float body_threshold = 0.3f;
  float hand_threshold = 0.3f;
  float face_threshold = 0.3f;
};

// kps: 133 COCO-WholeBody keypoints in image pixels with their raw confidences (as ViTPose
// returns them). Builds the DWPose layout: neck = mean of the shoulders (its score the smaller
// shoulder score, dropped unless both shoulders pass), body reordered to OpenPose order, face =
// the 68 face points, hands = left (91..111) and right (112..132); every point under its
// threshold dropped. Throws s2v::Error (InvalidArgument) unless kps has 133 points.
Pose from_coco_wholebody(const std::vector<Keypoint>& kps, const ConversionOptions& options = {});

// Number of visible points in a part.
template <size_t N>
int count_visible(const std::array<Keypoint, N>& points) {
  int n = 0;
  for (const auto& p : points) n += p.visible() ? 1 : 0;
  return n;
}

// Bounding box of the visible points of a part (empty when fewer than min_points are visible).
template <size_t N>
cv::Rect2f visible_bounds(const std::array<Keypoint, N>& points, int min_points = 2) {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int n = 0;
  for (const auto& p : points) {
    if (!p.visible()) continue;
    if (n == 0) {
      x0 = x1 = p.x;
      y0 = y1 = p.y;
    } else {
      x0 = std::min(x0, p.x); y0 = std::min(y0, p.y);
      x1 = std::max(x1, p.x); y1 = std::max(y1, p.y);
    }
    ++n;
  }
  if (n < min_points) return {};
  return {x0, y0, x1 - x0, y1 - y0};
}

// The same pose with every visible point's coordinates multiplied by (sx, sy) (dropped points
// stay dropped); the box is scaled too.
Pose scaled(const Pose& pose, double sx, double sy);

}  // namespace s2v::pose
