#pragma once
// s2v::Error: every failure the engine reports carries what was being done and to what (a file, a
// tensor, a clip), so the UI and CLI can show it as one sentence. No Qt, no LibTorch.

#include <stdexcept>
#include <string>

namespace s2v {

enum class ErrorKind {
  Generic,
  InvalidArgument,   // a bad option or request
  NotFound,          // missing file or tensor
  PermissionDenied,
  Unsupported,       // codec, dtype, format version
  Corrupt,           // truncated or malformed data
  OutOfMemory,
  Cancelled,
  Io,                // read/write failure, disk full
};

const char* to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  // what: the sentence a person reads, e.g. "cannot decode 'a.mp4': the file is truncated".
  explicit Error(std::string what, ErrorKind kind = ErrorKind::Generic, std::string subject = {});

  ErrorKind kind() const { return kind_; }
  // The file, tensor or clip the error is about (may be empty).
  const std::string& subject() const { return subject_; }

 private:
  ErrorKind kind_;
  std::string subject_;
};

// Thrown when a job notices its cancellation token; never shown as a failure.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled", ErrorKind::Cancelled) {}
};

}  // namespace s2v
