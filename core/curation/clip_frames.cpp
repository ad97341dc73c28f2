#include "core/curation/clip_frames.h"

#include <algorithm>

#include <opencv2/imgproc.hpp>

namespace s2v::curation {

cv::Mat resize_long_side(const cv::Mat& frame, int long_side) {
  const int cur = std::max(frame.cols, frame.rows);
  if (cur == long_side || cur == 0) return frame;
  const double s = double(long_side) / cur;
  cv::Mat out;
  cv::resize(frame, out, cv::Size(), s, s, s < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

}  // namespace s2v::curation
