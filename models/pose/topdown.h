#pragma once
// Top-down pre- and post-processing of mmpose 0.x (ViTPose's fork) for one person box:
// _box2cs (box -> center/scale at the model's aspect, ×1.25 padding), get_affine_transform +
// cv2.warpAffine (TopDownAffine), ToTensor + NormalizeTensor (ImageNet mean/std, RGB), and
// keypoints_from_heatmaps with post_process='default' (argmax, quarter-pixel shift toward the
// higher neighbour, transform_preds back to image pixels).

#include <vector>

#include <opencv2/core.hpp>
#include <torch/types.h>

#include "core/pose_draw/pose.h"

namespace s2v::pose {

// mmpose's box encoding: center in pixels, scale in units of 200 px (pixel_std).
struct CenterScale {
  cv::Point2d center;
  cv::Point2d scale;  // (w / 200, h / 200) after the aspect fix and padding
};

// box: (x, y, w, h) in image pixels; input_size: (w, h) of the network input (192, 256).
// As _box2cs: widen or heighten the box to the input's aspect, then scale by `padding`.
CenterScale box_to_center_scale(const cv::Rect2d& box, cv::Size input_size, double padding = 1.25);

// The 2×3 affine matrix mapping image pixels into the network input (no rotation), as
// get_affine_transform(center, scale, 0, input_size).
cv::Mat affine_to_input(const CenterScale& cs, cv::Size input_size);

// bgr: [H, W, 3] CV_8UC3 -> [3, input_h, input_w] float RGB normalised with the ImageNet mean
// (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225): warpAffine (bilinear, black border).
torch::Tensor crop_person(const cv::Mat& bgr, const CenterScale& cs, cv::Size input_size);

// heatmaps: [K, Hh, Wh] float for one person -> K keypoints in image pixels with the heatmap
// maxima as scores; as keypoints_from_heatmaps(post_process='default', use_udp=False).
std::vector<Keypoint> decode_heatmaps(const torch::Tensor& heatmaps, const CenterScale& cs);

// The COCO-WholeBody mirror permutation: perm[i] is the keypoint that i becomes in a mirrored
// image (left/right body, feet, the 68-point face as in mmpose's coco_wholebody.py swaps, hands).
const std::vector<int64_t>& wholebody_flip_permutation();

// heatmaps of a horizontally flipped input [N, K, H, W] -> heatmaps in the original frame: channels
// swapped by perm, mirrored along W and, with shift, moved one pixel right (x[..., 1:] =
// x[..., :-1]); as flip_back + shift_heatmap in TopdownHeatmapSimpleHead.inference_model.
torch::Tensor flip_back(const torch::Tensor& heatmaps, const std::vector<int64_t>& perm,
                        bool shift = true);

}  // namespace s2v::pose
