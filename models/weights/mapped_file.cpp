#include "models/weights/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "models/base/error.h"

namespace s2v::weights {

namespace {
std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }
}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    const int e = errno;
    throw Error("cannot open " + quoted(path) + ": " + std::strerror(e),
                e == ENOENT ? ErrorKind::NotFound
                : e == EACCES ? ErrorKind::PermissionDenied : ErrorKind::Io,
                path.string());
  }
  struct stat st {};
  if (fstat(fd_, &st) != 0) {
    ::close(fd_);
    throw Error("cannot stat " + quoted(path), ErrorKind::Io, path.string());
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd_);
    throw Error("cannot read " + quoted(path) + ": it is a folder, not a file",
                ErrorKind::InvalidArgument, path.string());
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    // PROT_READ only: a private writable mapping would count the whole file against the commit
    // limit, which fails for checkpoints larger than RAM. Callers clone before writing in place.
    void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd_);
      throw Error("cannot map " + quoted(path) + ": " + std::strerror(e), ErrorKind::Io, path.string());
    }
    data_ = static_cast<const uint8_t*>(p);
  }
}

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace s2v::weights
