// The cited lines of a diagnosis are read either by one lookup per line or by one pass over
// the events' id range (diagnose.cc, "fill evidence lines"), chosen by their number: both
// ways must cite the very same file, line, time and text for every piece of evidence.
#include <doctest/doctest.h>

#include "callaudit/diagnose.h"
#include "fixture_db.h"

using namespace callaudit;

namespace {

std::string cited(const Diagnosis& d) {
  std::string out;
  d.verdicts.for_each([&](const FailureVerdict& f) {
    out += std::to_string(f.id) + " " + f.file + ":" + std::to_string(f.line) + " " + f.format + " [" + f.raw + "]\n";
    for (const auto& e : f.evidence)
      out += "  " + e.role + " " + std::to_string(e.event_id) + " " + e.file + ":" + std::to_string(e.line) + " " +
             std::to_string(e.at) + " [" + e.text + "]\n";
  });
  return out;
}

}  // namespace

TEST_CASE("cited lines read in one pass are those read one by one") {
  testutil::FixtureCase fx;
  auto& cat = fx.cat;
  auto& store = fx.store;
  DiagnosisParams p = DiagnosisParams::from(cat->rules);
  p.cited_scan_share = 0;  // always the pass
  auto pass = diagnose(**store, *cat, p);
  p.cited_scan_share = 1e9;  // never
  auto lookups = diagnose(**store, *cat, p);
  REQUIRE(pass.ok());
  REQUIRE(lookups.ok());
  std::string a = cited(*pass), b = cited(*lookups);
  CHECK(pass->failures.size() > 10);
  CHECK(a.find(" [") != std::string::npos);
  // every failure found its own line, in both ways
  pass->verdicts.for_each([&](const FailureVerdict& f) {
    CAPTURE(f.id);
    CHECK(!f.raw.empty());
    CHECK(!f.file.empty());
  });
  CHECK(a == b);
}
