// Time layouts and zone conversion. Covered by tests/normalize/time_test.cc.
#include <date/date.h>
#include <date/tz.h>

#include <charconv>
#include <chrono>

#include "callaudit/timeutil.h"

namespace callaudit {
namespace {

bool read_digits(std::string_view s, size_t& i, int min_n, int max_n, long long& out) {
  long long v = 0;
  int n = 0;
  while (i < s.size() && n < max_n && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + (s[i] - '0');
    ++i;
    ++n;
  }
  if (n < min_n) return false;
  out = v;
  return true;
}

TimeUs civil_to_us(long long y, long long mo, long long d, long long h, long long mi, long long s) {
  using namespace std::chrono;
  auto days = date::sys_days{date::year{static_cast<int>(y)} / static_cast<unsigned>(mo) / static_cast<unsigned>(d)};
  return (days.time_since_epoch().count() * 86400LL + h * 3600 + mi * 60 + s) * kUsPerSecond;
}

}  // namespace

Result<TimeLayout> TimeLayout::compile(std::string_view layout) {
  TimeLayout out;
  out.text_ = std::string(layout);
  for (size_t i = 0; i < layout.size(); ++i) {
    char c = layout[i];
    if (c == '%') {
      if (i + 1 >= layout.size()) return Status::error("time layout ends with '%'");
      char k = layout[++i];
      if (std::string_view("YmdHMSfzs").find(k) == std::string_view::npos && k != '%')
        return Status::error(std::string("time layout has unknown token %") + k);
      if (k == '%')
        out.tokens_.push_back({'l', '%'});
      else
        out.tokens_.push_back({k, 0});
    } else {
      out.tokens_.push_back({'l', c});
    }
  }
  return out;
}

bool TimeLayout::parse(std::string_view s, ParsedTime& out) const {
  long long y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, frac_us = 0, offset_s = 0;
  bool has_offset = false, epoch = false;
  long long epoch_s = 0;
  size_t i = 0;
  for (const Token& t : tokens_) {
    switch (t.kind) {
      case 'l':
        if (i >= s.size() || s[i] != t.literal) return false;
        ++i;
        break;
      case 'Y':
        if (!read_digits(s, i, 4, 4, y)) return false;
        break;
      case 'm':
        if (!read_digits(s, i, 1, 2, mo)) return false;
        break;
      case 'd':
        if (!read_digits(s, i, 1, 2, d)) return false;
        break;
      case 'H':
        if (!read_digits(s, i, 1, 2, h)) return false;
        break;
      case 'M':
        if (!read_digits(s, i, 2, 2, mi)) return false;
        break;
      case 'S':
        if (!read_digits(s, i, 2, 2, sec)) return false;
        break;
      case 'f':
      case 's': {
        if (t.kind == 's') {
          if (!read_digits(s, i, 1, 12, epoch_s)) return false;
          epoch = true;
        }
        if (i < s.size() && (s[i] == '.' || s[i] == ',') && i + 1 < s.size() && s[i + 1] >= '0' &&
            s[i + 1] <= '9') {
          ++i;
          long long scale = 100000;
          while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            frac_us += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
          }
        }
        break;
      }
      case 'z': {
        if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
          ++i;
          has_offset = true;
          break;
        }
        if (i >= s.size() || (s[i] != '+' && s[i] != '-')) return false;
        int sign = s[i] == '-' ? -1 : 1;
        ++i;
        long long oh = 0, om = 0;
        if (!read_digits(s, i, 2, 2, oh)) return false;
        if (i < s.size() && s[i] == ':') ++i;
        if (i < s.size() && s[i] >= '0' && s[i] <= '9' && !read_digits(s, i, 2, 2, om)) return false;
        if (oh > 18 || om > 59) return false;
        offset_s = sign * (oh * 3600 + om * 60);
        has_offset = true;
        break;
      }
      default:
        return false;
    }
  }
  if (i != s.size()) return false;
  if (epoch) {
    out.value = epoch_s * kUsPerSecond + frac_us;
    out.is_epoch = true;
    out.has_offset = false;
    return true;
  }
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60) return false;
  date::year_month_day ymd{date::year{static_cast<int>(y)}, date::month{static_cast<unsigned>(mo)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return false;
  if (sec == 60) sec = 59;  // leap second: keep it inside the minute
  out.value = civil_to_us(y, mo, d, h, mi, sec) + frac_us - offset_s * kUsPerSecond;
  out.has_offset = has_offset;
  out.is_epoch = false;
  return true;
}

Result<ZoneConverter> ZoneConverter::make(const std::string& zone_name) {
  ZoneConverter z;
  if (zone_name.empty() || zone_name == "UTC" || zone_name == "Etc/UTC") {
    z.name_ = "UTC";
    return z;
  }
  try {
    z.zone_ = date::locate_zone(zone_name);
  } catch (const std::exception&) {
    return Status::error("unknown time zone '" + zone_name +
                         "' (use an IANA name such as Europe/London or America/New_York)");
  }
  z.name_ = zone_name;
  return z;
}

TimeUs ZoneConverter::to_utc(TimeUs local_us) const {
  if (zone_ == nullptr) return local_us;
  if (local_us >= cache_.local_begin && local_us < cache_.local_end) return local_us - cache_.offset_us;
  using namespace std::chrono;
  const auto* tz = static_cast<const date::time_zone*>(zone_);
  TimeUs secs = local_us >= 0 ? local_us / kUsPerSecond : -((-local_us + kUsPerSecond - 1) / kUsPerSecond);
  date::local_seconds ls{seconds{secs}};
  auto info = tz->get_info(ls);
  TimeUs offset_us = 0;
  if (info.result == date::local_info::unique) {
    offset_us = info.first.offset.count() * kUsPerSecond;
    // Cache the stretch of local time over which this offset holds unambiguously.
    cache_.offset_us = offset_us;
    cache_.local_begin = info.first.begin.time_since_epoch().count() * kUsPerSecond + offset_us;
    cache_.local_end = info.first.end.time_since_epoch().count() * kUsPerSecond + offset_us;
    // Stay clear of ambiguous edges: a neighbouring period may overlap this range.
    cache_.local_begin += 86400LL * kUsPerSecond;
    cache_.local_end -= 86400LL * kUsPerSecond;
  } else if (info.result == date::local_info::ambiguous) {
    offset_us = info.first.offset.count() * kUsPerSecond;  // the first occurrence
  } else {
    // Skipped by a forward change: read the wall clock with the offset in force before it.
    offset_us = info.first.offset.count() * kUsPerSecond;
  }
  return local_us - offset_us;
}

TimeUs ZoneConverter::to_local(TimeUs utc_us) const {
  if (zone_ == nullptr) return utc_us;
  using namespace std::chrono;
  const auto* tz = static_cast<const date::time_zone*>(zone_);
  TimeUs secs = utc_us >= 0 ? utc_us / kUsPerSecond : -((-utc_us + kUsPerSecond - 1) / kUsPerSecond);
  auto info = tz->get_info(date::sys_seconds{seconds{secs}});
  return utc_us + info.offset.count() * kUsPerSecond;
}

namespace {
// The general case (any year): through date.
std::string format_civil_slow(TimeUs t, char sep, bool zulu) {
  using namespace std::chrono;
  TimeUs secs = t >= 0 ? t / kUsPerSecond : -((-t + kUsPerSecond - 1) / kUsPerSecond);
  TimeUs us = t - secs * kUsPerSecond;
  auto dp = date::floor<date::days>(date::sys_seconds{seconds{secs}});
  date::year_month_day ymd{dp};
  date::hh_mm_ss<seconds> hms{seconds{secs} - dp.time_since_epoch()};
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02u%c%02ld:%02ld:%02ld", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), sep,
                        static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                        static_cast<long>(hms.seconds().count()));
  std::string out(buf, static_cast<size_t>(n));
  if (us != 0) {
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(us));
    out += buf;
  }
  if (zulu) out += 'Z';
  return out;
}

// Years 0..9999 (every time a log holds): digits written directly, same text as the general case.
std::string format_civil(TimeUs t, char sep, bool zulu) {
  // 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z
  constexpr TimeUs kMin = -62167219200LL * kUsPerSecond;
  constexpr TimeUs kMax = 253402300800LL * kUsPerSecond - 1;
  if (t < kMin || t > kMax) return format_civil_slow(t, sep, zulu);
  TimeUs secs = t >= 0 ? t / kUsPerSecond : -((-t + kUsPerSecond - 1) / kUsPerSecond);
  auto us = static_cast<std::uint32_t>(t - secs * kUsPerSecond);
  TimeUs days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  auto sod = static_cast<std::uint32_t>(secs - days * 86400);
  // civil_from_days (H. Hinnant), as date::year_month_day computes it
  TimeUs z = days + 719468;
  TimeUs era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<std::uint32_t>(z - era * 146097);
  std::uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  TimeUs y = static_cast<TimeUs>(yoe) + era * 400;
  std::uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::uint32_t mp = (5 * doy + 2) / 153;
  std::uint32_t d = doy - (153 * mp + 2) / 5 + 1;
  std::uint32_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[32];
  char* p = buf;
  auto put = [&p](std::uint32_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  put(static_cast<std::uint32_t>(y), 4);
  *p++ = '-';
  put(m, 2);
  *p++ = '-';
  put(d, 2);
  *p++ = sep;
  put(sod / 3600, 2);
  *p++ = ':';
  put(sod / 60 % 60, 2);
  *p++ = ':';
  put(sod % 60, 2);
  if (us != 0) {
    *p++ = '.';
    put(us, 6);
  }
  if (zulu) *p++ = 'Z';
  return std::string(buf, static_cast<size_t>(p - buf));
}
}  // namespace

std::string format_utc(TimeUs t) { return format_civil(t, 'T', true); }

std::string format_local(TimeUs t, const ZoneConverter& zone) { return format_civil(zone.to_local(t), ' ', false); }

Result<TimeUs> parse_user_time(std::string_view text, const ZoneConverter& zone) {
  static const char* const layouts[] = {"%Y-%m-%dT%H:%M:%S%f%z", "%Y-%m-%d %H:%M:%S%f%z", "%Y-%m-%dT%H:%M:%S%f",
                                        "%Y-%m-%d %H:%M:%S%f",   "%Y-%m-%dT%H:%M%z",      "%Y-%m-%d %H:%M",
                                        "%Y-%m-%dT%H:%M",        "%Y-%m-%d",              "%s"};
  for (const char* l : layouts) {
    auto layout = TimeLayout::compile(l);
    ParsedTime p;
    if (layout.ok() && layout->parse(text, p)) {
      if (p.has_offset || p.is_epoch) return p.value;
      return zone.to_utc(p.value);
    }
  }
  return Status::error("cannot read time '" + std::string(text) +
                       "': use 2026-03-14T09:12:33Z, '2026-03-14 09:12:33' (display zone) or epoch seconds");
}

}  // namespace callaudit
