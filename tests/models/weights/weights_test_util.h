#pragma once
// Small helpers shared by the weights tests: hand-made safetensors files (for corrupt headers) and
// "expect this call to throw s2v::Error whose message contains ...".

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <QtTest/QtTest>

#include "models/base/error.h"

namespace s2v::test {

// Writes an 8-byte header length, the header text and the data bytes as they are.
inline void write_raw_safetensors(const std::filesystem::path& p, const std::string& header,
                                  const std::vector<uint8_t>& data, int64_t header_len = -1) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  const uint64_t len = header_len < 0 ? header.size() : static_cast<uint64_t>(header_len);
  out.write(reinterpret_cast<const char*>(&len), 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

inline void truncate_file(const std::filesystem::path& p, uint64_t keep) { std::filesystem::resize_file(p, keep); }

// Runs f, requires an s2v::Error of `kind` whose message contains every fragment; returns it.
template <typename F>
std::string expect_error(F&& f, s2v::ErrorKind kind, const std::vector<std::string>& fragments) {
  try {
    f();
  } catch (const s2v::Error& e) {
    const std::string msg = e.what();
    qInfo("error: %s", msg.c_str());
    if (e.kind() != kind)
      QTest::qFail(("wrong error kind " + std::string(s2v::to_string(e.kind())) + ": " + msg).c_str(), __FILE__, __LINE__);
    for (auto& frag : fragments)
      if (msg.find(frag) == std::string::npos)
        QTest::qFail(("message lacks '" + frag + "': " + msg).c_str(), __FILE__, __LINE__);
    return msg;
  }
  QTest::qFail("no s2v::Error was thrown", __FILE__, __LINE__);
  return {};
}

}  // namespace s2v::test
