#include "core/curate_job/curate_job.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <exception>
#include <filesystem>
#include <future>
#include <iterator>
#include <optional>

#include "core/curate_job/clip_decoder.h"
#include "core/curate_job/model_loading.h"
#include "core/curation/curate.h"
#include "core/curation/preset.h"
#include "core/curation/results_db.h"
#include "core/media/probe.h"
#include "models/base/error.h"
#include "models/weights/threads.h"

namespace s2v::curation {

namespace fs = std::filesystem;

std::vector<std::string> list_clips(const std::vector<std::string>& inputs, std::vector<std::string>* skipped_folders) {
  std::vector<std::string> out;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (auto& e : fs::directory_iterator(in, ec)) {
        if (skipped_folders && e.is_directory(ec)) skipped_folders->push_back(e.path().string());
        if (!e.is_regular_file(ec)) continue;  // FIFOs and devices would block a decoder
        // A file with a video extension is a clip even when it does not decode (it gets an
        // "error" row); any other file counts when its content probes as video.
        std::string ext = e.path().extension().string();
        for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        static const char* video_ext[] = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".ts"};
        bool clip = std::find(std::begin(video_ext), std::end(video_ext), ext) != std::end(video_ext);
        if (!clip) {
          try {
            clip = media::probe(e.path()).kind == media::MediaKind::Video;
          } catch (const Error&) {
            // not a video: a folder may hold anything else
          }
        }
        if (clip) found.push_back(fs::absolute(e.path()).string());
      }
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(in, ec)) {
      out.push_back(fs::absolute(in).string());  // a broken file is scored as "error", not dropped
    } else {
      throw Error("curation input '" + in + "' does not exist", ErrorKind::NotFound, in);
    }
  }
  return out;
}

std::vector<std::string> shard_of(const std::vector<std::string>& clips, int index, int count) {
  if (count < 1 || index < 0 || index >= count)
    throw Error("shard must be i/N with 0 <= i < N, got " + std::to_string(index) + "/" + std::to_string(count),
                ErrorKind::InvalidArgument);
  std::vector<std::string> out;
  for (size_t p = 0; p < clips.size(); ++p)
    if (static_cast<int>(p % count) == index) out.push_back(clips[p]);
  return out;
}

namespace {

// The job's preset param: a built-in name, a preset file, or the preset itself (the GUI sends the
// thresholds on screen, so the verdicts stored are the ones its table shows).
Preset preset_of(const nlohmann::json& param) {
  if (param.is_object()) return Preset::from_json(param.dump(), "the job's preset");
  const auto name = param.get<std::string>();
  return fs::exists(name) ? Preset::load(name) : Preset::builtin(name);
}

}  // namespace

std::string run_curate(jobs::JobContext& ctx) { return run_curate_with(ctx, CurateOptions{}); }

std::string run_curate_with(jobs::JobContext& ctx, const CurateOptions& base) {
  const CurateParams p = CurateParams::from_json(ctx.params());  // validated: a sentence on a bad value
  const std::string& db_path = p.db;
  const Preset preset = preset_of(p.preset);
  DecodeOptions dopt;
  dopt.sample_fps = p.sample_fps;
  dopt.max_seconds = p.max_seconds;

  jobs::Progress pr;
  pr.stage = "listing clips";
  ctx.report(pr, 0, 1);
  std::vector<std::string> skipped_folders;
  const auto clips = shard_of(list_clips(p.inputs, &skipped_folders), p.shard_index, p.shard_count);
  if (!skipped_folders.empty()) {
    pr.message = std::to_string(skipped_folders.size()) + " subfolder(s) not searched (e.g. '" +
                 skipped_folders.front() + "'): name them as inputs to score their clips";
    ctx.report(pr, 0, 1);
    pr.message.clear();
  }
  ResultsDb db(db_path);
  CurateOptions options = base;
  options.workers = p.jobs.value_or(options.workers);
  pr.stage = "loading models";
  ctx.report(pr, 0, 1);
  load_curation_models(p.weights, options);  // the paper's networks whose weights are given
  apply_torch_threads_setting();  // the networks run on this worker thread: S2V_THREADS (weights/threads.h)
  if (options.clarity_model) {
    dopt.native_frames = options.clarity_model->native_frames_wanted();
    dopt.native_stride = options.clarity_model->native_stride();
  }
  ClipScorer scorer(options);  // loads detectors once; fails early naming a missing model file

  // Clip k+1 is decoded on its own thread while clip k is scored: decoding is mostly one FFmpeg
  // thread, so it overlaps with the scoring workers instead of leaving them idle. The decoder's
  // token follows the job's and is also requested when this function leaves early (an error).
  CancelToken stop_decoding(&ctx.cancel());
  struct Decoded {
    std::optional<ClipFrames> frames;
    std::exception_ptr error;
  };
  auto decode = [&](const std::string& clip) {
    Decoded d;
    try {
      d.frames = decode_clip(clip, dopt, stop_decoding);
    } catch (...) {
      d.error = std::current_exception();
    }
    return d;
  };
  std::vector<size_t> todo;
  for (size_t k = 0; k < clips.size(); ++k)
    if (!db.has_scored(clips[k])) todo.push_back(k);
  std::future<Decoded> next;
  auto prefetch = [&](size_t j) {
    next = j < todo.size() ? std::async(std::launch::async, decode, clips[todo[j]]) : std::future<Decoded>();
  };
  struct StopDecoding {  // a cancel or an error leaves no decoder running
    CancelToken& token;
    std::future<Decoded>& pending;
    ~StopDecoding() {
      token.request();
      if (pending.valid()) pending.wait();
    }
  } stop_guard{stop_decoding, next};

  const double total = static_cast<double>(clips.size());
  const double skipped = total - static_cast<double>(todo.size());
  pr = {};
  pr.stage = "scoring";
  pr.clips = static_cast<int>(clips.size());
  if (skipped > 0) {
    pr.message = std::to_string(static_cast<int>(skipped)) + " clip(s) already scored";
    ctx.report(pr, skipped, total);
  }
  prefetch(0);
  for (size_t j = 0; j < todo.size(); ++j) {
    ctx.check_cancelled();
    const std::string& clip = clips[todo[j]];
    pr.clip = static_cast<int>(todo[j] + 1);
    pr.message = clip;
    ctx.report(pr, skipped + static_cast<double>(j), total);
    Decoded d = next.get();
    prefetch(j + 1);
    ClipScores row;
    try {
      if (d.error) std::rethrow_exception(d.error);
      row = scorer.score(*d.frames, ctx.cancel());  // throws Cancelled within one frame pair
    } catch (const Cancelled&) {
      throw;
    } catch (const std::exception& e) {
      row = {};
      row.error = e.what();
    }
    row.path = clip;
    apply_preset(preset, row);
    db.upsert(row);  // committed at once: a crash loses no finished row
    pr.message = clip + ": " + row.verdict;
    pr.preview = clip;  // in the database before it is reported: the GUI's table reads it from there
    ctx.report(pr, skipped + static_cast<double>(j + 1), total);
    pr.preview.clear();
  }
  return db_path;
}

}  // namespace s2v::curation
