// A database of several shipped fixtures (FreeSWITCH, Asterisk, CXone, the Netcall bundle),
// ingested through the command line, for the diagnose tests that need real failures.
#pragma once
#include <doctest/doctest.h>

#include "callaudit/diagnose.h"
#include "helpers.h"

namespace testutil {

inline void ingest_fixtures(const std::filesystem::path& db) {
  const std::filesystem::path logs = source_dir() / "fixtures" / "logs";
  auto r = run_cli({"ingest", "--tz", "Europe/London", "--db", db.string(),
                    (logs / "freeswitch-log" / "freeswitch.log").string(),
                    (logs / "asterisk-queue-log" / "queue_log").string(),
                    (logs / "cxone-agent-refusal" / "refusals.csv").string(),
                    (logs / "cxone-agent-state" / "agent-states.csv").string(), (logs / "bundle.zip").string()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
}

// The fixtures ingested into a fresh database, the shipped catalog, and a connection to the
// database: what the diagnose tests on real failures start from.
struct FixtureCase {
  explicit FixtureCase(callaudit::Store::Mode mode = callaudit::Store::Mode::read_only)
      : db(tmp / "case.db"), cat(ingest_and_load(db)), store(callaudit::Store::open(db.string(), mode)) {
    REQUIRE_MESSAGE(cat.ok(), cat.error());
    REQUIRE_MESSAGE(store.ok(), store.error());
  }
  TempDir tmp;
  std::filesystem::path db;
  callaudit::Result<callaudit::Catalog> cat;
  callaudit::Result<std::unique_ptr<callaudit::Store>> store;

 private:
  static callaudit::Result<callaudit::Catalog> ingest_and_load(const std::filesystem::path& db) {
    ingest_fixtures(db);
    return callaudit::Catalog::load(source_dir() / "patterns");
  }
};

}  // namespace testutil
