#pragma once
// Metric results and the per-clip row (ClipScores) with the stable column names of issue #7.
// Each metric carries the method that produced it and, when n/a, the reason.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core/types.hpp>

#include "core/pose_draw/pose.h"

namespace s2v::curation {

struct Metric {
  std::optional<double> value;  // empty = n/a
  std::string method;           // e.g. "DIS optical flow MEDIUM (fallback for UniMatch)"
  std::string na_reason;        // why the value is missing; empty when available

  bool available() const { return value.has_value(); }
  static Metric of(double v, std::string method);
  static Metric na(std::string method, std::string reason);
};

// What the clip viewer draws for one sampled frame (working-resolution pixels): boxes, and the
// whole-body skeletons (DWPose layout) when a pose model scored the clip.
struct FrameOverlay {
  double t = 0.0;
  std::vector<cv::Rect> people;
  std::vector<cv::Rect> faces;
  std::vector<cv::Rect> hands;
  std::vector<cv::Rect> text;
  std::vector<pose::Pose> poses;
};

// The metric columns, in report order.
const std::vector<std::string>& metric_names();
// Every report column: path, duration_s, width, height, fps, the metrics, verdict,
// failed_metrics, then `<metric>_method` for each metric.
const std::vector<std::string>& column_names();

struct ClipScores {
  std::string path;
  double duration_s = 0.0;
  int width = 0;
  int height = 0;
  double fps = 0.0;  // source frame rate

  std::map<std::string, Metric> metrics;  // keyed by metric_names(); missing = n/a

  std::string verdict;                      // pass | fail | review | error ("" = not judged)
  std::vector<std::string> failed_metrics;  // failed thresholds; "<name>:n/a" for n/a → review
  std::string error;                        // the error sentence when verdict == "error"

  // Per-frame series for plots (NaN = n/a at that frame), e.g. "motion", "face_sharpness".
  std::map<std::string, std::vector<double>> series;
  std::vector<double> series_t;             // time of each sampled frame
  std::vector<FrameOverlay> overlays;

  // The metric by name; an n/a Metric with reason "not computed" when absent.
  Metric metric(const std::string& name) const;
  void set(const std::string& name, Metric m);

  // The series and overlays as one JSON text (the DB's `series` column) and back.
  std::string series_json() const;
  void set_series_json(const std::string& text);
  // n/a reasons as a JSON object {metric: reason}.
  std::string na_reasons_json() const;
};

// failed_metrics as stored in one text column: names joined by ';'.
std::string join_failed(const std::vector<std::string>& names);
std::vector<std::string> split_failed(const std::string& text);

}  // namespace s2v::curation
