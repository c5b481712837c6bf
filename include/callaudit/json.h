// A small streaming JSON writer: strings always escaped, invalid UTF-8 replaced by U+FFFD.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace callaudit {

std::string json_escape(std::string_view s);  // with the quotes
// Appends json_escape(s) to out.
void json_escape_append(std::string& out, std::string_view s);

// Output is collected in an internal buffer and reaches the stream in large writes: when the
// buffer fills, when the outermost value is complete, on flush() and on destruction. Do not
// write to the stream yourself while a document is open.
class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out, bool pretty = true);
  ~JsonWriter();
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;
  void flush();
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(std::int64_t v);
  JsonWriter& value(int v) { return value(static_cast<std::int64_t>(v)); }
  JsonWriter& value(double v);
  JsonWriter& value(bool v);
  JsonWriter& null();
  template <typename T>
  JsonWriter& value(const std::optional<T>& v) {
    return v ? value(*v) : null();
  }
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

 private:
  void before_value();
  void newline();
  void done_if_top();
  void put(char c) {
    if (len_ == kBuffer) flush();
    buf_[len_++] = c;
  }
  void append(const char* p, std::size_t n);
  void escaped(std::string_view s);

  static constexpr std::size_t kBuffer = 64 * 1024;
  std::ostream& out_;
  bool pretty_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
  std::unique_ptr<char[]> buf_;
  std::size_t len_ = 0;
};

}  // namespace callaudit
