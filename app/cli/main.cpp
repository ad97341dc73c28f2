// s2v: the command-line front end. Every job runs through the same queue and journal as the GUI.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <new>
#include <thread>

extern "C" {
#include <libavutil/avutil.h>
}
#include <opencv2/imgproc.hpp>
#include <torch/version.h>

#include "app/cli/args.h"
#include "app/cli/progress_printer.h"
#include "core/curate_job/curate_job.h"
#include "core/curate_job/model_loading.h"
#include "core/curation/portrait.h"
#include "core/curation/results_db.h"
#include "core/diagnostics/test_pattern.h"
#include "core/generate/demo_model.h"
#include "core/generate/generate_job.h"
#include "core/jobs/job_queue.h"
#include "core/jobs/worker_protocol.h"
#include "core/media/video_reader.h"
#include "models/base/atomic_file.h"
#include "models/base/error.h"
#include "models/base/utf8.h"
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
  reg.add(generate::kGenerateKind, generate::run_generate_job);
  return reg;
}

namespace fs = std::filesystem;

// A file named on the command line that a command reads: it exists (symlinks followed) and is a
// regular file, since a FIFO or a device blocks the open() until someone writes to it.
void check_input_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec && ec.value() == ELOOP)
    throw Error(what + " '" + path + "': its path is a loop of symbolic links", ErrorKind::InvalidArgument, path);
  if (!fs::exists(st)) throw Error(what + " '" + path + "' does not exist", ErrorKind::NotFound, path);
  if (!fs::is_regular_file(st))
    throw Error(what + " '" + path + "' is not a regular file (" +
                    (fs::is_directory(st) ? "a folder" : fs::is_fifo(st) ? "a FIFO" : "a device or a socket") + ")",
                ErrorKind::InvalidArgument, path);
}

// A path that goes into a job record (JSON text, UTF-8 only).
void check_utf8_path(const std::string& path, const std::string& what) {
  if (!is_valid_utf8(path))
    throw Error(what + " '" + path + "' is not valid UTF-8; rename it (job records are JSON text, which cannot hold it)",
                ErrorKind::InvalidArgument, path);
}

// "i/N" with both whole numbers and nothing else ("0x1/2", "1.5/3", "1/2x" are not shards).
std::pair<int, int> parse_shard(const std::string& shard) {
  const auto bad = [&] {
    return Error("--shard must look like i/N with whole numbers 0 <= i < N, e.g. 3/16; got '" + shard + "'",
                 ErrorKind::InvalidArgument);
  };
  const auto slash = shard.find('/');
  if (slash == std::string::npos) throw bad();
  const std::string i = shard.substr(0, slash), n = shard.substr(slash + 1);
  auto digits = [](const std::string& t) {
    return !t.empty() && t.size() <= 9 &&
           std::all_of(t.begin(), t.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  };
  if (!digits(i) || !digits(n)) throw bad();
  const int si = std::stoi(i), sn = std::stoi(n);
  if (sn < 1 || si >= sn) throw bad();
  return {si, sn};
}

// Runs one job in the foreground with progress; Ctrl-C cancels it cooperatively. `hook` sees every
// event of the job after it is printed (the worker's test switches).
int run_in_foreground(jobs::JobQueue& queue, const std::string& id, bool json,
                      const std::function<void(const jobs::JobEvent&)>& hook = {}) {
  ProgressPrinter printer(ProgressPrinter::detect(json));
  queue.set_listener([&](const jobs::JobEvent& e) {
    if (e.record.id != id) return;
    printer.on_event(e);
    if (hook) hook(e);
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

int cmd_worker(const std::vector<std::string>& args);  // below: `s2v jobs run` is the same

int cmd_jobs(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "run") return cmd_worker({argv.begin() + 1, argv.end()});
  Args a("jobs", "List, resume, cancel or run jobs (shared with the GUI's job list).\n"
                 "  s2v jobs list | s2v jobs resume ID | s2v jobs cancel ID | s2v jobs run ID (= s2v worker ID)",
         {{"json", "", "machine-readable output", ""}}, "list|resume|cancel|run [ID]");
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
      std::cout << arr.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
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
  throw Error("unknown jobs verb '" + verb + "' (list, resume, cancel, run)", ErrorKind::InvalidArgument);
}

#ifdef S2V_TEST_HOOKS
// Test builds only, never in --help: `--crash-after N` dies by SIGSEGV and `--oom-after N` fails as
// an allocation does (std::bad_alloc) at the first progress report after N finished clips or
// segments, i.e. in the middle of the next one; `--hold-at STAGE:MS` blocks the job for MS
// milliseconds each time it reports STAGE, without looking at cancellation (a stage the engine
// cannot interrupt, such as a clip's decode). tests/ui/test_job_workers.cpp uses them.
struct WorkerFault {
  int crash_after = -1, oom_after = -1;
  std::string hold_stage;
  int hold_ms = 0;
  int finished = 0;
  bool any() const { return crash_after >= 0 || oom_after >= 0 || !hold_stage.empty(); }
  void operator()(const jobs::JobEvent& e) {
    if (e.type != jobs::JobEvent::Type::Progress && e.type != jobs::JobEvent::Type::Changed) return;
    if (!e.progress.preview.empty()) {
      ++finished;
      return;
    }
    if (!hold_stage.empty() && e.progress.stage == hold_stage)
      std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
    if (e.record.state != jobs::JobState::Running || e.progress.stage.empty()) return;
    if (crash_after >= 0 && finished >= crash_after) {
      std::fprintf(stderr, "s2v worker: --crash-after %d: segmentation fault on purpose\n", crash_after);
      std::signal(SIGSEGV, SIG_DFL);
      std::raise(SIGSEGV);
    }
    if (oom_after >= 0 && finished >= oom_after) throw std::bad_alloc();
  }
};

// Takes the test switches out of argv.
WorkerFault take_worker_faults(std::vector<std::string>& argv) {
  WorkerFault f;
  for (size_t i = 0; i + 1 < argv.size();) {
    if (argv[i] == "--crash-after") f.crash_after = std::stoi(argv[i + 1]);
    else if (argv[i] == "--oom-after") f.oom_after = std::stoi(argv[i + 1]);
    else if (argv[i] == "--hold-at" && argv[i + 1].find(':') != std::string::npos) {
      f.hold_stage = argv[i + 1].substr(0, argv[i + 1].rfind(':'));
      f.hold_ms = std::stoi(argv[i + 1].substr(argv[i + 1].rfind(':') + 1));
    } else {
      ++i;
      continue;
    }
    argv.erase(argv.begin() + static_cast<std::ptrdiff_t>(i), argv.begin() + static_cast<std::ptrdiff_t>(i) + 2);
  }
  return f;
}
#endif

// s2v worker ID: one journalled job (made by the GUI, or any job that can be resumed) run to its
// end in this process; the exit status says what became of it (core/jobs/worker_protocol.h).
int cmd_worker(const std::vector<std::string>& args) {
  std::vector<std::string> argv = args;
  std::function<void(const jobs::JobEvent&)> hook;
#ifdef S2V_TEST_HOOKS
  const WorkerFault fault = take_worker_faults(argv);
  if (fault.any()) hook = fault;
#endif
  Args a("worker",
         "Run one journalled job to its end in this process (the GUI starts one per job): progress,\n"
         "previews and errors as JSON lines on stdout with --json. Exit status: 0 done, 1 failed,\n"
         "2 no such job, 3 the job is final or another process runs it, 4 out of memory, 130 cancelled.\n"
         "A worker that dies leaves a job that 's2v jobs resume ID' continues from its last finished clip.",
         {{"json", "", "print progress as JSON lines on stdout", ""}}, "ID");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().size() != 1) throw Error("s2v worker needs one job ID", ErrorKind::InvalidArgument);
  // a reader that goes away (the GUI quit) must not take the job with it: writes just fail
  std::signal(SIGPIPE, SIG_IGN);
  const std::string id = a.positionals()[0];
  jobs::JobStore store(jobs::JobStore::default_root());
  const auto rec = store.load(id);  // throws InvalidArgument for a name that is no ID
  if (!rec) {
    std::fprintf(stderr, "s2v worker: no job with ID '%s' in %s\n", id.c_str(), store.root().string().c_str());
    return jobs::kWorkerUsage;
  }
  auto registry = make_registry();
  jobs::JobQueue queue(store, registry);
  if (!queue.run_journalled(id)) {
    std::fprintf(stderr, "s2v worker: job %s cannot run: it is %s%s\n", id.c_str(), jobs::to_string(rec->state),
                 store.is_locked(id) ? " in another process" : "");
    return jobs::kWorkerBusy;
  }
  run_in_foreground(queue, id, a.flag("json"), hook);
  const auto done = queue.job(id);
  return done ? jobs::worker_exit_for(*done) : jobs::kWorkerFailed;
}

// s2v inspect-model DIR --json: inspect_model_folder for the GUI, which links no LibTorch.
int cmd_inspect_model(const std::vector<std::string>& argv) {
  Args a("inspect-model",
         "Check a model folder as 's2v generate' does before it loads anything: every component's file,\n"
         "format and parameters, the notes, and every problem at once. The exit status is 1 when the\n"
         "folder cannot be used. --json prints the whole description (the GUI's model panel reads it).",
         {{"dit", "FILE", "DiT weights replacing the folder's", ""},
          {"text_encoder", "FILE", "umT5 weights replacing the folder's", ""},
          {"vae", "FILE", "Wan 2.1 VAE weights replacing the folder's", ""},
          {"audio_encoder", "FILE", "wav2vec2 weights replacing the folder's", ""},
          {"tokenizer", "DIR", "the google/umt5-xxl tokenizer folder", ""},
          {"shallow", "", "check presence and headers only, not every tensor's name and shape", ""},
          {"json", "", "print the description as one JSON object on stdout", ""}},
         "DIR");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().size() > 1) throw Error("s2v inspect-model takes one DIR", ErrorKind::InvalidArgument);
  generate::ComponentOverrides o;
  o.dit = a.get("dit");
  o.text_encoder = a.get("text_encoder");
  o.vae = a.get("vae");
  o.audio_encoder = a.get("audio_encoder");
  o.tokenizer = a.get("tokenizer");
  const std::string root = a.positionals().empty() ? std::string() : a.positionals()[0];
  const generate::ModelFolder m = generate::inspect_model_folder(root, !a.flag("shallow"), o);
  if (a.flag("json")) {
    nlohmann::json j = generate::to_json(m);
    j["gpu_memory_gb"] = generate::detected_gpu_memory_gb();
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("%s: %s (%s parameters, %s)\n", root.c_str(), m.label.c_str(),
                std::to_string(m.total_parameters()).c_str(), m.layout.c_str());
    for (const auto& c : m.components)
      std::printf("  %-9s %s  [%s]\n", c.name.c_str(), c.path.string().c_str(), c.format.c_str());
    for (const auto& n : m.notes) std::printf("  note: %s\n", n.c_str());
    for (const auto& p : m.problems) std::printf("  problem: %s\n", p.c_str());
  }
  return m.ok() ? kOk : kFailed;
}

// s2v portrait-check FILE --json: the Generate workspace's portrait check with the ViTPose network
// (the GUI runs the detector-only check itself; a network needs LibTorch).
int cmd_portrait_check(const std::vector<std::string>& argv) {
  Args a("portrait-check",
         "Check a reference portrait as the Generate workspace does: person and face boxes, the face's\n"
         "sharpness, the picture's clarity, and what a curation preset would reject. With --pose_weights\n"
         "the ViTPose network finds the people; a file that cannot be loaded is named and the detectors\n"
         "answer instead.",
         {{"pose_weights", "FILE", "ViTPose whole-body checkpoint", ""},
          {"json", "", "print the check as one JSON object on stdout", ""}},
         "FILE");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().size() != 1) throw Error("s2v portrait-check needs one FILE", ErrorKind::InvalidArgument);
  const std::string file = a.positionals()[0];
  check_input_file(file, "the portrait");
  const media::RgbFrame f = media::read_image(file);  // what the pipeline reads
  cv::Mat rgb(f.height, f.width, CV_8UC3, const_cast<uint8_t*>(f.rgb.data()), f.stride());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  curation::PortraitCheckOptions options;
  curation::CurateOptions loaded;
  std::string pose_error;
  if (const std::string w = a.get("pose_weights"); !w.empty()) {
    try {
      curation::load_curation_models({{"pose_weights", w}}, loaded);
      options.pose = loaded.pose.get();
    } catch (const std::exception& e) {
      pose_error = e.what();
    }
  }
  const curation::PortraitCheck c = curation::check_portrait(bgr, options);
  if (a.flag("json")) {
    nlohmann::json j = {{"check", curation::to_json(c)}};
    if (!pose_error.empty()) j["pose_error"] = pose_error;
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return kOk;
  }
  std::printf("%zu face(s), detector: %s\n", c.overlay.faces.size(), c.method.c_str());
  if (c.face_sharpness.available()) std::printf("face sharpness %.0f\n", *c.face_sharpness.value);
  if (c.clarity.available()) std::printf("clarity %.0f\n", *c.clarity.value);
  for (const auto& w : c.warnings) std::printf("warning: %s\n", w.c_str());
  if (!pose_error.empty()) std::printf("the pose model could not be loaded: %s\n", pose_error.c_str());
  return kOk;
}

int cmd_inspect(const std::vector<std::string>& argv) {
  Args a("inspect", "Summarise a checkpoint: tensors, dtypes, parameters, memory at each dtype.\n"
                    "Accepts .safetensors, sharded folders (*.index.json), .pth and .gguf files.",
         {}, "FILE|DIR");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().size() != 1) throw Error("s2v inspect needs one FILE or DIR", ErrorKind::InvalidArgument);
  const std::string path = a.positionals()[0];
  std::error_code ec;
  const bool folder = fs::is_directory(path, ec);
  if (!folder && fs::exists(path, ec)) check_input_file(path, "the checkpoint");
  std::cout << weights::inspect_summary(path);
  if (!folder) return kOk;
  // A folder summary lists what it could not read; the exit status says so too.
  int found = 0;
  std::string bad;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const std::string n = e.path().filename().string();
    if (!e.is_regular_file(ec)) continue;
    bool checkpoint = false;
    for (const char* ext : {".index.json", ".safetensors", ".pth", ".pt", ".ckpt"})
      checkpoint = checkpoint || n.ends_with(ext);
    if (!checkpoint) continue;
    ++found;
    try {
      (void)weights::inspect_summary(e.path());
    } catch (const std::exception&) {
      bad += (bad.empty() ? "" : ", ") + n;
    }
  }
  if (found == 0)
    throw Error("the folder '" + path + "' holds no checkpoint file (*.safetensors, *.index.json, *.pth)",
                ErrorKind::NotFound, path);
  if (!bad.empty())
    throw Error("some checkpoint files in '" + path + "' cannot be read (see above): " + bad, ErrorKind::Corrupt, path);
  return kOk;
}

int cmd_convert(const std::vector<std::string>& argv) {
  Args a("convert", "Convert a PyTorch .pth checkpoint (restricted reader: tensors and dicts only, no\n"
                    "pickled code is ever run) or a GGUF file (dequantised) to safetensors. The output\n"
                    "is written atomically.",
         {{"dtype", "float32|bfloat16|float16",
           "floating-point dtype of the output (default: as stored; GGUF: float32)", ""}},
         "IN.pth|IN.gguf OUT.safetensors");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().size() != 2)
    throw Error("s2v convert needs IN (.pth or .gguf) and OUT.safetensors", ErrorKind::InvalidArgument);
  const std::map<std::string, std::string> dtypes = {{"", ""}, {"float32", "F32"}, {"bfloat16", "BF16"},
                                                     {"float16", "F16"}};
  const auto dtype = dtypes.find(a.get("dtype"));
  if (dtype == dtypes.end())
    throw Error("--dtype must be float32, bfloat16 or float16, not '" + a.get("dtype") + "'",
                ErrorKind::InvalidArgument);
  check_input_file(a.positionals()[0], "the checkpoint");
  // before the (long) conversion: OUT is never IN itself, a device or a folder
  check_output_target(a.positionals()[1], {a.positionals()[0]});
  weights::convert_to_safetensors(a.positionals()[0], a.positionals()[1], {}, dtype->second);
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
  check_input_file(db_path, "the database");
  const std::string format = a.get("format");
  if (format != "csv" && format != "jsonl")
    throw Error("--format must be csv or jsonl, got '" + format + "'", ErrorKind::InvalidArgument);
  std::string out = a.get("out");
  if (out.empty()) out = std::filesystem::path(db_path).replace_extension(format).string();
  check_output_target(out, {db_path});  // `--out v.db`, or a database named x.csv: refused
  const curation::ResultsDb db(db_path, curation::ResultsDb::Mode::ReadOnly);
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
  for (auto& in : a.positionals()) {
    if (!std::filesystem::exists(in)) throw Error("no database '" + in + "'", ErrorKind::NotFound, in);
    check_input_file(in, "the database");
  }
  const auto r = curation::merge_databases(a.positionals(), a.get("out"));
  std::fprintf(stderr, "merged %d rows of %zu database(s) into %s: it holds %d clips%s\n", r.rows_read,
               a.positionals().size(), a.get("out").c_str(), r.clips,
               r.clips < r.rows_read ? " (a clip in several databases counts once; the last one wins)" : "");
  return kOk;
}

int cmd_curate(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "export") return cmd_curate_export({argv.begin() + 1, argv.end()});
  if (!argv.empty() && argv[0] == "merge") return cmd_curate_merge({argv.begin() + 1, argv.end()});
  std::vector<Option> options = {
          {"out", "DB", "results database", "scores.db"},
          {"preset", "NAME|FILE", "thresholds for the verdict (built-in: talking-head, lenient)", "talking-head"},
          {"shard", "i/N", "score only shard i of N (0-based) of the sorted clip list", "0/1"},
          {"jobs", "K", "threads for the per-frame metrics of a clip (the next clip decodes alongside)", "2"},
          {"sample_fps", "FPS", "frames sampled per second of video", "4"},
          {"max_seconds", "S", "score only the first S seconds of each clip (0 = all)", "0"},
          {"json", "", "print progress as JSON lines on stdout", ""}};
  for (const auto& n : curation::curation_networks()) options.push_back({n.param, "FILE", n.help, ""});
  Args a("curate",
         "Score video clips (files or folders) for dataset curation into an SQLite database.\n"
         "Scored clips are skipped on a re-run, so an interrupted run resumes. Each number says which\n"
         "method made it (<metric>_method). See also: s2v curate export, s2v curate merge.",
         std::move(options), "INPUT...");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().empty()) throw Error("s2v curate needs at least one clip or folder", ErrorKind::InvalidArgument);
  const auto [si, sn] = parse_shard(a.get("shard"));
  const double sample_fps = a.get_double("sample_fps"), max_seconds = a.get_double("max_seconds");
  if (!(sample_fps > 0 && sample_fps <= curation::kMaxSampleFps))
    throw Error("--sample_fps must be above 0 and at most " + std::to_string(int(curation::kMaxSampleFps)) +
                    ", not '" + a.get("sample_fps") + "'",
                ErrorKind::InvalidArgument);
  if (max_seconds < 0) throw Error("--max_seconds must be 0 (all) or positive", ErrorKind::InvalidArgument);
  jobs::JobSpec spec;
  spec.kind = curation::kCurateKind;
  spec.title = "Curate " + std::to_string(a.positionals().size()) + " input(s)";
  curation::CurateParams cp;
  std::vector<std::string>& inputs = cp.inputs;
  std::vector<fs::path> input_paths;
  for (auto& in : a.positionals()) {
    std::error_code ec;
    if (!fs::is_directory(in, ec)) check_input_file(in, "the curation input");
    check_utf8_path(in, "the curation input");
    inputs.push_back(std::filesystem::absolute(in).string());
    input_paths.push_back(inputs.back());
    // a folder is searched one level deep: say which subfolders are left out
    int subfolders = 0;
    if (fs::is_directory(in, ec))
      for (const auto& e : fs::directory_iterator(in, ec)) subfolders += e.is_directory(ec) ? 1 : 0;
    if (subfolders > 0 && !a.flag("json"))
      std::fprintf(stderr, "note: %d subfolder(s) of '%s' are not searched (name them as inputs to score their clips)\n",
                   subfolders, in.c_str());
  }
  const std::string db = std::filesystem::absolute(a.get("out")).string();
  check_utf8_path(db, "--out");
  check_output_target(db, input_paths);  // the database is never one of the clips, a device or a folder
  cp.db = db;
  cp.preset = a.get("preset");
  cp.shard_index = si;
  cp.shard_count = sn;
  cp.sample_fps = sample_fps;
  cp.max_seconds = max_seconds;
  const double workers = a.get_double("jobs");
  if (workers < 1 || workers > curation::kMaxCurateJobs || workers != std::floor(workers))
    throw Error("--jobs takes a whole number from 1 to " + std::to_string(curation::kMaxCurateJobs) + ", not '" +
                    a.get("jobs") + "'",
                ErrorKind::InvalidArgument);
  cp.jobs = static_cast<int>(workers);
  auto abs_or_empty = [](const std::string& v) { return v.empty() ? v : std::filesystem::absolute(v).string(); };
  for (const auto& n : curation::curation_networks()) {
    const std::string v = abs_or_empty(a.get(n.param));
    if (!v.empty() && !std::filesystem::exists(v))
      throw Error("--" + n.param + " '" + v + "' does not exist", ErrorKind::NotFound, v);
    if (!v.empty()) cp.weights[n.param] = v;
  }
  cp.validate();
  spec.params = cp.to_json();
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

bool parse_bool(const std::string& name, const std::string& v) {
  if (v == "true" || v == "True" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "False" || v == "0" || v == "no") return false;
  throw Error("--" + name + " takes true or false, not '" + v + "'", ErrorKind::InvalidArgument);
}

int cmd_generate(const std::vector<std::string>& argv) {
  const generate::GenerateParams d;
  Args a("generate",
         "Render an audio-driven video from a reference portrait, an audio track and a prompt with\n"
         "Wan2.2-S2V. Flags follow the official generate.py. Each clip is written as soon as it is\n"
         "done; Ctrl-C cancels and keeps them (continue with --resume JOB or 's2v jobs resume JOB').",
         {{"ckpt_dir", "DIR",
           "model folder: the official Wan2.2-S2V-14B folder or a ComfyUI models/ folder; default: the bundled "
           "demo model",
           ""},
          {"dit", "FILE", "DiT weights replacing the folder's (safetensors bf16/fp16/fp8 scaled, GGUF, .pth)", ""},
          {"text_encoder", "FILE", "umT5 weights replacing the folder's (official or Hugging Face T5 names)", ""},
          {"vae", "FILE", "Wan 2.1 VAE weights replacing the folder's", ""},
          {"audio_encoder", "FILE", "wav2vec2 weights (one file or a Hugging Face folder) replacing the folder's", ""},
          {"tokenizer", "DIR", "the google/umt5-xxl tokenizer folder (or its spiece.model)", ""},
          {"vram", "GB", "plan offloading for a GPU of this size (0: use the flags as given)", "0"},
          {"image", "FILE", "reference portrait", ""},
          {"audio", "FILE", "driving speech or song", ""},
          {"audio_start", "S", "use the audio from this second", "0"},
          {"audio_end", "S", "... to this second (-1: the end)", "-1"},
          {"prompt", "TEXT", "what the video shows", ""},
          {"negative_prompt", "TEXT", "what to avoid (default: the official negative prompt)", ""},
          {"pose_video", "FILE", "DWPose skeleton video driving the pose", ""},
          {"num_clip", "N", "clips to render (0: as many as the audio needs)", "0"},
          {"infer_frames", "N", "frames per clip, a multiple of 4", std::to_string(d.infer_frames)},
          {"sample_steps", "N", "denoising steps per clip", std::to_string(d.sample_steps)},
          {"sample_shift", "X", "noise schedule shift (3 for 480p, 5 above)", "3"},
          {"sample_guide_scale", "X", "classifier-free guidance scale (<= 1: off)", "4.5"},
          {"sample_solver", "unipc|dpm++", "sampler", d.sample_solver},
          {"base_seed", "N", "seed of the first clip (clip r uses seed + r); -1: random", "-1"},
          {"size", "W*H", "pixel area of the output; the portrait's aspect ratio is kept", d.size},
          {"offload_model", "BOOL", "keep encoders and VAE off the GPU while the DiT runs", "true"},
          {"offload_blocks", "", "stream DiT blocks from host memory (GPUs smaller than the weights)", ""},
          {"start_from_ref", "", "the portrait is the first frame (init_first_frame)", ""},
          {"device", "auto|cpu|cuda[:N]", "where to run", d.device},
          {"dtype", "auto|float32|bfloat16|float16", "DiT/umT5 precision (auto: bf16 on CUDA, float32 on CPU)", d.dtype},
          {"out", "FILE", "the final MP4 (default: output.mp4 in the job folder)", ""},
          {"resume", "JOB", "continue an interrupted or cancelled generation job", ""},
          {"dry_run", "", "check everything and print the plan, render nothing", ""},
          {"json", "", "print progress as JSON lines on stdout", ""}});
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  jobs::JobStore store(jobs::JobStore::default_root());
  auto registry = make_registry();
  jobs::JobQueue queue(store, registry);
  if (auto id = a.value("resume")) {
    // The job's settings are in its record; a flag that would change them would be ignored
    // silently. Only --out (where the final video goes) may change.
    for (const auto& name : a.given())
      if (name != "resume" && name != "out" && name != "json")
        throw Error("--" + name + " cannot change a job that is resumed (its settings are in its record); "
                    "only --out may be given with --resume",
                    ErrorKind::InvalidArgument);
    auto rec = store.load(*id);
    if (!rec) throw Error("no job with ID '" + *id + "' in " + store.root().string(), ErrorKind::NotFound, *id);
    if (rec->spec.kind != generate::kGenerateKind)
      throw Error("job '" + *id + "' is a " + rec->spec.kind + " job, not a generation", ErrorKind::InvalidArgument);
    if (auto out = a.value("out")) {
      if (store.is_locked(*id)) throw Error("job '" + *id + "' is running in another process", ErrorKind::InvalidArgument);
      auto p = generate::GenerateParams::from_json(rec->spec.params);
      p.out = std::filesystem::absolute(*out).string();
      generate::preflight(p);  // the new --out is checked like a new job's
      rec->spec.params = p.to_json();
      rec->spec.output = p.out;
      store.save(*rec);
    }
    if (!queue.resume(*id))
      throw Error("job '" + *id + "' cannot be resumed: it is " + jobs::to_string(rec->state) +
                      (store.is_locked(*id) ? " in another process" : ""),
                  ErrorKind::InvalidArgument);
    if (!a.flag("json")) std::fprintf(stderr, "job %s: resuming\n", id->c_str());
    return run_in_foreground(queue, *id, a.flag("json"));
  }
  generate::GenerateParams p;
  auto abs = [](const std::string& v) { return v.empty() ? v : std::filesystem::absolute(v).string(); };
  p.ckpt_dir = a.get("ckpt_dir");
  if (p.ckpt_dir.empty()) {
    p.ckpt_dir = generate::find_demo_model().string();
    if (p.ckpt_dir.empty())
      throw Error("no --ckpt_dir given and no bundled demo model found (make one with 's2v make-demo-model DIR')",
                  ErrorKind::InvalidArgument);
  }
  p.ckpt_dir = abs(p.ckpt_dir);
  p.components.dit = abs(a.get("dit"));
  p.components.text_encoder = abs(a.get("text_encoder"));
  p.components.vae = abs(a.get("vae"));
  p.components.audio_encoder = abs(a.get("audio_encoder"));
  p.components.tokenizer = abs(a.get("tokenizer"));
  for (const auto& [flag, path] : {std::pair<const char*, const std::string*>{"dit", &p.components.dit},
                                   {"text_encoder", &p.components.text_encoder},
                                   {"vae", &p.components.vae},
                                   {"audio_encoder", &p.components.audio_encoder},
                                   {"tokenizer", &p.components.tokenizer}}) {
    std::error_code ec;
    if (path->empty()) continue;
    if (!fs::exists(*path, ec)) throw Error("--" + std::string(flag) + " '" + *path + "' does not exist", ErrorKind::InvalidArgument, *path);
    if (!fs::is_directory(*path, ec)) check_input_file(*path, "the --" + std::string(flag) + " file");
  }
  p.vram_gb = a.get_double("vram");
  p.image = abs(a.get("image"));
  p.audio = abs(a.get("audio"));
  p.audio_start_s = a.get_double("audio_start");
  p.audio_end_s = a.get_double("audio_end");
  p.prompt = a.get("prompt");
  p.negative_prompt = a.get("negative_prompt");
  p.pose_video = abs(a.get("pose_video"));
  p.num_clip = a.get_int("num_clip");
  p.infer_frames = a.get_int("infer_frames");
  p.sample_steps = a.get_int("sample_steps");
  p.sample_shift = a.get_double("sample_shift");
  p.sample_guide_scale = a.get_double("sample_guide_scale");
  p.sample_solver = a.get("sample_solver");
  p.base_seed = std::stoll(a.get("base_seed"));
  p.size = a.get("size");
  p.offload_model = parse_bool("offload_model", a.get("offload_model"));
  p.offload_blocks = a.flag("offload_blocks");
  p.init_first_frame = a.flag("start_from_ref");
  p.device = a.get("device");
  p.dtype = a.get("dtype");
  p.out = abs(a.get("out"));
  // every check before the job exists: bad inputs fail here with their own message
  const generate::Preflight pre = generate::preflight(p);
  if (!a.flag("json")) {
    std::fprintf(stderr, "model: %s (%s parameters, %s)\n", pre.model.label.c_str(),
                 std::to_string(pre.model.total_parameters()).c_str(), pre.model.layout.c_str());
    for (const auto& c : pre.model.components)
      std::fprintf(stderr, "  %-9s %s  [%s]\n", c.name.c_str(), c.path.string().c_str(), c.format.c_str());
    for (const auto& n : pre.model.notes) std::fprintf(stderr, "  note: %s\n", n.c_str());
    if (pre.plan) std::fprintf(stderr, "memory plan (--vram %g): %s\n", p.vram_gb, pre.plan->reason.c_str());
    std::fprintf(stderr, "render: %dx%d, %d clip(s), %lld frames at 16 fps (%.1f s of audio), %s on %s\n%s\n",
                 pre.width, pre.height, pre.clips, static_cast<long long>(pre.frames), pre.audio_s,
                 pre.dtype.c_str(), pre.device.c_str(), pre.estimate.summary().c_str());
  }
  if (a.flag("dry_run")) return kOk;
  const std::string id = queue.submit(generate::make_generate_spec(p));
  if (!a.flag("json")) std::fprintf(stderr, "job %s\n", id.c_str());
  return run_in_foreground(queue, id, a.flag("json"));
}

int cmd_make_demo_model(const std::vector<std::string>& argv) {
  Args a("make-demo-model",
         "Write the demo model: the official Wan2.2-S2V-14B folder layout with tiny random weights.\n"
         "It runs through the real loaders and pipeline; its videos are noise.",
         {{"seed", "N", "random seed of the weights", "2025"}}, "DIR");
  a.parse(argv);
  if (a.help_requested()) { std::cout << a.help(); return kOk; }
  if (a.positionals().size() != 1) throw Error("s2v make-demo-model needs one folder", ErrorKind::InvalidArgument);
  generate::make_demo_model(a.positionals()[0], static_cast<uint64_t>(std::stoull(a.get("seed"))));
  std::printf("%s\n", a.positionals()[0].c_str());
  return kOk;
}

std::map<std::string, Command> commands() {
  return {
      {"generate", {"render an audio-driven video from a portrait (Wan2.2-S2V)", cmd_generate}},
      {"make-demo-model", {"write the tiny random-weight demo model folder", cmd_make_demo_model}},
      {"curate", {"score video clips for dataset curation (also: curate export, curate merge)", cmd_curate}},
      {"inspect", {"summarise a checkpoint file or folder", cmd_inspect}},
      {"convert", {"convert a .pth or GGUF checkpoint to safetensors", cmd_convert}},
      {"jobs", {"list, resume, cancel or run jobs", cmd_jobs}},
      {"worker", {"run one journalled job in this process (the GUI starts one per job)", cmd_worker}},
      {"inspect-model", {"check a model folder as generate does (--json for the GUI)", cmd_inspect_model}},
      {"portrait-check", {"check a reference portrait as the Generate workspace does", cmd_portrait_check}},
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
