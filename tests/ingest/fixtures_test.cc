// Every fixture under fixtures/logs/<format>/ ingests with the counts written by hand in its
// expected.toml; re-ingesting adds nothing; the zipped bundle keeps inner names.
#include <doctest/doctest.h>

#include <toml++/toml.h>

#include "callaudit/store.h"
#include "helpers.h"

namespace fs = std::filesystem;
using namespace callaudit;
using testutil::run_cli;

namespace {

struct Counts {
  std::int64_t lines, records, offers, results, failures, states, unmatched;
  std::string format;
};

Counts counts_of(const fs::path& db, const std::string& path) {
  auto store = Store::open(db.string(), Store::Mode::read_only);
  REQUIRE(store.ok());
  Statement q((*store)->db(),
              "SELECT lines, records, offers, results, failures, states, unmatched, format FROM inputs WHERE path = ?");
  q.bind(1, path);
  REQUIRE_MESSAGE(q.step(), "no input row for " << path);
  return {q.int64(0), q.int64(1), q.int64(2), q.int64(3), q.int64(4), q.int64(5), q.int64(6), q.text(7)};
}

std::int64_t scalar(const fs::path& db, const std::string& sql) {
  auto store = Store::open(db.string(), Store::Mode::read_only);
  REQUIRE(store.ok());
  Statement q((*store)->db(), sql);
  REQUIRE(q.step());
  return q.int64(0);
}

}  // namespace

TEST_CASE("every fixture ingests with its hand-counted expectations") {
  fs::path root = testutil::source_dir() / "fixtures" / "logs";
  int checked = 0;
  for (const auto& dir : fs::directory_iterator(root)) {
    fs::path expected = dir.path() / "expected.toml";
    if (!fs::exists(expected)) continue;
    toml::table t = toml::parse_file(expected.string());
    std::string format = dir.path().filename().string();
    for (const auto& [file, node] : t) {
      const auto* e = node.as_table();
      REQUIRE(e);
      testutil::TempDir tmp;
      fs::path input = dir.path() / std::string(file.str());
      fs::path db = tmp / "case.db";
      auto r = run_cli({"ingest", "--db", db.string(), "--tz", "Europe/London", input.string()});
      INFO(input.string() << "\n" << r.out << r.err);
      CHECK(r.code == 0);
      Counts c = counts_of(db, input.string());
      CHECK(c.format == format);
      auto want = [&](const char* key) { return (*e)[key].value_or(std::int64_t{-1}); };
      CHECK(c.lines == want("lines"));
      if (want("records") >= 0) CHECK(c.records == want("records"));
      CHECK(c.offers == want("offers"));
      CHECK(c.results == want("results"));
      CHECK(c.failures == want("failures"));
      CHECK(c.states == want("states"));
      CHECK(c.unmatched == want("unmatched"));
      ++checked;
    }
  }
  CHECK(checked >= 12);
}

TEST_CASE("ingesting the same content twice adds nothing and says so") {
  testutil::TempDir tmp;
  fs::path db = tmp / "case.db";
  fs::path input = testutil::source_dir() / "fixtures/logs/freeswitch-log/freeswitch.log";
  auto first = run_cli({"ingest", "--db", db.string(), input.string()});
  REQUIRE(first.code == 0);
  std::int64_t events = scalar(db, "SELECT count(*) FROM events");
  CHECK(events > 0);
  // the same bytes under another name are the same content
  fs::path copy = tmp / "copy-of-freeswitch.log";
  fs::copy_file(input, copy);
  auto second = run_cli({"ingest", "--db", db.string(), input.string(), copy.string()});
  CHECK(second.code == 0);
  CHECK(second.out.find("already ingested") != std::string::npos);
  CHECK(second.out.find("0 ingested, 2 already present") != std::string::npos);
  CHECK(scalar(db, "SELECT count(*) FROM events") == events);
  CHECK(scalar(db, "SELECT count(*) FROM inputs") == 1);
}

TEST_CASE("zones apply to zone-less times only, and the assumption is said") {
  testutil::TempDir tmp;
  fs::path input = testutil::source_dir() / "fixtures/logs/freeswitch-log/freeswitch.log";
  auto utc = run_cli({"ingest", "--db", (tmp / "utc.db").string(), input.string()});
  CHECK(utc.out.find("taken as UTC") != std::string::npos);
  auto ny = run_cli({"ingest", "--db", (tmp / "ny.db").string(), "--tz", "America/New_York", input.string()});
  CHECK(ny.out.find("taken as UTC") == std::string::npos);
  std::int64_t a = scalar(tmp / "utc.db", "SELECT min(at) FROM events");
  std::int64_t b = scalar(tmp / "ny.db", "SELECT min(at) FROM events");
  CHECK(b - a == 5LL * 3600 * 1000000);  // 2024-03-05 is EST, UTC-5
  CHECK(scalar(tmp / "ny.db", "SELECT zone_assumed FROM inputs") == 0);
  CHECK(scalar(tmp / "utc.db", "SELECT zone_assumed FROM inputs") == 1);
}

TEST_CASE("a zipped bundle is read in place, with inner names, including a .gz inside") {
  fs::path bundle = testutil::source_dir() / "fixtures/logs/bundle.zip";
  REQUIRE(fs::exists(bundle));
  testutil::TempDir tmp;
  fs::path db = tmp / "case.db";
  auto r = run_cli({"ingest", "--db", db.string(), "--tz", "Europe/London", bundle.string()});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  auto store = Store::open(db.string(), Store::Mode::read_only);
  REQUIRE(store.ok());
  Statement q((*store)->db(), "SELECT path, format FROM inputs ORDER BY path");
  std::vector<std::string> names;
  while (q.step()) names.push_back(q.text(0) + " " + q.text(1));
  REQUIRE(names.size() == 3);
  CHECK(names[0] == bundle.string() + ":ticket-4711/audit.csv netcall-audit");
  CHECK(names[1] == bundle.string() + ":ticket-4711/events.csv netcall-event-history");
  CHECK(names[2] == bundle.string() + ":ticket-4711/logs/freeswitch.log.gz freeswitch-log");
  // the same content as the plain fixture: same events
  fs::path db2 = tmp / "plain.db";
  REQUIRE(run_cli({"ingest", "--db", db2.string(), "--tz", "Europe/London",
                   (testutil::source_dir() / "fixtures/logs/freeswitch-log/freeswitch.log").string()})
              .code == 0);
  CHECK(scalar(db, "SELECT count(*) FROM events e JOIN inputs i ON i.id = e.input_id WHERE i.format = 'freeswitch-log'") ==
        scalar(db2, "SELECT count(*) FROM events"));
}

TEST_CASE("stdin is an input named '-'") {
  // run the binary: stdin of the test process is not ours to feed
  testutil::TempDir tmp;
  fs::path db = tmp / "case.db";
  std::string cmd = std::string(CALLAUDIT_BINARY) + " ingest --db " + db.string() + " - < " +
                    (testutil::source_dir() / "fixtures/logs/freeswitch-log/freeswitch.log").string() + " > /dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto store = Store::open(db.string(), Store::Mode::read_only);
  REQUIRE(store.ok());
  Statement q((*store)->db(), "SELECT path, format, events FROM inputs");
  REQUIRE(q.step());
  CHECK(q.text(0) == "-");
  CHECK(q.text(1) == "freeswitch-log");
  CHECK(q.int64(2) > 0);
}

TEST_CASE("an input's events are stored without a foreign-key check each; the checks are on again after it") {
  testutil::TempDir tmp;
  auto store = Store::open((tmp / "fk.db").string(), Store::Mode::read_write);
  REQUIRE(store.ok());
  Store& s = **store;
  auto pragma = [&](const char* sql) {
    Statement q(s.db(), sql);
    REQUIRE_MESSAGE(q.ok(), q.error());
    std::string out;
    while (q.step()) out += q.text(0) + ";";
    return out;
  };
  CHECK(pragma("PRAGMA foreign_keys") == "1;");
  auto store_one = [&](const std::string& fingerprint, bool commit) {
    InputRow row;
    row.path = "input-" + fingerprint;
    row.format = "freeswitch-log";
    row.zone = "UTC";
    row.precision = "microsecond";
    REQUIRE(s.begin_input(row).ok());
    CHECK(pragma("PRAGMA foreign_keys") == "0;");  // off while the input's events go in
    Event e;
    e.type = EventType::state;
    e.at = e.at_end = 1'709'647'330'000'000;
    e.agent = e.agent_raw = "1001";
    e.state = "ready";
    e.vendor_state = "Available";
    e.initiator = "agent";
    e.line = 1;
    e.raw = "a line";
    REQUIRE(s.add_event(e).ok());
    e.line = 2;
    REQUIRE(s.add_event(e).ok());
    if (commit) {
      row.fingerprint = fingerprint;
      auto fin = s.finish_input(row);
      REQUIRE(fin.ok());
      CHECK_FALSE(fin->has_value());
    } else {
      s.abort_input();
    }
    CHECK(pragma("PRAGMA foreign_keys") == "1;");
  };
  store_one("fp-1", true);
  store_one("fp-2", false);
  CHECK(pragma("SELECT count(*) FROM events") == "2;");
  CHECK(pragma("PRAGMA foreign_key_check") == "");
  // the input's events still go with it: the cascade works again
  REQUIRE(s.exec("DELETE FROM inputs").ok());
  CHECK(pragma("SELECT count(*) FROM events") == "0;");
}

TEST_CASE("--as: a forced format reads what fits it; a file of which no line fits is an error, not stored") {
  testutil::TempDir tmp;
  fs::path fixture = testutil::source_dir() / "fixtures" / "logs" / "freeswitch-log" / "freeswitch.log";
  fs::path prose = tmp / "notes.txt", mixed = tmp / "mixed.log";
  testutil::write_file(prose, "the customer says agent 1042 keeps missing calls\nsince 14:00 nobody can take calls\n");
  testutil::write_file(mixed, "some junk first\n2024-03-05 14:02:31.241002 97.40% [DEBUG] mod_callcenter.c:1180 Updated "
                              "Agent 1001@default set status = On Break\nmore junk\n");
  auto count_inputs = [](const fs::path& db) {
    auto store = Store::open(db.string(), Store::Mode::read_only);
    REQUIRE(store.ok());
    Statement q((*store)->db(), "SELECT count(*) || ',' || coalesce(sum(events), 0) FROM inputs");
    REQUIRE(q.step());
    return q.text(0);
  };
  {
    fs::path db = tmp / "right.db";
    auto r = run_cli({"ingest", "--db", db.string(), "--tz", "UTC", "--as", "freeswitch-log", fixture.string()});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK(count_inputs(db).rfind("1,", 0) == 0);
    CHECK(count_inputs(db) != "1,0");
  }
  {
    // one line of three fits: stored, the other two counted unmatched, as without --as
    fs::path db = tmp / "mixed.db";
    auto r = run_cli({"ingest", "--db", db.string(), "--tz", "UTC", "--as", "freeswitch-log", mixed.string()});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find("3 lines (1 parsed, 2 unmatched)") != std::string::npos);
    CHECK(count_inputs(db) == "1,1");
  }
  {
    // lines that fit the layout but name a state the format does not know: not the format's
    // fault, so stored with their reason, as without --as
    fs::path odd = tmp / "odd-state.log";
    testutil::write_file(odd, "2024-03-05 14:02:31.241002 97.40% [DEBUG] mod_callcenter.c:1180 Updated Agent "
                              "1001@default set status = Gone Fishing\n");
    fs::path db = tmp / "odd.db";
    auto r = run_cli({"ingest", "--db", db.string(), "--tz", "UTC", "--as", "freeswitch-log", odd.string()});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find("unknown state 'Gone Fishing'") != std::string::npos);
    CHECK(count_inputs(db) == "1,0");
  }
  {
    fs::path db = tmp / "prose.db";
    auto r = run_cli({"ingest", "--db", db.string(), "--tz", "UTC", "--as", "freeswitch-log", prose.string(),
                      fixture.string()});
    INFO(r.out << r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find("notes.txt: none of its 2 lines fits freeswitch-log (forced with --as): nothing stored; no "
                     "other known format fits it either") != std::string::npos);
    CHECK(count_inputs(db).rfind("1,", 0) == 0);  // the fixture after it is still read
  }
}
