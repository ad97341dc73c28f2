#pragma once
// Quantities for people. No Qt, no LibTorch.

#include <cstdint>
#include <string>

namespace s2v {

// "1.23 GB" (decimal units, as download sizes are quoted).
std::string human_bytes(uint64_t bytes);

}  // namespace s2v
