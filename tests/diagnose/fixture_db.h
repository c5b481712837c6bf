// A database of several shipped fixtures (FreeSWITCH, Asterisk, CXone, the Netcall bundle),
// ingested through the command line, for the diagnose tests that need real failures.
#pragma once
#include <doctest/doctest.h>

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

}  // namespace testutil
