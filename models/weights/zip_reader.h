#pragma once
// A minimal reader for the zip archives torch.save writes: the central directory (with zip64
// records for archives and entries past 4 GB) of a memory-mapped file, entries stored without
// compression (as torch writes them) read zero-copy. No LibTorch.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace s2v::weights {

class MappedFile;

struct ZipEntry {
  uint64_t data_offset = 0;  // start of the entry's bytes in the file
  uint64_t size = 0;         // uncompressed size
  uint64_t compressed_size = 0;
  uint16_t method = 0;       // 0 = stored
};

class ZipArchive {
 public:
  // Throws s2v::Error(Corrupt) naming the file when it is not a zip archive or its directory is
  // inconsistent with the file (entries past the end, overlapping local headers, ...).
  static ZipArchive open(const std::filesystem::path& path);

  const std::filesystem::path& path() const;
  const std::map<std::string, ZipEntry>& entries() const { return entries_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  const ZipEntry& entry(const std::string& name) const;  // throws NotFound
  // The bytes of a stored entry (throws Unsupported for a compressed one).
  const uint8_t* data(const std::string& name) const;
  std::string read_string(const std::string& name) const;
  const std::shared_ptr<MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  std::map<std::string, ZipEntry> entries_;
};

}  // namespace s2v::weights
