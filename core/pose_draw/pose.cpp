#include "core/pose_draw/pose.h"

#include <algorithm>
#include <string>

#include "models/base/error.h"

namespace s2v::pose {

namespace {

Keypoint keep_if(const Keypoint& k, float threshold) {
  if (!(k.score >= threshold) || k.score <= 0.0f) return {};
  return k;
}

template <size_t N>
void copy_part(const std::vector<Keypoint>& kps, int begin, float threshold,
               std::array<Keypoint, N>& out) {
  for (size_t i = 0; i < N; ++i) out[i] = keep_if(kps[begin + i], threshold);
}

template <size_t N>
void scale_part(std::array<Keypoint, N>& part, double sx, double sy) {
  for (auto& k : part) {
    if (!k.visible()) continue;
    k.x = static_cast<float>(k.x * sx);
    k.y = static_cast<float>(k.y * sy);
  }
}

}  // namespace

// kps: [133] (x, y, score) -> DWPose layout; as the neck insertion and index reordering in
// DWPose's wholebody.py plus the 0.3 visibility cut of its DWposeDetector.
Pose from_coco_wholebody(const std::vector<Keypoint>& kps, const ConversionOptions& options) {
  if (kps.size() != static_cast<size_t>(kWholeBodyPoints))
    throw Error("cannot convert a pose with " + std::to_string(kps.size()) +
                    " keypoints: COCO-WholeBody has 133",
                ErrorKind::InvalidArgument);
  Pose p;
  const Keypoint& ls = kps[5];
  const Keypoint& rs = kps[6];
  Keypoint neck;
  neck.x = 0.5f * (ls.x + rs.x);
  neck.y = 0.5f * (ls.y + rs.y);
  neck.score = std::min(ls.score, rs.score);
  for (int i = 0; i < kBodyPoints; ++i) {
    const int coco = kBodyFromCoco[i];
    p.body[i] = keep_if(coco < 0 ? neck : kps[coco], options.body_threshold);
  }
  copy_part(kps, kFaceBegin, options.face_threshold, p.face);
  copy_part(kps, kLeftHandBegin, options.hand_threshold, p.left_hand);
  copy_part(kps, kRightHandBegin, options.hand_threshold, p.right_hand);
  double sum = 0.0;
  for (int i = 0; i < kCocoBodyPoints; ++i) sum += kps[i].score;
  p.score = static_cast<float>(sum / kCocoBodyPoints);
  return p;
}

Pose scaled(const Pose& pose, double sx, double sy) {
  Pose p = pose;
  scale_part(p.body, sx, sy);
  scale_part(p.left_hand, sx, sy);
  scale_part(p.right_hand, sx, sy);
  scale_part(p.face, sx, sy);
  p.box = cv::Rect2f(static_cast<float>(pose.box.x * sx), static_cast<float>(pose.box.y * sy),
                     static_cast<float>(pose.box.width * sx),
                     static_cast<float>(pose.box.height * sy));
  return p;
}

}  // namespace s2v::pose
