// Text inputs are parsed in chunks of lines, by worker threads when asked
// (src/ingest/ingest.cc, scan_text): whatever the number of parser threads the scan yields the
// same events and unmatched lines, in input order, and what links lines across a chunk
// boundary (a continuation line at the very start, Latin-1 lines tried again, lines cut at
// 1 MiB, NUL padding, blank lines) comes out as with one thread.
#include <doctest/doctest.h>

#include <cstring>

#include "callaudit/ingest.h"
#include "helpers.h"

using namespace callaudit;

namespace {

class Collect : public ScanSink {
 public:
  Status on_event(const Event& e) override {
    out += "event " + std::to_string(e.line) + " " + std::string(to_string(e.type)) + " " + std::to_string(e.at) + " " +
           e.agent + " " + e.kind + " " + e.vendor_state + " " + e.agent_name + "\n";
    ++events;
    return {};
  }
  Status on_unmatched(std::int64_t line, std::string_view text, const std::string& why) override {
    out += "unmatched " + std::to_string(line) + " " + why + " [" + std::string(text.substr(0, 60)) + "]\n";
    unmatched.emplace_back(line, why);
    return {};
  }
  std::string out;
  int events = 0;
  std::vector<std::pair<std::int64_t, std::string>> unmatched;
};

struct Run {
  ScanStats st;
  Collect sink;
};

Run run(const std::string& log, int threads) {
  auto cat = Catalog::load(testutil::source_dir() / "patterns");
  REQUIRE(cat.ok());
  const FormatSpec* fs = cat->find("freeswitch-log");
  REQUIRE(fs);
  auto zone = ZoneConverter::make("UTC");
  REQUIRE(zone.ok());
  auto src = memory_source(log);
  Run r;
  auto st = scan(*fs, *cat, *zone, *src, r.sink, threads);
  REQUIRE(st.ok());
  r.st = *st;
  return r;
}

// About 30,000 lines (several chunks of at most 4096 lines) with every kind of line.
std::string mixed_log() {
  std::string s = "   Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK5c1e9a77\n";  // continuation first
  for (int i = 0; i < 3000; ++i) {
    char ts[40];
    std::snprintf(ts, sizeof ts, "2024-03-05 %02d:%02d:%02d", 9 + i / 3600, (i / 60) % 60, i % 60);
    std::string agent = std::to_string(1001 + i % 7) + "@default";
    s += std::string(ts) + ".100000 98.21% [DEBUG] mod_callcenter.c:1180 Updated Agent " + agent +
         " set state = Receiving\n";
    s += "recv 612 bytes from udp/[203.0.113.10]:5060 at 14:02:09.874512:\n";
    s += "   Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK" + std::to_string(i) + "\n";
    s += "   ------------------------------------------------------------------------\n";
    if (i % 7 == 0) s += "\n";                                            // blank
    if (i % 11 == 0) s += std::string(3, '\0') + "this line fits no layout\n";  // NUL padding
    if (i % 13 == 0)  // Latin-1 caller name: parsed once repaired
      s += "3c9e1f20-6a7b-4c8d-9e0f-1a2b3c4d5e6f " + std::string(ts) +
           ".004811 98.03% [DEBUG] mod_callcenter.c:3128 Member Jos\xe9 Mu\xf1oz <+442079460123> joining queue "
           "sales@default\n";
    if (i == 1500) s += std::string((1 << 20) + 10, 'x') + "\n";  // cut at 1 MiB
    s += std::string(ts) + ".900000 98.21% [DEBUG] mod_callcenter.c:2139 Agent " + agent +
         (i % 3 ? " Origination Canceled : NO_ANSWER\n" : " Origination Canceled : USER_BUSY\n");
    s += std::string(ts) + ".950000 98.21% [DEBUG] mod_callcenter.c:1180 Updated Agent " + agent +
         " set status = Available\n";
    s += "\n";
  }
  return s;
}

}  // namespace

TEST_CASE("the chunked scan yields the same events and unmatched lines with 1, 2 or 3 parser threads") {
  const std::string log = mixed_log();
  Run one = run(log, 1);
  CHECK(one.st.lines > 4 * 4096);  // several chunks
  CHECK(one.sink.events > 6000);
  CHECK(one.st.repaired == (3000 + 12) / 13);
  CHECK(one.st.nul_lines == (3000 + 10) / 11);
  CHECK(one.st.blank >= 3000);
  REQUIRE(!one.sink.unmatched.empty());
  // the continuation line before any record is unmatched, and only that one
  CHECK(one.sink.unmatched[0].first == 1);
  CHECK(one.sink.unmatched[0].second.find("continuation line (trace_body) with no record before it") !=
        std::string::npos);
  int continuation_refusals = 0, cut = 0;
  for (const auto& [line, why] : one.sink.unmatched) {
    if (why.find("no record before it") != std::string::npos) ++continuation_refusals;
    if (why.find("longer than 1 MiB") != std::string::npos) ++cut;
  }
  CHECK(continuation_refusals == 1);
  CHECK(cut == 1);
  for (int threads : {2, 3}) {
    CAPTURE(threads);
    Run more = run(log, threads);
    CHECK(more.sink.out == one.sink.out);
    CHECK(more.st.lines == one.st.lines);
    CHECK(more.st.parsed == one.st.parsed);
    CHECK(more.st.unmatched == one.st.unmatched);
    CHECK(more.st.records == one.st.records);
    CHECK(more.st.repaired == one.st.repaired);
    CHECK(more.st.blank == one.st.blank);
    CHECK(more.st.nul_lines == one.st.nul_lines);
    CHECK(more.st.events == one.st.events);
    CHECK(more.st.fingerprint == one.st.fingerprint);
  }
}

TEST_CASE("a continuation line right after a chunk boundary stays a continuation") {
  // 4096 recognized lines fill the first chunk; line 4097 is a trace body line
  std::string log;
  for (int i = 0; i < 4096; ++i) log += "recv 612 bytes from udp/[203.0.113.10]:5060 at 14:02:09.874512:\n";
  log += "   Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK5c1e9a77\n";
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    Run r = run(log, threads);
    CHECK(r.st.lines == 4097);
    CHECK(r.st.unmatched == 0);
    CHECK(r.st.parsed == 4097);
  }
}

TEST_CASE("a chunked scan whose sink fails stops with the sink's error") {
  class Failing : public ScanSink {
   public:
    Status on_event(const Event&) override {
      return ++n > 100 ? Status::error("disk trouble") : Status();
    }
    Status on_unmatched(std::int64_t, std::string_view, const std::string&) override { return {}; }
    int n = 0;
  };
  auto cat = Catalog::load(testutil::source_dir() / "patterns");
  REQUIRE(cat.ok());
  auto zone = ZoneConverter::make("UTC");
  REQUIRE(zone.ok());
  const std::string log = mixed_log();
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    auto src = memory_source(log);
    Failing sink;
    auto st = scan(*cat->find("freeswitch-log"), *cat, *zone, *src, sink, threads);
    REQUIRE(!st.ok());
    CHECK(st.error().find("disk trouble") != std::string::npos);
    CHECK(sink.n == 101);  // nothing handed on after the failure
  }
}

TEST_CASE("a read error in the middle of a chunked scan stops it with the line it came after") {
  // a source that gives part of the log, then fails (a truncated archive, a vanished disk)
  class Breaking : public ByteSource {
   public:
    Breaking(std::string bytes, size_t good) : bytes_(std::move(bytes)), good_(good) {}
    Result<size_t> read(char* buf, size_t cap) override {
      if (at_ >= good_) return Status::error("input/output error");
      const size_t n = std::min(cap, good_ - at_);
      std::memcpy(buf, bytes_.data() + at_, n);
      at_ += n;
      return n;
    }

   private:
    std::string bytes_;
    size_t good_, at_ = 0;
  };
  auto cat = Catalog::load(testutil::source_dir() / "patterns");
  REQUIRE(cat.ok());
  auto zone = ZoneConverter::make("UTC");
  REQUIRE(zone.ok());
  const std::string log = mixed_log();
  REQUIRE(log.size() > (2u << 20));
  std::string first;
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    Breaking src(log, 2u << 20);  // past several chunks and the 1 MiB line
    Collect sink;
    auto st = scan(*cat->find("freeswitch-log"), *cat, *zone, src, sink, threads);
    REQUIRE(!st.ok());
    CHECK(st.error().find("read error after line") != std::string::npos);
    CHECK(st.error().find("input/output error") != std::string::npos);
    if (first.empty()) first = st.error();
    CHECK(st.error() == first);  // the same line, whatever the threads
  }
}
