#include "models/base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "models/base/error.h"

namespace s2v {

namespace fs = std::filesystem;

namespace {

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

const char* file_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

ErrorKind kind_of_errno(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS: return ErrorKind::PermissionDenied;
    case ENOENT:
    case ENOTDIR: return ErrorKind::NotFound;
    case ENOMEM: return ErrorKind::OutOfMemory;
    default: return ErrorKind::Io;
  }
}

fs::path parent_of(const fs::path& p) { return p.has_parent_path() ? p.parent_path() : fs::path("."); }

}  // namespace

void check_output_target(const fs::path& target, const std::vector<fs::path>& inputs) {
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0) {
    if (errno == ELOOP)
      throw Error("cannot write " + quoted(target) + ": its path is a loop of symbolic links",
                  ErrorKind::InvalidArgument, target.string());
    return;  // absent (or unreachable: creating the .part reports why)
  }
  if (!S_ISREG(st.st_mode))
    throw Error("cannot write " + quoted(target) + ": it is " + file_type(st.st_mode) +
                    ", not a regular file, and an output never replaces one",
                ErrorKind::InvalidArgument, target.string());
  for (const auto& in : inputs) {
    struct stat si {};
    if (in.empty() || ::stat(in.c_str(), &si) != 0) continue;
    if (si.st_dev == st.st_dev && si.st_ino == st.st_ino)
      throw Error("cannot write " + quoted(target) + ": it is the input " + quoted(in) +
                      " itself, which the output would destroy; choose another output name",
                  ErrorKind::InvalidArgument, target.string());
  }
}

AtomicFile::AtomicFile(fs::path target, std::vector<fs::path> inputs)
    : target_(std::move(target)), inputs_(std::move(inputs)) {
  check_output_target(target_, inputs_);
  part_ = target_;
  part_ += ".part";
  // The .part must be a file we create now: a stale one goes, and so does a symlink planted
  // there (O_NOFOLLOW | O_EXCL would refuse it, the unlink makes room).
  if (::unlink(part_.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
    const int e = errno;
    throw Error("cannot write " + quoted(target_) + ": cannot remove the stale temporary file " +
                    quoted(part_) + ": " + std::strerror(e),
                kind_of_errno(e), target_.string());
  }
  fd_ = ::open(part_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    const int e = errno;
    const fs::path parent = parent_of(target_);
    std::error_code ec;
    if (e == ENOENT || e == ENOTDIR) {
      const bool exists = fs::exists(parent, ec);
      throw Error("cannot write " + quoted(target_) + ": the folder '" + parent.string() +
                      (exists ? "' is not a folder" : "' does not exist"),
                  ErrorKind::NotFound, target_.string());
    }
    throw Error("cannot write " + quoted(target_) + ": cannot create " + quoted(part_) + ": " +
                    std::strerror(e),
                kind_of_errno(e), target_.string());
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void AtomicFile::discard() {
  close_fd();
  if (!committed_) ::unlink(part_.c_str());
}

void AtomicFile::fail(const std::string& why, int err) {
  discard();
  throw Error("cannot write " + quoted(target_) + ": " + why + std::strerror(err), kind_of_errno(err),
              target_.string());
}

void AtomicFile::write(const void* data, size_t size) {
  if (committed_ || fd_ < 0)
    throw Error("cannot write " + quoted(target_) + ": the file is already closed", ErrorKind::InvalidArgument,
                target_.string());
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("", errno);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (committed_) return;
  if (fd_ < 0) {
    // written by someone else (FFmpeg, a copy) through part()
    fd_ = ::open(part_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd_ < 0) fail("its temporary file " + quoted(part_) + " cannot be opened: ", errno);
  }
  // fsync reports the write errors a full disk defers to writeback
  if (::fsync(fd_) != 0 && errno != EINVAL) fail("", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("", errno);
  try {
    check_output_target(target_, inputs_);  // again: the target may have changed meanwhile
  } catch (...) {
    discard();
    throw;
  }
  if (::rename(part_.c_str(), target_.c_str()) != 0)
    fail("cannot move the finished file into place: ", errno);
  committed_ = true;
  // the rename is only durable once the folder's entry is
  const int dir = ::open(parent_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomically(const fs::path& path, std::string_view text, const std::vector<fs::path>& inputs) {
  AtomicFile f(path, inputs);
  f.write(text);
  f.commit();
}

void copy_file_atomically(const fs::path& from, const fs::path& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (in < 0) {
    const int e = errno;
    throw Error("cannot copy " + quoted(from) + ": " + std::strerror(e), kind_of_errno(e), from.string());
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{in};
  struct stat st {};
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode))
    throw Error("cannot copy " + quoted(from) + ": it is " + file_type(st.st_mode) + ", not a regular file",
                ErrorKind::InvalidArgument, from.string());
  AtomicFile out(to, {from});
  std::vector<char> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      throw Error("cannot copy " + quoted(from) + ": " + std::strerror(e), kind_of_errno(e), from.string());
    }
    if (n == 0) break;
    out.write(buf.data(), static_cast<size_t>(n));
  }
  out.commit();
}

}  // namespace s2v
