#pragma once
// Prints job progress for the CLI: a redrawn bar on stderr when it is a terminal, plain lines
// otherwise, or one JSON object per line on stdout with --json (for scripts).

#include <chrono>
#include <string>

#include "core/jobs/job_queue.h"

namespace s2v::cli {

class ProgressPrinter {
 public:
  enum class Mode { Bar, Lines, Json };
  static Mode detect(bool json);
  explicit ProgressPrinter(Mode mode) : mode_(mode) {}

  void on_event(const jobs::JobEvent& e);
  void finish_line();  // ends a bar line before other output

 private:
  Mode mode_;
  std::string last_line_key_;
  int last_percent_ = -1;
  bool bar_open_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string format_eta(double seconds);

}  // namespace s2v::cli
