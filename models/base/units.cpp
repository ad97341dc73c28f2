#include "models/base/units.h"

#include <cstdio>

namespace s2v {

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (b >= 1000000ull) std::snprintf(buf, sizeof buf, "%.2f MB", b / 1e6);
  else if (b >= 1000ull) std::snprintf(buf, sizeof buf, "%.2f kB", b / 1e3);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  return buf;
}

}  // namespace s2v
