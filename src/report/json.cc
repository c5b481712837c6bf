// JSON writing with safe escaping. Covered by tests/report/json_test.cc.
//
// Speed matters here: a large diagnosis is hundreds of MB of JSON. Strings are escaped straight
// into the writer's buffer, copying runs of bytes that need no escape in one go, and numbers are
// formatted with std::to_chars; the stream sees one write per 64 KiB.
#include "callaudit/json.h"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

namespace callaudit {

namespace {

// What one byte needs: copied as it is, an escape (quote, backslash, control bytes, DEL, '<'),
// or a look at the UTF-8 sequence it starts.
enum ByteClass : unsigned char { kPlain, kEscape, kHigh };

constexpr std::array<unsigned char, 256> make_classes() {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<size_t>(c)] = c >= 0x80                                                    ? kHigh
                                : c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '<' ? kEscape
                                                                                             : kPlain;
  return t;
}
constexpr std::array<unsigned char, 256> kClass = make_classes();

// The length of the UTF-8 sequence starting at p[i] (a byte >= 0x80), or 0 when it is not one:
// a 2-, 3- or 4-byte lead followed by that many continuation bytes, all inside the string.
// (Only the shape is checked, not overlong forms or surrogates: C0 80 passes.)
inline size_t utf8_length(const unsigned char* p, size_t i, size_t size) {
  unsigned c = p[i];
  size_t n = (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 0;
  if (n == 0 || i + n >= size) return 0;
  for (size_t k = 1; k <= n; ++k)
    if ((p[i + k] >> 6) != 2) return 0;
  return n + 1;
}

// The escape of one ASCII byte of class kEscape into out (room for 6); returns its length.
// '<' comes out as \u003c so the JSON is safe inside an HTML script block too.
inline size_t escape_byte(unsigned char c, char* out) {
  out[0] = '\\';
  switch (c) {
    case '"':
      out[1] = '"';
      return 2;
    case '\\':
      out[1] = '\\';
      return 2;
    case '\n':
      out[1] = 'n';
      return 2;
    case '\r':
      out[1] = 'r';
      return 2;
    case '\t':
      out[1] = 't';
      return 2;
    default: {
      static constexpr char hex[] = "0123456789abcdef";
      std::memcpy(out + 1, "u00", 3);
      out[4] = hex[c >> 4];
      out[5] = hex[c & 15];
      return 6;
    }
  }
}

// Eight bytes at a time (little-endian): a word whose result is 0 holds only bytes copied as
// they are. Otherwise the lowest set bit marks the first byte that is not (the classic
// "has zero byte" tests flag nothing below the first true match).
constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
inline std::uint64_t zero_bytes(std::uint64_t x) {
  return (x - kOnes) & ~x & kHighs;
}
inline std::uint64_t special_bytes(std::uint64_t w) {
  return ((w - kOnes * 0x20) & ~w & kHighs)  // below 0x20
         | zero_bytes(w ^ (kOnes * '"')) | zero_bytes(w ^ (kOnes * '\\')) | zero_bytes(w ^ (kOnes * '<')) |
         zero_bytes(w ^ (kOnes * 0x7f)) | (w & kHighs);
}
static_assert(std::endian::native == std::endian::little, "special_bytes counts bytes from the low end");

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
// Output bytes per input byte at most: a control byte becomes \u00XX.
constexpr size_t kWorstExpansion = 6;

// Escapes s (without the quotes), handing the output to emit(const char*, size_t) in pieces.
template <typename Emit>
inline void escape_into(std::string_view s, Emit&& emit) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t size = s.size();
  size_t i = 0;
  while (i < size) {
    size_t start = i;
    while (i < size) {  // a run copied as it is: plain ASCII and well-formed sequences
      if (i + 8 <= size) {
        std::uint64_t word;
        std::memcpy(&word, p + i, 8);
        std::uint64_t m = special_bytes(word);
        if (m == 0) {
          i += 8;
          continue;
        }
        i += static_cast<size_t>(std::countr_zero(m)) / 8;  // to the first byte needing a look
      }
      unsigned char k = kClass[p[i]];
      if (k == kPlain) {
        ++i;
        continue;
      }
      if (k == kHigh) {
        size_t n = utf8_length(p, i, size);
        if (n != 0) {
          i += n;
          continue;
        }
      }
      break;
    }
    if (i > start) emit(s.data() + start, i - start);
    if (i == size) break;
    if (kClass[p[i]] == kEscape) {
      char e[kWorstExpansion];
      emit(e, escape_byte(p[i], e));
    } else {
      emit(kReplacement, 3);
    }
    ++i;
  }
}

// escape_into for an output with room for kWorstExpansion bytes per input byte: each word
// is stored as it is read (bytes past the first that needs a look are overwritten next), so
// runs cost no separate copy. Returns the end of the output.
inline char* escape_to(std::string_view s, char* o) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t size = s.size();
  size_t i = 0;
  while (i < size) {
    if (i + 8 <= size) {
      std::uint64_t word;
      std::memcpy(&word, p + i, 8);
      std::memcpy(o, &word, 8);
      std::uint64_t m = special_bytes(word);
      if (m == 0) {
        i += 8;
        o += 8;
        continue;
      }
      size_t k = static_cast<size_t>(std::countr_zero(m)) / 8;
      i += k;
      o += k;
    }
    unsigned char k = kClass[p[i]];
    if (k == kPlain) {
      *o++ = static_cast<char>(p[i++]);
    } else if (k == kEscape) {
      o += escape_byte(p[i++], o);
    } else if (size_t n = utf8_length(p, i, size); n != 0) {
      for (size_t e = i + n; i < e; ++i) *o++ = static_cast<char>(p[i]);
    } else {
      std::memcpy(o, kReplacement, 3);
      o += 3;
      ++i;
    }
  }
  return o;
}

constexpr char kSpaces[] = "                                                                ";  // 64

}  // namespace

void json_escape_append(std::string& out, std::string_view s) {
  out += '"';
  escape_into(s, [&out](const char* p, size_t n) { out.append(p, n); });
  out += '"';
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  json_escape_append(out, s);
  return out;
}

JsonWriter::JsonWriter(std::ostream& out, bool pretty) : out_(out), pretty_(pretty), buf_(new char[kBuffer]) {}

JsonWriter::~JsonWriter() {
  try {
    flush();
  } catch (...) {  // a stream set to throw: nothing sensible to do in a destructor
  }
}

void JsonWriter::flush() {
  if (len_ == 0) return;
  out_.write(buf_.get(), static_cast<std::streamsize>(len_));
  len_ = 0;
}

void JsonWriter::append(const char* p, size_t n) {
  if (n > kBuffer - len_) {
    flush();
    if (n >= kBuffer) {  // larger than the buffer: straight to the stream
      out_.write(p, static_cast<std::streamsize>(n));
      return;
    }
  }
  std::memcpy(buf_.get() + len_, p, n);
  len_ += n;
}

void JsonWriter::escaped(std::string_view s) {
  size_t worst = s.size() * kWorstExpansion + 2;
  if (worst > kBuffer - len_ && worst <= kBuffer) flush();
  if (worst <= kBuffer - len_) {  // the common case: room for any outcome, no checks per piece
    char* o = buf_.get() + len_;
    *o++ = '"';
    o = escape_to(s, o);
    *o++ = '"';
    len_ = static_cast<size_t>(o - buf_.get());
    return;
  }
  put('"');
  escape_into(s, [this](const char* p, size_t n) { append(p, n); });
  put('"');
}

void JsonWriter::newline() {
  if (!pretty_) return;
  put('\n');
  for (size_t n = first_.size() * 2; n > 0;) {
    size_t k = n < sizeof kSpaces - 1 ? n : sizeof kSpaces - 1;
    append(kSpaces, k);
    n -= k;
  }
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) put(',');
    first_.back() = false;
    newline();
  }
}

// A complete document goes to the stream, so whatever the caller writes next comes after it.
void JsonWriter::done_if_top() {
  if (first_.empty()) flush();
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  put('{');
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  bool empty = first_.back();
  first_.pop_back();
  if (!empty) newline();
  put('}');
  if (first_.empty() && pretty_) put('\n');
  done_if_top();
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  before_value();
  put('[');
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  bool empty = first_.back();
  first_.pop_back();
  if (!empty) newline();
  put(']');
  done_if_top();
  return *this;
}
JsonWriter& JsonWriter::key(std::string_view k) {
  before_value();
  escaped(k);
  if (pretty_)
    append(": ", 2);
  else
    put(':');
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::value(std::string_view s) {
  before_value();
  escaped(s);
  done_if_top();
  return *this;
}
JsonWriter& JsonWriter::value(std::int64_t v) {
  before_value();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  append(buf, static_cast<size_t>(r.ptr - buf));
  done_if_top();
  return *this;
}
JsonWriter& JsonWriter::value(double v) {
  before_value();
  if (!std::isfinite(v)) {
    append("null", 4);
  } else {
    // The same text as printf("%.4g"): to_chars with a precision follows printf's rules.
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 4);
    append(buf, static_cast<size_t>(r.ptr - buf));
  }
  done_if_top();
  return *this;
}
JsonWriter& JsonWriter::value(bool v) {
  before_value();
  if (v)
    append("true", 4);
  else
    append("false", 5);
  done_if_top();
  return *this;
}
JsonWriter& JsonWriter::null() {
  before_value();
  append("null", 4);
  done_if_top();
  return *this;
}

}  // namespace callaudit
