// Timestamps: layouts kept as data ("%d/%m/%Y %H:%M:%S"), zone conversion through date/tz.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "callaudit/model.h"
#include "callaudit/result.h"

namespace callaudit {

// A parsed time before zone conversion.
struct ParsedTime {
  TimeUs value = 0;         // civil time read as if it were UTC, or epoch time
  bool has_offset = false;  // the text carried its own offset (value is then UTC)
  bool is_epoch = false;    // the text was epoch seconds (value is UTC)
};

// A compiled layout. Tokens: %Y %m %d %H %M %S, %f (optional fraction after '.' or ','),
// %z (Z, +HH:MM, +HHMM, +HH), %s (epoch seconds, optional fraction). Other characters match
// themselves.
class TimeLayout {
 public:
  static Result<TimeLayout> compile(std::string_view layout);
  // Returns false when the text does not fit the layout or names an impossible date.
  [[nodiscard]] bool parse(std::string_view text, ParsedTime& out) const;
  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  struct Token {
    char kind;  // 'Y','m','d','H','M','S','f','z','s', or 'l' for a literal
    char literal;
  };
  std::vector<Token> tokens_;
  std::string text_;
};

// Converts civil local time to UTC for one IANA zone; handles DST (a repeated hour takes the
// first occurrence, a skipped hour moves forward). Caches the current offset period.
class ZoneConverter {
 public:
  // An empty name means UTC.
  static Result<ZoneConverter> make(const std::string& zone_name);
  [[nodiscard]] TimeUs to_utc(TimeUs local_us) const;
  [[nodiscard]] TimeUs to_local(TimeUs utc_us) const;
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] bool is_utc() const { return zone_ == nullptr; }

 private:
  const void* zone_ = nullptr;  // const date::time_zone*
  std::string name_;
  struct Cache {
    TimeUs local_begin = 1;
    TimeUs local_end = 0;
    TimeUs offset_us = 0;
  };
  mutable Cache cache_;
};

// "2026-03-14T09:12:33Z" (microseconds shown only when not zero).
std::string format_utc(TimeUs t);
// "2026-03-14 09:12:33" in the given zone, followed by nothing; the caller prints the zone.
std::string format_local(TimeUs t, const ZoneConverter& zone);
// Accepts "2026-03-14T09:12:33Z", "2026-03-14 09:12:33" (read in `zone`), "09:12:33" is not
// accepted (a date is needed), and epoch seconds.
Result<TimeUs> parse_user_time(std::string_view text, const ZoneConverter& zone);

}  // namespace callaudit
