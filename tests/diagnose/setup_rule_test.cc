// R6 (docs/diagnosis.md): one agent's setup failures while others answered. The group's
// sentence is kept once and each member's evidence is made with its verdict: every member
// cites the first three other members of its group, never itself.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <set>
#include <vector>

#include "callaudit/diagnose.h"
#include "helpers.h"

using namespace callaudit;

TEST_CASE("R6: five setup failures of one agent, each citing the first three others") {
  testutil::TempDir tmp;
  // agent 1044's phone refuses five offers with SIP 403 while 1042 takes each call
  std::string csv = "Timestamp,Interaction ID,Queue,Event,Agent,Agent ID,Status\n";
  for (int k = 0; k < 5; ++k) {
    const int minute = 2 + 3 * k;
    csv += fmt::format("14/03/2026 10:{:02}:10,C-{},Support,Queued,,,\n", minute, 300 + k);
    csv += fmt::format("14/03/2026 10:{:02}:11,C-{},Support,Agent Offer,Priya Natarajan,1044,Ringing\n", minute, 300 + k);
    csv += fmt::format("14/03/2026 10:{:02}:12,C-{},Support,Agent Offer,Priya Natarajan,1044,"
                       "Failure (Rejected - SIP 403 Forbidden)\n", minute, 300 + k);
    csv += fmt::format("14/03/2026 10:{:02}:14,C-{},Support,Agent Offer,Jane Smith,1042,Ringing\n", minute, 300 + k);
    csv += fmt::format("14/03/2026 10:{:02}:19,C-{},Support,Agent Offer,Jane Smith,1042,Accepted\n", minute, 300 + k);
  }
  testutil::write_file(tmp / "events.csv", csv);
  auto r = testutil::run_cli({"ingest", "--tz", "UTC", "--db", (tmp / "t.db").string(), (tmp / "events.csv").string()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  auto cat = Catalog::load(testutil::source_dir() / "patterns");
  REQUIRE_MESSAGE(cat.ok(), cat.error());
  auto store = Store::open((tmp / "t.db").string(), Store::Mode::read_only);
  REQUIRE_MESSAGE(store.ok(), store.error());
  DiagnosisParams p = DiagnosisParams::from(cat->rules);
  p.verdict_batch = 2;  // members in different batches, made on both threads
  auto d = diagnose(**store, *cat, p);
  REQUIRE_MESSAGE(d.ok(), d.error());

  std::vector<FailureVerdict> v;
  d->verdicts.for_each([&](const FailureVerdict& f) { v.push_back(f); });
  REQUIRE(v.size() == 5);
  std::vector<std::int64_t> ids;  // the group in time order
  for (const auto& f : v) ids.push_back(f.id);
  for (size_t i = 0; i < v.size(); ++i) {
    const FailureVerdict& f = v[i];
    CAPTURE(i);
    CHECK(f.rule == "R6");
    CHECK(f.verdict == "configuration");
    CHECK(f.kind == "forbidden");
    CHECK(f.why == v[0].why);
    CHECK(f.why.find("1044") != std::string::npos);
    std::vector<std::int64_t> cited, expected;
    for (const auto& e : f.evidence)
      if (e.role == "cause") {
        cited.push_back(e.event_id);
        CHECK(e.note == "another setup failure of this agent");
        CHECK(!e.text.empty());  // its line was read like any other
      }
    for (std::int64_t id : ids)
      if (id != f.id && expected.size() < 3) expected.push_back(id);
    CHECK(cited == expected);
    // and the failure itself as context, first
    REQUIRE(!f.evidence.empty());
    CHECK(f.evidence.front().event_id == f.id);
    CHECK(f.evidence.front().role == "context");
  }
}
