// s2v: the command-line front end. Every job runs through the same queue and journal as the GUI.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>

extern "C" {
#include <libavutil/avutil.h>
}
#include <torch/version.h>

#include "app/cli/args.h"
#include "app/cli/progress_printer.h"
#include "core/curate_job/curate_job.h"
#include "core/curation/results_db.h"
#include "core/diagnostics/test_pattern.h"
#include "core/jobs/job_queue.h"
#include "models/base/error.h"
#include "models/weights/inspect.h"
#include "s2v_version.h"

namespace s2v::cli {
namespace {

enum Exit { kOk = 0, kFailed = 1, kUsage = 2, kNotAvailable = 3, kCancelled = 130 };

std::atomic<int> g_interrupts{0};
void on_sigint(int) {
  if (++g_interrupts >= 2) _exit(kCancelled);  // second Ctrl-C: leave now (journal says interrupted)
}

jobs::JobRegistry make_registry() {
  jobs::JobRegistry reg;
  reg.add(diagnostics::kTestPatternKind, diagnostics::run_test_pattern);
  reg.add(curation::kCurateKind, curation::run_curate);
  return reg;
}

// Runs one job in the foreground with progress; Ctrl-C cancels it cooperatively.
int run_in_foreground(jobs::JobQueue& queue, const std::string& id, bool json) {
  ProgressPrinter printer(ProgressPrinter::detect(json));
  queue.set_listener([&](const jobs::JobEvent& e) {
    if (e.record.id == id) printer.on_event(e);
  });
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  bool cancel_sent = false;
  while (!queue.wait_until_idle(std::chrono::milliseconds(100))) {
    if (g_interrupts > 0 && !cancel_sent) {
      printer.finish_line();
      std::fprintf(stderr, "cancelling (the finished parts are kept; resume with: s2v jobs resume %s)\n",
                   id.c_str());
      queue.cancel(id);
      cancel_sent = true;
    }
  }
  queue.set_listener(nullptr);
  printer.finish_line();
  const auto r = queue.job(id);
  if (!r) return kFailed;
  switch (r->state) {
    case jobs::JobState::Done:
      if (!json) std::printf("%s\n", r->output.c_str());
      return kOk;
    case jobs::JobState::Cancelled:
      std::fprintf(stderr, "cancelled: resume with 's2v jobs resume %s'\n", id.c_str());
      return kCancelled;
    default:
      std::fprintf(stderr, "error: %s\n", r->error.c_str());
      return kFailed;
  }
}

struct Command {
  std::string summary;
  std::function<int(const std::vector<std::string>&)> run;
};

int not_available(const std::string& name, const std::string& what,
                  const std::vector<std::string>& argv) {
  for (auto& a : argv)
    if (a == "--help" || a == "-h") {
      std::printf("usage: s2v %s [options]\n\nNot available yet in this build (%s).\n", name.c_str(),
                  what.c_str());
      return kOk;
    }
  std::fprintf(stderr, "s2v %s: not available yet in this build (%s)\n", name.c_str(), what.c_str());
  return kNotAvailable;
}

int cmd_test_pattern(const std::vector<std::string>& argv) {
  Args a("test-pattern",
         "Test pattern (diagnostic, not generation): encodes a short multi-segment colour-bar video\n"
         "with FFmpeg through the job queue, to check the queue, progress and output paths.",
         {{"segments", "N", "number of segments", "4"},
          {"frames", "N", "frames per segment", "16"},
          {"width", "PX", "frame width (even)", "320"},
          {"height", "PX", "frame height (even)", "240"},
          {"fps", "FPS", "frame rate", "16"},
          {"delay_ms", "MS", "sleep after each frame (to watch progress)", "0"},
          {"out", "PATH", "output MP4 (default: in the job folder)", ""},
          {"json", "", "print progress as JSON lines on stdout", ""}});
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  diagnostics::TestPatternParams p;
  p.segments = a.get_int("segments");
  p.frames_per_segment = a.get_int("frames");
  p.width = a.get_int("width");
  p.height = a.get_int("height");
  p.fps = a.get_double("fps");
  p.frame_delay_ms = a.get_int("delay_ms");
  jobs::JobSpec spec;
  spec.kind = diagnostics::kTestPatternKind;
  spec.title = diagnostics::kTestPatternLabel;
  spec.params = diagnostics::TestPatternParams::from_json(p.to_json()).to_json();
  if (auto out = a.value("out")) spec.output = std::filesystem::absolute(*out).string();
  jobs::JobStore store(jobs::JobStore::default_root());
  auto registry = make_registry();
  jobs::JobQueue queue(store, registry);
  const std::string id = queue.submit(spec);
  if (!a.flag("json")) std::fprintf(stderr, "job %s: %s\n", id.c_str(), diagnostics::kTestPatternLabel);
  return run_in_foreground(queue, id, a.flag("json"));
}

int cmd_jobs(const std::vector<std::string>& argv) {
  Args a("jobs", "List, resume or cancel jobs (shared with the GUI's job list).\n"
                 "  s2v jobs list | s2v jobs resume ID | s2v jobs cancel ID",
         {{"json", "", "machine-readable output", ""}}, "list|resume|cancel [ID]");
  a.parse(argv);
  if (a.help_requested() || a.positionals().empty()) {
    std::cout << a.help();
    return a.help_requested() ? kOk : kUsage;
  }
  const std::string verb = a.positionals()[0];
  jobs::JobStore store(jobs::JobStore::default_root());
  if (verb == "list") {
    auto list = store.list();
    if (a.flag("json")) {
      nlohmann::json arr = nlohmann::json::array();
      for (auto& r : list) arr.push_back(jobs::to_json(r));
      std::cout << arr.dump(2) << "\n";
      return kOk;
    }
    if (list.empty()) std::cout << "no jobs\n";
    for (auto& r : list) {
      std::printf("%-22s %-12s %-14s %3d%%  %s%s%s\n", r.id.c_str(), jobs::to_string(r.state),
                  r.spec.kind.c_str(), static_cast<int>(r.fraction * 100), r.spec.title.c_str(),
                  r.output.empty() ? "" : "  -> ", r.output.c_str());
      if (!r.error.empty()) std::printf("%22s error: %s\n", "", r.error.c_str());
    }
    return kOk;
  }
  if (a.positionals().size() < 2) throw Error("s2v jobs " + verb + " needs a job ID", ErrorKind::InvalidArgument);
  const std::string id = a.positionals()[1];
  auto rec = store.load(id);
  if (!rec) throw Error("no job with ID '" + id + "' in " + store.root().string(), ErrorKind::NotFound, id);
  if (verb == "cancel") {
    auto registry = make_registry();
    jobs::JobQueue queue(store, registry);
    queue.load_journal();
    if (!queue.cancel(id)) {
      std::fprintf(stderr, "job %s is already %s\n", id.c_str(), jobs::to_string(rec->state));
      return kFailed;
    }
    std::fprintf(stderr, "cancellation requested for %s\n", id.c_str());
    return kOk;
  }
  if (verb == "resume") {
    auto registry = make_registry();
    jobs::JobQueue queue(store, registry);
    queue.load_journal();
    if (!queue.resume(id)) {
      std::fprintf(stderr, "job %s cannot be resumed: it is %s%s\n", id.c_str(), jobs::to_string(rec->state),
                   store.is_locked(id) ? " in another process" : "");
      return kFailed;
    }
    std::fprintf(stderr, "resuming %s (%s)\n", id.c_str(), rec->spec.title.c_str());
    return run_in_foreground(queue, id, a.flag("json"));
  }
  throw Error("unknown jobs verb '" + verb + "' (list, resume, cancel)", ErrorKind::InvalidArgument);
}

int cmd_inspect(const std::vector<std::string>& argv) {
  Args a("inspect", "Summarise a checkpoint: tensors, dtypes, parameters, memory at each dtype.\n"
                    "Accepts .safetensors, sharded folders (*.index.json) and .pth files.",
         {}, "FILE|DIR");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().size() != 1) throw Error("s2v inspect needs one FILE or DIR", ErrorKind::InvalidArgument);
  std::cout << weights::inspect_summary(a.positionals()[0]);
  return kOk;
}

int cmd_convert(const std::vector<std::string>& argv) {
  Args a("convert", "Convert a PyTorch .pth checkpoint to safetensors (restricted reader: tensors and\n"
                    "dicts only, no pickled code is ever run). The output is written atomically.",
         {}, "IN.pth OUT.safetensors");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().size() != 2)
    throw Error("s2v convert needs IN.pth and OUT.safetensors", ErrorKind::InvalidArgument);
  weights::convert_to_safetensors(a.positionals()[0], a.positionals()[1]);
  std::fprintf(stderr, "wrote %s\n", a.positionals()[1].c_str());
  return kOk;
}

int cmd_curate_export(const std::vector<std::string>& argv) {
  Args a("curate export", "Export a results database as CSV or JSONL (n/a is an empty value / null).",
         {{"format", "csv|jsonl", "output format", "csv"},
          {"out", "PATH", "output file (default: DB with the format's extension)", ""}},
         "DB");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().size() != 1) throw Error("s2v curate export needs one DB", ErrorKind::InvalidArgument);
  const std::string db_path = a.positionals()[0];
  if (!std::filesystem::exists(db_path)) throw Error("no database '" + db_path + "'", ErrorKind::NotFound, db_path);
  const std::string format = a.get("format");
  if (format != "csv" && format != "jsonl")
    throw Error("--format must be csv or jsonl, got '" + format + "'", ErrorKind::InvalidArgument);
  std::string out = a.get("out");
  if (out.empty()) out = std::filesystem::path(db_path).replace_extension(format).string();
  curation::ResultsDb db(db_path);
  if (format == "csv") db.export_csv(out);
  else db.export_jsonl(out);
  std::fprintf(stderr, "wrote %d rows to %s\n", db.count(), out.c_str());
  return kOk;
}

int cmd_curate_merge(const std::vector<std::string>& argv) {
  Args a("curate merge", "Merge results databases (e.g. the shards of a Slurm array job) into one;\n"
                         "later files win when a clip appears twice.",
         {{"out", "DB", "merged database", ""}}, "A.db B.db ...");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().empty() || a.get("out").empty())
    throw Error("s2v curate merge needs input databases and --out", ErrorKind::InvalidArgument);
  for (auto& in : a.positionals())
    if (!std::filesystem::exists(in)) throw Error("no database '" + in + "'", ErrorKind::NotFound, in);
  const int rows = curation::merge_databases(a.positionals(), a.get("out"));
  std::fprintf(stderr, "merged %d rows into %s\n", rows, a.get("out").c_str());
  return kOk;
}

int cmd_curate(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "export") return cmd_curate_export({argv.begin() + 1, argv.end()});
  if (!argv.empty() && argv[0] == "merge") return cmd_curate_merge({argv.begin() + 1, argv.end()});
  Args a("curate",
         "Score video clips (files or folders) for dataset curation into an SQLite database.\n"
         "Scored clips are skipped on a re-run, so an interrupted run resumes. Each number says which\n"
         "method made it (<metric>_method). See also: s2v curate export, s2v curate merge.",
         {{"out", "DB", "results database", "scores.db"},
          {"preset", "NAME|FILE", "thresholds for the verdict (built-in: talking-head, lenient)", "talking-head"},
          {"shard", "i/N", "score only shard i of N (0-based) of the sorted clip list", "0/1"},
          {"sample_fps", "FPS", "frames sampled per second of video", "4"},
          {"max_seconds", "S", "score only the first S seconds of each clip (0 = all)", "0"},
          {"json", "", "print progress as JSON lines on stdout", ""}},
         "INPUT...");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().empty()) throw Error("s2v curate needs at least one clip or folder", ErrorKind::InvalidArgument);
  const std::string shard = a.get("shard");
  const auto slash = shard.find('/');
  if (slash == std::string::npos) throw Error("--shard must look like i/N, e.g. 3/16", ErrorKind::InvalidArgument);
  int si = 0, sn = 1;
  try {
    si = std::stoi(shard.substr(0, slash));
    sn = std::stoi(shard.substr(slash + 1));
  } catch (...) {
    throw Error("--shard must look like i/N, e.g. 3/16", ErrorKind::InvalidArgument);
  }
  jobs::JobSpec spec;
  spec.kind = curation::kCurateKind;
  spec.title = "Curate " + std::to_string(a.positionals().size()) + " input(s)";
  std::vector<std::string> inputs;
  for (auto& in : a.positionals()) inputs.push_back(std::filesystem::absolute(in).string());
  const std::string db = std::filesystem::absolute(a.get("out")).string();
  spec.params = {{"inputs", inputs}, {"db", db}, {"preset", a.get("preset")}, {"shard", {si, sn}},
                 {"sample_fps", a.get_double("sample_fps")}, {"max_seconds", a.get_double("max_seconds")}};
  curation::shard_of({}, si, sn);  // validates the shard before a job is created
  jobs::JobStore store(jobs::JobStore::default_root());
  auto registry = make_registry();
  jobs::JobQueue queue(store, registry);
  const std::string id = queue.submit(spec);
  if (!a.flag("json")) std::fprintf(stderr, "job %s: %s -> %s\n", id.c_str(), spec.title.c_str(), db.c_str());
  const int rc = run_in_foreground(queue, id, a.flag("json"));
  if (rc == kOk && !a.flag("json")) {
    curation::ResultsDb results(db);
    std::map<std::string, int> verdicts;
    for (auto& r : results.all()) {
      ++verdicts[r.verdict];
      std::fprintf(stderr, "%-6s %s%s%s\n", r.verdict.c_str(), r.path.c_str(),
                   r.failed_metrics.empty() ? "" : "  failed: ",
                   curation::join_failed(r.failed_metrics).c_str());
    }
    for (auto& [v, n] : verdicts) std::fprintf(stderr, "%s: %d  ", v.c_str(), n);
    std::fprintf(stderr, "\n");
  }
  return rc;
}

std::map<std::string, Command> commands() {
  return {
      {"generate", {"render an audio-driven video from a portrait (Wan2.2-S2V)",
                    [](auto& a) { return not_available("generate", "the S2V pipeline has not landed", a); }}},
      {"curate", {"score video clips for dataset curation (also: curate export, curate merge)", cmd_curate}},
      {"inspect", {"summarise a checkpoint file or folder", cmd_inspect}},
      {"convert", {"convert a .pth checkpoint to safetensors", cmd_convert}},
      {"jobs", {"list, resume or cancel jobs", cmd_jobs}},
      {"test-pattern", {"Test pattern: a diagnostic job that encodes colour bars (not generation)",
                        cmd_test_pattern}},
  };
}

std::string versions() {
  return std::string("s2v ") + S2V_VERSION + " (LibTorch " + TORCH_VERSION + ", FFmpeg " +
         av_version_info() + ")";
}

void print_usage() {
  std::printf("usage: s2v COMMAND [options]\n\nS2V Studio command-line tool.\n\ncommands:\n");
  for (auto& [name, c] : commands()) std::printf("  %-14s %s\n", name.c_str(), c.summary.c_str());
  std::printf("\nRun 's2v COMMAND --help' for a command's options. 's2v --version' prints versions.\n");
}

}  // namespace
}  // namespace s2v::cli

int main(int argc, char** argv) {
  using namespace s2v::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    print_usage();
    return args.empty() ? kUsage : kOk;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::printf("%s\n", versions().c_str());
    return kOk;
  }
  auto cmds = commands();
  auto it = cmds.find(args[0]);
  if (it == cmds.end()) {
    std::fprintf(stderr, "s2v: unknown command '%s' (run 's2v --help')\n", args[0].c_str());
    return kUsage;
  }
  try {
    return it->second.run(std::vector<std::string>(args.begin() + 1, args.end()));
  } catch (const s2v::Error& e) {
    std::fprintf(stderr, "s2v %s: %s\n", args[0].c_str(), e.what());
    return e.kind() == s2v::ErrorKind::InvalidArgument ? kUsage : kFailed;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "s2v %s: unexpected error: %s\n", args[0].c_str(), e.what());
    return kFailed;
  }
}
