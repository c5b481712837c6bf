// save_diagnosis() writes the diagnosis with the foreign-key checks off (its rows refer to
// what it read from the same database): the saved rows must still satisfy every foreign key,
// match the diagnosis in memory, and leave the connection checking foreign keys again.
#include <doctest/doctest.h>

#include "callaudit/diagnose.h"
#include "fixture_db.h"

using namespace callaudit;

namespace {

std::string rows(Store& s, const char* sql) {
  Statement q(s.db(), sql);
  REQUIRE_MESSAGE(q.ok(), q.error());
  std::string out;
  while (q.step()) {
    for (int c = 0; c < q.columns(); ++c) out += q.text(c) + "|";
    out += "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("a saved diagnosis satisfies every foreign key and the checks are on again after it") {
  testutil::FixtureCase fx(Store::Mode::read_write);
  auto& cat = fx.cat;
  auto& store = fx.store;
  auto d = diagnose(**store, *cat, DiagnosisParams::from(cat->rules));
  REQUIRE(d.ok());
  REQUIRE(d->failures.size() > 10);
  size_t evidence = 0;
  d->verdicts.for_each([&](const FailureVerdict& f) { evidence += f.evidence.size(); });

  REQUIRE(save_diagnosis(**store, *d).ok());
  CHECK(rows(**store, "PRAGMA foreign_keys") == "1|\n");
  CHECK(rows(**store, "PRAGMA foreign_key_check") == "");
  CHECK(rows(**store, "SELECT count(*) FROM diagnosis") == std::to_string(d->failures.size()) + "|\n");
  CHECK(rows(**store, "SELECT count(*) FROM evidence") == std::to_string(evidence) + "|\n");
  CHECK(rows(**store, "SELECT count(*) FROM incidents") == std::to_string(d->incidents.size()) + "|\n");
  // every failure row is a failed result of the timeline
  CHECK(rows(**store, "SELECT count(*) FROM diagnosis g LEFT JOIN events e ON e.id = g.failure_id"
                      " WHERE e.id IS NULL OR e.type <> 'result'") == "0|\n");

  // saved again, the previous rows are replaced, not doubled
  REQUIRE(save_diagnosis(**store, *d).ok());
  CHECK(rows(**store, "SELECT count(*) FROM evidence") == std::to_string(evidence) + "|\n");
  CHECK(rows(**store, "PRAGMA foreign_keys") == "1|\n");

  // and the connection enforces foreign keys again: an evidence row for no failure is refused
  Status bad = (*store)->exec("INSERT INTO evidence (failure_id, role, event_id) VALUES (-7, 'cause', -7)");
  CHECK(!bad.ok());
}
