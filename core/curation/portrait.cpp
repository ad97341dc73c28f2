#include "core/curation/portrait.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

#include "core/curation/clip_frames.h"
#include "core/curation/metrics.h"
#include "models/base/error.h"

namespace s2v::curation {

namespace {

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// The preset's threshold on `metric` with a >= / > operator, if any (the portrait check only
// warns about too-low values).
const Threshold* lower_bound(const Preset& preset, const std::string& metric) {
  for (const auto& t : preset.thresholds)
    if (t.metric == metric && (t.op == ">=" || t.op == ">")) return &t;
  return nullptr;
}

}  // namespace

PortraitCheck check_portrait(const cv::Mat& input, const PortraitCheckOptions& o) {
  if (input.empty() || input.type() != CV_8UC3)
    throw Error("the portrait check needs a BGR 8-bit picture", ErrorKind::InvalidArgument);
  const cv::Mat bgr = resize_long_side(input);
  PortraitCheck c;
  c.size = bgr.size();

  cv::Mat grey;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  PeopleFaceDetector detector(o.detectors);
  std::vector<FrameDetections> dets{detector.detect(bgr, grey)};
  resolve_persons(dets, {0.0}, c.size);
  c.method = detector.method();
  if (o.pose) {
    c.overlay.poses = o.pose->estimate(bgr, merge_boxes(dets[0].persons));
    dets[0] = detections_from_poses(c.overlay.poses, c.size);
    c.method = o.pose->method();
  }
  c.overlay.people = dets[0].persons;
  c.overlay.hands = dets[0].hands;
  // Faces under 60% of the height of the largest are background people or detector noise (a fold
  // of a shirt, a hand): S2V animates the main face, and only faces of its size compete with it.
  int tallest = 0;
  for (const auto& f : dets[0].faces) tallest = std::max(tallest, f.height);
  for (const auto& f : dets[0].faces)
    if (5 * f.height >= 3 * tallest) c.overlay.faces.push_back(f);

  const auto& faces = c.overlay.faces;
  const std::string sharp_method = "Laplacian variance of the largest face, 128x128";
  if (faces.empty()) {
    c.face_sharpness = Metric::na(sharp_method, "no face was found");
  } else {
    const cv::Rect largest = *std::max_element(
        faces.begin(), faces.end(), [](const cv::Rect& a, const cv::Rect& b) { return a.area() < b.area(); });
    c.face_share = double(largest.height) / double(c.size.height);
    const double s = box_sharpness(bgr, largest, 128);
    c.face_sharpness = std::isfinite(s) ? Metric::of(s, sharp_method)
                                        : Metric::na(sharp_method, "the face is under 24 px");
  }
  ClarityScorer clarity(o.brisque_dir);
  c.clarity = Metric::of(100.0 - clarity.brisque(bgr), ClarityScorer::method());

  // Warnings, most important first.
  if (faces.empty())
    c.warnings.push_back("No face was found: S2V animates the face of the portrait; use a clear, "
                         "front-facing picture.");
  else if (faces.size() > 1)
    c.warnings.push_back(std::to_string(faces.size()) +
                         " faces were found: a single person gives the most reliable result.");
  if (!faces.empty() && c.face_share < o.min_face_share)
    c.warnings.push_back("The face is small (" + format("%.0f", 100.0 * c.face_share) +
                         "% of the picture height): crop closer to the person.");
  if (const Threshold* t = lower_bound(o.preset, "face_sharpness");
      t && c.face_sharpness.available() && !t->holds(*c.face_sharpness.value))
    c.warnings.push_back("The face looks blurred (sharpness " + format("%.0f", *c.face_sharpness.value) +
                         ", the " + o.preset.name + " preset wants " + t->op + " " +
                         format("%g", t->value) + ").");
  if (const Threshold* t = lower_bound(o.preset, "clarity"); t && !t->holds(*c.clarity.value))
    c.warnings.push_back("The picture quality is low (clarity " + format("%.0f", *c.clarity.value) +
                         ", the " + o.preset.name + " preset wants " + t->op + " " +
                         format("%g", t->value) + ").");
  return c;
}

}  // namespace s2v::curation
