#include "core/curation/scores.h"

#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

namespace s2v::curation {

Metric Metric::of(double v, std::string method) {
  Metric m;
  m.value = v;
  m.method = std::move(method);
  return m;
}

Metric Metric::na(std::string method, std::string reason) {
  Metric m;
  m.method = std::move(method);
  m.na_reason = std::move(reason);
  return m;
}

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = {
      "people_max",      "single_person_ratio", "talking_face_run_s",
      "face_sharpness",  "hand_sharpness",      "motion",
      "clarity",         "aesthetics",          "text_area_ratio",
      "subtitle_over_face_or_hands",            "av_sync_confidence",
      "av_offset_s"};
  return names;
}

const std::vector<std::string>& column_names() {
  static const std::vector<std::string> cols = [] {
    std::vector<std::string> c = {"path", "duration_s", "width", "height", "fps"};
    for (const auto& m : metric_names()) c.push_back(m);
    c.push_back("verdict");
    c.push_back("failed_metrics");
    for (const auto& m : metric_names()) c.push_back(m + "_method");
    return c;
  }();
  return cols;
}

Metric ClipScores::metric(const std::string& name) const {
  auto it = metrics.find(name);
  if (it == metrics.end()) return Metric::na("", "not computed");
  return it->second;
}

void ClipScores::set(const std::string& name, Metric m) { metrics[name] = std::move(m); }

namespace {

nlohmann::json rects_json(const std::vector<cv::Rect>& rs) {
  auto a = nlohmann::json::array();
  for (const auto& r : rs) a.push_back({r.x, r.y, r.width, r.height});
  return a;
}

std::vector<cv::Rect> rects_from(const nlohmann::json& a) {
  std::vector<cv::Rect> out;
  if (!a.is_array()) return out;
  for (const auto& r : a)
    if (r.is_array() && r.size() == 4)
      out.emplace_back(r[0].get<int>(), r[1].get<int>(), r[2].get<int>(), r[3].get<int>());
  return out;
}

nlohmann::json numbers_json(const std::vector<double>& v) {
  auto a = nlohmann::json::array();
  for (double x : v) {
    if (std::isfinite(x))
      a.push_back(x);
    else
      a.push_back(nullptr);
  }
  return a;
}

// A pose as {"body": [x, y, score, ...], "left_hand": [...], "right_hand": [...], "face": [...]}:
// coordinates to 0.1 px and scores to 0.001 keep a clip's row small; dropped points are -1, -1, 0.
template <size_t N>
nlohmann::json points_json(const std::array<pose::Keypoint, N>& pts) {
  auto a = nlohmann::json::array();
  for (const auto& k : pts) {
    a.push_back(std::round(k.x * 10.0f) / 10.0f);
    a.push_back(std::round(k.y * 10.0f) / 10.0f);
    a.push_back(std::round(k.score * 1000.0f) / 1000.0f);
  }
  return a;
}

template <size_t N>
void points_from(const nlohmann::json& a, std::array<pose::Keypoint, N>& pts) {
  if (!a.is_array() || a.size() != 3 * N) return;  // a malformed part stays all dropped
  for (size_t i = 0; i < N; ++i)
    if (a[3 * i].is_number() && a[3 * i + 1].is_number() && a[3 * i + 2].is_number())
      pts[i] = {a[3 * i].get<float>(), a[3 * i + 1].get<float>(), a[3 * i + 2].get<float>()};
}

nlohmann::json poses_json(const std::vector<pose::Pose>& poses) {
  auto a = nlohmann::json::array();
  for (const auto& p : poses)
    a.push_back({{"body", points_json(p.body)},
                 {"left_hand", points_json(p.left_hand)},
                 {"right_hand", points_json(p.right_hand)},
                 {"face", points_json(p.face)},
                 {"score", p.score}});
  return a;
}

std::vector<pose::Pose> poses_from(const nlohmann::json& a) {
  std::vector<pose::Pose> out;
  if (!a.is_array()) return out;
  for (const auto& j : a) {
    if (!j.is_object()) continue;
    pose::Pose p;
    points_from(j.value("body", nlohmann::json()), p.body);
    points_from(j.value("left_hand", nlohmann::json()), p.left_hand);
    points_from(j.value("right_hand", nlohmann::json()), p.right_hand);
    points_from(j.value("face", nlohmann::json()), p.face);
    p.score = j.value("score", 0.0f);
    out.push_back(p);
  }
  return out;
}

}  // namespace

std::string ClipScores::series_json() const {
  nlohmann::json j = nlohmann::json::object();
  j["t"] = numbers_json(series_t);
  auto s = nlohmann::json::object();
  for (const auto& [name, v] : series) s[name] = numbers_json(v);
  j["series"] = s;
  auto o = nlohmann::json::array();
  for (const auto& f : overlays) {
    nlohmann::json fo = {{"t", f.t},
                         {"people", rects_json(f.people)},
                         {"faces", rects_json(f.faces)},
                         {"hands", rects_json(f.hands)},
                         {"text", rects_json(f.text)}};
    if (!f.poses.empty()) fo["poses"] = poses_json(f.poses);
    o.push_back(std::move(fo));
  }
  j["overlays"] = o;
  return j.dump();
}

void ClipScores::set_series_json(const std::string& text) {
  series.clear();
  series_t.clear();
  overlays.clear();
  if (text.empty()) return;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return;
  auto numbers = [](const nlohmann::json& a) {
    std::vector<double> v;
    for (const auto& x : a) v.push_back(x.is_number() ? x.get<double>() : std::nan(""));
    return v;
  };
  if (j.contains("t")) series_t = numbers(j["t"]);
  if (j.contains("series") && j["series"].is_object())
    for (const auto& [k, v] : j["series"].items()) series[k] = numbers(v);
  if (j.contains("overlays") && j["overlays"].is_array())
    for (const auto& f : j["overlays"]) {
      FrameOverlay o;
      o.t = f.value("t", 0.0);
      o.people = rects_from(f.value("people", nlohmann::json::array()));
      o.faces = rects_from(f.value("faces", nlohmann::json::array()));
      o.hands = rects_from(f.value("hands", nlohmann::json::array()));
      o.text = rects_from(f.value("text", nlohmann::json::array()));
      o.poses = poses_from(f.value("poses", nlohmann::json::array()));
      overlays.push_back(std::move(o));
    }
}

std::string ClipScores::na_reasons_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, m] : metrics)
    if (!m.available()) j[name] = m.na_reason;
  return j.dump();
}

std::string join_failed(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ';';
    out += n;
  }
  return out;
}

std::vector<std::string> split_failed(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ';'))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace s2v::curation
