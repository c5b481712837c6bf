// load_state_bands: the intervals between an agent's state changes around its failures, read
// from a timeline built here by hand, and the limits that keep the swimlanes bounded (which
// agents, which windows, how many changes), on small cases whose answers are worked out in the
// comments and on a generated case of many agents rendered as HTML.
#include <doctest/doctest.h>

#include <set>

#include "callaudit/report.h"
#include "callaudit/store.h"
#include "report_helpers.h"

namespace fs = std::filesystem;
using namespace callaudit;
using namespace reporttest;

namespace {

constexpr TimeUs kS = kUsPerSecond;
constexpr TimeUs kNine = 1773478800 * kS;  // 2026-03-14 09:00:00Z

// A timeline database filled event by event.
class Timeline {
 public:
  Timeline() {
    auto s = Store::open((tmp_ / "case.db").string(), Store::Mode::read_write);
    REQUIRE_MESSAGE(s.ok(), s.error());
    store_ = std::move(*s);
  }
  Store& store() { return *store_; }
  std::string db() const { return (tmp_ / "case.db").string(); }

  void begin(const std::string& name) {
    row_ = InputRow{};
    row_.path = name;
    row_.format = "hand-made";
    row_.fingerprint = "hand-made:" + name;
    row_.zone = "UTC";
    row_.precision = "second";
    Status st = store_->begin_input(row_);
    REQUIRE_MESSAGE(st.ok(), st.message());
    line_ = 0;
  }
  // returns the event's line
  std::int64_t state(const std::string& agent, TimeUs at, const std::string& st, const std::string& vendor = "",
                     const std::string& initiator = "agent") {
    Event e;
    e.type = EventType::state;
    e.at = e.at_end = at;
    e.agent = e.agent_raw = agent;
    e.state = st;
    e.vendor_state = vendor.empty() ? st : vendor;
    e.initiator = initiator;
    return add(e);
  }
  std::int64_t result(const std::string& agent, TimeUs at, const std::string& kind) {
    Event e;
    e.type = EventType::result;
    e.at = e.at_end = at;
    e.agent = e.agent_raw = agent;
    e.kind = kind;
    e.reason = kind;
    e.ring_ms = 15000;
    return add(e);
  }
  void end() {
    auto r = store_->finish_input(row_);
    REQUIRE_MESSAGE(r.ok(), r.error());
  }
  void indexes() {
    Status st = store_->create_indexes();
    REQUIRE_MESSAGE(st.ok(), st.message());
  }
  std::int64_t id_of_line(std::int64_t line) {
    Statement q(store_->db(), "SELECT id FROM events WHERE line = ?");
    q.bind(1, line);
    REQUIRE(q.step());
    return q.int64(0);
  }

 private:
  std::int64_t add(Event& e) {
    e.line = ++line_;
    e.raw = "line " + std::to_string(line_);
    Status st = store_->add_event(e);
    REQUIRE_MESSAGE(st.ok(), st.message());
    return line_;
  }
  testutil::TempDir tmp_;
  std::unique_ptr<Store> store_;
  InputRow row_;
  std::int64_t line_ = 0;
};

FailureVerdict failure(std::int64_t id, const std::string& agent, TimeUs at, const std::string& verdict) {
  FailureVerdict f;
  f.id = id;
  f.agent = agent;
  f.at = f.at_end = at;
  f.kind = "no_answer";
  f.verdict = verdict;
  return f;
}

}  // namespace

TEST_CASE("state bands: ready, then not ready, then ready again around two failures") {
  Timeline t;
  t.begin("a.log");
  t.state("1042", kNine - 3600 * kS, "not_ready", "Offline");   // line 1: long before, superseded
  t.state("1042", kNine, "busy", "Busy");                        // line 2: same time as line 3,
  const auto ready = t.state("1042", kNine, "ready", "Available");  // line 3: later line wins
  const auto brk = t.state("1042", kNine + 600 * kS, "not_ready", "Break");  // 09:10:00
  t.result("1042", kNine + 630 * kS, "no_answer");                           // 09:10:30, not a state
  const auto back = t.state("1042", kNine + 660 * kS, "ready", "Available", "supervisor");  // 09:11:00
  t.result("1042", kNine + 690 * kS, "no_answer");                                        // 09:11:30
  t.state("1042", kNine + 1200 * kS, "not_ready", "Break");  // 09:20:00: after the window
  t.state("2000", kNine + 700 * kS, "not_ready", "Break");   // another agent, inside the window's time
  t.end();
  t.indexes();

  Diagnosis d;
  REQUIRE(d.add(failure(5, "1042", kNine + 630 * kS, "agent")).ok());
  REQUIRE(d.add(failure(7, "1042", kNine + 690 * kS, "benign")).ok());
  auto b = load_state_bands(t.store(), d);
  REQUIRE_MESSAGE(b.ok(), b.error());

  CHECK(b->agents_total == 1);
  CHECK(b->failures_total == 2);
  CHECK(b->failures_drawn == 2);
  CHECK(b->windows_total == 1);
  CHECK(b->windows_drawn == 1);
  CHECK(b->cut_windows == 0);
  CHECK(b->other_states == 0);
  REQUIRE(b->lanes.size() == 1);
  const StateLane& lane = b->lanes[0];
  CHECK(lane.agent == "1042");
  CHECK(lane.failures == 2);
  CHECK(lane.refusals == 1);  // the benign one is no refusal
  REQUIRE(lane.windows.size() == 1);
  const StateWindow& w = lane.windows[0];
  // two minutes before the first failure to two minutes after the last: 09:08:30 to 09:13:30
  CHECK(w.from == kNine + 510 * kS);
  CHECK(w.to == kNine + 810 * kS);
  CHECK(w.failures == std::vector<size_t>{0, 1});
  CHECK(w.refusals == 1);
  CHECK_FALSE(w.cut);
  REQUIRE(w.bands.size() == 3);
  // ready since 09:00 (the change on line 3, not the busy one at the same time on line 2)
  CHECK(w.bands[0].from == w.from);
  CHECK(w.bands[0].to == kNine + 600 * kS);
  CHECK(w.bands[0].state == "ready");
  CHECK(w.bands[0].vendor_state == "Available");
  CHECK(w.bands[0].event_id == t.id_of_line(ready));
  // not ready from 09:10:00, by the agent
  CHECK(w.bands[1].from == kNine + 600 * kS);
  CHECK(w.bands[1].to == kNine + 660 * kS);
  CHECK(w.bands[1].state == "not_ready");
  CHECK(w.bands[1].vendor_state == "Break");
  CHECK(w.bands[1].initiator == "agent");
  CHECK(w.bands[1].event_id == t.id_of_line(brk));
  // ready again from 09:11:00, set by a supervisor, to the window's end
  CHECK(w.bands[2].from == kNine + 660 * kS);
  CHECK(w.bands[2].to == w.to);
  CHECK(w.bands[2].state == "ready");
  CHECK(w.bands[2].initiator == "supervisor");
  CHECK(w.bands[2].event_id == t.id_of_line(back));
}

TEST_CASE("state bands: no change before the window is a band of no state, a change at its start starts it") {
  Timeline t;
  t.begin("a.log");
  t.state("7", kNine + 60 * kS, "ready");   // inside the window of the failure at 09:02:00
  t.state("8", kNine - 120 * kS, "busy");   // exactly at the start of the window of 09:00:00
  t.state("8", kNine + 30 * kS, "", "Lunch");  // a change stored without a state
  t.end();
  t.indexes();
  Diagnosis d;
  REQUIRE(d.add(failure(1, "7", kNine + 120 * kS, "agent")).ok());
  REQUIRE(d.add(failure(2, "8", kNine, "agent")).ok());
  auto b = load_state_bands(t.store(), d);
  REQUIRE_MESSAGE(b.ok(), b.error());
  REQUIRE(b->lanes.size() == 2);
  for (const auto& lane : b->lanes) {
    REQUIRE(lane.windows.size() == 1);
    const auto& bands = lane.windows[0].bands;
    if (lane.agent == "7") {
      REQUIRE(bands.size() == 2);
      CHECK(bands[0].state.empty());  // nothing seen before 09:01:00
      CHECK(bands[0].event_id == 0);
      CHECK(bands[0].from == kNine);
      CHECK(bands[0].to == kNine + 60 * kS);
      CHECK(bands[1].state == "ready");
      CHECK(bands[1].to == kNine + 240 * kS);
    } else {
      CHECK(lane.agent == "8");
      REQUIRE(bands.size() == 2);  // no empty band before the change at 08:58:00
      CHECK(bands[0].state == "busy");
      CHECK(bands[0].from == kNine - 120 * kS);
      CHECK(bands[1].state == "none");
      CHECK(bands[1].vendor_state == "Lunch");
      CHECK(bands[1].event_id != 0);
    }
  }
  CHECK(b->other_states == 1);
}

TEST_CASE("state bands: windows join close failures and split at the span and failure limits") {
  Timeline t;
  t.begin("a.log");
  t.state("1", kNine - 3600 * kS, "ready");
  t.end();
  t.indexes();
  StateBandLimits lim;
  lim.margin = 60 * kS;
  lim.max_span = 600 * kS;
  lim.max_failures_per_window = 4;
  lim.max_windows_per_agent = 100;

  Diagnosis d;
  // 0 s and 100 s overlap (windows -60..60 and 40..160); 300 s does not (240 > 160)
  for (TimeUs s : {0, 100, 300}) REQUIRE(d.add(failure(static_cast<std::int64_t>(d.failures.size() + 1), "1", kNine + s * kS, "agent")).ok());
  // from 1000 s, one every 50 s for 20 failures: all overlap, but a window holds at most 4
  // failures and 600 s (4 failures at 50 s steps fit: 150 + 120 = 270 s), so 5 windows
  for (int k = 0; k < 20; ++k)
    REQUIRE(d.add(failure(static_cast<std::int64_t>(d.failures.size() + 1), "1", kNine + (1000 + 50 * k) * kS, "agent")).ok());
  // from 5000 s, one every 110 s for 6: each overlaps the one before and 4 of them span
  // 3 * 110 + 2 * 60 = 450 s, within 600 s, so the failure limit splits them: 4 and 2
  for (int k = 0; k < 6; ++k)
    REQUIRE(d.add(failure(static_cast<std::int64_t>(d.failures.size() + 1), "1", kNine + (5000 + 110 * k) * kS, "agent")).ok());
  auto b = load_state_bands(t.store(), d, lim);
  REQUIRE_MESSAGE(b.ok(), b.error());
  REQUIRE(b->lanes.size() == 1);
  const auto& ws = b->lanes[0].windows;
  std::vector<size_t> sizes;
  for (const auto& w : ws) sizes.push_back(w.failures.size());
  CHECK(sizes == std::vector<size_t>{2, 1, 4, 4, 4, 4, 4, 4, 2});
  CHECK(b->windows_total == 9);
  CHECK(b->failures_drawn == 29);
  for (const auto& w : ws) {
    CHECK(w.to - w.from <= lim.max_span);
    for (size_t i : w.failures) {
      CHECK(d.failures[i].at >= w.from + lim.margin);
      CHECK(d.failures[i].at <= w.to - lim.margin);
    }
    // every window is covered by bands without a gap
    REQUIRE(!w.bands.empty());
    CHECK(w.bands.front().from == w.from);
    CHECK(w.bands.back().to == w.to);
    for (size_t k = 1; k < w.bands.size(); ++k) CHECK(w.bands[k].from == w.bands[k - 1].to);
  }

  // and with a span limit tighter than the failure limit
  lim.max_failures_per_window = 50;
  Diagnosis d2;
  for (int k = 0; k < 6; ++k) REQUIRE(d2.add(failure(k + 1, "1", kNine + 110 * k * kS, "agent")).ok());
  auto b2 = load_state_bands(t.store(), d2, lim);
  REQUIRE(b2.ok());
  REQUIRE(b2->lanes.size() == 1);
  std::vector<size_t> sizes2;
  for (const auto& w : b2->lanes[0].windows) sizes2.push_back(w.failures.size());
  // 5 failures span 4 * 110 + 2 * 60 = 560 s <= 600; a sixth would make 670 s
  CHECK(sizes2 == std::vector<size_t>{5, 1});
}

TEST_CASE("state bands: the agents with the most refusals and their busiest windows, and a crowded window is cut") {
  Timeline t;
  t.begin("a.log");
  // agent "crowded": ten changes 10 s apart from 09:00:10
  for (int k = 1; k <= 10; ++k) t.state("crowded", kNine + 10 * k * kS, k % 2 ? "busy" : "ready");
  t.end();
  t.indexes();

  Diagnosis d;
  std::int64_t id = 0;
  auto add = [&](const std::string& agent, TimeUs at, const std::string& verdict) {
    REQUIRE(d.add(failure(++id, agent, at, verdict)).ok());
  };
  // "many": 6 failures, 5 benign: 1 refusal. "three": 3 refusals. "two": 2 refusals.
  for (int k = 0; k < 5; ++k) add("many", kNine + 20 * k * kS, "benign");
  add("many", kNine + 200 * kS, "agent");
  // "three": one window with 1 refusal at 09:00, one with 2 at 10:00
  add("three", kNine, "system");
  add("three", kNine + 3600 * kS, "agent");
  add("three", kNine + 3610 * kS, "agent");
  add("two", kNine, "agent");
  add("two", kNine + 7200 * kS, "agent");
  // "crowded": 2 refusals, at 09:00:30 and 09:01:30 (after the 5th change at 09:00:50)
  add("crowded", kNine + 30 * kS, "agent");
  add("crowded", kNine + 90 * kS, "agent");

  StateBandLimits lim;
  lim.max_agents = 3;
  lim.max_windows_per_agent = 1;
  lim.max_changes_per_window = 4;
  auto b = load_state_bands(t.store(), d, lim);
  REQUIRE_MESSAGE(b.ok(), b.error());
  CHECK(b->agents_total == 4);
  REQUIRE(b->lanes.size() == 3);
  // 3 refusals, then the tie of 2 broken by failures (both 2), then by id: crowded < two
  CHECK(b->lanes[0].agent == "three");
  CHECK(b->lanes[1].agent == "crowded");
  CHECK(b->lanes[2].agent == "two");
  // "three": of its two windows the one at 10:00 with 2 refusals is drawn
  CHECK(b->lanes[0].windows_total == 2);
  REQUIRE(b->lanes[0].windows.size() == 1);
  CHECK(b->lanes[0].windows[0].failures.size() == 2);
  CHECK(b->lanes[0].windows[0].refusals == 2);
  // "two": two windows, one refusal each: the earlier is drawn
  REQUIRE(b->lanes[2].windows.size() == 1);
  CHECK(b->lanes[2].windows[0].from == kNine - 120 * kS);
  // "crowded": 10 changes in its window, 4 drawn: it ends at the 5th (09:00:50), so the
  // failure at 09:01:30 is left out
  REQUIRE(b->lanes[1].windows.size() == 1);
  const auto& w = b->lanes[1].windows[0];
  CHECK(w.cut);
  CHECK(w.to == kNine + 50 * kS);
  CHECK(w.bands.size() == 5);  // no state seen, then the 4 changes drawn
  CHECK(w.failures.size() == 1);
  CHECK(b->cut_windows == 1);
  CHECK(b->windows_total == 2 + 1 + 2 + 1);
  CHECK(b->windows_drawn == 3);
  CHECK(b->failures_total == 13);
  CHECK(b->failures_drawn == 2 + 1 + 1);
}

TEST_CASE("report html: a generated case of 60 agents draws 20 lanes of at most 3 windows and says so") {
  // 60 agents; agent k has 5 + k failed offers, each 10 minutes apart (so each has its own
  // window), and a state change 3 minutes before each failure and 1 minute after it. Each
  // agent has a stretch of days of its own, so no failures of several agents coincide.
  constexpr int kAgents = 60;
  Timeline t;
  t.begin("generated.log");
  int failures = 0;
  std::set<TimeUs> hours, days;  // with offers (UTC)
  for (int k = 0; k < kAgents; ++k) {
    const std::string agent = std::to_string(2000 + k);
    t.state(agent, kNine - 3600 * kS, "ready", "Available");
    for (int n = 0; n < 5 + k; ++n) {
      const TimeUs at = kNine + (600 * (200 * k + n)) * kS;
      t.state(agent, at - 180 * kS, "not_ready", "Break");
      t.result(agent, at, "no_answer");
      t.state(agent, at + 60 * kS, "ready", "Available");
      ++failures;
      hours.insert(at / (3600 * kS));
      days.insert(at / (86400 * kS));
    }
  }
  t.end();
  t.indexes();

  auto r = report(t.db(), "html");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const std::string& html = r.out;
  const size_t from = html.find("<h2 id=\"states\">"), to = html.find("<h2 id=\"incidents\">");
  REQUIRE(from != std::string::npos);
  REQUIRE(to != std::string::npos);
  const std::string section = html.substr(from, to - from);

  // the figures of the generator, not of the output: 20 agents, 3 windows each, 1 failure each
  CHECK(count(section, "<g class=\"lane\">") == 20);
  CHECK(count(section, "class=\"fm\"") == 20 * 3);
  const std::string said = "Lanes for 20 of 60 agents with failures (those with the most refusals); 60 of " +
                           std::to_string(failures) + " windows (at most 3 per agent, those with the most refusals), "
                                                      "holding 60 of " + std::to_string(failures) + " failures.";
  CHECK_MESSAGE(section.find(said) != std::string::npos, section.substr(0, 600));
  // the lanes are those of the agents with the most failures: 2040 to 2059
  for (int k = 0; k < kAgents; ++k) {
    const std::string label = "<title>agent " + std::to_string(2000 + k) + "</title>";
    CHECK_MESSAGE((section.find(label) != std::string::npos) == (k >= 40), "agent " << 2000 + k);
  }
  // each window runs 2 minutes either side of its failure: not ready (the change 3 minutes
  // before, in force when it begins), then ready from 1 minute after the failure

  CHECK(count(section, "class=\"sb sb-not-ready\"") == 60);
  CHECK(count(section, "class=\"sb sb-ready\"") == 60);
  CHECK(count(section, "class=\"sb ") == 120);

  // the rates: the failures spread over more days and hours than the tables show, and the
  // report says how many it shows
  const size_t rates = html.find("<h2 id=\"rates\">");
  REQUIRE(rates != std::string::npos);
  REQUIRE(days.size() > 7);
  REQUIRE(hours.size() > 48);
  CHECK(html.find("Days: 7 of " + std::to_string(days.size()) + " shown", rates) != std::string::npos);
  CHECK(html.find("Hours: 48 of " + std::to_string(hours.size()) + " with offers shown", rates) != std::string::npos);
  CHECK(count(html.substr(rates), "class=\"hb\"") == 48);
}
