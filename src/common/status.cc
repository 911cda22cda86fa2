#include "common/status.h"

namespace cutover {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid argument";
    case StatusCode::kNotFound:
      return "not found";
    case StatusCode::kIoError:
      return "I/O error";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kDataError:
      return "data error";
    case StatusCode::kFailedPrecondition:
      return "failed precondition";
    case StatusCode::kInternal:
      return "internal error";
    case StatusCode::kDataLoss:
      return "data loss";
    case StatusCode::kPermissionDenied:
      return "permission denied";
  }
  return "unknown";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  Status s(code_, std::string(context) + ": " + message_);
  s.sqlstate_ = sqlstate_;
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_;
}

}  // namespace cutover
