// Status and Result<T>: the cheap, explicit way a component reports an
// expected failure (bad input, lost connection, missing file) to its caller.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cutover {

// kUnavailable means "could not reach the store; retrying may help"; kDataError
// means "the store refused this data"; the two are handled differently.
enum class StatusCode {
  kOk,
  kInvalidArgument,
  kNotFound,
  kIoError,
  kUnavailable,
  kDataError,
  kFailedPrecondition,
  kInternal,
  // Changes were lost before the reader saw them (a change stream's gap: a
  // dropped subscription, a failover); what follows cannot be trusted alone.
  kDataLoss,
  // A store refused cutover's credentials or rights (a failed login, an ACL
  // that forbids a command): the operator must fix them; retrying cannot.
  kPermissionDenied,
};

std::string_view StatusCodeName(StatusCode code);

// A Status is either OK or a code with a message that already carries the
// context a user needs (what was being done, on which object).
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // SQLSTATE of a PostgreSQL error, empty otherwise.
  const std::string& sqlstate() const { return sqlstate_; }
  Status& WithSqlstate(std::string sqlstate) {
    sqlstate_ = std::move(sqlstate);
    return *this;
  }

  // Returns a copy whose message is prefixed by `context: `.
  Status WithContext(std::string_view context) const;

  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string sqlstate_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
inline Status IoError(std::string m) {
  return {StatusCode::kIoError, std::move(m)};
}
inline Status Unavailable(std::string m) {
  return {StatusCode::kUnavailable, std::move(m)};
}
inline Status DataError(std::string m) {
  return {StatusCode::kDataError, std::move(m)};
}
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Internal(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}
inline Status DataLoss(std::string m) {
  return {StatusCode::kDataLoss, std::move(m)};
}

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {
    if (std::get<Status>(state_).ok()) std::abort();  // an OK Result needs a value
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace cutover

#define CUTOVER_CONCAT_INNER(a, b) a##b
#define CUTOVER_CONCAT(a, b) CUTOVER_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when it is not OK.
// (A unique name per expansion: the macro nests, e.g. inside a lambda argument.)
#define RETURN_IF_ERROR(expr) RETURN_IF_ERROR_IMPL(CUTOVER_CONCAT(_status_, __COUNTER__), expr)
#define RETURN_IF_ERROR_IMPL(tmp, expr) \
  do {                                  \
    ::cutover::Status tmp = (expr);     \
    if (!tmp.ok()) return tmp;          \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX());` unwraps a Result or returns its Status.
// (__COUNTER__ as above: two expansions on one line, from another macro, stay apart.)
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(CUTOVER_CONCAT(_result_, __COUNTER__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
