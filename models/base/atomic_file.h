#pragma once
// AtomicFile: an output that appears under its final name whole or not at all. The bytes go to
// "<target>.part" (created fresh: a stale .part, or a symlink planted there, is replaced), which is
// fsynced and renamed over the target; the folder is fsynced so the rename survives a power cut.
// An AtomicFile destroyed without commit() removes its .part.
//
// Every output of the engine goes through here, so every one refuses the same two mistakes before a
// byte is written: a target that is not a regular file (a device node such as /dev/full, a FIFO,
// a socket, a folder: renaming over it would replace it) and a target that is the same file
// (inode) as one of the inputs it is made from (`s2v convert a.pth a.pth`).
// No Qt, no LibTorch.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace s2v {

// Throws s2v::Error(InvalidArgument) naming the target when it exists and is not a regular file
// (symlinks followed) or when it is the same file as one of `inputs` (compared by device and
// inode, so hard links and other spellings of the path are caught). A target that does not exist
// passes; inputs that do not exist are ignored.
void check_output_target(const std::filesystem::path& target,
                         const std::vector<std::filesystem::path>& inputs = {});

class AtomicFile {
 public:
  // Checks the target (check_output_target) and creates "<target>.part". Throws s2v::Error:
  // InvalidArgument (a bad target), NotFound (the folder does not exist), PermissionDenied, Io.
  explicit AtomicFile(std::filesystem::path target, std::vector<std::filesystem::path> inputs = {});
  ~AtomicFile();  // removes the .part unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::filesystem::path& target() const { return target_; }
  // The temporary file. A writer that opens files by name (FFmpeg, a copy) writes here itself,
  // then calls commit().
  const std::filesystem::path& part() const { return part_; }

  // Appends bytes to the .part. Throws s2v::Error(Io) with the system's reason ("No space left on
  // device", "File too large") naming the target.
  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }

  // fsync, rename over the target (checked again), fsync of the folder. Throws s2v::Error; the
  // .part is removed on failure.
  void commit();
  bool committed() const { return committed_; }
  // Removes the .part now (what the destructor does when commit() was not called).
  void discard();

 private:
  [[noreturn]] void fail(const std::string& why, int err);
  void close_fd();
  std::filesystem::path target_, part_;
  std::vector<std::filesystem::path> inputs_;
  int fd_ = -1;
  bool committed_ = false;
};

// Writes text to path through an AtomicFile.
void write_file_atomically(const std::filesystem::path& path, std::string_view text,
                           const std::vector<std::filesystem::path>& inputs = {});

// Copies a file to `to` through an AtomicFile (refusing a target that is `from` itself).
void copy_file_atomically(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace s2v
