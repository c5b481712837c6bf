// Expected failures as values: Status for operations without a result, Result<T> otherwise.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace callaudit {

// Exit statuses of the command line, in one place.
enum class Exit : int { ok = 0, input_error = 1, usage = 2 };

class Status {
 public:
  Status() = default;
  static Status error(std::string message) {
    Status s;
    s.message_ = std::move(message);
    s.failed_ = true;
    return s;
  }
  [[nodiscard]] bool ok() const { return !failed_; }
  [[nodiscard]] const std::string& message() const { return message_; }

 private:
  std::string message_;
  bool failed_ = false;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status error) : v_(std::move(error)) {}  // NOLINT
  [[nodiscard]] bool ok() const { return std::holds_alternative<T>(v_); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  [[nodiscard]] const std::string& error() const { return std::get<Status>(v_).message(); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace callaudit
