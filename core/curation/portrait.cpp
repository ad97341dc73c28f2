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

namespace {

nlohmann::json rects_json(const std::vector<cv::Rect>& rects) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : rects) a.push_back({r.x, r.y, r.width, r.height});
  return a;
}

std::vector<cv::Rect> rects_from(const nlohmann::json& a) {
  std::vector<cv::Rect> out;
  for (const auto& r : a) out.emplace_back(r.at(0).get<int>(), r.at(1).get<int>(), r.at(2).get<int>(), r.at(3).get<int>());
  return out;
}

template <size_t N>
nlohmann::json points_json(const std::array<pose::Keypoint, N>& points) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& k : points) a.push_back({k.x, k.y, k.score});
  return a;
}

template <size_t N>
void points_from(const nlohmann::json& a, std::array<pose::Keypoint, N>& points) {
  if (a.size() != N) throw Error("a pose part has " + std::to_string(a.size()) + " points, not " + std::to_string(N), ErrorKind::Corrupt);
  for (size_t i = 0; i < N; ++i) points[i] = {a[i].at(0).get<float>(), a[i].at(1).get<float>(), a[i].at(2).get<float>()};
}

nlohmann::json metric_json(const Metric& m) {
  return {{"value", m.value ? nlohmann::json(*m.value) : nlohmann::json(nullptr)},
          {"method", m.method},
          {"na_reason", m.na_reason}};
}

Metric metric_from(const nlohmann::json& j) {
  Metric m;
  if (!j.at("value").is_null()) m.value = j.at("value").get<double>();
  m.method = j.value("method", std::string());
  m.na_reason = j.value("na_reason", std::string());
  return m;
}

}  // namespace

nlohmann::json to_json(const PortraitCheck& c) {
  nlohmann::json poses = nlohmann::json::array();
  for (const auto& p : c.overlay.poses)
    poses.push_back({{"body", points_json(p.body)}, {"left_hand", points_json(p.left_hand)},
                     {"right_hand", points_json(p.right_hand)}, {"face", points_json(p.face)},
                     {"score", p.score}, {"box", {p.box.x, p.box.y, p.box.width, p.box.height}}});
  return {{"size", {c.size.width, c.size.height}},
          {"overlay", {{"t", c.overlay.t}, {"people", rects_json(c.overlay.people)}, {"faces", rects_json(c.overlay.faces)},
                       {"hands", rects_json(c.overlay.hands)}, {"text", rects_json(c.overlay.text)}, {"poses", poses}}},
          {"face_share", c.face_share},
          {"face_sharpness", metric_json(c.face_sharpness)},
          {"clarity", metric_json(c.clarity)},
          {"method", c.method},
          {"warnings", c.warnings}};
}

PortraitCheck portrait_check_from_json(const nlohmann::json& j) {
  PortraitCheck c;
  try {
    c.size = {j.at("size").at(0).get<int>(), j.at("size").at(1).get<int>()};
    const auto& o = j.at("overlay");
    c.overlay.t = o.value("t", 0.0);
    c.overlay.people = rects_from(o.at("people"));
    c.overlay.faces = rects_from(o.at("faces"));
    c.overlay.hands = rects_from(o.at("hands"));
    c.overlay.text = rects_from(o.at("text"));
    for (const auto& p : o.at("poses")) {
      pose::Pose q;
      points_from(p.at("body"), q.body);
      points_from(p.at("left_hand"), q.left_hand);
      points_from(p.at("right_hand"), q.right_hand);
      points_from(p.at("face"), q.face);
      q.score = p.value("score", 0.0f);
      const auto& b = p.at("box");
      q.box = {b.at(0).get<float>(), b.at(1).get<float>(), b.at(2).get<float>(), b.at(3).get<float>()};
      c.overlay.poses.push_back(q);
    }
    c.face_share = j.value("face_share", 0.0);
    c.face_sharpness = metric_from(j.at("face_sharpness"));
    c.clarity = metric_from(j.at("clarity"));
    c.method = j.value("method", std::string());
    c.warnings = j.value("warnings", std::vector<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("cannot read a portrait check: ") + e.what(), ErrorKind::Corrupt);
  }
  return c;
}

}  // namespace s2v::curation
