#pragma once
// Key maps for foreign layouts of a checkpoint. The official names are native and need no map; a
// single-file repackaging that nests them under a prefix (ComfyUI's "model.diffusion_model.", a
// DataParallel "module.") is read by stripping that prefix. Names outside the prefix (other
// models packed in the same file) are hidden from the mapped view.

#include <memory>
#include <string>
#include <vector>

namespace s2v::weights {

class TensorSource;

struct KeyMap {
  std::string prefix;  // stripped from stored names; empty = native names

  bool identity() const { return prefix.empty(); }
  // The native name of a stored name, or "" when the stored name is outside the prefix.
  std::string to_native(const std::string& stored) const;
  std::string to_stored(const std::string& native) const { return prefix + native; }
};

// Prefixes of known repackagings, longest first.
const std::vector<std::string>& known_prefixes();

// With expected names: the prefix (none, a known one, or the longest dotted prefix shared by all
// stored names) under which the most stored names become expected names; no prefix wins ties.
// Without: a known prefix only when every stored name carries it.
KeyMap detect_key_map(const std::vector<std::string>& stored_names,
                      const std::vector<std::string>& expected_names = {});

// A view of source under native names (source itself when the map is the identity).
std::shared_ptr<TensorSource> apply_key_map(std::shared_ptr<TensorSource> source, const KeyMap& map);

}  // namespace s2v::weights
