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

JobRecord JobStore::create(const JobSpec& spec) {
  JobRecord r;
  do {
    r.id = new_id();
  } while (std::filesystem::exists(folder(r.id)));
  std::filesystem::create_directories(folder(r.id));
  r.spec = spec;
  if (r.spec.title.empty()) r.spec.title = spec.kind;
  r.created_ms = now_ms();
  save(r);
  return r;
}

void JobStore::save(JobRecord& r) {
  r.updated_ms = now_ms();
  auto j = to_json(r);
  j["owner_pid"] = static_cast<int>(::getpid());
  write_file_atomically(folder(r.id) / "job.json", j.dump(2));
}

std::optional<JobRecord> JobStore::load(const std::string& id) const {
  std::ifstream in(folder(id) / "job.json");
  if (!in) return std::nullopt;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (...) {
    return std::nullopt;
  }
  JobRecord r = record_from_json(j);
  const int owner = j.value("owner_pid", 0);
  const bool stale_running = r.state == JobState::Running && !is_locked(id);
  const bool stale_queued = r.state == JobState::Queued && !process_alive(owner);
  if (stale_running || stale_queued) {
    r.state = JobState::Interrupted;
    auto copy = r;
    const_cast<JobStore*>(this)->save(copy);
  }
  return r;
}

std::vector<JobRecord> JobStore::list() const {
  std::vector<JobRecord> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(root_, ec)) {
    if (!e.is_directory()) continue;
    if (auto r = load(e.path().filename().string())) out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(), [](const JobRecord& a, const JobRecord& b) {
    return a.created_ms != b.created_ms ? a.created_ms < b.created_ms : a.id < b.id;
  });
  return out;
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
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return nullptr;
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
