#include "core/diagnostics/test_pattern.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/media/video_writer.h"
#include "models/base/error.h"

namespace s2v::diagnostics {

nlohmann::json TestPatternParams::to_json() const {
  return {{"width", width}, {"height", height}, {"fps", fps}, {"segments", segments},
          {"frames_per_segment", frames_per_segment}, {"frame_delay_ms", frame_delay_ms}};
}

TestPatternParams TestPatternParams::from_json(const nlohmann::json& j) {
  TestPatternParams p;
  p.width = j.value("width", p.width);
  p.height = j.value("height", p.height);
  p.fps = j.value("fps", p.fps);
  p.segments = j.value("segments", p.segments);
  p.frames_per_segment = j.value("frames_per_segment", p.frames_per_segment);
  p.frame_delay_ms = j.value("frame_delay_ms", p.frame_delay_ms);
  if (p.width < 16 || p.height < 16 || p.width > 8192 || p.height > 8192 || p.width % 2 || p.height % 2)
    throw Error("test pattern size must be even and between 16 and 8192 pixels",
                ErrorKind::InvalidArgument);
  if (p.fps <= 0 || p.fps > 240) throw Error("test pattern fps must be in (0, 240]", ErrorKind::InvalidArgument);
  if (p.segments < 1 || p.frames_per_segment < 1)
    throw Error("test pattern needs at least one segment of one frame", ErrorKind::InvalidArgument);
  return p;
}

std::vector<uint8_t> test_pattern_frame(const TestPatternParams& p, int64_t index) {
  static const uint8_t bars[8][3] = {{235, 235, 235}, {235, 235, 16}, {16, 235, 235}, {16, 235, 16},
                                     {235, 16, 235},  {235, 16, 16},  {16, 16, 235},  {16, 16, 16}};
  static const uint8_t band[6][3] = {{200, 40, 40}, {40, 200, 40}, {40, 40, 200},
                                     {200, 200, 40}, {40, 200, 200}, {200, 40, 200}};
  const int w = p.width, h = p.height;
  const int64_t total = static_cast<int64_t>(p.segments) * p.frames_per_segment;
  const int segment = static_cast<int>(index / p.frames_per_segment);
  const int marker = total > 1 ? static_cast<int>(index * (w - 8) / (total - 1)) : 0;
  const int band_h = h / 6;
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* px = &rgb[(static_cast<size_t>(y) * w + x) * 3];
      const uint8_t* c;
      if (y < band_h) {
        c = band[segment % 6];
      } else if (y >= h - band_h) {
        c = (x >= marker && x < marker + 8) ? bars[0] : bars[7];
      } else {
        const int bar = static_cast<int>(((x + index * 4) * 8 / w) % 8);
        c = bars[bar];
      }
      px[0] = c[0];
      px[1] = c[1];
      px[2] = c[2];
    }
  }
  return rgb;
}

namespace {

void encode_frames(const std::filesystem::path& path, const TestPatternParams& p, int64_t first,
                   int64_t count, jobs::JobContext& ctx, const std::function<void(int64_t)>& on_frame) {
  media::VideoWriterOptions o;
  o.width = p.width;
  o.height = p.height;
  o.fps = p.fps;
  o.preset = "veryfast";
  media::VideoWriter writer(path, o);
  for (int64_t i = 0; i < count; ++i) {
    ctx.check_cancelled();  // the writer's destructor removes the partial file
    auto rgb = test_pattern_frame(p, first + i);
    writer.write_rgb(rgb.data(), p.width * 3);
    if (p.frame_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(p.frame_delay_ms));
    on_frame(i + 1);
  }
  writer.finish();
}

}  // namespace

std::string run_test_pattern(jobs::JobContext& ctx) {
  const TestPatternParams p = TestPatternParams::from_json(ctx.params());
  const std::string requested = ctx.record().spec.output;
  const std::filesystem::path output =
      requested.empty() ? ctx.folder() / "test_pattern.mp4" : std::filesystem::path(requested);

  int done = 0;
  if (auto s = ctx.state(); s.is_object()) done = std::clamp(s.value("segments_done", 0), 0, p.segments);
  // A resume re-checks that every segment it skips is really on disk.
  auto segment_path = [&](int k) {
    char name[32];
    std::snprintf(name, sizeof name, "segment_%03d.mp4", k);
    return ctx.folder() / name;
  };
  while (done > 0 && !std::filesystem::exists(segment_path(done - 1))) --done;

  // Units: every frame of every segment, plus the final pass over all frames.
  const double frames_total = static_cast<double>(p.segments) * p.frames_per_segment;
  const double total_units = frames_total * 2;
  for (int k = done; k < p.segments; ++k) {
    const int64_t first = static_cast<int64_t>(k) * p.frames_per_segment;
    encode_frames(segment_path(k), p, first, p.frames_per_segment, ctx, [&](int64_t f) {
      jobs::Progress pr;
      pr.stage = "encoding segment";
      pr.step = static_cast<int>(f);
      pr.steps = p.frames_per_segment;
      pr.clip = k + 1;
      pr.clips = p.segments;
      ctx.report(pr, static_cast<double>(first + f), total_units);
    });
    ctx.save_state({{"segments_done", k + 1}});
    jobs::Progress pr;
    pr.stage = "segment finished";
    pr.clip = k + 1;
    pr.clips = p.segments;
    pr.preview = segment_path(k).string();
    pr.message = "test pattern segment " + std::to_string(k + 1) + "/" + std::to_string(p.segments);
    ctx.report(pr, static_cast<double>(first + p.frames_per_segment), total_units);
  }

  if (!output.parent_path().empty()) std::filesystem::create_directories(output.parent_path());
  encode_frames(output, p, 0, static_cast<int64_t>(frames_total), ctx, [&](int64_t f) {
    jobs::Progress pr;
    pr.stage = "writing output";
    pr.step = static_cast<int>(f);
    pr.steps = static_cast<int>(frames_total);
    ctx.report(pr, frames_total + static_cast<double>(f), total_units);
  });
  return output.string();
}

}  // namespace s2v::diagnostics
