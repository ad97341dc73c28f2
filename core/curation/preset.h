#pragma once
// Presets: thresholds on metrics and the n/a policy; verdicts pass | fail | review | error.
// JSON form:
//   {"name": "talking-head", "na_policy": "review",
//    "thresholds": [{"metric": "face_sharpness", "op": ">=", "value": 40},
//                   {"metric": "subtitle_over_face_or_hands", "op": "==", "value": false,
//                    "na": "pass"}]}

#include <optional>
#include <string>
#include <vector>

#include "core/curation/scores.h"

namespace s2v::curation {

enum class NaPolicy { Pass, Review };

struct Threshold {
  std::string metric;
  std::string op;  // >=, <=, >, <, ==, !=
  double value = 0.0;
  std::optional<NaPolicy> na;  // overrides the preset's policy

  bool holds(double v) const;
  std::string describe() const;  // "face_sharpness >= 40"
};

struct Preset {
  std::string name;
  NaPolicy na_policy = NaPolicy::Review;
  std::vector<Threshold> thresholds;

  // Throws s2v::Error (InvalidArgument) naming the preset and the bad entry.
  static Preset from_json(const std::string& text, const std::string& source = "preset");
  static Preset load(const std::string& path);
  std::string to_json() const;
  // The built-in presets: "talking-head" (one sharp, talking face, no subtitles over it).
  static Preset builtin(const std::string& name = "talking-head");
  static std::vector<std::string> builtin_names();
};

// Sets scores.verdict and scores.failed_metrics. A clip with scores.error is "error". A failed
// threshold → "fail"; else an n/a metric whose policy is review → "review"; else "pass".
void apply_preset(const Preset& preset, ClipScores& scores);

}  // namespace s2v::curation
