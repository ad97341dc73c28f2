#include "models/base/error.h"

namespace s2v {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Generic: return "error";
    case ErrorKind::InvalidArgument: return "invalid argument";
    case ErrorKind::NotFound: return "not found";
    case ErrorKind::PermissionDenied: return "permission denied";
    case ErrorKind::Unsupported: return "unsupported";
    case ErrorKind::Corrupt: return "corrupt";
    case ErrorKind::OutOfMemory: return "out of memory";
    case ErrorKind::Cancelled: return "cancelled";
    case ErrorKind::Io: return "i/o error";
  }
  return "error";
}

Error::Error(std::string what, ErrorKind kind, std::string subject)
    : std::runtime_error(std::move(what)), kind_(kind), subject_(std::move(subject)) {}

}  // namespace s2v
