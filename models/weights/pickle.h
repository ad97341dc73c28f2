#pragma once
// A restricted unpickler for the data.pkl of a torch.save archive. It builds plain values and
// accepts only what state dicts use: None/bool/int/float/str/bytes, tuples, lists, dicts,
// collections.OrderedDict, tensors rebuilt by torch._utils._rebuild_tensor_v2 (and
// _rebuild_tensor, _rebuild_parameter[_with_state], torch._tensor._rebuild_from_type_v2 with
// torch.Tensor / Parameter), and storages named by persistent ids
// ('storage', torch.<Type>Storage, key, location, numel). Any other global, any other call and the
// object-building opcodes (INST, OBJ, EXT*) are refused with an s2v::Error that names them.
// Nothing from the pickle is ever executed. No LibTorch.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace s2v::weights::pickle {

struct StorageRef {
  std::string dtype;     // safetensors spelling of the storage's element type ("F32", "BF16", ...)
  std::string key;       // the archive entry is <prefix>/data/<key>
  std::string location;  // "cpu", "cuda:0" (ignored: we read to the CPU)
  uint64_t numel = 0;
};

struct TensorRef {
  std::shared_ptr<StorageRef> storage;
  int64_t offset = 0;  // in elements
  std::vector<int64_t> shape, stride;
};

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Type { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor };
  Type type = Type::None;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                                  // String, Bytes; Global: "module.name"
  std::vector<ValuePtr> items;                    // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> dict;  // Dict, in insertion order
  std::shared_ptr<StorageRef> storage;            // Storage
  TensorRef tensor;                               // Tensor
};

const char* to_string(Value::Type type);

// Parses a whole pickle. `where` names the file for messages ("'x.pth'"). Throws s2v::Error:
// Unsupported for a refused global/opcode, Corrupt for malformed or truncated data.
ValuePtr unpickle(const uint8_t* data, size_t size, const std::string& where);

// The safetensors dtype of a torch storage class name ("FloatStorage" -> "F32"); "" if unknown.
std::string storage_dtype(const std::string& class_name);

}  // namespace s2v::weights::pickle
