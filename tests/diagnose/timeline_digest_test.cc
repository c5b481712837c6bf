// The timeline digest a store gathers while it inserts (Store::keep_timeline) holds exactly
// what the diagnosis would read back from the table: none for a database that had events, a
// rolled-back input undone in it too, dropped when an alias rewrites stored agents. A
// diagnosis from the digest equals one read from the database.
#include <doctest/doctest.h>

#include <sstream>

#include "callaudit/diagnose.h"
#include "callaudit/ingest.h"
#include "callaudit/read.h"
#include "callaudit/report.h"
#include "callaudit/timeutil.h"
#include "helpers.h"

namespace fs = std::filesystem;
using namespace callaudit;

namespace {

Event event(EventType type, TimeUs at, std::string agent, std::int64_t line) {
  Event e;
  e.type = type;
  e.at = at;
  e.at_end = at;
  e.agent = std::move(agent);
  e.agent_raw = e.agent;
  e.line = line;
  e.raw = "line " + std::to_string(line);
  return e;
}

InputRow input_row(const std::string& path) {
  InputRow r;
  r.path = path;
  r.format = "freeswitch";
  r.fingerprint = "test:" + path;
  r.zone = "UTC";
  r.precision = "microsecond";
  return r;
}

// One input holding `events`, committed.
void store_input(Store& store, const std::string& path, const std::vector<Event>& events) {
  REQUIRE(store.begin_input(input_row(path)).ok());
  for (const Event& e : events) REQUIRE(store.add_event(e).ok());
  REQUIRE(store.finish_input(input_row(path)).ok());
}

std::unique_ptr<Store> fresh_store(const fs::path& db) {
  auto s = Store::open(db.string(), Store::Mode::read_write);
  REQUIRE_MESSAGE(s.ok(), s.error());
  return std::move(*s);
}

// Ingests `inputs` through the ingest pipeline (three threads, as analyze does).
void ingest(Store& store, const Catalog& cat, const std::vector<std::string>& inputs) {
  auto zone = ZoneConverter::make("Europe/London");
  REQUIRE(zone.ok());
  IngestOptions opts;
  opts.zone = "Europe/London";
  opts.threads = 3;
  Ingester ing(cat, store, opts, *zone);
  walk_inputs(
      inputs, [&](InputStream& in) { CHECK_MESSAGE(ing.ingest(in).status != "error", in.name); },
      [&](const std::string& name, const std::string& msg) { FAIL(name << ": " << msg); });
}

std::string json_of(Store& store, const Catalog& cat) {
  auto d = diagnose(store, cat, DiagnosisParams::from(cat.rules));
  REQUIRE_MESSAGE(d.ok(), d.error());
  auto coverage = load_coverage(store);
  REQUIRE(coverage.ok());
  std::ostringstream out;
  write_diagnosis_json(out, *d, *coverage);
  return out.str();
}

}  // namespace

TEST_CASE("the digest holds every result and state change as stored, agents in order of first sight") {
  testutil::TempDir tmp;
  auto store = fresh_store(tmp / "case.db");
  REQUIRE(store->keep_timeline());

  REQUIRE(store->begin_input(input_row("a.log")).ok());
  Event offer = event(EventType::offer, 1000, "1001", 1);  // not a result: not in the digest
  Event ready = event(EventType::state, 2000, "1002", 2);
  ready.state = "ready";
  ready.initiator = "agent";
  ready.agent_name = "Priya";
  Event failed = event(EventType::result, 3000, "1001", 3);
  failed.at_end = 3999;
  failed.kind = "no_answer";
  failed.kind_basis = "cause NO_ANSWER";
  failed.confidence = "low";
  failed.reason = "NO_ANSWER";
  failed.ring_ms = 15000;
  Event answered = event(EventType::result, 4000, "1002", 4);
  answered.kind = "normal";
  Event unnamed = event(EventType::result, 5000, "1003", 5);  // no kind, no ring time
  Event renamed = event(EventType::state, 6000, "1002", 6);
  renamed.state = "not_ready";
  renamed.initiator = "system";
  renamed.agent_name = "Priya S.";
  for (const Event* e : {&offer, &ready, &failed, &answered, &unnamed, &renamed}) REQUIRE(store->add_event(*e).ok());
  CHECK_FALSE(store->take_timeline());  // not while the input is open
  REQUIRE(store->finish_input(input_row("a.log")).ok());

  auto d = store->take_timeline();
  REQUIRE(d);
  CHECK_FALSE(store->keeps_timeline());
  CHECK_FALSE(store->take_timeline());  // given once
  auto word = [&](std::uint32_t w) { return d->words.at(w); };

  // agents in the order the table's results and states name them (the offer names none)
  REQUIRE(d->agents.size() == 3);
  CHECK(word(d->agents[0]) == "1002");
  CHECK(word(d->agents[1]) == "1001");
  CHECK(word(d->agents[2]) == "1003");
  CHECK(word(d->names[0]) == "Priya S.");  // the last name stored
  CHECK(word(d->names[1]).empty());

  // ids as stored
  Statement ids(store->db(), "SELECT id FROM events ORDER BY line");
  std::vector<std::int64_t> id;
  while (ids.step()) id.push_back(ids.int64(0));
  REQUIRE(id.size() == 6);

  REQUIRE(d->states.size() == 2);
  CHECK(d->states[0].id == id[1]);
  CHECK(d->states[0].agent == 0);
  CHECK(d->states[0].at == 2000);
  CHECK(d->states[0].line == 2);
  CHECK(word(d->states[0].state) == "ready");
  CHECK(word(d->states[0].initiator) == "agent");
  CHECK(d->states[1].id == id[5]);
  CHECK(word(d->states[1].state) == "not_ready");
  CHECK(word(d->states[1].initiator) == "system");
  CHECK(d->states[1].input_id == d->states[0].input_id);
  CHECK(d->states[0].input_id > 0);

  REQUIRE(d->answered.size() == 1);
  CHECK(d->answered[0] == std::pair<TimeUs, int>(4000, 0));

  REQUIRE(d->failures.size() == 2);
  REQUIRE(d->texts.size() == 2);
  const auto& f = d->failures[0];
  CHECK(f.id == id[2]);
  CHECK(f.agent == 1);
  CHECK(f.at == 3000);
  CHECK(f.at_end == 3999);
  CHECK(f.line == 3);
  CHECK(f.ring() == std::optional<std::int64_t>(15000));
  REQUIRE(f.text == 0);
  CHECK(word(d->texts[0].kind) == "no_answer");
  CHECK(word(d->texts[0].kind_basis) == "cause NO_ANSWER");
  CHECK(word(d->texts[0].confidence) == "low");
  CHECK(word(d->texts[0].reason) == "NO_ANSWER");
  CHECK(d->failures[1].id == id[4]);
  CHECK(d->failures[1].agent == 2);
  CHECK_FALSE(d->failures[1].ring());
  CHECK(d->failures[1].text == 1);
  CHECK(d->texts[1].kind == 0);  // the empty text
  CHECK(d->texts[1].reason == 0);
}

TEST_CASE("the digest is kept only while it is the whole events table") {
  testutil::TempDir tmp;
  SUBCASE("a database that has events keeps none") {
    {
      auto store = fresh_store(tmp / "case.db");
      store_input(*store, "a.log", {event(EventType::state, 1, "1001", 1)});
    }
    auto store = fresh_store(tmp / "case.db");
    CHECK_FALSE(store->keep_timeline());
    CHECK_FALSE(store->take_timeline());
  }
  SUBCASE("a rolled-back input leaves the digest as it was before that input") {
    auto store = fresh_store(tmp / "case.db");
    REQUIRE(store->keep_timeline());
    Event named = event(EventType::state, 1, "1001", 1);
    named.agent_name = "Priya";
    store_input(*store, "a.log", {named});
    REQUIRE(store->begin_input(input_row("b.log")).ok());
    Event renamed = event(EventType::state, 2, "1001", 1);
    renamed.agent_name = "Someone else";
    REQUIRE(store->add_event(renamed).ok());
    REQUIRE(store->add_event(event(EventType::result, 3, "1002", 2)).ok());
    REQUIRE(store->add_event(event(EventType::result, 4, "1003", 3)).ok());
    store->abort_input();
    CHECK(store->keeps_timeline());
    // a third input after the rollback numbers its new agent after the first input's
    Event answered = event(EventType::result, 5, "1003", 1);
    answered.kind = "normal";
    store_input(*store, "c.log", {answered});
    auto d = store->take_timeline();
    REQUIRE(d);
    REQUIRE(d->agents.size() == 2);
    CHECK(d->words.at(d->agents[0]) == "1001");
    CHECK(d->words.at(d->agents[1]) == "1003");
    CHECK(d->words.at(d->names[0]) == "Priya");
    CHECK(d->states.size() == 1);
    CHECK(d->failures.empty());
    CHECK(d->texts.empty());
    CHECK(d->answered == std::vector<std::pair<TimeUs, int>>{{5, 1}});
  }
  SUBCASE("an alias that rewrites stored agents drops it; one that rewrites none does not") {
    auto store = fresh_store(tmp / "case.db");
    REQUIRE(store->keep_timeline());
    REQUIRE(store->begin_input(input_row("a.log")).ok());
    REQUIRE(store->add_event(event(EventType::state, 1, "Priya", 1)).ok());
    REQUIRE(store->add_alias("Ghost", "1009").ok());
    CHECK(store->keeps_timeline());
    REQUIRE(store->add_alias("Priya", "1004").ok());
    CHECK_FALSE(store->keeps_timeline());
    REQUIRE(store->finish_input(input_row("a.log")).ok());
    CHECK_FALSE(store->take_timeline());
  }
  SUBCASE("a digest over its budget is dropped") {
    auto store = fresh_store(tmp / "case.db");
    REQUIRE(store->keep_timeline(64 * 1024));
    REQUIRE(store->begin_input(input_row("a.log")).ok());
    int added = 0;
    for (; added < 100000 && store->keeps_timeline(); ++added)
      REQUIRE(store->add_event(event(EventType::result, added, "1001", added + 1)).ok());
    REQUIRE(store->finish_input(input_row("a.log")).ok());
    CHECK_FALSE(store->take_timeline());
    // 64 KiB hold about a thousand failures (64 + 16 bytes each); checked every 1024 events
    CHECK(added > 512);
    CHECK(added <= 4096);
  }
  SUBCASE("a duplicate input (rolled back) adds nothing to it") {
    auto cat = Catalog::load(testutil::source_dir() / "patterns");
    REQUIRE(cat.ok());
    auto store = fresh_store(tmp / "case.db");
    REQUIRE(store->keep_timeline());
    const std::string log =
        (testutil::source_dir() / "fixtures" / "logs" / "freeswitch-log" / "freeswitch.log").string();
    ingest(*store, *cat, {log});
    REQUIRE(store->keeps_timeline());
    Statement n(store->db(), "SELECT count(*) FROM events WHERE type IN ('result', 'state')");
    REQUIRE(n.step());
    const auto stored = n.int64(0);
    ingest(*store, *cat, {log});
    auto d = store->take_timeline();
    REQUIRE(d);
    CHECK(stored > 5);
    CHECK(static_cast<std::int64_t>(d->failures.size() + d->answered.size() + d->states.size()) == stored);
  }
}

TEST_CASE("a diagnosis from the digest equals one read from the database") {
  auto cat = Catalog::load(testutil::source_dir() / "patterns");
  REQUIRE(cat.ok());
  testutil::TempDir tmp;
  auto store = fresh_store(tmp / "case.db");
  REQUIRE(store->keep_timeline());
  const fs::path logs = testutil::source_dir() / "fixtures" / "logs";
  // several inputs of three formats (ids and lines from several inputs, equal times)
  ingest(
      *store, *cat,
      {(logs / "freeswitch-log" / "freeswitch.log").string(), (logs / "cxone-agent-refusal" / "refusals.csv").string(),
       (logs / "cxone-agent-state" / "agent-states.csv").string(), (logs / "bundle.zip").string()});
  REQUIRE(store->keeps_timeline());
  const std::string from_digest = json_of(*store, *cat);
  CHECK_FALSE(store->keeps_timeline());  // the diagnosis took it
  const std::string from_table = json_of(*store, *cat);
  CHECK(from_digest.size() > 2000);
  CHECK(from_digest.find("\"verdict\"") != std::string::npos);
  CHECK(from_digest == from_table);
}
