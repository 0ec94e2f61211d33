// The one error idiom of orch, at every module boundary.
//
// - Error: the exception orch throws for bad input, I/O failures and broken invariants. Inside a
//   trial, LibTorch's exceptions may propagate too; the trial runner turns every exception into
//   a failed Status.
// - Status: the same facts as a value, for what crosses a boundary without unwinding: a check
//   that reports rather than throws (option validators called by the YAML parser), a trial's
//   outcome travelling from a worker rank to the coordinator.
//
// Both carry a code, a message that names the file, key or line involved (so it can be shown to
// the user as is), and, for an option check, the key it is about (so the YAML parser can point
// at that key's line).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace orch {

enum class ErrorCode {
  kOk = 0,
  kInvalidInput,  // a bad file, key, option or argument: the user's to fix (CLI exit 2)
  kCorrupt,       // a file orch wrote earlier fails its checks (cache, checkpoint, store)
  kFailed,        // an operation that ran and failed (a trial, a child command)
};

// The CLI's exit status for an error of this code: 2 for input the user can fix, else 1.
inline int exit_code(ErrorCode code) {
  return code == ErrorCode::kOk ? 0 : code == ErrorCode::kInvalidInput ? 2 : 1;
}

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorCode code = ErrorCode::kInvalidInput,
                 std::string key = "")
      : std::runtime_error(message), code_(code), key_(std::move(key)) {}
  // An error about option `key`; the message is "key: text".
  static Error Option(const std::string& key, const std::string& text) {
    return Error(key + ": " + text, ErrorCode::kInvalidInput, key);
  }

  ErrorCode code() const { return code_; }
  const std::string& key() const { return key_; }  // "" unless about one option

 private:
  ErrorCode code_;
  std::string key_;
};

class Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return {}; }
  static Status Failed(std::string message) {
    return Status(ErrorCode::kFailed, "", std::move(message));
  }
  // A check that found option `key` bad; `message` is shown as is. `key` may be "" when the
  // problem is not one key's (the options are not a map, say).
  static Status Invalid(std::string key, std::string message) {
    return Status(ErrorCode::kInvalidInput, std::move(key), std::move(message));
  }
  static Status FromError(const Error& e) { return Status(e.code(), e.key(), e.what()); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& key() const { return key_; }
  const std::string& message() const { return message_; }
  // Throws the Error this Status describes; does nothing when ok.
  void throw_if_failed() const {
    if (!ok()) throw Error(message_, code_, key_);
  }

 private:
  Status(ErrorCode code, std::string key, std::string message)
      : code_(code), key_(std::move(key)), message_(std::move(message)) {}
  ErrorCode code_ = ErrorCode::kOk;
  std::string key_;
  std::string message_;
};

}  // namespace orch
