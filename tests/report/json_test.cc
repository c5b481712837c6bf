// The JSON writer and the diagnosis renderers' formatting: escaping of every byte class,
// broken UTF-8, values larger than the writer's buffer, the exact layout of nested documents
// (pretty and compact), numbers as printf's "%.4g" writes them, and times as format_utc /
// format_local write them.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>
#include <sstream>

#include "callaudit/json.h"
#include "callaudit/report.h"

using namespace callaudit;

namespace {

std::string compact(const std::function<void(JsonWriter&)>& f) {
  std::ostringstream out;
  {
    JsonWriter w(out, false);
    f(w);
  }
  return out.str();
}

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

const std::string kFffd = "\xEF\xBF\xBD";

}  // namespace

TEST_CASE("json_escape: the named escapes, control bytes, DEL and '<'") {
  CHECK(json_escape("") == "\"\"");
  CHECK(json_escape("plain text 123 ~!@#$%^&*()_+=-{}[]|:;'>?/.,") ==
        "\"plain text 123 ~!@#$%^&*()_+=-{}[]|:;'>?/.,\"");
  CHECK(json_escape("\"") == "\"\\\"\"");
  CHECK(json_escape("\\") == "\"\\\\\"");
  CHECK(json_escape("\n\r\t") == "\"\\n\\r\\t\"");
  CHECK(json_escape(std::string_view("\0", 1)) == "\"\\u0000\"");
  CHECK(json_escape("\x01\x08\x0b\x0c\x1b\x1f") == "\"\\u0001\\u0008\\u000b\\u000c\\u001b\\u001f\"");
  CHECK(json_escape("\x7f") == "\"\\u007f\"");
  CHECK(json_escape("</script>") == "\"\\u003c/script>\"");
  CHECK(json_escape(" ") == "\" \"");

  // every ASCII byte, alone and inside plain text (the word-at-a-time scan sees it at each
  // position of an 8-byte word)
  for (int c = 0; c < 0x80; ++c) {
    std::string want;
    switch (c) {
      case '"':
        want = "\\\"";
        break;
      case '\\':
        want = "\\\\";
        break;
      case '\n':
        want = "\\n";
        break;
      case '\r':
        want = "\\r";
        break;
      case '\t':
        want = "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f || c == '<') {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          want = buf;
        } else {
          want = std::string(1, static_cast<char>(c));
        }
    }
    std::string one(1, static_cast<char>(c));
    CHECK_MESSAGE(json_escape(one) == "\"" + want + "\"", "byte " << c);
    for (size_t pos = 0; pos < 17; ++pos) {
      std::string s = std::string(pos, 'a') + one + std::string(16 - pos, 'b');
      CHECK_MESSAGE(json_escape(s) == "\"" + std::string(pos, 'a') + want + std::string(16 - pos, 'b') + "\"",
                    "byte " << c << " at " << pos);
    }
  }
}

TEST_CASE("json_escape: UTF-8 kept, broken sequences replaced byte by byte") {
  CHECK(json_escape("caf\xC3\xA9") == "\"caf\xC3\xA9\"");                              // 2 bytes
  CHECK(json_escape("\xE2\x82\xAC 5") == "\"\xE2\x82\xAC 5\"");                        // 3 bytes
  CHECK(json_escape("call \xF0\x9F\x93\x9E now") == "\"call \xF0\x9F\x93\x9E now\"");  // 4 bytes
  CHECK(json_escape("12345678\xC3\xA9") == "\"12345678\xC3\xA9\"");                    // just after a word

  // truncated: at the end, or cut by a byte that does not continue it
  CHECK(json_escape("\xE2\x82") == "\"" + kFffd + kFffd + "\"");
  CHECK(json_escape("a\xC3") == "\"a" + kFffd + "\"");
  CHECK(json_escape(std::string("\xE2\x82") + "A") == "\"" + kFffd + kFffd + "A\"");
  CHECK(json_escape("\xF0\x9F\x93") == "\"" + repeat(kFffd, 3) + "\"");
  CHECK(json_escape("\xC3<") == "\"" + kFffd + "\\u003c\"");
  // stray continuation bytes
  CHECK(json_escape("\x80") == "\"" + kFffd + "\"");
  CHECK(json_escape("x\xBF\xBFy") == "\"x" + kFffd + kFffd + "y\"");
  // leads no sequence has: 5- and 6-byte forms, 0xFE, 0xFF
  CHECK(json_escape("\xF8\x88\x80\x80\x80") == "\"" + repeat(kFffd, 5) + "\"");
  CHECK(json_escape("\xFC\xFE\xFF") == "\"" + repeat(kFffd, 3) + "\"");
  // Only the shape of a sequence is checked: an overlong 2-byte form passes unchanged, as it
  // always has (changing that would change the output of existing diagnoses).
  CHECK(json_escape("\xC0\x80") == "\"\xC0\x80\"");

  // every byte from 0x80 alone is replaced
  for (int c = 0x80; c < 0x100; ++c)
    CHECK_MESSAGE(json_escape(std::string(1, static_cast<char>(c))) == "\"" + kFffd + "\"", "byte " << c);
}

TEST_CASE("json_escape_append appends the same text") {
  std::string out = "x=";
  json_escape_append(out, "a\"\xC3\xA9\x01");
  CHECK(out == "x=\"a\\\"\xC3\xA9\\u0001\"");
}

TEST_CASE("JsonWriter: a nested document, pretty and compact, exactly") {
  auto doc = [](JsonWriter& w) {
    w.begin_object();
    w.field("name", "caf\xC3\xA9 <b>");
    w.key("empty_object").begin_object().end_object();
    w.key("empty_array").begin_array().end_array();
    w.key("list").begin_array();
    w.value(1);
    w.value(std::int64_t{-9223372036854775807 - 1});
    w.value(true);
    w.null();
    w.begin_object().field("k\"ey", 0.25).end_object();
    w.begin_array().value(false).begin_array().end_array().end_array();
    w.end_array();
    w.field("rate", 1.0 / 3);
    w.field("none", std::optional<int>{});
    w.field("some", std::optional<std::int64_t>{42});
    w.field("nan", std::nan(""));
    w.field("max", std::int64_t{9223372036854775807});
    w.end_object();
  };
  std::ostringstream out;
  {
    JsonWriter w(out);
    doc(w);
    // a finished document is in the stream before the writer goes away
    CHECK(out.str() ==
          "{\n"
          "  \"name\": \"caf\xC3\xA9 \\u003cb>\",\n"
          "  \"empty_object\": {},\n"
          "  \"empty_array\": [],\n"
          "  \"list\": [\n"
          "    1,\n"
          "    -9223372036854775808,\n"
          "    true,\n"
          "    null,\n"
          "    {\n"
          "      \"k\\\"ey\": 0.25\n"
          "    },\n"
          "    [\n"
          "      false,\n"
          "      []\n"
          "    ]\n"
          "  ],\n"
          "  \"rate\": 0.3333,\n"
          "  \"none\": null,\n"
          "  \"some\": 42,\n"
          "  \"nan\": null,\n"
          "  \"max\": 9223372036854775807\n"
          "}\n");
  }
  CHECK(compact(doc) ==
        "{\"name\":\"caf\xC3\xA9 \\u003cb>\",\"empty_object\":{},\"empty_array\":[],\"list\":[1,"
        "-9223372036854775808,true,null,{\"k\\\"ey\":0.25},[false,[]]],\"rate\":0.3333,\"none\":null,"
        "\"some\":42,\"nan\":null,\"max\":9223372036854775807}");
}

TEST_CASE("JsonWriter: a top-level array reaches the stream when closed, before what follows") {
  std::ostringstream out;
  JsonWriter w(out);
  w.begin_array();
  w.begin_object().field("a", "b").end_object();
  w.end_array();
  out << "\n";  // as `query --format json` ends its output
  CHECK(out.str() == "[\n  {\n    \"a\": \"b\"\n  }\n]\n");
}

TEST_CASE("JsonWriter: an unfinished document is written when the writer goes away") {
  std::ostringstream out;
  {
    JsonWriter w(out);
    w.begin_object();
    w.key("a");
  }
  CHECK(out.str() == "{\n  \"a\": ");
}

TEST_CASE("JsonWriter: deep nesting indents past any fixed run of spaces") {
  std::ostringstream out;
  {
    JsonWriter w(out);
    for (int i = 0; i < 40; ++i) w.begin_array();
    w.value(7);
    for (int i = 0; i < 40; ++i) w.end_array();
  }
  std::string want;
  for (int i = 0; i < 40; ++i) want += "[\n" + std::string(2 * (i + 1), ' ');
  want += "7";
  for (int i = 39; i >= 0; --i) want += "\n" + std::string(2 * i, ' ') + "]";
  CHECK(out.str() == want);
}

TEST_CASE("JsonWriter: values larger than its buffer") {
  // pieces verified by hand: each input piece and its escaped form
  const std::string piece = "ab\"<\x01\xC3\xA9\xFF\\ plain words to make it longer\n";
  const std::string escaped = "ab\\\"\\u003c\\u0001\xC3\xA9" + kFffd + "\\\\ plain words to make it longer\\n";
  for (size_t n : {size_t{1}, size_t{1000}, size_t{5000}, size_t{20000}}) {
    std::string big = repeat(piece, n);  // up to ~800 KB
    std::ostringstream out;
    {
      JsonWriter w(out, false);
      w.begin_array();
      w.value(std::string(60000, 'x'));  // the buffer is well filled before the big value
      w.value(big);
      w.value(std::string(70000, '\x02'));  // 70 KB in, 420 KB out
      w.key("k");                           // not valid JSON, but it exercises key() after a big value
      w.value(1);
      w.end_array();
    }
    std::string want = "[\"" + std::string(60000, 'x') + "\",\"" + repeat(escaped, n) + "\",\"" +
                       repeat("\\u0002", 70000) + "\",\"k\":1]";
    CHECK_MESSAGE(out.str() == want, "pieces " << n);
    CHECK(json_escape(big) == "\"" + repeat(escaped, n) + "\"");
  }
  // a valid 3-byte sequence astride the writer's 64 KiB mark stays whole
  std::string s = std::string(65535 - 2, 'y') + "\xE2\x82\xAC" + std::string(10, 'z');
  std::ostringstream out;
  {
    JsonWriter w(out, false);
    w.value(s);
  }
  CHECK(out.str() == "\"" + s + "\"");
}

TEST_CASE("JsonWriter: doubles as printf's %.4g, non-finite ones as null") {
  std::vector<double> values = {0.0,
                                -0.0,
                                1.0,
                                0.5,
                                1.0 / 3,
                                2.0 / 3,
                                0.0001,
                                0.00001,
                                123456.0,
                                99995,
                                9999.5,
                                1e20,
                                1e-300,
                                5e-324,
                                -1.5,
                                1e100,
                                0.12345,
                                0.99995,
                                1e15,
                                1e16,
                                1234.5,
                                1.2345e-5,
                                4.9406564584124654e-324};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 20000; ++i) {
    int e = static_cast<int>(rng() % 600) - 300;
    values.push_back((unit(rng) - 0.5) * std::pow(10.0, e));
    values.push_back(static_cast<double>(rng() % 1000) / static_cast<double>(rng() % 1000 + 1));
  }
  std::ostringstream out;
  std::string want = "[";
  {
    JsonWriter w(out, false);
    w.begin_array();
    for (size_t i = 0; i < values.size(); ++i) {
      w.value(values[i]);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4g", values[i]);
      want += (i ? "," : "") + std::string(buf);
    }
    w.value(std::numeric_limits<double>::infinity());
    w.value(-std::numeric_limits<double>::infinity());
    w.value(std::nan(""));
    w.end_array();
  }
  want += ",null,null,null]";
  CHECK(out.str() == want);
  CHECK(compact([](JsonWriter& w) { w.value(1e-5); }) == "1e-05");
  CHECK(compact([](JsonWriter& w) { w.value(123456.0); }) == "1.235e+05");
}

TEST_CASE("Diagnosis times are written as format_utc and format_local write them") {
  std::vector<TimeUs> times = {0,
                               1,
                               -1,
                               999'999,
                               -999'999,
                               -1'000'000,
                               -1'000'001,
                               1'000'000,
                               86'399'999'999,
                               -86'400'000'000,
                               -86'400'000'001,
                               951'782'400'000'000,       // 2000-02-29
                               4'107'542'400'000'000,     // 2100-03-01
                               1'773'480'753'000'000,     // 2026-03-14T09:32:33Z
                               1'773'480'753'000'010,     // odd microseconds
                               253'402'300'799'999'999,   // 9999-12-31T23:59:59.999999Z
                               253'402'300'800'000'000,   // year 10000
                               -62'167'219'200'000'000,   // 0000-01-01
                               -62'167'219'200'000'001,   // year -1
                               -62'135'596'800'000'000};  // 0001-01-01
  std::mt19937_64 rng(11);
  for (int i = 0; i < 5000; ++i) {
    times.push_back(static_cast<TimeUs>(rng() % 600'000'000'000'000'000ULL) - 300'000'000'000'000'000LL);
    times.push_back(static_cast<TimeUs>(rng() % 4'000'000'000'000'000ULL));
    times.push_back(1'700'000'000'000'000LL + static_cast<TimeUs>(rng() % 100'000'000) * 1'000'000);
  }
  Diagnosis d;
  for (TimeUs t : times) {
    FailureVerdict f;
    f.at = t;
    REQUIRE(d.add(f).ok());
  }
  std::ostringstream csv;
  write_diagnosis_csv(csv, d);
  std::istringstream lines(csv.str());
  std::string line;
  std::getline(lines, line);  // header
  for (TimeUs t : times) {
    REQUIRE(std::getline(lines, line));
    auto a = line.find(',') + 1;
    CHECK_MESSAGE(line.substr(a, line.find(',', a) - a) == format_utc(t), "time " << t);
  }

  auto london = ZoneConverter::make("Europe/London");
  REQUIRE(london.ok());
  for (TimeUs t : times) {
    std::string utc = format_utc(t);
    utc[10] = ' ';
    CHECK_MESSAGE(show_time(t, TextStyle{}) == utc, "time " << t);
    if (t > -2'000'000'000'000'000LL && t < 4'000'000'000'000'000LL)  // where the zone database has rules
      CHECK_MESSAGE(show_time(t, TextStyle{false, &*london}) == format_local(t, *london), "time " << t);
  }
}

TEST_CASE("Diagnosis CSV: cells quoted only when needed, quotes doubled, missing numbers empty") {
  Diagnosis d;
  FailureVerdict f;
  f.id = 7;
  f.at = 1'773'480'753'000'000;
  f.agent = "1042";
  f.agent_name = "Walker, Alice";
  f.kind = "busy";
  f.verdict = "agent";
  f.confidence = "high";
  f.rule = "R2";
  f.sip = 486;
  f.reason = "USER_BUSY";
  f.file = "fs.log";
  f.line = 12;
  f.why = "she said \"busy\"\nthen left";
  REQUIRE(d.add(f).ok());
  f.id = 8;
  f.agent_name = "";
  f.sip.reset();
  f.q850 = -3;
  f.ring_ms = 1500;
  f.incident = 2;
  f.why = "\"";
  REQUIRE(d.add(f).ok());
  std::ostringstream out;
  write_diagnosis_csv(out, d);
  CHECK(out.str() ==
        "id,at,agent,agent_name,call,kind,verdict,confidence,rule,sip,q850,vendor_reason,ring_ms,incident,file,line,"
        "why\n"
        "7,2026-03-14T09:32:33Z,1042,\"Walker, Alice\",,busy,agent,high,R2,486,,USER_BUSY,,,fs.log,12,"
        "\"she said \"\"busy\"\"\nthen left\"\n"
        "8,2026-03-14T09:32:33Z,1042,,,busy,agent,high,R2,,-3,USER_BUSY,1500,2,fs.log,12,\"\"\"\"\n");
}
