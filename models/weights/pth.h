#pragma once
// Reader for PyTorch .pth/.pt files in the zip format torch.save writes since 1.6:
// <archive>/data.pkl (the pickled object), <archive>/data/<key> (raw storages),
// <archive>/version, <archive>/byteorder. data.pkl goes through our restricted unpickler
// (pickle.h): nothing is executed. Tensors nested in dicts/lists are named by their path joined
// with '.' ("model.blocks.0.weight"); non-tensor leaves (ints, strings) are listed in skipped().
// Tensors are zero-copy strided views of the memory-mapped storages.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "models/weights/checkpoint.h"

namespace s2v::weights {

class ZipArchive;
namespace pickle {
struct TensorRef;
}

class PthFile {
 public:
  // Throws s2v::Error: Corrupt (not a zip, no data.pkl, a storage shorter than its tensors),
  // Unsupported (a refused pickle global/opcode, the legacy non-zip format, big-endian data).
  static PthFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  TensorMeta meta(const std::string& name) const;
  // A CPU view of the stored bytes with the pickled size, stride and offset (do not write into
  // it; clone first).
  torch::Tensor tensor(const std::string& name) const;
  // Entries that are not tensors ("epoch: int"), which a conversion drops.
  const std::vector<std::string>& skipped() const { return skipped_; }
  // The archive's folder name inside the zip ("archive" or the saved file's stem).
  const std::string& record_prefix() const { return prefix_; }

 private:
  const pickle::TensorRef& ref(const std::string& name) const;

  std::filesystem::path path_;
  std::shared_ptr<ZipArchive> zip_;
  std::string prefix_;
  std::map<std::string, std::shared_ptr<pickle::TensorRef>> tensors_;
  std::vector<std::string> skipped_;
};

}  // namespace s2v::weights
