#include "models/pose/topdown.h"

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

namespace s2v::pose {

namespace {
constexpr double kPixelStd = 200.0;
}

// as _box2cs in mmpose/apis/inference.py
CenterScale box_to_center_scale(const cv::Rect2d& box, cv::Size input_size, double padding) {
  const double aspect = double(input_size.width) / double(input_size.height);
  double w = box.width, h = box.height;
  CenterScale cs;
  cs.center = {box.x + w * 0.5, box.y + h * 0.5};
  if (w > aspect * h)
    h = w / aspect;
  else if (w < aspect * h)
    w = h * aspect;
  cs.scale = {w / kPixelStd * padding, h / kPixelStd * padding};
  return cs;
}

// as get_affine_transform(center, scale, rot=0, output_size): a uniform scale by
// output_w / (scale_x * 200) about the box centre, which lands on the input's centre
cv::Mat affine_to_input(const CenterScale& cs, cv::Size input_size) {
  const double src_w = cs.scale.x * kPixelStd;
  const double k = double(input_size.width) / src_w;
  cv::Mat m = (cv::Mat_<double>(2, 3) << k, 0.0, input_size.width * 0.5 - k * cs.center.x,  //
               0.0, k, input_size.height * 0.5 - k * cs.center.y);
  return m;
}

// bgr: [H, W, 3] -> [3, h, w]
torch::Tensor crop_person(const cv::Mat& bgr, const CenterScale& cs, cv::Size input_size) {
  CV_Assert(bgr.type() == CV_8UC3);
  cv::Mat warped;
  cv::warpAffine(bgr, warped, affine_to_input(cs, input_size), input_size, cv::INTER_LINEAR);
  cv::Mat rgb;
  cv::cvtColor(warped, rgb, cv::COLOR_BGR2RGB);
  auto t = torch::from_blob(rgb.data, {input_size.height, input_size.width, 3}, torch::kUInt8)
               .permute({2, 0, 1})
               .to(torch::kFloat32)
               .div(255.0);
  const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({3, 1, 1});
  const auto std = torch::tensor({0.229f, 0.224f, 0.225f}).view({3, 1, 1});
  return ((t - mean) / std).contiguous();
}

// heatmaps: [K, Hh, Wh] -> K keypoints in image pixels
std::vector<Keypoint> decode_heatmaps(const torch::Tensor& heatmaps, const CenterScale& cs) {
  const auto hm = heatmaps.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  TORCH_CHECK(hm.dim() == 3, "decode_heatmaps expects [K, H, W] heatmaps");
  const int64_t k = hm.size(0), h = hm.size(1), w = hm.size(2);
  const auto a = hm.accessor<float, 3>();
  // transform_preds: scale * 200 spread over the heatmap width/height
  const double sx = cs.scale.x * kPixelStd / double(w);
  const double sy = cs.scale.y * kPixelStd / double(h);
  std::vector<Keypoint> out(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j) {
    // _get_max_preds: the first maximum in row-major order
    int64_t best = 0;
    float maxval = a[j][0][0];
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        if (a[j][y][x] > maxval) {
          maxval = a[j][y][x];
          best = y * w + x;
        }
    double px = -1.0, py = -1.0;
    if (maxval > 0.0f) {
      const int64_t ix = best % w, iy = best / w;
      px = double(ix);
      py = double(iy);
      // post_process 'default': a quarter pixel toward the higher neighbour
      if (ix > 1 && ix < w - 1 && iy > 1 && iy < h - 1) {  // 1 < px < W - 1, as mmpose
        const float dx = a[j][iy][ix + 1] - a[j][iy][ix - 1];
        const float dy = a[j][iy + 1][ix] - a[j][iy - 1][ix];
        px += 0.25 * ((dx > 0) - (dx < 0));
        py += 0.25 * ((dy > 0) - (dy < 0));
      }
    }
    // transform_preds (use_udp=False); a point with no positive maximum stays at -1 before the
    // transform, as mmpose leaves it
    Keypoint kp;
    kp.x = static_cast<float>(px * sx + cs.center.x - cs.scale.x * kPixelStd * 0.5);
    kp.y = static_cast<float>(py * sy + cs.center.y - cs.scale.y * kPixelStd * 0.5);
    kp.score = maxval;
    out[static_cast<size_t>(j)] = kp;
  }
  return out;
}

const std::vector<int64_t>& wholebody_flip_permutation() {
  static const std::vector<int64_t> perm = [] {
    std::vector<int64_t> p(kWholeBodyPoints);
    for (int64_t i = 0; i < kWholeBodyPoints; ++i) p[i] = i;
    auto swap = [&](int64_t a, int64_t b) { p[a] = b; p[b] = a; };
    for (int64_t i = 1; i < kCocoBodyPoints; i += 2) swap(i, i + 1);  // eyes .. ankles
    for (int64_t i = 0; i < 3; ++i) swap(17 + i, 20 + i);              // feet
    // the 68 face points (iBUG order), as the `swap` entries of coco_wholebody.py
    const int64_t face_pairs[][2] = {
        {0, 16}, {1, 15}, {2, 14}, {3, 13}, {4, 12}, {5, 11}, {6, 10}, {7, 9},   // jaw
        {17, 26}, {18, 25}, {19, 24}, {20, 23}, {21, 22},                        // brows
        {31, 35}, {32, 34},                                                      // nostrils
        {36, 45}, {37, 44}, {38, 43}, {39, 42}, {40, 47}, {41, 46},              // eyes
        {48, 54}, {49, 53}, {50, 52}, {55, 59}, {56, 58}, {60, 64}, {61, 63}, {65, 67}};  // mouth
    for (const auto& f : face_pairs) swap(kFaceBegin + f[0], kFaceBegin + f[1]);
    for (int64_t i = 0; i < kHandPoints; ++i) swap(kLeftHandBegin + i, kRightHandBegin + i);
    return p;
  }();
  return perm;
}

// heatmaps: [N, K, H, W] of flipped inputs -> [N, K, H, W]
torch::Tensor flip_back(const torch::Tensor& heatmaps, const std::vector<int64_t>& perm, bool shift) {
  TORCH_CHECK(heatmaps.dim() == 4 && heatmaps.size(1) == static_cast<int64_t>(perm.size()),
              "flip_back expects [N, K, H, W] heatmaps with one channel per permutation entry");
  const auto index = torch::tensor(perm, torch::kLong).to(heatmaps.device());
  auto out = heatmaps.index_select(1, index).flip({3}).contiguous();
  if (shift && out.size(3) > 1) out.slice(3, 1) = out.slice(3, 0, out.size(3) - 1).clone();
  return out;
}

}  // namespace s2v::pose
