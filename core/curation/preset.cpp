#include "core/curation/preset.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/base/error.h"

namespace s2v::curation {

namespace {

std::string number_text(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}

NaPolicy parse_policy(const nlohmann::json& j, const std::string& source) {
  const std::string s = j.is_string() ? j.get<std::string>() : std::string();
  if (s == "pass") return NaPolicy::Pass;
  if (s == "review") return NaPolicy::Review;
  throw Error("preset '" + source + "': n/a policy must be \"pass\" or \"review\", not " + j.dump(),
              ErrorKind::InvalidArgument, source);
}

const char* policy_name(NaPolicy p) { return p == NaPolicy::Pass ? "pass" : "review"; }

bool known_metric(const std::string& m) {
  for (const auto& n : metric_names())
    if (n == m) return true;
  return false;
}

}  // namespace

bool Threshold::holds(double v) const {
  if (op == ">=") return v >= value;
  if (op == "<=") return v <= value;
  if (op == ">") return v > value;
  if (op == "<") return v < value;
  if (op == "==") return std::abs(v - value) <= 1e-9 * std::max(1.0, std::abs(value));
  if (op == "!=") return std::abs(v - value) > 1e-9 * std::max(1.0, std::abs(value));
  return false;
}

std::string Threshold::describe() const { return metric + " " + op + " " + number_text(value); }

Preset Preset::from_json(const std::string& text, const std::string& source) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error("preset '" + source + "' is not a JSON object", ErrorKind::InvalidArgument, source);
  Preset p;
  p.name = j.value("name", source);
  if (j.contains("na_policy")) p.na_policy = parse_policy(j["na_policy"], source);
  if (!j.contains("thresholds") || !j["thresholds"].is_array())
    throw Error("preset '" + source + "' has no \"thresholds\" list", ErrorKind::InvalidArgument,
                source);
  for (const auto& e : j["thresholds"]) {
    Threshold t;
    t.metric = e.value("metric", "");
    t.op = e.value("op", "");
    if (!known_metric(t.metric))
      throw Error("preset '" + source + "': unknown metric \"" + t.metric + "\"",
                  ErrorKind::InvalidArgument, source);
    if (t.op != ">=" && t.op != "<=" && t.op != ">" && t.op != "<" && t.op != "==" &&
        t.op != "!=")
      throw Error("preset '" + source + "': threshold on " + t.metric + " has bad operator \"" +
                      t.op + "\"",
                  ErrorKind::InvalidArgument, source);
    if (!e.contains("value"))
      throw Error("preset '" + source + "': threshold on " + t.metric + " has no value",
                  ErrorKind::InvalidArgument, source);
    const auto& v = e["value"];
    if (v.is_boolean())
      t.value = v.get<bool>() ? 1.0 : 0.0;
    else if (v.is_number())
      t.value = v.get<double>();
    else
      throw Error("preset '" + source + "': threshold on " + t.metric +
                      " needs a number or true/false",
                  ErrorKind::InvalidArgument, source);
    if (e.contains("na")) t.na = parse_policy(e["na"], source);
    p.thresholds.push_back(t);
  }
  return p;
}

Preset Preset::load(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw Error("cannot read preset '" + path + "'", ErrorKind::NotFound, path);
  std::stringstream ss;
  ss << in.rdbuf();
  return from_json(ss.str(), path);
}

std::string Preset::to_json() const {
  nlohmann::json j;
  j["name"] = name;
  j["na_policy"] = policy_name(na_policy);
  j["thresholds"] = nlohmann::json::array();
  for (const auto& t : thresholds) {
    nlohmann::json e = {{"metric", t.metric}, {"op", t.op}, {"value", t.value}};
    if (t.na) e["na"] = policy_name(*t.na);
    j["thresholds"].push_back(e);
  }
  return j.dump(2);
}

std::vector<std::string> Preset::builtin_names() { return {"talking-head", "lenient"}; }

Preset Preset::builtin(const std::string& name) {
  // Thresholds for the fallback methods, set on Debian's sample clips (see bench/curate).
  if (name == "talking-head")
    return from_json(R"({
      "name": "talking-head", "na_policy": "review",
      "thresholds": [
        {"metric": "people_max", "op": "==", "value": 1},
        {"metric": "single_person_ratio", "op": ">=", "value": 0.6},
        {"metric": "talking_face_run_s", "op": ">=", "value": 2.0},
        {"metric": "face_sharpness", "op": ">=", "value": 20},
        {"metric": "hand_sharpness", "op": ">=", "value": 10, "na": "pass"},
        {"metric": "motion", "op": "<=", "value": 40},
        {"metric": "clarity", "op": ">=", "value": 30},
        {"metric": "aesthetics", "op": ">=", "value": 4.5, "na": "pass"},
        {"metric": "subtitle_over_face_or_hands", "op": "==", "value": false},
        {"metric": "av_sync_confidence", "op": ">=", "value": 0.05}
      ]})",
                     "talking-head");
  if (name == "lenient")
    return from_json(R"({
      "name": "lenient", "na_policy": "pass",
      "thresholds": [
        {"metric": "people_max", "op": "<=", "value": 2},
        {"metric": "subtitle_over_face_or_hands", "op": "==", "value": false}
      ]})",
                     "lenient");
  throw Error("unknown built-in preset '" + name + "'", ErrorKind::InvalidArgument, name);
}

void apply_preset(const Preset& preset, ClipScores& scores) {
  scores.failed_metrics.clear();
  if (!scores.error.empty()) {
    scores.verdict = "error";
    return;
  }
  std::vector<std::string> review;
  for (const auto& t : preset.thresholds) {
    const Metric m = scores.metric(t.metric);
    if (!m.available()) {
      if (t.na.value_or(preset.na_policy) == NaPolicy::Review) review.push_back(t.metric + ":n/a");
      continue;
    }
    if (!t.holds(*m.value)) scores.failed_metrics.push_back(t.metric);
  }
  if (!scores.failed_metrics.empty()) {
    scores.verdict = "fail";
    // n/a metrics that need review are listed after the failures.
    scores.failed_metrics.insert(scores.failed_metrics.end(), review.begin(), review.end());
  } else if (!review.empty()) {
    scores.verdict = "review";
    scores.failed_metrics = review;
  } else {
    scores.verdict = "pass";
  }
}

}  // namespace s2v::curation
