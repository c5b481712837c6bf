// An ingest that keeps no offer rows (analyze's temporary database): the offers are still
// counted, every other event is stored with the very number it has when offers are kept, and
// the diagnosis is the same, on one thread and on three.
#include <doctest/doctest.h>

#include <sstream>

#include "callaudit/diagnose.h"
#include "callaudit/ingest.h"
#include "callaudit/read.h"
#include "callaudit/report.h"
#include "callaudit/store.h"
#include "helpers.h"

namespace fs = std::filesystem;
using namespace callaudit;

namespace {

std::vector<std::string> fixture_inputs() {
  const fs::path logs = testutil::source_dir() / "fixtures" / "logs";
  return {(logs / "freeswitch-log" / "freeswitch.log").string(), (logs / "asterisk-queue-log" / "queue_log").string(),
          (logs / "cxone-agent-refusal" / "refusals.csv").string(),
          (logs / "cxone-agent-state" / "agent-states.csv").string(), (logs / "bundle.zip").string()};
}

std::unique_ptr<Store> ingested(const fs::path& db, const Catalog& cat, bool keep_offers, int threads) {
  auto store = Store::open(db.string(), Store::Mode::read_write);
  REQUIRE_MESSAGE(store.ok(), store.error());
  auto zone = ZoneConverter::make("Europe/London");
  REQUIRE(zone.ok());
  IngestOptions opts;
  opts.zone = "Europe/London";
  opts.threads = threads;
  opts.keep_offers = keep_offers;
  Ingester ing(cat, **store, opts, *zone);
  walk_inputs(
      // (the bundle holds a copy of the FreeSWITCH log: a duplicate, rolled back)
      fixture_inputs(), [&](InputStream& in) { CHECK_MESSAGE(ing.ingest(in).status != "error", in.name); },
      [&](const std::string& name, const std::string& msg) { FAIL(name << ": " << msg); });
  return std::move(*store);
}

std::string rows(Store& store, const std::string& sql) {
  Statement q(store.db(), sql);
  REQUIRE_MESSAGE(q.ok(), q.error());
  std::string out;
  while (q.step()) {
    for (int c = 0; c < q.columns(); ++c) out += (q.is_null(c) ? std::string("NULL") : q.text(c)) + "|";
    out += "\n";
  }
  return out;
}

std::string diagnosis_json(Store& store, const Catalog& cat) {
  auto d = diagnose(store, cat, DiagnosisParams::from(cat.rules));
  REQUIRE_MESSAGE(d.ok(), d.error());
  std::ostringstream out;
  write_diagnosis_json(out, *d, {});
  return out.str();
}

}  // namespace

TEST_CASE("offers counted but not stored: the other events keep their numbers, the diagnosis is the same") {
  auto cat = Catalog::load(testutil::source_dir() / "patterns");
  REQUIRE_MESSAGE(cat.ok(), cat.error());
  for (int threads : {1, 3}) {
    CAPTURE(threads);
    testutil::TempDir tmp;
    auto all = ingested(tmp / "all.db", *cat, true, threads);
    auto lean = ingested(tmp / "lean.db", *cat, false, threads);
    const std::string offers = "SELECT count(*) FROM events WHERE type = 'offer'";
    CHECK(rows(*all, offers) != "0|\n");
    CHECK(rows(*lean, offers) == "0|\n");
    // every other event, with its number and every column
    const std::string others = "SELECT * FROM events WHERE type <> 'offer' ORDER BY id";
    const std::string kept = rows(*all, others);
    CHECK(kept.size() > 1000);
    CHECK(rows(*lean, others) == kept);
    // the inputs' counts, offers included, are those of the scan
    const std::string inputs = "SELECT path, format, lines, records, events, offers, results, failures, states FROM inputs ORDER BY id";
    CHECK(rows(*lean, inputs) == rows(*all, inputs));
    // and the diagnosis (its ids are the events' numbers)
    CHECK(diagnosis_json(*lean, *cat) == diagnosis_json(*all, *cat));
  }
}
