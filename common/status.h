// Status: the outcome of an operation that crosses a boundary (a trial's result travelling from a
// worker rank to the coordinator, a CLI command's exit). Inside a trial, code throws orch::Error or
// lets LibTorch's exceptions propagate; the trial runner turns them into a Status.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace orch {

// Error: the one exception type orch throws for bad input, I/O failures and broken invariants.
// The message names the file, key or line involved, so it can be shown to the user as is.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

class Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return {}; }
  static Status Failed(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

}  // namespace orch
