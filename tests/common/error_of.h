#pragma once
// The sentence (and kind) of the s2v::Error an action throws: "" when it throws none.

#include <functional>
#include <string>

#include "models/base/error.h"

namespace s2v::test {

inline std::string error_of(const std::function<void()>& f, ErrorKind* kind = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (kind) *kind = e.kind();
    return e.what();
  }
  return {};
}

}  // namespace s2v::test
