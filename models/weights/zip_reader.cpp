#include "models/weights/zip_reader.h"

#include <cstring>

#include "models/base/error.h"
#include "models/weights/mapped_file.h"

namespace s2v::weights {

namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64EndOfDirectory = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) { return u16(p) | (static_cast<uint32_t>(u16(p + 2)) << 16); }
uint64_t u64(const uint8_t* p) { return u32(p) | (static_cast<uint64_t>(u32(p + 4)) << 32); }

[[noreturn]] void corrupt(const std::filesystem::path& p, const std::string& why) {
  throw Error("cannot read zip archive '" + p.string() + "': " + why, ErrorKind::Corrupt, p.string());
}

}  // namespace

const std::filesystem::path& ZipArchive::path() const { return file_->path(); }

ZipArchive ZipArchive::open(const std::filesystem::path& path) {
  ZipArchive z;
  z.file_ = std::make_shared<MappedFile>(path);
  const uint8_t* d = z.file_->data();
  const uint64_t size = z.file_->size();
  if (size < 22) corrupt(path, "the file is too short to be a zip archive");
  // End of central directory: the last signature within the trailing 64 KiB comment window.
  uint64_t eocd = UINT64_MAX;
  const uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (uint64_t i = size - 22 + 1; i-- > lowest;)
    if (u32(d + i) == kEndOfDirectory) {
      eocd = i;
      break;
    }
  if (eocd == UINT64_MAX) corrupt(path, "no end-of-central-directory record (not a zip archive, or truncated)");
  uint64_t count = u16(d + eocd + 10);
  uint64_t dir_size = u32(d + eocd + 12);
  uint64_t dir_offset = u32(d + eocd + 16);
  if (eocd >= 20 && u32(d + eocd - 20) == kZip64Locator) {
    const uint64_t rec = u64(d + eocd - 20 + 8);
    if (rec > size - 56 || u32(d + rec) != kZip64EndOfDirectory)
      corrupt(path, "the zip64 end-of-directory locator points outside the file");
    count = u64(d + rec + 32);
    dir_size = u64(d + rec + 40);
    dir_offset = u64(d + rec + 48);
  }
  if (dir_offset > size || dir_size > size - dir_offset)
    corrupt(path, "the central directory lies outside the file (truncated?)");
  uint64_t pos = dir_offset;
  const uint64_t dir_end = dir_offset + dir_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (pos + 46 > dir_end || u32(d + pos) != kCentralHeader)
      corrupt(path, "central directory entry " + std::to_string(i) + " is malformed");
    ZipEntry e;
    e.method = u16(d + pos + 10);
    const uint16_t flags = u16(d + pos + 8);
    e.compressed_size = u32(d + pos + 20);
    e.size = u32(d + pos + 24);
    const uint16_t name_len = u16(d + pos + 28), extra_len = u16(d + pos + 30), comment_len = u16(d + pos + 32);
    uint64_t local = u32(d + pos + 42);
    if (pos + 46 + name_len + extra_len + comment_len > dir_end)
      corrupt(path, "central directory entry " + std::to_string(i) + " runs past the directory");
    std::string name(reinterpret_cast<const char*>(d + pos + 46), name_len);
    // zip64 extended information: the 0xFFFFFFFF fields, in order size, compressed, offset.
    const uint8_t* x = d + pos + 46 + name_len;
    for (uint64_t k = 0; k + 4 <= extra_len;) {
      const uint16_t id = u16(x + k), len = u16(x + k + 2);
      if (k + 4 + len > extra_len) corrupt(path, "entry '" + name + "' has a malformed extra field");
      if (id == 0x0001) {
        const uint8_t* f = x + k + 4;
        uint64_t left = len;
        auto take = [&](uint64_t& field) {
          if (left < 8) corrupt(path, "entry '" + name + "' has a short zip64 field");
          field = u64(f);
          f += 8;
          left -= 8;
        };
        if (e.size == 0xFFFFFFFFu) take(e.size);
        if (e.compressed_size == 0xFFFFFFFFu) take(e.compressed_size);
        if (local == 0xFFFFFFFFu) take(local);
      }
      k += 4 + len;
    }
    if (flags & 1) corrupt(path, "entry '" + name + "' is encrypted");
    if (local > size - 30 || u32(d + local) != kLocalHeader)
      corrupt(path, "the local header of entry '" + name + "' is missing");
    e.data_offset = local + 30 + u16(d + local + 26) + u16(d + local + 28);
    if (e.data_offset > size || e.compressed_size > size - e.data_offset)
      corrupt(path, "entry '" + name + "' (" + std::to_string(e.compressed_size) +
                        " bytes) runs past the end of the file (truncated?)");
    if (e.method == 0 && e.compressed_size != e.size)
      corrupt(path, "stored entry '" + name + "' has different sizes in its header");
    z.entries_[name] = e;
    pos += 46 + name_len + extra_len + comment_len;
  }
  return z;
}

const ZipEntry& ZipArchive::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end())
    throw Error("zip archive '" + path().string() + "' has no entry '" + name + "'", ErrorKind::NotFound,
                path().string());
  return it->second;
}

const uint8_t* ZipArchive::data(const std::string& name) const {
  const auto& e = entry(name);
  if (e.method != 0)
    throw Error("entry '" + name + "' of '" + path().string() + "' is compressed (method " +
                    std::to_string(e.method) + "); only stored entries, as torch.save writes them, are read",
                ErrorKind::Unsupported, path().string());
  return file_->data() + e.data_offset;
}

std::string ZipArchive::read_string(const std::string& name) const {
  const uint8_t* p = data(name);
  return std::string(reinterpret_cast<const char*>(p), entry(name).size);
}

}  // namespace s2v::weights
