#pragma once
// A read-only memory map of a whole file, shared by the tensors viewed from it (each zero-copy
// tensor's deleter holds a shared_ptr, so the mapping lives as long as any view). Internal to
// models/weights; no LibTorch.

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace s2v::weights {

class MappedFile {
 public:
  // Throws s2v::Error (NotFound / PermissionDenied / Io) naming the file.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace s2v::weights
