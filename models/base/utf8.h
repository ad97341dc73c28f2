#pragma once
// UTF-8 checks for text that crosses into JSON (job records, exports): file names on Linux are
// bytes and need not be UTF-8, and JSON text must be. No Qt, no LibTorch.

#include <string_view>

namespace s2v {

// True when s is well-formed UTF-8 (no stray continuation bytes, overlong forms, surrogates or
// cut sequences): what a strict JSON writer or reader accepts.
bool is_valid_utf8(std::string_view s);

}  // namespace s2v
