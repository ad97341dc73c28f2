#include "app/cli/progress_printer.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <mutex>

#include "core/jobs/worker_protocol.h"

namespace s2v::cli {

namespace {
std::mutex print_mutex;
}

ProgressPrinter::Mode ProgressPrinter::detect(bool json) {
  if (json) return Mode::Json;
  return isatty(STDERR_FILENO) ? Mode::Bar : Mode::Lines;
}

std::string format_eta(double s) {
  if (s < 0 || !std::isfinite(s)) return "--:--";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
  return buf;
}

void ProgressPrinter::finish_line() {
  std::lock_guard lock(print_mutex);
  if (bar_open_) std::fputc('\n', stderr);
  bar_open_ = false;
}

void ProgressPrinter::on_event(const jobs::JobEvent& e) {
  std::lock_guard lock(print_mutex);
  const auto& p = e.progress;
  const auto& r = e.record;
  if (mode_ == Mode::Json) {
    const nlohmann::json j = jobs::progress_line(e);
    // a message may quote a file name that is not UTF-8: JSON gets U+FFFD for those bytes
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    return;
  }
  const bool state_change = e.type != jobs::JobEvent::Type::Progress || !p.preview.empty();
  const int percent = static_cast<int>(r.fraction * 100);
  if (mode_ == Mode::Bar) {
    const auto now = std::chrono::steady_clock::now();
    if (!state_change && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    if (!p.preview.empty()) {
      std::fprintf(stderr, "\r\033[K%s: %s\n", p.message.empty() ? "preview" : p.message.c_str(),
                   p.preview.c_str());
    }
    const int width = 30, fill = static_cast<int>(r.fraction * width);
    std::string bar(fill, '#');
    bar.resize(width, '.');
    std::string where;
    if (p.clips > 0) where = " clip " + std::to_string(p.clip) + "/" + std::to_string(p.clips);
    if (p.steps > 0) where += " step " + std::to_string(p.step) + "/" + std::to_string(p.steps);
    std::fprintf(stderr, "\r\033[K[%s] %3d%% %s%s ETA %s", bar.c_str(), percent,
                 (p.stage.empty() ? r.stage : p.stage).c_str(), where.c_str(),
                 format_eta(p.eta_s).c_str());
    bar_open_ = true;
    if (jobs::is_final(r.state)) {
      std::fputc('\n', stderr);
      bar_open_ = false;
    }
    return;
  }
  // Lines: state changes, previews, and every 10%.
  if (!state_change && percent / 10 == last_percent_ / 10) return;
  last_percent_ = percent;
  std::string line = "[" + r.id + "] " + jobs::to_string(r.state) + " " + std::to_string(percent) + "%";
  const std::string stage = p.stage.empty() ? r.stage : p.stage;
  if (!stage.empty()) line += " " + stage;
  if (p.clips > 0) line += " clip " + std::to_string(p.clip) + "/" + std::to_string(p.clips);
  if (p.eta_s >= 0 && !jobs::is_final(r.state)) line += " ETA " + format_eta(p.eta_s);
  if (!p.preview.empty()) line += " preview " + p.preview;
  if (line == last_line_key_) return;
  last_line_key_ = line;
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace s2v::cli
