// callaudit shell: the real binary with commands on standard input (not a terminal), over a
// database ingested from the demo ticket.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "helpers.h"

using namespace testutil;

namespace {

std::string quote(const std::string& s) {
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::vector<std::string> split_csv_simple(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ',')) out.push_back(cell);
  return out;
}

// Every file of a folder with its content.
std::map<std::string, std::string> snapshot(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    out[e.path().filename().string()] = read_file(e.path());
  return out;
}

struct Case {
  TempDir dir;
  std::filesystem::path db = dir / "case" / "t.db";

  Case() {
    std::filesystem::create_directories(db.parent_path());
    auto r = run_cli(
        {"ingest", "--db", db.string(), "--tz", "Europe/London", (source_dir() / "fixtures/logs/bundle.zip").string()});
    REQUIRE(r.code == 0);
  }

  // Runs `callaudit shell --db DB extra... < commands` in the temp folder; stdout and stderr apart.
  RunResult shell(const std::string& commands, const std::string& extra = "") const {
    write_file(dir / "cmds.txt", commands);
    std::string cmd = "cd " + quote(dir.path().string()) + " && " + quote(CALLAUDIT_BINARY) + " shell --db " +
                      quote(db.string()) + " " + extra + " < " + quote((dir / "cmds.txt").string()) + " > " +
                      quote((dir / "out.txt").string()) + " 2> " + quote((dir / "err.txt").string());
    int rc = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(rc));
    return {WEXITSTATUS(rc), read_file(dir / "out.txt"), read_file(dir / "err.txt")};
  }

  std::string query(const std::string& sql, const std::string& format = "table") const {
    auto r = run_cli({"query", "--db", db.string(), "--format", format, sql});
    REQUIRE(r.code == 0);
    return r.out;
  }
};

}  // namespace

TEST_CASE("shell: .agents lists every agent with offers, failures and verdicts") {
  Case c;
  auto r = c.shell(".agents\n");
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("agent_id") != std::string::npos);
  CHECK(r.out.find("configuration") != std::string::npos);
  bool found = false;
  for (const auto& l : lines_of(r.out)) found = found || l.rfind("1042 ", 0) == 0;
  CHECK(found);

  // as CSV: the verdict counts are the stored ones, and add up to the agent's failures
  auto csv = lines_of(c.shell(".format csv\n.agents\n").out);
  REQUIRE(csv.size() > 3);
  CHECK(csv[1] == "agent_id,name,offers,failures,agent,system,configuration,benign,unknown");
  for (size_t i = 2; i < csv.size(); ++i) {
    CAPTURE(csv[i]);
    auto cells = split_csv_simple(csv[i]);
    REQUIRE(cells.size() == 9);
    int sum = 0;
    for (size_t k = 4; k < 9; ++k) sum += std::stoi(cells[k]);
    CHECK(sum == std::stoi(cells[3]));
  }
  std::string expected = lines_of(
      c.query("SELECT a.agent, a.name, a.offers, a.failures, sum(f.verdict = 'agent'), sum(f.verdict = 'system'),"
              " sum(f.verdict = 'configuration'), sum(f.verdict = 'benign'), sum(f.verdict = 'unknown')"
              " FROM agents a JOIN failures f ON f.agent = a.agent WHERE a.agent = '1042' GROUP BY a.agent",
              "csv"))[1];
  CHECK(std::find(csv.begin(), csv.end(), expected) != csv.end());
  CHECK(expected.rfind("1042,", 0) == 0);
}

TEST_CASE("shell: .failures VERDICT lists only that verdict, and .explain shows one of them") {
  Case c;
  auto r = c.shell(".format csv\n.failures agent\n");
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() >= 3);
  CHECK(lines[0] == "format csv");
  CHECK(lines[1] == "id,time,agent,kind,verdict,rule");
  std::vector<std::string> ids;
  for (size_t i = 2; i < lines.size(); ++i) {
    auto cells = split_csv_simple(lines[i]);
    REQUIRE(cells.size() == 6);
    CHECK(cells[4] == "agent");
    ids.push_back(cells[0]);
  }
  CHECK(c.query("SELECT count(*) AS n FROM failures WHERE verdict = 'agent'", "csv") ==
        "n\n" + std::to_string(ids.size()) + "\n");

  auto all = c.shell(".failures\n");
  CHECK(all.out.find("times in UTC") != std::string::npos);
  CHECK(all.out.find("system") != std::string::npos);

  auto e = c.shell(".explain " + ids.front() + "\n");
  CHECK(e.code == 0);
  CHECK(e.err.empty());
  CHECK(e.out.rfind("failure " + ids.front() + " ", 0) == 0);
  CHECK(e.out.find("  rules\n") != std::string::npos);
  CHECK(e.out.find("  evidence\n") != std::string::npos);
  // the same text as 'callaudit explain'
  CHECK(e.out == run_cli({"explain", "--db", c.db.string(), ids.front()}).out);

  auto bad = c.shell(".failures nobody\n.explain 999999\n.explain x\nSELECT 1 AS after;\n");
  CHECK(bad.code == 0);
  CHECK(bad.err.find("unknown verdict 'nobody'") != std::string::npos);
  CHECK(bad.err.find("no failure with id 999999") != std::string::npos);
  CHECK(bad.err.find("not a failure id: 'x'") != std::string::npos);
  CHECK(bad.out.find("after") != std::string::npos);
}

TEST_CASE("shell: .timeline shows the same trail as 'callaudit timeline', with the zone") {
  Case c;
  auto r = c.shell(".timeline 1042 around 2026-03-14T09:12:33Z window 30\n");
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.rfind("times in UTC\n", 0) == 0);
  CHECK(r.out.find("declined_by_agent") != std::string::npos);
  CHECK(r.out.find("\n3 events\n") != std::string::npos);
  auto t = run_cli(
      {"timeline", "--db", c.db.string(), "--agent", "1042", "--around", "2026-03-14T09:12:33Z", "--window", "30"});
  REQUIRE(t.code == 0);
  CHECK(r.out == t.out);

  auto bad = c.shell(".timeline\n.timeline 1042 around yesterday\n.timeline 1042 window 0\nSELECT 1 AS after;\n");
  CHECK(bad.code == 0);
  CHECK(bad.err.find("usage: .timeline AGENT") != std::string::npos);
  CHECK(bad.out.find("after") != std::string::npos);
}

TEST_CASE("shell: plain SQL prints what 'callaudit query' prints, over several lines too") {
  Case c;
  std::string expected = c.query("SELECT count(*) AS n FROM failures");
  CHECK(expected.find("\n20\n") != std::string::npos);
  auto r = c.shell("SELECT count(*) AS n FROM failures;\n");
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == expected);

  auto multi = c.shell(
      "SELECT count(*)\n  AS n\n-- a comment\nFROM failures\n;\n\nSELECT count(*) AS n FROM failures; SELECT 'a;b' AS "
      "s;\n");
  CHECK(multi.out == expected + expected + "s\n---\na;b\n(1 row)\n");

  auto formats = c.shell(".format json\nSELECT count(*) AS n FROM failures;\n.format xml\n");
  CHECK(formats.out == "format json\n" + c.query("SELECT count(*) AS n FROM failures", "json"));
  CHECK(formats.err.find("format must be table, csv or json") != std::string::npos);

  // a statement left without ';' at the end of the input still runs
  CHECK(c.shell("SELECT count(*) AS n FROM failures\n").out == expected);
}

TEST_CASE("shell: writes, ATTACH, load_extension and pragmas are refused and the database is untouched") {
  Case c;
  auto before = snapshot(c.db.parent_path());
  REQUIRE(before.size() == 1);
  for (const std::string& stmt :
       std::vector<std::string>{"DELETE FROM events;", "ATTACH 'x.db' AS x;", "SELECT load_extension('x');",
                                "PRAGMA writable_schema=1;", "PRAGMA user_version=7;", "DROP VIEW failures;",
                                "UPDATE diagnosis SET verdict = 'benign';", "CREATE TABLE t (a);"}) {
    CAPTURE(stmt);
    auto r = c.shell(stmt + "\nSELECT 1 AS still_here;\n");
    CHECK(r.code == 0);
    CHECK(r.err.find("refused: the timeline is read-only here") != std::string::npos);
    CHECK(r.out.find("still_here") != std::string::npos);
    CHECK(snapshot(c.db.parent_path()) == before);
  }
  CHECK(!std::filesystem::exists(c.dir / "x.db"));
  CHECK(!std::filesystem::exists(c.dir / "case" / "x.db"));
  CHECK(c.query("SELECT count(*) AS n FROM events", "csv") != "n\n0\n");
}

TEST_CASE("shell: an unknown dot-command is an error, the shell goes on, and .quit stops") {
  Case c;
  auto r = c.shell(".foo bar\nSELECT 2 AS two;\n.quit\nSELECT 3 AS three;\n");
  CHECK(r.code == 0);
  CHECK(r.err == "error: unknown command '.foo' (.help lists them)\n");
  CHECK(r.out.find("two") != std::string::npos);
  CHECK(r.out.find("three") == std::string::npos);

  auto h = c.shell(".help\n");
  for (const char* cmd : {".agents", ".failures", ".timeline", ".explain", ".incidents", ".tz", ".format", ".quit"})
    CHECK(h.out.find(cmd) != std::string::npos);
  CHECK(c.shell(".incidents\n").out.find("times in UTC") != std::string::npos);
}

TEST_CASE("shell: .tz changes the zone times are shown in") {
  Case c;
  auto r = c.shell(
      ".tz Europe/London\n.timeline 1042 around '2026-03-14 09:12:33' window 30\n"
      ".tz America/New_York\n.failures agent\n.tz Mars/Olympus\n.tz\n");
  CHECK(r.code == 0);
  CHECK(r.out.rfind("times in Europe/London\ntimes in Europe/London\n", 0) == 0);
  CHECK(r.out.find("times in UTC") == std::string::npos);
  CHECK(r.out.find("declined_by_agent") != std::string::npos);
  // the agent's decline at 09:12:33Z is 05:12:33 in New York (EDT)
  CHECK(r.out.find("times in America/New_York") != std::string::npos);
  CHECK(r.out.find("2026-03-14 05:12:33") != std::string::npos);
  CHECK(r.err.find("unknown time zone 'Mars/Olympus'") != std::string::npos);
  CHECK(r.out.substr(r.out.size() - std::string("times in America/New_York\n").size()) ==
        "times in America/New_York\n");

  auto opt = c.shell(".timeline 1042 around 2026-03-14T09:12:33Z window 30\n", "--display-tz Europe/London");
  CHECK(opt.out.rfind("times in Europe/London\n", 0) == 0);
}

TEST_CASE("shell: a database that cannot be opened is exit status 1") {
  TempDir dir;
  write_file(dir / "cmds.txt", "SELECT 1;\n");
  std::string cmd = quote(CALLAUDIT_BINARY) + " shell --db " + quote((dir / "none.db").string()) + " < " +
                    quote((dir / "cmds.txt").string()) + " > /dev/null 2> " + quote((dir / "err.txt").string());
  int rc = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(rc));
  CHECK(WEXITSTATUS(rc) == 1);
  CHECK(read_file(dir / "err.txt").find("no such database") != std::string::npos);
  CHECK(!std::filesystem::exists(dir / "none.db"));
}
