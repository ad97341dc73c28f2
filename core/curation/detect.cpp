#include "core/curation/detect.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "models/base/error.h"

namespace s2v::curation {

struct PeopleFaceDetector::Impl {
  cv::CascadeClassifier frontal;
  cv::CascadeClassifier profile;
  cv::HOGDescriptor hog;        // people of at least a window's height (about 96 px)
  cv::HOGDescriptor hog_small;  // the same detector on the frame upsampled: smaller people
  std::string frontal_name;
  std::string profile_name;
};

namespace {

void load_cascade(cv::CascadeClassifier& c, const std::string& dir, const std::string& rel) {
  const std::string path = rel.empty() || rel[0] == '/' ? rel : dir + "/" + rel;
  bool ok = false;
  try {
    ok = c.load(path);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok)
    throw Error("cannot load the face cascade '" + path +
                    "': install Debian's opencv-data or set the cascade folder",
                ErrorKind::NotFound, path);
}

std::string file_stem(const std::string& p) {
  auto slash = p.find_last_of('/');
  std::string f = slash == std::string::npos ? p : p.substr(slash + 1);
  auto dot = f.rfind('.');
  return dot == std::string::npos ? f : f.substr(0, dot);
}

}  // namespace

PeopleFaceDetector::PeopleFaceDetector(const DetectorPaths& paths) : impl_(std::make_unique<Impl>()) {
  load_cascade(impl_->frontal, paths.cascade_dir, paths.frontal);
  load_cascade(impl_->profile, paths.cascade_dir, paths.profile);
  impl_->frontal_name = file_stem(paths.frontal);
  impl_->profile_name = file_stem(paths.profile);
  impl_->hog.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
  impl_->hog_small.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
  // Only the pyramid levels the plain pass cannot reach: at 2x upsampling, 8 levels of 1.1 span
  // scales 2.0 .. 1.05, people of about 48 .. 92 px in the working frame.
  impl_->hog_small.nlevels = kSmallPeopleLevels;
}

PeopleFaceDetector::~PeopleFaceDetector() = default;

std::string PeopleFaceDetector::method() const {
  return "OpenCV HOG people detector (also on the frame upsampled 2x, for small people) + " +
         impl_->frontal_name + " / " + impl_->profile_name +
         " cascades (fallback for ViTPose whole-body; close-up frames count faces)";
}

double overlap_of_smaller(const cv::Rect& a, const cv::Rect& b) {
  const double smaller = std::min(a.area(), b.area());
  if (smaller <= 0) return 0.0;
  return (a & b).area() / smaller;
}

std::vector<cv::Rect> merge_boxes(std::vector<cv::Rect> boxes, double thr) {
  // Larger boxes first: a small duplicate inside a large one is dropped.
  std::sort(boxes.begin(), boxes.end(),
            [](const cv::Rect& a, const cv::Rect& b) { return a.area() > b.area(); });
  std::vector<cv::Rect> kept;
  for (const auto& b : boxes) {
    bool dup = false;
    for (const auto& k : kept)
      if (overlap_of_smaller(b, k) >= thr) {
        dup = true;
        break;
      }
    if (!dup) kept.push_back(b);
  }
  return kept;
}

// grey: [H, W] CV_8U at the working resolution.
std::vector<cv::Rect> PeopleFaceDetector::detect_faces(const cv::Mat& grey) {
  cv::Mat eq;
  cv::equalizeHist(grey, eq);
  const cv::Size min_size(24, 24);
  std::vector<cv::Rect> faces, prof, prof_flipped;
  impl_->frontal.detectMultiScale(eq, faces, 1.1, 3, 0, min_size);
  // Profile faces on the half-size frame (both directions): a quarter of the pixels; profile
  // faces under about 40 px at the working size are missed (frontal ones are still found).
  cv::Mat half, flipped;
  cv::resize(eq, half, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
  impl_->profile.detectMultiScale(half, prof, 1.1, 3, 0, cv::Size(20, 20));
  cv::flip(half, flipped, 1);
  impl_->profile.detectMultiScale(flipped, prof_flipped, 1.1, 3, 0, cv::Size(20, 20));
  for (auto r : prof_flipped) {
    r.x = half.cols - r.x - r.width;
    prof.push_back(r);
  }
  for (auto& r : prof) r = cv::Rect(r.x * 2, r.y * 2, r.width * 2, r.height * 2);
  faces.insert(faces.end(), prof.begin(), prof.end());
  return merge_boxes(std::move(faces), 0.5);
}

namespace {

// HOG windows of one pass (scale step 1.1: half the pyramid levels of OpenCV's sample's 1.05,
// people still found), mapped back by 1/upsample and shrunk to the person inside the window (the
// 64x128 window has margins).
std::vector<cv::Rect> hog_pass(cv::HOGDescriptor& hog, const cv::Mat& bgr, double upsample) {
  std::vector<cv::Rect> found;
  std::vector<double> weights;
  cv::Mat img = bgr;
  if (upsample != 1.0) cv::resize(bgr, img, cv::Size(), upsample, upsample, cv::INTER_LINEAR);
  if (img.cols < 64 || img.rows < 128) return found;
  hog.detectMultiScale(img, found, weights, 0.0, cv::Size(8, 8), cv::Size(0, 0), 1.1, 2.0);
  const cv::Rect frame(0, 0, bgr.cols, bgr.rows);
  for (auto& r : found) {
    cv::Rect b(cvRound(r.x / upsample), cvRound(r.y / upsample), cvRound(r.width / upsample),
               cvRound(r.height / upsample));
    b.x += cvRound(b.width * 0.1);
    b.width = cvRound(b.width * 0.8);
    b.y += cvRound(b.height * 0.07);
    b.height = cvRound(b.height * 0.8);
    r = b & frame;
  }
  return found;
}

}  // namespace

// bgr: [H, W, 3]. Two passes: the frame as it is finds people of at least the window's height
// (about 96 px at the working resolution); the frame upsampled 2x, over the levels below that,
// finds the small, distant people of a crowd or a wide shot (a street crowd at 480 px wide has
// people of 50-80 px, which the first pass misses entirely).
std::vector<cv::Rect> PeopleFaceDetector::detect_bodies(const cv::Mat& bgr) {
  std::vector<cv::Rect> found = hog_pass(impl_->hog, bgr, 1.0);
  const std::vector<cv::Rect> small = hog_pass(impl_->hog_small, bgr, kSmallPeopleUpsample);
  found.insert(found.end(), small.begin(), small.end());
  return merge_boxes(std::move(found), 0.6);
}

FrameDetections PeopleFaceDetector::detect(const cv::Mat& bgr) {
  cv::Mat grey;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  return detect(bgr, grey);
}

FrameDetections PeopleFaceDetector::detect(const cv::Mat& bgr, const cv::Mat& grey) {
  FrameDetections d;
  d.faces = detect_faces(grey);
  // A frame with a large face is a close-up, whose HOG bodies resolve_persons drops (the window
  // cannot hold that body): not searching for them changes no count and saves the HOG passes,
  // the costliest part of scoring a talking head.
  const bool large_face = std::any_of(d.faces.begin(), d.faces.end(), [&](const cv::Rect& f) {
    return f.height >= kCloseUpFaceShare * grey.rows;
  });
  if (!large_face) d.bodies = detect_bodies(bgr);
  return d;
}

namespace {

// The body box implied by a face: two face widths wide, four face heights tall.
cv::Rect body_from_face(const cv::Rect& f, cv::Size frame) {
  cv::Rect b(f.x - f.width / 2, f.y - f.height / 4, f.width * 2, f.height * 4);
  return b & cv::Rect(0, 0, frame.width, frame.height);
}

}  // namespace

void resolve_persons(std::vector<FrameDetections>& dets, const std::vector<double>& t,
                     cv::Size frame, double hold_s) {
  const size_t n = dets.size();
  std::vector<char> large(n, 0);
  for (size_t i = 0; i < n; ++i)
    for (const auto& f : dets[i].faces)
      if (f.height >= kCloseUpFaceShare * frame.height) large[i] = 1;
  for (size_t i = 0; i < n; ++i) {
    auto& d = dets[i];
    d.close_up = false;
    for (size_t j = 0; j < n && !d.close_up; ++j) {
      const double dt = (i < t.size() && j < t.size()) ? std::abs(t[i] - t[j]) : 1e9;
      if (large[j] && (i == j || dt <= hold_s + 1e-9)) d.close_up = true;
    }
    d.persons.clear();
    if (d.close_up) {
      d.bodies.clear();
      for (const auto& f : d.faces) d.persons.push_back(body_from_face(f, frame));
      continue;
    }
    d.persons = d.bodies;
    for (const auto& f : d.faces) {
      const cv::Point c(f.x + f.width / 2, f.y + f.height / 2);
      bool inside = false;
      for (const auto& b : d.bodies) inside = inside || b.contains(c);
      if (!inside) d.persons.push_back(body_from_face(f, frame));
    }
  }
}

}  // namespace s2v::curation
