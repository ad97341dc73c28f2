#include "models/t5/checkpoint_source.h"

#include "models/weights/checkpoint.h"

namespace s2v {

StateSource state_source(const weights::TensorSource& source, const std::string& prefix) {
  StateSource s;
  s.description = source.describe();
  for (const auto& name : source.names())
    if (name.rfind(prefix, 0) == 0) s.names.push_back(name.substr(prefix.size()));
  const weights::TensorSource* src = &source;
  s.shape = [src, prefix](const std::string& n) { return src->meta(prefix + n).shape; };
  s.get = [src, prefix](const std::string& n) { return src->tensor(prefix + n); };
  return s;
}

}  // namespace s2v
