#pragma once
// People and face detection, the fallback for ViTPose whole-body when no pose weights are loaded:
// OpenCV's HOG people detector for bodies (on the frame and on the frame upsampled 2x, so that
// the small people of a crowd or a wide shot count) and LBP/Haar cascades (opencv-data) for
// frontal and profile faces. No hands: hand boxes need hand keypoints.

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace s2v::curation {

struct DetectorPaths {
  std::string cascade_dir = "/usr/share/opencv4";  // holds haarcascades/ and lbpcascades/
  std::string frontal = "lbpcascades/lbpcascade_frontalface_improved.xml";
  std::string profile = "lbpcascades/lbpcascade_profileface.xml";
};

struct FrameDetections {
  std::vector<cv::Rect> bodies;   // HOG boxes kept after the close-up rule
  std::vector<cv::Rect> faces;    // merged frontal + profile (both directions)
  std::vector<cv::Rect> hands;    // always empty in the fallback
  std::vector<cv::Rect> persons;  // one box per counted person (body, or face-derived body)
  bool close_up = false;          // a large face: HOG bodies ignored in this frame
};

class PeopleFaceDetector {
 public:
  // Throws s2v::Error (NotFound) naming the cascade file that cannot be loaded.
  explicit PeopleFaceDetector(const DetectorPaths& paths = {});
  ~PeopleFaceDetector();
  PeopleFaceDetector(const PeopleFaceDetector&) = delete;
  PeopleFaceDetector& operator=(const PeopleFaceDetector&) = delete;

  // bgr: [H, W, 3] at the working resolution. Faces and bodies only; persons are resolved over
  // the clip by resolve_persons() (the close-up rule looks at neighbouring frames). A frame with
  // a large face (a close-up) gets no bodies: resolve_persons would drop them.
  FrameDetections detect(const cv::Mat& bgr);
  // Same, with the grey frame already at hand (grey: [H, W] CV_8U of bgr).
  FrameDetections detect(const cv::Mat& bgr, const cv::Mat& grey);
  std::vector<cv::Rect> detect_faces(const cv::Mat& grey);
  // Both HOG passes (the frame, and the frame upsampled kSmallPeopleUpsample times over
  // kSmallPeopleLevels pyramid levels), boxes merged.
  std::vector<cv::Rect> detect_bodies(const cv::Mat& bgr);

  std::string method() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The small-people pass: 2x upsampling, 8 levels of the 1.1 pyramid (scales 2.0 .. 1.05), i.e.
// people of about 48 .. 92 px at the working resolution, below what the plain pass finds. About
// 4x the plain pass's CPU time per frame (docs/performance.md), spent only on frames that are
// not close-ups.
inline constexpr double kSmallPeopleUpsample = 2.0;
inline constexpr int kSmallPeopleLevels = 8;

// A face is "large" (a close-up) when its height is at least this share of the frame height:
// the HOG pedestrian window (64×128) then cannot hold the body, and its hits are not people.
inline constexpr double kCloseUpFaceShare = 1.0 / 8.0;

// Fills persons/close_up of each frame. A frame within `hold_s` seconds of a frame with a large
// face is a close-up: persons = faces. Otherwise persons = HOG bodies plus a face-derived body
// box for each face not inside a body.
void resolve_persons(std::vector<FrameDetections>& dets, const std::vector<double>& t,
                     cv::Size frame, double hold_s = 0.5);

// Intersection area over the smaller box's area (0 when either is empty).
double overlap_of_smaller(const cv::Rect& a, const cv::Rect& b);
// Greedy non-maximum merge: boxes overlapping a kept box by ≥ `thr` of the smaller are dropped.
std::vector<cv::Rect> merge_boxes(std::vector<cv::Rect> boxes, double thr = 0.5);

}  // namespace s2v::curation
