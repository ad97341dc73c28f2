#pragma once
// Shared test data (../shared/testdata: parity vectors, GGUF files, pipeline cases) that a suite
// needs and does not find is a failure: a green run must mean "checked". S2V_ALLOW_MISSING_PARITY=1
// turns it into a skip that names what is missing (a machine without a copy of ../shared).
// Torch-free, for every suite.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <QtTest/QtTest>

namespace s2v::test {

// S2V_ALLOW_MISSING_PARITY=1: a suite without its data skips instead of failing.
inline bool missing_data_allowed() {
  const char* env = std::getenv("S2V_ALLOW_MISSING_PARITY");
  return env && std::string(env) == "1";
}

}  // namespace s2v::test

// Inside a Qt Test function: fail (or, with S2V_ALLOW_MISSING_PARITY=1, skip) when `files` is
// empty, naming what was looked for and where.
#define S2V_REQUIRE_DATA(files, what)                                                           \
  do {                                                                                          \
    if ((files).empty()) {                                                                      \
      const std::string s2v_missing_ = std::string("no ") + (what) +                           \
                                       " found (a suite without its data checks nothing; "     \
                                       "set S2V_ALLOW_MISSING_PARITY=1 to skip instead)";       \
      if (s2v::test::missing_data_allowed()) QSKIP(s2v_missing_.c_str());                       \
      QFAIL(s2v_missing_.c_str());                                                              \
    }                                                                                           \
  } while (0)

// The same for one file or folder.
#define S2V_REQUIRE_FILE(path, what) \
  S2V_REQUIRE_DATA(std::filesystem::exists(path) ? std::vector<int>{1} : std::vector<int>{}, what)
