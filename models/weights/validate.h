#pragma once
// Checking a checkpoint against what a model expects before a job starts: every missing,
// unexpected, mis-shaped and wrongly typed tensor is reported at once, by name, both as a
// structured list and as one s2v::ValidationError whose message lists them all.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "models/base/error.h"

namespace torch::nn {
class Module;
}

namespace s2v::weights {

class TensorSource;

// What kind of dtype a tensor must have: weights are floating point in any precision (F32, BF16,
// F16, FP8...), indices integral.
enum class DtypeClass { Floating, Integral, Boolean, Any };

struct ExpectedTensor {
  std::vector<int64_t> shape;
  DtypeClass dtype = DtypeClass::Floating;
};
using ExpectedTensors = std::map<std::string, ExpectedTensor>;

// Exact: every dimension must match, except that a stored shape may differ from the expected one
// in size-1 dims only (GGUF writers drop them; load_module reshapes). RankOnly: only the number of
// dimensions (for stand-in files with tiny shapes that keep the real names and ranks).
enum class ShapeCheck { Exact, RankOnly };

struct ValidationIssue {
  enum class Kind { Missing, Unexpected, WrongShape, WrongDtype };
  Kind kind;
  std::string name;
  std::string expected;  // "[5120, 16, 1, 2, 2]", "floating point"; empty for Unexpected
  std::string found;     // "[5120, 16]", "I64"; empty for Missing
};

const char* to_string(ValidationIssue::Kind kind);

class ValidationError : public Error {
 public:
  ValidationError(std::string what, std::string subject, std::vector<ValidationIssue> issues)
      : Error(std::move(what), ErrorKind::Corrupt, std::move(subject)), issues_(std::move(issues)) {}
  const std::vector<ValidationIssue>& issues() const { return issues_; }

 private:
  std::vector<ValidationIssue> issues_;
};

// Every issue, sorted by kind (missing, unexpected, wrong shape, wrong dtype) then name.
std::vector<ValidationIssue> validate(const ExpectedTensors& expected, const TensorSource& source,
                                      ShapeCheck check = ShapeCheck::Exact,
                                      bool allow_unexpected = false);

// Throws ValidationError when validate() finds anything; the message reads
// "checkpoint 'x' does not match <model_name>: 2 missing tensors (a, b); 1 wrong shape (c: found
// [1, 2], expected [3, 2]); ...".
void require_valid(const ExpectedTensors& expected, const TensorSource& source,
                   const std::string& model_name, ShapeCheck check = ShapeCheck::Exact,
                   bool allow_unexpected = false);

// A manifest file {"shapes": {name: [dims]}, ...} (as testdata/parity/dit_s2v_14b_manifest.json);
// every tensor is expected floating point.
ExpectedTensors load_manifest(const std::filesystem::path& json);

// The parameters and buffers of a module under their state_dict names, with their shapes and the
// dtype class of their current dtype.
ExpectedTensors expected_from_module(const torch::nn::Module& module);

// Sum of the elements of every expected tensor.
uint64_t parameter_count(const ExpectedTensors& expected);

// Bytes to hold numel elements stored as dtype ("F32", "BF16", "F16", "F8_E4M3", ..., or a GGUF
// block type "Q8_0", "Q4_K", ...: whole blocks, each tensor rounded up to a whole block).
uint64_t memory_bytes(uint64_t numel, const std::string& dtype);
uint64_t memory_bytes(const ExpectedTensors& expected, const std::string& dtype);

}  // namespace s2v::weights
