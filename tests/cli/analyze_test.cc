// callaudit analyze: ingest, one diagnosis, the report and the summary line in one command,
// with or without a database kept for the shell.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callaudit/report.h"
#include "callaudit/store.h"
#include "helpers.h"

namespace fs = std::filesystem;
using namespace callaudit;
using testutil::read_file;
using testutil::run_cli;

namespace {

fs::path scenario_inputs(const char* name) { return testutil::source_dir() / "fixtures" / "scenarios" / name / "inputs"; }

std::int64_t scalar(const fs::path& db, const std::string& sql) {
  auto store = Store::open(db.string(), Store::Mode::read_only);
  REQUIRE(store.ok());
  Statement q((*store)->db(), sql);
  REQUIRE(q.ok());
  REQUIRE(q.step());
  return q.int64(0);
}

}  // namespace

TEST_CASE("analyze writes the same report as ingest + report, and keeps --db queryable") {
  testutil::TempDir tmp;
  fs::path in = scenario_inputs("r5-network-incident-many-agents");
  fs::path db = tmp / "kept.db", ref_db = tmp / "ref.db";
  for (const char* threads : {"1", "2"}) {
    CAPTURE(threads);
    fs::remove(db);
    auto a = run_cli({"analyze", "--threads", threads, "--tz", "Europe/London", "--db", db.string(), "-o",
                      (tmp / "a.md").string(), in.string()});
    INFO(a.out << a.err);
    REQUIRE(a.code == 0);
    CHECK(a.out.find("failed offers out of") != std::string::npos);
    CHECK(a.out.find("report: " + (tmp / "a.md").string()) != std::string::npos);

    fs::remove(ref_db);
    REQUIRE(run_cli({"ingest", "--tz", "Europe/London", "--db", ref_db.string(), in.string()}).code == 0);
    auto r = run_cli({"report", "--db", ref_db.string(), "--format", "md", "-o", (tmp / "r.md").string()});
    REQUIRE(r.code == 0);
    CHECK(read_file(tmp / "a.md") == read_file(tmp / "r.md"));

    // the kept database has the saved diagnosis behind the SQL views
    std::int64_t failures = scalar(db, "SELECT count(*) FROM events WHERE type = 'result' AND kind <> 'normal'");
    CHECK(failures > 0);
    CHECK(scalar(db, "SELECT count(*) FROM failures") == failures);
    CHECK(scalar(db, "SELECT count(*) FROM incidents") >= 1);
  }
}

TEST_CASE("analyze without --db reports the same and leaves no database behind") {
  testutil::TempDir tmp;
  fs::path in = scenario_inputs("r6-one-agent-forbidden");
  auto a = run_cli({"analyze", "--tz", "Europe/London", "-o", (tmp / "tmp.json").string(), in.string()});
  INFO(a.out << a.err);
  REQUIRE(a.code == 0);
  // the summary names no database that is already gone
  CHECK(a.out.find("inputs: 1 ingested") != std::string::npos);
  CHECK(a.out.find(".db:") == std::string::npos);
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
    CHECK(e.path().filename().string().find("callaudit-" + std::to_string(::getpid()) + ".db") == std::string::npos);

  auto b = run_cli({"analyze", "--tz", "Europe/London", "--db", (tmp / "kept.db").string(), "-o",
                    (tmp / "kept.json").string(), in.string()});
  REQUIRE(b.code == 0);
  std::string t = read_file(tmp / "tmp.json"), k = read_file(tmp / "kept.json");
  CHECK(t.size() > 100);
  CHECK(t == k);

  // the HTML too, whose state lanes read the timeline through an index: the temporary
  // database holds only the indexes the report needs
  auto h1 = run_cli({"analyze", "--tz", "Europe/London", "-o", (tmp / "tmp.html").string(), in.string()});
  auto h2 = run_cli({"analyze", "--tz", "Europe/London", "--db", (tmp / "kept2.db").string(), "-o",
                     (tmp / "kept.html").string(), in.string()});
  REQUIRE(h1.code == 0);
  REQUIRE(h2.code == 0);
  std::string th = read_file(tmp / "tmp.html"), kh = read_file(tmp / "kept.html");
  CHECK(th.find("Agent states around failures") != std::string::npos);
  CHECK(th == kh);
}

TEST_CASE("analyze's temporary database leaves out the detail that only queries show; the report is the same") {
  testutil::TempDir tmp;
  fs::path in = scenario_inputs("freeswitch-403-vs-603");
  for (const char* format : {"json", "html", "md"}) {
    CAPTURE(format);
    const std::string t = (tmp / (std::string("tmp.") + format)).string(), k = (tmp / (std::string("kept.") + format)).string();
    fs::remove(tmp / "kept.db");
    REQUIRE(run_cli({"analyze", "-o", t, in.string()}).code == 0);
    REQUIRE(run_cli({"analyze", "--db", (tmp / "kept.db").string(), "-o", k, in.string()}).code == 0);
    // the kept database has the merged legs' lines in `detail`: there was something to leave out
    CHECK(scalar(tmp / "kept.db", "SELECT count(*) FROM events WHERE detail LIKE 'line %'") > 0);
    CHECK(read_file(t).size() > 100);
    CHECK(read_file(t) == read_file(k));
  }
}

TEST_CASE("a database opened for writing waits for the disk at each commit; a scratch one does not") {
  testutil::TempDir tmp;
  auto synchronous = [](callaudit::Store& s) {
    callaudit::Statement q(s.db(), "PRAGMA synchronous");
    REQUIRE(q.step());
    return q.int64(0);
  };
  auto kept = callaudit::Store::open((tmp / "kept.db").string(), callaudit::Store::Mode::read_write);
  REQUIRE(kept.ok());
  CHECK(synchronous(**kept) == 1);  // NORMAL
  auto scratch = callaudit::Store::open((tmp / "scratch.db").string(), callaudit::Store::Mode::read_write);
  REQUIRE(scratch.ok());
  REQUIRE((*scratch)->skip_sync().ok());
  CHECK(synchronous(**scratch) == 0);  // OFF
  CHECK(synchronous(**kept) == 1);     // per connection
}

TEST_CASE("a kept database has every index; the report-only set is two others, or none without lanes") {
  testutil::TempDir tmp;
  auto count = [](const fs::path& db) {
    auto store = callaudit::Store::open(db.string(), callaudit::Store::Mode::read_write);
    REQUIRE(store.ok());
    callaudit::Statement q((*store)->db(), "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema"
                                           " WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name)");
    REQUIRE(q.step());
    return q.text(0);
  };
  fs::path in = scenario_inputs("r6-one-agent-forbidden");
  auto a = run_cli({"analyze", "--tz", "Europe/London", "--db", (tmp / "kept.db").string(), "-o",
                    (tmp / "kept.json").string(), in.string()});
  REQUIRE(a.code == 0);
  CHECK(count(tmp / "kept.db") == "events_agent_at events_input_line events_type_at unmatched_input");
  {
    auto store = callaudit::Store::open((tmp / "fresh.db").string(), callaudit::Store::Mode::read_write);
    REQUIRE(store.ok());
    REQUIRE((*store)->create_indexes(callaudit::Store::Indexes::for_report).ok());
  }
  CHECK(count(tmp / "fresh.db") == "events_state_agent_at unmatched_input");
  {
    // a report without lanes (JSON, Markdown) reads nothing through an index
    auto store = callaudit::Store::open((tmp / "bare.db").string(), callaudit::Store::Mode::read_write);
    REQUIRE(store.ok());
    REQUIRE((*store)->create_indexes(callaudit::Store::Indexes::none).ok());
  }
  CHECK(count(tmp / "bare.db") == "");
  {
    // the full set sorts through temporary files, then the connection keeps its temporary
    // tables in memory again
    auto store = callaudit::Store::open((tmp / "full.db").string(), callaudit::Store::Mode::read_write);
    REQUIRE(store.ok());
    REQUIRE((*store)->create_indexes().ok());
    callaudit::Statement q((*store)->db(), "PRAGMA temp_store");
    REQUIRE(q.step());
    CHECK(q.int64(0) == 2);
  }
  CHECK(count(tmp / "full.db") == "events_agent_at events_input_line events_type_at unmatched_input");
  // the state lanes' lookups go through the partial index, not a scan of the table
  auto store = callaudit::Store::open((tmp / "fresh.db").string(), callaudit::Store::Mode::read_only);
  REQUIRE(store.ok());
  using Q = callaudit::StateBandQueries;
  for (const char* sql : {Q::last_time, Q::last_at, Q::inside}) {
    callaudit::Statement q((*store)->db(), std::string("EXPLAIN QUERY PLAN ") + sql);
    REQUIRE(q.ok());
    std::string plan;
    while (q.step()) plan += q.text(3) + "\n";
    CAPTURE(sql);
    CHECK(plan.find("USING INDEX events_state_agent_at") != std::string::npos);
  }
}

TEST_CASE("a report written over the last one replaces a plain file, and writes through a link") {
  testutil::TempDir tmp;
  fs::path in = scenario_inputs("r6-one-agent-forbidden");
  auto analyze = [&](const fs::path& out) {
    auto r = run_cli({"analyze", "--tz", "Europe/London", "-o", out.string(), in.string()});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
  };
  const fs::path plain = tmp / "plain.json";
  analyze(plain);
  const std::string want = read_file(plain);
  REQUIRE(want.find("\"failures\"") != std::string::npos);
  // a plain file: a new file in its place, with the old one's permissions; who still has the
  // old one open reads the old report (a truncated file would show the new one)
  testutil::write_file(plain, "old report");
  fs::permissions(plain, fs::perms::owner_read | fs::perms::owner_write);
  std::ifstream old_open(plain, std::ios::binary);
  REQUIRE(old_open);
  analyze(plain);
  CHECK(read_file(plain) == want);
  std::string old_text((std::istreambuf_iterator<char>(old_open)), std::istreambuf_iterator<char>());
  CHECK(old_text == "old report");
  struct stat st {};
  REQUIRE(::lstat(plain.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  // a symbolic link stays one: the file it names gets the report
  const fs::path target = tmp / "target.json", link = tmp / "link.json";
  testutil::write_file(target, "old report");
  fs::create_symlink(target, link);
  analyze(link);
  CHECK(fs::is_symlink(link));
  CHECK(read_file(target) == want);
  // a file of two names: both still name the same file, which has the report
  const fs::path first = tmp / "first.json", second = tmp / "second.json";
  testutil::write_file(first, "old report");
  fs::create_hard_link(first, second);
  analyze(first);
  CHECK(fs::hard_link_count(first) == 2);
  CHECK(read_file(second) == want);
}

TEST_CASE("a report that cannot be written is an error that says why; a link named by -o is not removed") {
  // /dev/full takes no byte: every write fails with "No space left on device"
  REQUIRE(fs::exists("/dev/full"));
  testutil::TempDir tmp;
  fs::path in = scenario_inputs("r6-one-agent-forbidden");
  const fs::path link = tmp / "report.json";
  fs::create_symlink("/dev/full", link);
  for (const char* threads : {"1", "3"}) {  // written after the diagnosis, and while it runs
    CAPTURE(threads);
    auto r = run_cli({"analyze", "--threads", threads, "--tz", "Europe/London", "-o", link.string(), in.string()});
    INFO(r.out << r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find("cannot write " + link.string() + ": No space left on device") != std::string::npos);
    CHECK(fs::is_symlink(link));  // the user's link stays (removing it was the old way out)
    CHECK(r.out.find("report: ") == std::string::npos);
  }
}
