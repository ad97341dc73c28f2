#include "core/jobs/job_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include "models/base/atomic_file.h"
#include "models/base/error.h"

namespace s2v::jobs {

namespace {

std::string new_id() {
  const auto t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  static std::mt19937 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id = std::string(buf) + "-";
  for (int i = 0; i < 4; ++i) id += hex[rng() % 16];
  return id;
}

bool process_alive(int pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace

JobStore::JobStore(std::filesystem::path root) : root_(std::move(root)) {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec)
    throw Error("cannot create the job folder '" + root_.string() + "': " + ec.message(),
                ErrorKind::Io, root_.string());
}

std::filesystem::path JobStore::default_root() {
  if (const char* d = std::getenv("S2V_DATA_DIR"); d && *d) return std::filesystem::path(d) / "jobs";
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x)
    return std::filesystem::path(x) / "s2v-studio" / "jobs";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/tmp") / ".local/share/s2v-studio/jobs";
}

bool JobStore::valid_id(const std::string& id) {
  if (id.empty() || id.size() > 128 || id[0] == '.') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

std::filesystem::path JobStore::folder(const std::string& id) const {
  if (!valid_id(id))
    throw Error("'" + id + "' is not a job ID (job IDs are folder names such as 20250101-120000-ab12)",
                ErrorKind::InvalidArgument, id);
  return root_ / id;
}

JobRecord JobStore::create(const JobSpec& spec) {
  JobRecord r;
  do {
    r.id = new_id();
  } while (std::filesystem::exists(folder(r.id)));
  std::error_code ec;
  std::filesystem::create_directories(folder(r.id), ec);
  if (ec)
    throw Error("cannot create the job folder '" + folder(r.id).string() + "': " + ec.message(), ErrorKind::Io,
                folder(r.id).string());
  r.spec = spec;
  if (r.spec.title.empty()) r.spec.title = spec.kind;
  r.created_ms = now_ms();
  try {
    save(r);
  } catch (...) {
    std::filesystem::remove_all(folder(r.id), ec);  // no orphan folder without a record
    throw;
  }
  return r;
}

void JobStore::save(JobRecord& r) {
  r.updated_ms = now_ms();
  auto j = to_json(r);
  j["owner_pid"] = static_cast<int>(::getpid());
  const auto path = folder(r.id) / "job.json";
  std::string text;
  try {
    // what a resume reads back must round-trip exactly: JSON text holds UTF-8 only
    (void)j.at("params").dump();
    (void)j.at("requested_output").dump();
  } catch (const nlohmann::json::exception&) {
    throw Error("cannot record the job in '" + path.string() +
                    "': its parameters hold text that is not valid UTF-8 (a file name or a prompt); "
                    "rename the file or retype the text",
                ErrorKind::InvalidArgument, path.string());
  }
  // messages for people (an error quoting such a file name) keep the rest and get U+FFFD
  text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  write_file_atomically(path, text);
}

std::optional<JobRecord> JobStore::load(const std::string& id) const {
  const auto path = folder(id) / "job.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream in(path);
  nlohmann::json j;
  JobRecord r;
  try {
    if (!std::filesystem::is_regular_file(path, ec)) throw std::runtime_error("it is not a regular file");
    if (!in) throw std::runtime_error(std::strerror(errno));
    j = nlohmann::json::parse(in);
    r = record_from_json(j);
  } catch (const std::exception& e) {
    throw Error("the record of job '" + id + "' cannot be read ('" + path.string() + "': " + e.what() + ")",
                ErrorKind::Corrupt, path.string());
  }
  if (r.id != id)
    throw Error("the record of job '" + id + "' names job '" + r.id +
                    "' (was its folder copied or renamed?); it is left as it is",
                ErrorKind::Corrupt, path.string());
  const int owner = j.value("owner_pid", 0);
  const bool stale_running = r.state == JobState::Running && !is_locked(id);
  const bool stale_queued = r.state == JobState::Queued && !process_alive(owner);
  if (stale_running || stale_queued) {
    r.state = JobState::Interrupted;
    auto copy = r;
    try {
      const_cast<JobStore*>(this)->save(copy);
    } catch (const std::exception&) {
      // a full disk or a read-only folder: the record still reads as interrupted
    }
  }
  return r;
}

std::vector<JobRecord> JobStore::list() const {
  std::vector<JobRecord> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(root_, ec)) {
    const std::string id = e.path().filename().string();
    if (!e.is_directory(ec) || !valid_id(id)) continue;
    try {
      if (auto r = load(id)) out.push_back(std::move(*r));
    } catch (const Error& err) {
      // listed, not hidden: the person sees the folder and why it cannot be used
      JobRecord broken;
      broken.id = id;
      broken.spec.title = "(unreadable job record)";
      broken.state = JobState::Failed;
      broken.stage = "failed";
      broken.error = err.what();
      struct stat st {};
      if (::stat(e.path().c_str(), &st) == 0) broken.created_ms = int64_t(st.st_mtime) * 1000;
      out.push_back(std::move(broken));
    }
  }
  std::sort(out.begin(), out.end(), [](const JobRecord& a, const JobRecord& b) {
    return a.created_ms != b.created_ms ? a.created_ms < b.created_ms : a.id < b.id;
  });
  return out;
}

void JobStore::remove(const std::string& id) {
  const auto dir = folder(id);
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return;
  // held while deleting, so that no process starts the job meanwhile
  auto lock = try_lock(id);
  if (!lock) throw Error("job '" + id + "' is running; cancel it before removing it", ErrorKind::InvalidArgument, id);
  std::filesystem::remove_all(dir, ec);
  if (ec)
    throw Error("cannot remove the job folder '" + dir.string() + "': " + ec.message(), ErrorKind::Io, dir.string());
}

void JobStore::request_cancel(const std::string& id) const {
  std::ofstream(cancel_file(id)) << now_ms() << "\n";
}

void JobStore::clear_cancel(const std::string& id) const {
  std::error_code ec;
  std::filesystem::remove(cancel_file(id), ec);
}

JobStore::RunLock::~RunLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

std::unique_ptr<JobStore::RunLock> JobStore::try_lock(const std::string& id) const {
  const auto path = folder(id) / "lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    const int e = errno;
    throw Error("cannot open the job's lock file '" + path.string() + "': " + std::strerror(e),
                ErrorKind::Io, path.string());
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return nullptr;
  }
  return std::make_unique<RunLock>(fd);
}

bool JobStore::is_locked(const std::string& id) const {
  const auto path = folder(id) / "lock";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool locked = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  if (!locked) ::flock(fd, LOCK_UN);
  ::close(fd);
  return locked;
}

}  // namespace s2v::jobs
