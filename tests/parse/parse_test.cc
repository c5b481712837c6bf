// TextParser over the shipped freeswitch-log format: line -> pattern, kind and fields; continuations; idle-CPU field; Set dispatch vs try-each-pattern; the fast dispatch vs the Set; explain_mismatch.
#include <doctest/doctest.h>
#include <re2/re2.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "callaudit/parse.h"
#include "callaudit/patterns.h"
#include "helpers.h"

using namespace callaudit;
namespace fs = std::filesystem;

namespace {

fs::path root() { return CALLAUDIT_SOURCE_DIR; }

const FormatSpec& freeswitch() {
  static FormatSpec spec = [] {
    auto f = Catalog::load_format(root() / "patterns" / "formats" / "freeswitch-log.toml");
    REQUIRE_MESSAGE(f.ok(), f.error());
    return std::move(*f);
  }();
  return spec;
}

const char* to_text(RecordKind k) {
  switch (k) {
    case RecordKind::event: return "event";
    case RecordKind::noise: return "noise";
    case RecordKind::continuation: return "continuation";
    case RecordKind::unmatched: return "unmatched";
  }
  return "?";
}

std::string get(const Record& r, std::string_view name) {
  const std::string_view* v = field(r.fields, name);
  return v ? std::string(*v) : "<absent>";
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::vector<std::string> out;
  std::string text = testutil::read_file(file);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
    pos = nl + 1;
  }
  return out;
}

// A line of a record, to put a parser in the "seen a record" state.
const char* kRecordLine =
    "2024-03-05 14:00:05.412876 98.21% [DEBUG] mod_callcenter.c:1180 Updated Agent 1003@default set status = Available";

struct ParseCase {
  const char* line;
  bool after_record;  // parse kRecordLine first
  const char* pattern;  // "" when no pattern matched
  RecordKind kind;
  FieldPairs fields;                // must be present with these values
  std::vector<const char*> absent;  // must not be present
};

const char* kUuid = "4f7c0d11-2b3a-4e5f-9a6b-7c8d9e0f1a2b";

const std::vector<ParseCase> kParseCases = {
    // mod_callcenter agent status, with the idle-CPU field (FreeSWITCH >= 1.10.2)
    {"2024-03-05 14:02:31.241002 97.40% [DEBUG] mod_callcenter.c:1180 Updated Agent 1001@default set status = On Break",
     false, "cc_status", RecordKind::event,
     {{"agent", "1001@default"}, {"state", "On Break"}, {"ts", "2024-03-05 14:02:31.241002"}, {"level", "DEBUG"},
      {"file", "mod_callcenter.c"}, {"pattern", "cc_status"}},
     {"uuid"}},
    // ... and without it (older versions)
    {"2019-11-02 08:15:00.000120 [DEBUG] mod_callcenter.c:1024 Updated Agent 2001@sales set status = Logged Out", false,
     "cc_status", RecordKind::event,
     {{"agent", "2001@sales"}, {"state", "Logged Out"}, {"ts", "2019-11-02 08:15:00.000120"}},
     {"uuid"}},
    // trailing spaces are not part of the state
    {"2019-11-02 08:15:00.000120 [DEBUG] mod_callcenter.c:1024 Updated Agent 2001@sales set status = Available   ",
     false, "cc_status", RecordKind::event, {{"state", "Available"}}, {}},
    {"2024-03-05 14:02:11.101842 97.53% [DEBUG] mod_callcenter.c:1180 Updated Agent 1001@default set state = Receiving",
     false, "cc_receiving", RecordKind::event, {{"agent", "1001@default"}}, {"uuid"}},
    // other agent states are just log lines
    {"2024-03-05 14:01:16.712577 97.99% [DEBUG] mod_callcenter.c:1180 Updated Agent 1003@default set state = In a queue call",
     false, "line", RecordKind::noise, {}, {}},
    {"4f7c0d11-2b3a-4e5f-9a6b-7c8d9e0f1a2b 2024-03-05 14:02:31.240311 97.40% [DEBUG] mod_callcenter.c:2139 Agent "
     "1001@default Origination Canceled : NO_ANSWER",
     false, "cc_canceled", RecordKind::event,
     {{"agent", "1001@default"}, {"cause", "NO_ANSWER"}, {"uuid", kUuid}, {"call", kUuid}},
     {}},
    // "emit = none" with a rule: recognized, not an event
    {"4f7c0d11-2b3a-4e5f-9a6b-7c8d9e0f1a2b 2024-03-05 14:02:31.240390 97.40% [DEBUG] mod_callcenter.c:2173 Agent "
     "1001@default reach maximum no answer of 3, setting agent status to On Break",
     false, "cc_max_no_answer", RecordKind::noise, {{"agent", "1001@default"}, {"state", "On Break"}}, {}},
    {"3c9e1f20-6a7b-4c8d-9e0f-1a2b3c4d5e6f 2024-03-05 14:01:16.712031 97.99% [DEBUG] mod_callcenter.c:1965 Agent "
     "1003@default answered \"Alice Walker\" <+442079460123> from queue sales@default (Recorded)",
     false, "cc_answered", RecordKind::event,
     {{"agent", "1003@default"}, {"queue", "sales@default"}, {"caller_name", "Alice Walker"},
      {"number", "+442079460123"}, {"kind", "normal"}, {"reason", "answered"},
      {"call", "3c9e1f20-6a7b-4c8d-9e0f-1a2b3c4d5e6f"}},
     {}},
    // channel legs
    {"9b1e6c2a-7d4f-4c1e-8a55-0f2d3c4b5a69 2024-03-05 14:02:11.104007 97.53% [NOTICE] switch_channel.c:1143 New Channel "
     "sofia/internal/sip:1001@10.0.0.21:5060 [9b1e6c2a-7d4f-4c1e-8a55-0f2d3c4b5a69]",
     false, "leg_new", RecordKind::event,
     {{"agent", "1001"}, {"leg", "sofia/internal/sip:1001@10.0.0.21:5060"}, {"level", "NOTICE"},
      {"call", "9b1e6c2a-7d4f-4c1e-8a55-0f2d3c4b5a69"}},
     {}},
    // an inbound leg from a gateway is no agent leg
    {"2a4b6c8d-0e1f-4a3b-8c5d-6e7f8a9b0c1d 2024-03-05 09:14:07.218334 [NOTICE] switch_channel.c:1104 New Channel "
     "sofia/external/+442079460234@203.0.113.10 [2a4b6c8d-0e1f-4a3b-8c5d-6e7f8a9b0c1d]",
     false, "line", RecordKind::noise, {}, {}},
    {"a1c2e3f4-5b6d-4e7f-8a9b-0c1d2e3f4a5b 2024-03-05 14:02:37.020114 97.41% [DEBUG] sofia.c:7505 Channel "
     "sofia/internal/sip:1002@10.0.0.22:5060 entering state [terminated][603]",
     false, "leg_sip_status", RecordKind::noise,
     {{"sip", "603"}, {"callstate", "terminated"}, {"leg", "sofia/internal/sip:1002@10.0.0.22:5060"}, {"agent", "1002"}},
     {}},
    {"5d2a7b40-1c3e-4f5a-8b6c-7d8e9f0a1b2c 2024-03-05 14:01:16.702118 97.99% [NOTICE] switch_channel.c:3885 Channel "
     "[sofia/internal/sip:1003@10.0.0.23:5060] has been answered",
     false, "leg_answered", RecordKind::event, {{"agent", "1003"}, {"kind", "normal"}}, {}},
    {"9b1e6c2a-7d4f-4c1e-8a55-0f2d3c4b5a69 2024-03-05 14:02:31.233190 97.40% [NOTICE] switch_ivr_originate.c:3820 Hangup "
     "sofia/internal/sip:1001@10.0.0.21:5060 [CS_CONSUME_MEDIA] [NO_ANSWER]",
     false, "leg_hangup", RecordKind::event,
     {{"agent", "1001"}, {"cause", "NO_ANSWER"}, {"chanstate", "CS_CONSUME_MEDIA"},
      {"detail", "leg ended by switch_ivr_originate.c"}},
     {}},
    // "unless" keeps a normal hangup from being an event; it still is a recognized record
    {"9b1e6c2a-7d4f-4c1e-8a55-0f2d3c4b5a69 2024-03-05 14:05:31.233190 97.40% [NOTICE] sofia.c:1065 Hangup "
     "sofia/internal/sip:1001@10.0.0.21:5060 [CS_EXCHANGE_MEDIA] [NORMAL_CLEARING]",
     false, "leg_hangup", RecordKind::noise, {{"cause", "NORMAL_CLEARING"}}, {"detail"}},
    // any other log line
    {"5d2a7b40-1c3e-4f5a-8b6c-7d8e9f0a1b2c 2024-03-05 14:01:12.536702 98.03% [DEBUG] switch_channel.c:2616 "
     "(sofia/internal/sip:1003@10.0.0.23:5060) State Change CS_NEW -> CS_INIT",
     false, "line", RecordKind::noise, {}, {}},
    {"2024-03-05 09:14:07.262090 [INFO] mod_dialplan_xml.c:637 Processing Dan Price <+442079460234>->02079460100 in "
     "context public",
     false, "line", RecordKind::noise, {}, {}},
    // a SIP trace: its first line, then body lines as continuations
    {"recv 612 bytes from udp/[203.0.113.10]:5060 at 14:02:09.874512:", false, "sip_trace_start", RecordKind::noise, {},
     {}},
    {"   Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK5c1e9a77", true, "trace_body", RecordKind::continuation, {},
     {}},
    {"   ------------------------------------------------------------------------", true, "trace_body",
     RecordKind::continuation, {}, {}},
    {"", true, "trace_body", RecordKind::continuation, {}, {}},
    {"Content-Length: 0", true, "trace_body", RecordKind::continuation, {}, {}},
    {"v=0", true, "trace_body", RecordKind::continuation, {}, {}},
    // a continuation line before any record is unmatched
    {"   Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK5c1e9a77", false, "trace_body", RecordKind::unmatched, {}, {}},
    {"", false, "trace_body", RecordKind::unmatched, {}, {}},
    // lines no layout fits
    {"hello world", false, "", RecordKind::unmatched, {}, {}},
    {"hello world", true, "", RecordKind::unmatched, {}, {}},
    {"2024-03-05 14:02:31.241002 97.40% [TRACE] mod_callcenter.c:1180 Updated Agent 1001@default set status = On Break",
     false, "", RecordKind::unmatched, {}, {}},  // no such level
    {"2024-03-05 14:02:31.241002 97.4% [DEBUG] mod_callcenter.c:1180 Updated Agent 1001@default set status = On Break",
     false, "", RecordKind::unmatched, {}, {}},  // idle CPU needs two decimals
    {"2024-03-05 14:02:31 [DEBUG] mod_callcenter.c:1180 Updated Agent 1001@default set status = On Break", false, "",
     RecordKind::unmatched, {}, {}},  // no microseconds
    {"x 2024-03-05 14:02:31.241002 [DEBUG] mod_callcenter.c:1180 Updated Agent 1001@default set status = On Break",
     false, "", RecordKind::unmatched, {}, {}},  // not a uuid before the time
};

}  // namespace

TEST_CASE("TextParser classifies freeswitch-log lines") {
  const FormatSpec& spec = freeswitch();
  for (const auto& c : kParseCases) {
    INFO("line: " << std::string(c.line) << (c.after_record ? "  (after a record)" : ""));
    TextParser parser(spec);
    Record r;
    if (c.after_record) {
      parser.parse(kRecordLine, r);
      REQUIRE(r.kind == RecordKind::event);
    }
    parser.parse(c.line, r);
    CHECK(r.pattern == c.pattern);
    CHECK(std::string(to_text(r.kind)) == to_text(c.kind));
    for (const auto& [k, v] : c.fields) CHECK_MESSAGE(get(r, k) == v, "field " << k);
    for (const char* k : c.absent) CHECK_MESSAGE(field(r.fields, k) == nullptr, "field " << k << " should be absent");
    if (c.kind == RecordKind::unmatched)
      CHECK_FALSE(r.why.empty());
    else
      CHECK(r.why.empty());
    if (c.kind == RecordKind::event) {
      REQUIRE(r.rule != nullptr);
      CHECK(r.rule->emit.has_value());
    }
    // dispatch() names the same pattern parse() used
    int idx = parser.dispatch(c.line);
    CHECK((idx < 0 ? std::string() : spec.patterns[static_cast<size_t>(idx)].name) == c.pattern);
  }
}

TEST_CASE("TextParser: unmatched lines do not count as a record before a continuation") {
  TextParser parser(freeswitch());
  Record r;
  parser.parse("hello world", r);
  CHECK(r.kind == RecordKind::unmatched);
  parser.parse("   Via: SIP/2.0/UDP 203.0.113.10:5060", r);
  CHECK(r.kind == RecordKind::unmatched);
  CHECK(r.why.find("continuation") != std::string::npos);
  // a noise record (the SIP trace start) is enough
  parser.parse("send 1020 bytes to udp/[10.0.0.21]:5060 at 14:02:11.104512:", r);
  CHECK(r.kind == RecordKind::noise);
  parser.parse("   Via: SIP/2.0/UDP 203.0.113.10:5060", r);
  CHECK(r.kind == RecordKind::continuation);
}

TEST_CASE("TextParser: a line reads the same with and without the idle-CPU field") {
  // Every fixture line that carries the idle-CPU field, with the field taken out; and every
  // line of the old-version fixture, with one put in.
  const FormatSpec& spec = freeswitch();
  re2::RE2 cpu(R"(^((?:[0-9a-f-]{36} )?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) (\d+\.\d\d%) )");
  REQUIRE(cpu.ok());
  std::vector<std::pair<std::string, std::string>> pairs;  // with, without
  fs::path dir = root() / "fixtures" / "logs" / "freeswitch-log";
  for (const auto& l : lines_of(dir / "freeswitch.log")) {
    std::string without = l;
    if (RE2::Replace(&without, cpu, "\\1 ")) pairs.emplace_back(l, without);
  }
  for (const auto& l : lines_of(dir / "freeswitch-old.log")) {
    std::string with = l;
    if (RE2::Replace(&with, re2::RE2(R"(^((?:[0-9a-f-]{36} )?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) )"), "\\1 99.25% "))
      pairs.emplace_back(with, l);
  }
  REQUIRE(pairs.size() > 40);
  int events = 0;
  for (const auto& [with, without] : pairs) {
    INFO("with: " << with << "\nwithout: " << without);
    REQUIRE(with != without);
    TextParser p1(spec), p2(spec);
    Record a, b;
    p1.parse(with, a);
    p2.parse(without, b);
    CHECK(a.kind != RecordKind::unmatched);
    CHECK(a.pattern == b.pattern);
    CHECK(a.kind == b.kind);
    CHECK(a.fields == b.fields);
    if (a.kind == RecordKind::event) ++events;
  }
  CHECK(events > 10);
}

namespace {

// The reference: the first pattern, in file order, whose regex matches the whole line.
int first_full_match(const FormatSpec& spec, std::string_view line) {
  for (size_t i = 0; i < spec.patterns.size(); ++i)
    if (RE2::FullMatch(line, *spec.patterns[i].re)) return static_cast<int>(i);
  return -1;
}

// A format's sample lines, then the lines of its fixtures.
std::vector<std::string> format_lines(const FormatSpec& spec) {
  std::vector<std::string> lines;
  for (const auto& p : spec.patterns)
    for (const auto& s : p.samples) lines.push_back(s.text);
  fs::path fixtures = root() / "fixtures" / "logs" / spec.name;
  if (fs::is_directory(fixtures))
    for (const auto& e : fs::directory_iterator(fixtures))
      if (e.path().extension() != ".toml")
        for (auto& l : lines_of(e.path())) lines.push_back(std::move(l));
  return lines;
}

}  // namespace

TEST_CASE("Set dispatch vs try-each-pattern: dispatch() picks the first pattern that matches") {
  int text_formats = 0;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(root() / "patterns" / "formats"))
    if (e.path().extension() == ".toml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    auto spec = Catalog::load_format(file);
    CHECK_MESSAGE(spec.ok(), file.string() << ": " << (spec.ok() ? "" : spec.error()));
    if (!spec.ok() || spec->layout != Layout::text) continue;
    ++text_formats;
    std::vector<std::string> lines = format_lines(*spec);
    REQUIRE(lines.size() >= spec->patterns.size());
    // and variants that fall to later patterns or to none
    std::vector<std::string> variants;
    for (const auto& l : lines) {
      variants.push_back(l.substr(0, l.size() / 2));
      variants.push_back(l + " trailing");
      variants.push_back(" " + l);
      variants.push_back(l.substr(l.size() / 3));
    }
    lines.insert(lines.end(), variants.begin(), variants.end());

    TextParser parser(*spec);
    std::vector<int> used(spec->patterns.size() + 1, 0);
    for (const auto& l : lines) {
      int want = first_full_match(*spec, l);
      int got = parser.dispatch(l);
      CHECK_MESSAGE(got == want, spec->name << ": " << l);
      ++used[static_cast<size_t>(want + 1)];
    }
    // every pattern was the answer at least once, and so was "none"
    for (size_t i = 0; i < used.size(); ++i)
      CHECK_MESSAGE(used[i] > 0, spec->name << ": no line went to "
                                            << (i == 0 ? std::string("no pattern") : spec->patterns[i - 1].name));
  }
  CHECK(text_formats >= 2);  // freeswitch-log and asterisk-queue-log
}

TEST_CASE("TextParser: the fast dispatch gives the records the RE2::Set gives") {
  // Every text format's samples and fixture lines, their mutations (cut, bytes changed, a
  // non-ASCII byte put in), parsed by a parser with the fast dispatch and by one without.
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(root() / "patterns" / "formats"))
    if (e.path().extension() == ".toml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  int fast_formats = 0, compared = 0, events = 0;
  for (const auto& file : files) {
    auto spec = Catalog::load_format(file);
    REQUIRE_MESSAGE(spec.ok(), file.string());
    if (spec->layout != Layout::text) continue;
    TextParser fast(*spec), reference(*spec, false);
    CHECK_FALSE(reference.fast_dispatch());
    if (spec->name == "freeswitch-log") CHECK(fast.fast_dispatch());
    if (!fast.fast_dispatch()) continue;
    ++fast_formats;
    std::vector<std::string> lines = format_lines(*spec);
    size_t n = lines.size();
    for (size_t i = 0; i < n; ++i) {
      const std::string l = lines[i];  // a copy: push_back below may move the vector
      lines.push_back(l.substr(0, l.size() * 2 / 3));
      lines.push_back(l + "\xc3\xa9");
      std::string m = l;
      if (!m.empty()) m[(i * 7) % m.size()] = "x 9[]:-"[i % 7];
      lines.push_back(m);
    }
    for (const auto& l : lines) {
      Record a, b;
      fast.parse(l, a);
      reference.parse(l, b);
      INFO(spec->name << ": " << l);
      CHECK(a.kind == b.kind);
      CHECK(a.pattern == b.pattern);
      CHECK(a.fields == b.fields);
      CHECK(a.rule == b.rule);
      CHECK(a.why == b.why);
      ++compared;
      if (a.kind == RecordKind::event) ++events;
    }
  }
  CHECK(fast_formats >= 1);
  CHECK(compared > 500);
  CHECK(events > 100);
}

TEST_CASE("explain_mismatch tells how far a pattern got") {
  const FormatSpec& spec = freeswitch();
  auto it = std::find_if(spec.patterns.begin(), spec.patterns.end(),
                         [](const LinePattern& p) { return p.name == "cc_status"; });
  REQUIRE(it != spec.patterns.end());

  SUBCASE("a line that breaks mid-way") {
    std::string line =
        "2024-03-05 14:02:31.241002 97.40% [DEBUG] mod_callcenter.c:1180 Updated Agent 1001@default set STATUS = On Break";
    REQUIRE_FALSE(RE2::FullMatch(line, *it->re));
    std::string why = explain_mismatch(*it, line);
    INFO(why);
    // everything up to "set " fits; the pattern wants "status" where the line has "STATUS"
    size_t col = line.find("STATUS") + 1;
    CHECK(why.find("column " + std::to_string(col) + ":") != std::string::npos);
    CHECK(col > 1);
    CHECK(why.find("wants \"status = ") != std::string::npos);
    CHECK(why.find("has \"STATUS = On Break\"") != std::string::npos);
  }
  SUBCASE("a line that breaks at once") {
    std::string why = explain_mismatch(*it, "garbage");
    INFO(why);
    CHECK(why.find("column 1:") != std::string::npos);
  }
}
