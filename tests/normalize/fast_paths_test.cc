// The fast paths of normalizing agree with their slow references: format_utc against the
// date-library formatting it replaced, the memoized agent id against the [agent] ids regexes,
// the one-pass field slots against field(), next_ready()/drop() against pop(), a cleared
// Event against a new one.
#include <date/date.h>
#include <doctest/doctest.h>
#include <re2/re2.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "callaudit/normalize.h"
#include "callaudit/parse.h"
#include "callaudit/patterns.h"
#include "callaudit/timeutil.h"

using namespace callaudit;
namespace fs = std::filesystem;

namespace {

// The formatting format_utc had before its fast path: snprintf over date's calendar.
std::string reference_format_utc(TimeUs t) {
  using namespace std::chrono;
  TimeUs secs = t >= 0 ? t / kUsPerSecond : -((-t + kUsPerSecond - 1) / kUsPerSecond);
  TimeUs us = t - secs * kUsPerSecond;
  auto dp = date::floor<date::days>(date::sys_seconds{seconds{secs}});
  date::year_month_day ymd{dp};
  date::hh_mm_ss<seconds> hms{seconds{secs} - dp.time_since_epoch()};
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                        static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                        static_cast<long>(hms.seconds().count()));
  std::string out(buf, static_cast<size_t>(n));
  if (us != 0) {
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(us));
    out += buf;
  }
  return out + "Z";
}

}  // namespace

TEST_CASE("format_utc writes what the date-library formatting wrote") {
  std::vector<TimeUs> values = {0, 1, -1, 999'999, -999'999, 1'000'000, -1'000'000, 59'999'999, 60'000'000,
                                -60'000'000, -60'000'001, 86'400'000'000LL - 1, -86'400'000'000LL,
                                951'782'400'000'000LL,      // 2000-02-29
                                4'107'542'400'000'000LL,    // 2100-03-01
                                -62'167'219'200'000'000LL,  // 0000-01-01, the first year written directly
                                -62'167'219'200'000'001LL,  // the last microsecond of year -1
                                253'402'300'799'999'999LL,  // 9999-12-31T23:59:59.999999
                                253'402'300'800'000'000LL,  // 10000-01-01
                                -100'000'000'000'000'000LL};
  // every minute boundary of a leap day, with the microseconds around it
  for (TimeUs m = 0; m <= 1440; ++m)
    for (TimeUs d : {-1, 0, 1})
      values.push_back(1'709'164'800'000'000LL + m * 60'000'000LL + d);  // 2024-02-29
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200000; ++i) {
    // from year ~-1000 to ~11000, and a dense stretch around today
    auto span = static_cast<std::uint64_t>(380'000'000'000'000'000LL);
    values.push_back(static_cast<TimeUs>(rng() % span) - 95'000'000'000'000'000LL);
    values.push_back(1'700'000'000'000'000LL + static_cast<TimeUs>(rng() % 400'000'000'000'000ULL));
    values.push_back((1'700'000'000LL + static_cast<TimeUs>(rng() % 400'000'000ULL)) * kUsPerSecond);  // whole seconds
  }
  for (TimeUs t : values) {
    INFO("t = " << t);
    REQUIRE(format_utc(t) == reference_format_utc(t));
  }
}

TEST_CASE("the memoized agent id is what the [agent] ids regexes give") {
  auto f = Catalog::load_format(fs::path(CALLAUDIT_SOURCE_DIR) / "patterns" / "formats" / "freeswitch-log.toml");
  REQUIRE_MESSAGE(f.ok(), f.error());
  auto codes = Catalog::load_codes(fs::path(CALLAUDIT_SOURCE_DIR) / "patterns" / "codes");
  REQUIRE_MESSAGE(codes.ok(), codes.error());
  auto zone = ZoneConverter::make("");
  REQUIRE(zone.ok());
  const FormatSpec& spec = *f;
  REQUIRE(!spec.agent_ids.empty());
  auto expected = [&](const std::string& raw) {
    for (const auto& re : spec.agent_ids) {
      int n = re->NumberOfCapturingGroups();
      std::vector<re2::StringPiece> g(static_cast<size_t>(n) + 1);
      if (re->Match(raw, 0, raw.size(), RE2::UNANCHORED, g.data(), n + 1)) {
        const auto& s = g[static_cast<size_t>(re->NamedCapturingGroups().at("id"))];
        if (s.data() && !s.empty()) return std::string(s.data(), s.size());
      }
    }
    return raw;
  };
  std::vector<std::string> raws = {"1001@default", "1002@default", "1001@sales", "nodomain", "@default",
                                   "a@b@c",        "1001",         "x@",         "1001@default"};
  for (int i = 0; i < 5000; ++i) raws.push_back(std::to_string(1000 + i % 5000) + "@d" + std::to_string(i % 3));
  TextParser parser(spec);
  Normalizer norm(spec, *codes, *zone);
  Record rec;
  Event e;
  std::int64_t line = 0;
  for (int round = 0; round < 2; ++round) {
    for (const auto& raw : raws) {
      // a minute apart: no merge window holds two of them
      std::string text = "2024-03-05 14:" + std::to_string(10 + line % 40) + ":00.000001 [DEBUG] mod_callcenter.c:1 Updated Agent " +
                         raw + " set status = Available";
      parser.parse(text, rec);
      REQUIRE(rec.kind == RecordKind::event);
      REQUIRE(norm.feed(rec, ++line, text).ok());
      norm.finish();
      REQUIRE(norm.pop(e));
      INFO("raw = " << raw);
      CHECK(e.agent_raw == raw);
      CHECK(e.agent == expected(raw));
      CHECK_FALSE(norm.pop(e));
    }
  }
}

TEST_CASE("the normalizer reads a record's fields as field() finds them: the first of a name") {
  auto cat = Catalog::load(fs::path(CALLAUDIT_SOURCE_DIR) / "patterns");
  REQUIRE(cat.ok());
  const FormatSpec* fs_spec = cat->find("freeswitch-log");
  REQUIRE(fs_spec);
  auto zone = ZoneConverter::make("");
  REQUIRE(zone.ok());
  // the time field may be named like a field the normalizer reads for itself ("started")
  FormatSpec spec = *fs_spec;
  spec.time_field = "started";
  EventRule rule;
  rule.name = "test result";
  rule.emit = EventType::result;
  Normalizer norm(spec, cat->codes, *zone);
  Record rec;
  rec.kind = RecordKind::event;
  rec.rule = &rule;
  rec.fields.add_view("started", "2024-03-05 14:02:10.250000");
  rec.fields.add_view("agent", "1001@default");
  rec.fields.add_view("sip", "603");
  rec.fields.add_view("agent", "1002@default");
  rec.fields.add_view("sip", "486");
  rec.fields.add_view("cause", "CALL_REJECTED");
  rec.fields.add_view("queue", "support@default");
  REQUIRE(norm.feed(rec, 7, "the raw line").ok());
  norm.finish();
  Event e;
  REQUIRE(norm.pop(e));
  CHECK(e.line == 7);
  CHECK(e.raw == "the raw line");
  CHECK(e.agent_raw == *field(rec.fields, "agent"));
  CHECK(e.agent == "1001");
  REQUIRE(e.sip);
  CHECK(*e.sip == 603);
  CHECK(e.kind_basis == "sip 603");
  CHECK(e.reason == "CALL_REJECTED");
  CHECK(e.queue == "support@default");
  CHECK(format_utc(e.at) == "2024-03-05T14:02:10.250000Z");
  // `started` is also the ring's start: the ring took no time
  REQUIRE(e.ring_ms);
  CHECK(*e.ring_ms == 0);
  CHECK_FALSE(norm.pop(e));
}

TEST_CASE("next_ready() and drop() hand on the events pop() would, in order, without a copy") {
  auto cat = Catalog::load(fs::path(CALLAUDIT_SOURCE_DIR) / "patterns");
  REQUIRE(cat.ok());
  const FormatSpec* spec = cat->find("freeswitch-log");
  REQUIRE(spec);
  auto zone = ZoneConverter::make("");
  REQUIRE(zone.ok());
  TextParser parser(*spec);
  auto state_line = [](int minute, const char* agent) {
    return "2024-03-05 14:" + std::to_string(minute) + ":00.000001 [DEBUG] mod_callcenter.c:1 Updated Agent " +
           std::string(agent) + " set status = Available";
  };
  Normalizer norm(*spec, cat->codes, *zone);
  Record rec;
  const std::string a = state_line(10, "1001@default"), b = state_line(11, "1002@default"),
                    c = state_line(12, "1003@default");
  parser.parse(a, rec);
  REQUIRE(norm.feed(rec, 1, a).ok());
  CHECK(norm.next_ready() == nullptr);  // inside its merge window still
  parser.parse(b, rec);
  REQUIRE(norm.feed(rec, 2, b).ok());
  Event* first = norm.next_ready();
  REQUIRE(first);
  CHECK(first->line == 1);
  CHECK(norm.next_ready() == first);  // the same one until dropped
  Event taken = std::move(*first);
  norm.drop();
  CHECK(taken.agent == "1001");
  CHECK(norm.next_ready() == nullptr);
  parser.parse(c, rec);
  REQUIRE(norm.feed(rec, 3, c).ok());
  norm.finish();
  Event e;
  REQUIRE(norm.pop(e));
  CHECK(e.line == 2);
  Event* last = norm.next_ready();
  REQUIRE(last);
  CHECK(last->line == 3);
  CHECK(last->agent == "1003");
  norm.drop();
  CHECK(norm.next_ready() == nullptr);
  CHECK_FALSE(norm.pop(e));
}

TEST_CASE("Event::clear leaves an event equal to a new one, whatever it held") {
  // Every field set to something other than its default. When this size check fails, a field
  // was added to Event: set it here and clear it in Event::clear().
  static_assert(sizeof(Event) == 520, "Event changed: update Event::clear() and this test");
  Event e;
  e.type = EventType::state;
  e.at = 5;
  e.at_end = 6;
  e.precision = Precision::minute;
  std::string longer(100, 'x');  // past the short-string room: the text is on the heap
  for (std::string* t : {&e.agent, &e.agent_raw, &e.agent_name, &e.call, &e.queue, &e.kind, &e.kind_basis,
                         &e.confidence, &e.reason, &e.state, &e.vendor_state, &e.initiator, &e.detail, &e.raw})
    *t = longer;
  e.sip = 603;
  e.q850 = 21;
  e.ring_ms = 4000;
  e.line = 12;
  const size_t room = e.raw.capacity();
  CHECK_FALSE(e == Event{});
  e.clear();
  CHECK(e == Event{});
  CHECK(e.raw.capacity() == room);  // the room is kept for the next record
}
