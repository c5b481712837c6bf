// The scan thread + parser threads + writer thread pipeline of ingest (src/ingest/ingest.cc)
// stores exactly what the one-thread ingest stores, and a writer that fails stops the scan and
// stores nothing.
#include <doctest/doctest.h>

#include "callaudit/store.h"
#include "helpers.h"

namespace fs = std::filesystem;
using namespace callaudit;
using testutil::run_cli;

namespace {

// Every stored event and unmatched sample, one line each, without the ids that differ by run.
std::string dump(const fs::path& db) {
  auto store = Store::open(db.string(), Store::Mode::read_only);
  REQUIRE(store.ok());
  std::string out;
  for (const char* sql :
       {"SELECT i.path, e.line, e.type, e.at, e.at_end, e.agent, e.agent_raw, coalesce(e.agent_name, ''),"
        " coalesce(e.call, ''), coalesce(e.queue, ''), coalesce(e.kind, ''), coalesce(e.kind_basis, ''),"
        " coalesce(e.sip, -1), coalesce(e.q850, -1), coalesce(e.reason, ''), coalesce(e.ring_ms, -1),"
        " coalesce(e.state, ''), coalesce(e.initiator, ''), coalesce(e.detail, ''), e.raw"
        " FROM events e JOIN inputs i ON i.id = e.input_id ORDER BY i.path, e.line, e.type, e.at",
        "SELECT i.path, u.line, u.why, u.text FROM unmatched u JOIN inputs i ON i.id = u.input_id"
        " ORDER BY i.path, u.line",
        "SELECT path, format, lines, records, parsed, unmatched, events, offers, results, failures, states, merged"
        " FROM inputs ORDER BY path"}) {
    Statement q((*store)->db(), sql);
    REQUIRE(q.ok());
    while (q.step()) {
      for (int c = 0; c < q.columns(); ++c) out += q.text(c) + "|";
      out += "\n";
    }
  }
  return out;
}

// A FreeSWITCH log long enough to fill many batches of the queue between the two threads.
// A line that fits no layout comes after every `junk_every`-th offer.
std::string long_log(int offers, int junk_every = 5) {
  std::string s;
  for (int i = 0; i < offers; ++i) {
    int sec = i % 60, min = (i / 60) % 60, hour = 9 + i / 3600;
    char ts[40];
    std::snprintf(ts, sizeof ts, "2024-03-05 %02d:%02d:%02d", hour, min, sec);
    std::string agent = std::to_string(1001 + i % 7) + "@default";
    s += std::string(ts) + ".100000 [DEBUG] mod_callcenter.c:1180 Updated Agent " + agent + " set state = Receiving\n";
    s += std::string(ts) + ".200000 [DEBUG] sofia.c:7505 some noise line " + std::to_string(i) + "\n";
    if (i % junk_every == 0) s += "this line fits no layout " + std::to_string(i) + "\n";
    s += std::string(ts) + ".900000 [DEBUG] mod_callcenter.c:2139 Agent " + agent +
         (i % 3 ? " Origination Canceled : NO_ANSWER\n" : " Origination Canceled : USER_BUSY\n");
  }
  return s;
}

}  // namespace

TEST_CASE("ingest with a writer thread stores exactly what one thread stores") {
  testutil::TempDir tmp;
  fs::path logs = tmp / "logs";
  testutil::write_file(logs / "freeswitch.log", long_log(20000));
  // and every shipped fixture, whatever its format
  fs::path fixtures = testutil::source_dir() / "fixtures" / "logs";
  fs::path one = tmp / "one.db", two = tmp / "two.db";
  auto a = run_cli({"ingest", "--threads", "1", "--db", one.string(), "--tz", "Europe/London", logs.string(),
                    fixtures.string()});
  auto b = run_cli({"ingest", "--threads", "2", "--db", two.string(), "--tz", "Europe/London", logs.string(),
                    fixtures.string()});
  fs::path three = tmp / "three.db";
  auto c = run_cli({"ingest", "--threads", "3", "--db", three.string(), "--tz", "Europe/London", logs.string(),
                    fixtures.string()});
  INFO(a.out << a.err << b.out << b.err << c.out << c.err);
  CHECK(a.code == b.code);
  CHECK(a.code == c.code);
  std::string da = dump(one), db = dump(two);
  CHECK(da.size() > 20000 * 100);  // the long log's events are in
  CHECK(da == db);
  CHECK(da == dump(three));  // two parser threads besides the scan and the writer
}

TEST_CASE("the writer's batches come back to the scan emptied: no event or unmatched line is stored twice") {
  // unmatched lines far apart, so that their samples travel in different batches, and enough
  // events for the batches to be handed back and filled again several times
  testutil::TempDir tmp;
  fs::path log = tmp / "freeswitch.log";
  testutil::write_file(log, long_log(20000, 2500));
  for (const char* threads : {"2", "3"}) {
    CAPTURE(threads);
    fs::path db = tmp / (std::string("case-") + threads + ".db");
    auto r = run_cli({"ingest", "--threads", threads, "--db", db.string(), "--tz", "Europe/London", log.string()});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    auto store = Store::open(db.string(), Store::Mode::read_only);
    REQUIRE(store.ok());
    auto one = [&](const char* sql) {
      Statement q((*store)->db(), sql);
      REQUIRE(q.step());
      return q.text(0);
    };
    // 20000 offers, each a result; 2 of 3 lines per offer are stored (the noise is not)
    CHECK(one("SELECT count(*) || ',' || count(DISTINCT line) FROM events") == "40000,40000");
    CHECK(one("SELECT count(*) || ',' || count(DISTINCT line) FROM unmatched") == "8,8");
    CHECK(one("SELECT unmatched FROM inputs") == "8");
  }
}

TEST_CASE("a database writer that fails stops the scan and stores nothing of that input") {
  testutil::TempDir tmp;
  fs::path log = tmp / "freeswitch.log";
  testutil::write_file(log, long_log(20000));
  for (const char* threads : {"1", "2"}) {
    CAPTURE(threads);
    fs::path db = tmp / (std::string("case-") + threads + ".db");
    // create the database with a first small input, then make every insert past some row fail
    fs::path first = tmp / (std::string("first-") + threads + ".log");
    testutil::write_file(first, long_log(10) + "# " + threads + "\n");
    auto init = run_cli({"ingest", "--db", db.string(), first.string()});
    INFO(init.out << init.err);
    REQUIRE(init.code == 0);
    std::int64_t before = 0;
    {
      auto store = Store::open(db.string(), Store::Mode::read_write);
      REQUIRE(store.ok());
      REQUIRE((*store)
                  ->exec("CREATE TRIGGER fail_late BEFORE INSERT ON events WHEN NEW.line > 30000"
                         " BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;")
                  .ok());
      Statement q((*store)->db(), "SELECT count(*) FROM events");
      REQUIRE(q.step());
      before = q.int64(0);
    }
    auto r = run_cli({"ingest", "--threads", threads, "--db", db.string(), log.string()});
    INFO(r.out << r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find("disk trouble") != std::string::npos);
    auto store = Store::open(db.string(), Store::Mode::read_only);
    REQUIRE(store.ok());
    Statement q((*store)->db(), "SELECT count(*) FROM events");
    REQUIRE(q.step());
    CHECK(q.int64(0) == before);
    Statement in((*store)->db(), "SELECT count(*) FROM inputs WHERE path = ?");
    in.bind(1, log.string());
    REQUIRE(in.step());
    CHECK(in.int64(0) == 0);
  }
}

TEST_CASE("--threads must be a positive number") {
  testutil::TempDir tmp;
  auto r = run_cli({"ingest", "--threads", "0", "--db", (tmp / "x.db").string(), "-"});
  CHECK(r.code == 2);
  CHECK(r.err.find("--threads") != std::string::npos);
}

TEST_CASE("events made in reused slots carry nothing of the events before them") {
  // Answered offers (a queue, a reason) between canceled ones (neither) and state changes (a
  // state, no kind): each slot of the normalizer and of the writer's batches is filled by
  // events of every shape in turn, over many batches.
  std::string log;
  const int n = 12000;
  for (int i = 0; i < n; ++i) {
    char ts[40];
    std::snprintf(ts, sizeof ts, "2024-03-05 %02d:%02d:%02d", 9 + i / 3600, (i / 60) % 60, i % 60);
    std::string agent = std::to_string(1001 + i % 5) + "@default";
    std::string uuid = "3c9e1f20-6a7b-4c8d-9e0f-1a2b" + std::to_string(10000000 + i) + " ";
    switch (i % 3) {
      case 0:
        log += uuid + ts + ".100000 [DEBUG] mod_callcenter.c:1965 Agent " + agent +
               " answered \"Alice Walker\" <+442079460123> from queue sales@default\n";
        break;
      case 1:
        log += std::string(ts) + ".200000 [DEBUG] mod_callcenter.c:2139 Agent " + agent +
               " Origination Canceled : NO_ANSWER\n";
        break;
      default:
        log += std::string(ts) + ".300000 [DEBUG] mod_callcenter.c:1180 Updated Agent " + agent +
               " set status = Available\n";
    }
  }
  testutil::TempDir tmp;
  fs::path file = tmp / "freeswitch.log";
  testutil::write_file(file, log);
  for (const char* threads : {"1", "2", "3"}) {
    CAPTURE(threads);
    fs::path db = tmp / (std::string("slots-") + threads + ".db");
    auto r = run_cli({"ingest", "--threads", threads, "--db", db.string(), "--tz", "UTC", file.string()});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    auto store = Store::open(db.string(), Store::Mode::read_only);
    REQUIRE(store.ok());
    Statement q((*store)->db(),
                "SELECT type, coalesce(kind, '-'), coalesce(queue, '-'), coalesce(reason, '-'), coalesce(call, '-'),"
                " coalesce(state, '-'), coalesce(vendor_state, '-'), coalesce(initiator, '-'), count(*)"
                " FROM events GROUP BY 1, 2, 3, 4, 5 = '-', 6, 7, 8 ORDER BY 1, 2");
    std::string shapes;
    while (q.step()) {
      for (int c = 0; c < q.columns(); ++c) shapes += (c == 4 ? (q.text(c) == "-" ? "-" : "call") : q.text(c)) + "|";
      shapes += "\n";
    }
    CHECK(shapes ==
          "result|no_answer|-|NO_ANSWER|-|-|-|-|4000|\n"
          "result|normal|sales@default|answered|call|-|-|-|4000|\n"
          "state|-|-|-|-|ready|Available|unknown|4000|\n");
  }
}
