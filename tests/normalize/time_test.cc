// Time layouts and zones, including a DST change in Europe/London.
#include <doctest/doctest.h>

#include "callaudit/timeutil.h"

using namespace callaudit;

namespace {
TimeUs parse_utc(const char* layout, const char* text) {
  auto l = TimeLayout::compile(layout);
  REQUIRE(l.ok());
  ParsedTime p;
  REQUIRE(l->parse(text, p));
  return p.value;
}
}  // namespace

TEST_CASE("time layouts read civil times, fractions, offsets and epochs") {
  CHECK(format_utc(parse_utc("%Y-%m-%d %H:%M:%S%f", "2024-03-05 14:02:11.101842")) ==
        "2024-03-05T14:02:11.101842Z");
  CHECK(format_utc(parse_utc("%d/%m/%Y %H:%M:%S", "14/03/2026 09:12:31")) == "2026-03-14T09:12:31Z");
  CHECK(format_utc(parse_utc("%m/%d/%Y %H:%M", "03/14/2026 09:12")) == "2026-03-14T09:12:00Z");
  CHECK(format_utc(parse_utc("%Y-%m-%dT%H:%M:%S%z", "2026-03-14T10:12:33+01:00")) == "2026-03-14T09:12:33Z");
  CHECK(format_utc(parse_utc("%Y-%m-%dT%H:%M:%S%z", "2026-03-14T09:12:33Z")) == "2026-03-14T09:12:33Z");
  CHECK(format_utc(parse_utc("%s", "1709647290")) == "2024-03-05T14:01:30Z");
}

TEST_CASE("time layouts refuse impossible dates and wrong order") {
  auto us = TimeLayout::compile("%m/%d/%Y %H:%M");
  REQUIRE(us.ok());
  ParsedTime p;
  CHECK_FALSE(us->parse("13/03/2026 09:12", p));  // a UK date in a US file: month 13
  CHECK_FALSE(us->parse("02/30/2026 09:12", p));
  CHECK_FALSE(us->parse("03/14/2026 09:12:00", p));  // trailing text
  CHECK_FALSE(us->parse("03/14/2026", p));
  CHECK_FALSE(TimeLayout::compile("%Q").ok());
}

TEST_CASE("local times convert across the Europe/London DST changes") {
  auto z = ZoneConverter::make("Europe/London");
  REQUIRE(z.ok());
  auto l = TimeLayout::compile("%Y-%m-%d %H:%M:%S");
  REQUIRE(l.ok());
  auto conv = [&](const char* t) {
    ParsedTime p;
    REQUIRE(l->parse(t, p));
    return format_utc(z->to_utc(p.value));
  };
  CHECK(conv("2026-03-28 12:00:00") == "2026-03-28T12:00:00Z");  // GMT
  CHECK(conv("2026-03-29 00:30:00") == "2026-03-29T00:30:00Z");  // before the change at 01:00 GMT
  CHECK(conv("2026-03-29 02:30:00") == "2026-03-29T01:30:00Z");  // BST
  CHECK(conv("2026-03-29 01:30:00") == "2026-03-29T01:30:00Z");  // skipped hour: read with the earlier offset
  CHECK(conv("2026-07-01 12:00:00") == "2026-07-01T11:00:00Z");
  CHECK(conv("2026-10-25 01:30:00") == "2026-10-25T00:30:00Z");  // repeated hour: first occurrence
  CHECK(conv("2026-10-25 02:30:00") == "2026-10-25T02:30:00Z");  // GMT again
  // the cache must not leak one period's offset into the next
  CHECK(conv("2026-03-28 23:59:59") == "2026-03-28T23:59:59Z");
  CHECK(conv("2026-03-30 09:00:00") == "2026-03-30T08:00:00Z");
  CHECK(format_local(z->to_utc(parse_utc("%Y-%m-%d %H:%M:%S", "2026-07-01 12:00:00")), *z) == "2026-07-01 12:00:00");
}

TEST_CASE("unknown zones are refused with a helpful message") {
  auto z = ZoneConverter::make("Mars/Olympus");
  REQUIRE_FALSE(z.ok());
  CHECK(z.error().find("IANA") != std::string::npos);
}

TEST_CASE("user times") {
  auto utc = ZoneConverter::make("");
  REQUIRE(utc.ok());
  auto t = parse_user_time("2026-03-14T09:12:33Z", *utc);
  REQUIRE(t.ok());
  CHECK(format_utc(*t) == "2026-03-14T09:12:33Z");
  auto ny = ZoneConverter::make("America/New_York");
  REQUIRE(ny.ok());
  auto t2 = parse_user_time("2026-03-14 09:12:33", *ny);
  REQUIRE(t2.ok());
  CHECK(format_utc(*t2) == "2026-03-14T13:12:33Z");
  CHECK_FALSE(parse_user_time("yesterday", *utc).ok());
}
