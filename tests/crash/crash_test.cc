// Crash consistency: `callaudit ingest` killed with SIGKILL at any moment must leave a database
// that SQLite finds intact and that holds only whole inputs, and running the same ingest again
// must give the same timeline as a run that was never interrupted.
//
// The real binary (CALLAUDIT_BINARY) ingests a few fixtures around two generated FreeSWITCH
// logs (the fixture's lines repeated day after day). Runs are measured first and the
// generated size is scaled so that a run takes about kTargetRunMs, or the fixed cost (start,
// catalog, fixtures, diagnosis) plus kMinBulkMs when the binary is slow (ASan): the test then
// stays well under a minute in either build. Then, kIterations times, on a fresh database:
// start the ingest, SIGKILL it after a random delay (seeded; spread over 0..1.1 x the measured
// run), check the database, run the same ingest to completion and compare it with the
// uninterrupted run. CALLAUDIT_CRASH_SEED=N replays another sequence of delays.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include "helpers.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using testutil::read_file;
using testutil::source_dir;
using testutil::write_file;

constexpr int kIterations = 30;
constexpr double kTargetRunMs = 450;        // one uninterrupted ingest, after scaling,
constexpr double kMinBulkMs = 200;          // of which the generated logs take at least this
constexpr size_t kMinGenerated = 256 << 10;  // bytes of generated log, at least
constexpr size_t kMaxGenerated = 16 << 20;   // and at most

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

// The FreeSWITCH fixture repeated, each copy one day later than the last (first_day days
// after 2024-03-05), until `bytes` are written (at least one copy). Returns the next free day.
int generate_log(const fs::path& file, size_t bytes, int first_day) {
  using namespace std::chrono;
  const std::string base = read_file(source_dir() / "fixtures" / "logs" / "freeswitch-log" / "freeswitch.log");
  REQUIRE(base.find("2024-03-05") != std::string::npos);
  std::string out;
  out.reserve(bytes + base.size());
  const sys_days day0 = sys_days(year{2024} / March / 5);
  int day = first_day;
  do {  // at least one copy
    year_month_day ymd(day0 + days(day++));
    char date[16];
    std::snprintf(date, sizeof date, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    out += replace_all(base, "2024-03-05", date);
  } while (out.size() < bytes);
  write_file(file, out);
  return day;
}

// Starts the binary with `args`, its output to `log`. Returns the pid.
pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv;
  std::string bin = CALLAUDIT_BINARY;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE_MESSAGE(rc == 0, "cannot start " << bin << ": " << std::strerror(rc));
  return pid;
}

int wait_exit(pid_t pid, bool* killed = nullptr) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (killed) *killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

void remove_db(const fs::path& db) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(db.string() + suffix);
}

// Opens like the next callaudit would (read-write: a hot journal is rolled back on first read).
struct Db {
  sqlite3* db = nullptr;
  explicit Db(const fs::path& p) {
    if (sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      std::string err = db ? sqlite3_errmsg(db) : "cannot open";
      sqlite3_close(db);
      db = nullptr;
      FAIL("cannot open " << p << ": " << err);
    }
    sqlite3_busy_timeout(db, 5000);
  }
  ~Db() { sqlite3_close(db); }
  // Every row of `sql`, columns joined by '|', rows by '\n'.
  std::string rows(const std::string& sql) const {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      std::string err = sqlite3_errmsg(db);
      FAIL("SQL error: " << err << " in: " << sql);
    }
    std::string out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (!out.empty()) out += '\n';
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        if (c) out += '|';
        const auto* t = sqlite3_column_text(st, c);
        out += t ? reinterpret_cast<const char*>(t) : "NULL";
      }
    }
    std::string err = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db);
    sqlite3_finalize(st);
    if (!err.empty()) FAIL("SQL error: " << err << " in: " << sql);
    return out;
  }
};

// What an ingest leaves, as comparable text: per input (by path) its row and the rows that
// point to it, then the totals and the diagnosis.
struct Snapshot {
  std::map<std::string, std::string> inputs;  // path -> "format|fingerprint|counts...|events rows|unmatched rows"
  std::string totals;
  std::string diagnosis;
};

const char* kInputRow =
    "SELECT i.path, i.format || '|' || i.fingerprint || '|' || i.bytes || '|' || i.lines || '|' || i.records || '|' ||"
    " i.parsed || '|' || i.unmatched || '|' || i.events || '|' || i.offers || '|' || i.results || '|' ||"
    " i.failures || '|' || i.states || '|' || coalesce(i.first_at, '') || '|' || coalesce(i.last_at, '') || '|' ||"
    " i.backwards || '|' || i.merged || '|' || i.zone || '|' || i.precision || ' events=' ||"
    " (SELECT count(*) FROM events e WHERE e.input_id = i.id) || ' unmatched_rows=' ||"
    " (SELECT count(*) FROM unmatched u WHERE u.input_id = i.id)"
    " FROM inputs i ORDER BY i.id";

Snapshot snapshot(const Db& d) {
  Snapshot s;
  std::string rows = d.rows(kInputRow);
  size_t pos = 0;
  while (pos < rows.size()) {
    size_t nl = rows.find('\n', pos);
    std::string line = rows.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? rows.size() : nl + 1;
    size_t bar = line.find('|');
    s.inputs[line.substr(0, bar)] = line.substr(bar + 1);
  }
  s.totals = d.rows(
      "SELECT (SELECT count(*) FROM inputs), (SELECT count(*) FROM events), (SELECT count(*) FROM unmatched),"
      " (SELECT count(*) FROM agent_aliases), (SELECT group_concat(type || ':' || n) FROM"
      " (SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY type))");
  s.diagnosis = d.rows("SELECT verdict, rule, count(*) FROM diagnosis GROUP BY verdict, rule ORDER BY verdict, rule");
  return s;
}

std::string describe(const Snapshot& s) {
  std::string out;
  for (const auto& [path, row] : s.inputs) out += "  " + path + ": " + row + "\n";
  out += "  totals (inputs|events|unmatched|aliases|by type): " + s.totals + "\n";
  out += "  diagnosis (verdict|rule|n): " + replace_all(s.diagnosis, "\n", "; ") + "\n";
  return out;
}

// The state right after a kill. Returns what is wrong (empty when all holds); `committed` is
// the number of inputs stored.
std::string check_after_kill(const fs::path& db_path, const Snapshot& full, int& committed) {
  committed = 0;
  if (!fs::exists(db_path)) return {};  // killed before the database was created
  Db d(db_path);
  std::string problems;
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) problems += "  " + what + "\n";
  };
  std::string integrity = d.rows("PRAGMA integrity_check");
  expect(integrity == "ok", "PRAGMA integrity_check: " + integrity);
  std::string version = d.rows("PRAGMA user_version");
  if (version == "0") {
    // killed while the schema was being created: it must then be absent altogether
    std::string tables = d.rows("SELECT count(*) FROM sqlite_master");
    expect(tables == "0", "user_version 0 but " + tables + " schema objects");
    return problems;
  }
  expect(version == "1", "user_version " + version);
  std::string fk = d.rows("PRAGMA foreign_key_check");
  expect(fk.empty(), "PRAGMA foreign_key_check: " + fk);
  std::string bad = d.rows(
      "SELECT id || ' ' || path || ': events=' || events || ' but ' ||"
      " (SELECT count(*) FROM events e WHERE e.input_id = i.id) || ' rows, fingerprint ' || fingerprint"
      " FROM inputs i WHERE events <> (SELECT count(*) FROM events e WHERE e.input_id = i.id)"
      " OR fingerprint LIKE 'pending:%'");
  expect(bad.empty(), "incomplete inputs:\n" + bad);
  std::string orphans = d.rows(
      "SELECT (SELECT count(*) FROM events WHERE input_id NOT IN (SELECT id FROM inputs)) || ' events, ' ||"
      " (SELECT count(*) FROM unmatched WHERE input_id NOT IN (SELECT id FROM inputs)) || ' unmatched'");
  expect(orphans == "0 events, 0 unmatched", "rows of missing inputs: " + orphans);
  // Every stored input is whole: the same row as in the uninterrupted run.
  Snapshot s = snapshot(d);
  committed = static_cast<int>(s.inputs.size());
  for (const auto& [path, row] : s.inputs) {
    auto it = full.inputs.find(path);
    if (it == full.inputs.end())
      problems += "  an input the uninterrupted run does not store: " + path + "\n";
    else
      expect(row == it->second, "input " + path + " differs from the uninterrupted run:\n    got  " + row +
                                    "\n    want " + it->second);
  }
  return problems;
}

}  // namespace

TEST_CASE("crash consistency: ingest killed with SIGKILL at random moments, then run again") {
  const auto t_start = Clock::now();
  testutil::TempDir tmp;
  const fs::path fx = source_dir() / "fixtures" / "logs";
  const fs::path big = tmp / "big.log";
  const fs::path big2 = tmp / "big-2.log";
  const fs::path db = tmp / "case.db";
  const fs::path log = tmp / "run.log";
  std::vector<std::string> args = {"ingest",
                                   "--db",
                                   db.string(),
                                   "--tz",
                                   "UTC",
                                   (fx / "asterisk-queue-log" / "queue_log").string(),
                                   (fx / "netcall-audit" / "audit.csv").string(),
                                   big.string(),
                                   (fx / "freeswitch-cdr-csv" / "Master.csv").string(),
                                   (fx / "bundle.zip").string(),
                                   big2.string(),
                                   (fx / "cxone-agent-state" / "agent-states.csv").string()};
  auto timed_run = [&](double& out_ms) {
    remove_db(db);
    auto t0 = Clock::now();
    int rc = wait_exit(spawn(args, log));
    out_ms = ms_since(t0);
    INFO("output:\n" << read_file(log));
    REQUIRE(rc == 0);
  };

  auto generate = [&](size_t bytes) {
    int next_day = generate_log(big, bytes * 7 / 10, 0);
    generate_log(big2, bytes * 3 / 10, next_day);
  };

  // Calibrate: a warm-up run, the run with one copy of the fixture in each generated log (the
  // fixed cost: start, catalog, fixtures, diagnosis), then sizes scaled until a run takes
  // about want_ms.
  double fixed_ms = 0, ms = 0;
  generate(1);
  timed_run(ms);
  timed_run(fixed_ms);
  const double want_ms = std::max(kTargetRunMs, fixed_ms + kMinBulkMs);
  size_t bytes = 1 << 20;
  for (int k = 0; k < 4; ++k) {
    generate(bytes);
    timed_run(ms);
    if (ms > want_ms * 0.8 && ms < want_ms * 1.25) break;
    double bulk_ms = std::max(ms - fixed_ms, 20.0);
    size_t next = static_cast<size_t>(static_cast<double>(bytes) * (want_ms - fixed_ms) / bulk_ms);
    next = std::clamp(next, kMinGenerated, kMaxGenerated);
    if (next == bytes) break;
    bytes = next;
  }
  generate(bytes);

  // The uninterrupted run: its time spreads the kills, its result is the reference.
  double full_ms = 0;
  timed_run(full_ms);
  Snapshot full;
  {
    Db d(db);
    REQUIRE(d.rows("PRAGMA integrity_check") == "ok");
    full = snapshot(d);
  }
  REQUIRE(full.inputs.size() >= 6);
  MESSAGE("generated " << (bytes >> 10) << " KiB of FreeSWITCH log; uninterrupted ingest " << full_ms
                       << " ms (aimed at " << want_ms << " ms; fixtures alone " << fixed_ms
                       << " ms); reference:\n"
                       << describe(full));

  std::uint64_t seed = 20240305;
  if (const char* s = std::getenv("CALLAUDIT_CRASH_SEED"); s && *s) seed = std::strtoull(s, nullptr, 10);
  std::mt19937_64 rng(seed);
  // The kills spread over the fastest whole run seen so far (the reference, and the runs again
  // after a kill that left no input stored): the reference may have run on a busy machine, and
  // kills drawn past the end of a faster run hit nothing.
  double fastest_ms = full_ms;
  int killed_runs = 0, with_journal = 0, none_committed = 0, some_committed = 0, all_committed = 0, no_db = 0;
  const int n_inputs = static_cast<int>(full.inputs.size());
  for (int it = 0; it < kIterations; ++it) {
    remove_db(db);
    double delay = std::uniform_real_distribution<double>(0, fastest_ms * 1.1)(rng);
    pid_t pid = spawn(args, log);
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<std::int64_t>(delay * 1000)));
    kill(pid, SIGKILL);
    bool killed = false;
    int rc = wait_exit(pid, &killed);
    INFO("iteration " << it << " (seed " << seed << "), SIGKILL after " << delay << " ms of " << fastest_ms
                      << " ms; " << (killed ? "killed" : "had already exited with " + std::to_string(rc)));
    if (killed) {
      ++killed_runs;
    } else {
      INFO("output:\n" << read_file(log));
      CHECK(rc == 0);
    }
    bool journal = fs::exists(db.string() + "-journal") && fs::file_size(db.string() + "-journal") > 0;
    with_journal += journal;
    if (!fs::exists(db)) ++no_db;

    int committed = 0;
    std::string problems = check_after_kill(db, full, committed);
    CHECK_MESSAGE(problems.empty(), "after the kill (journal left: " << journal << "):\n" << problems);
    if (fs::exists(db)) {
      if (committed == 0) ++none_committed;
      else if (committed < n_inputs) ++some_committed;
      else ++all_committed;
    }

    // The same ingest again, to the end: the same timeline as the uninterrupted run.
    const auto again_t0 = Clock::now();
    int rc2 = wait_exit(spawn(args, log));
    if (committed == 0) fastest_ms = std::min(fastest_ms, ms_since(again_t0));  // a whole run again
    {
      INFO("output of the second run:\n" << read_file(log));
      REQUIRE(rc2 == 0);
    }
    Db d(db);
    CHECK(d.rows("PRAGMA integrity_check") == "ok");
    Snapshot again = snapshot(d);
    bool same = again.inputs == full.inputs && again.totals == full.totals && again.diagnosis == full.diagnosis;
    CHECK_MESSAGE(same, "after " << committed << " inputs committed, the second run gives:\n"
                                 << describe(again) << "instead of:\n"
                                 << describe(full));
  }
  double total_ms = ms_since(t_start);
  MESSAGE(kIterations << " kills (seed " << seed << "): " << killed_runs << " killed, "
                      << kIterations - killed_runs << " had finished; " << with_journal << " left a journal; "
                      << no_db << " before the database existed, " << none_committed << " with no input stored, "
                      << some_committed << " with some, " << all_committed << " with all " << n_inputs
                      << "; fastest uninterrupted run " << fastest_ms << " ms; whole test " << total_ms / 1000 << " s");
  // The kills must have hit runs in progress, some in the middle of an input's transaction.
  CHECK(killed_runs >= kIterations / 2);
  CHECK(with_journal >= 3);
}

TEST_CASE("crash consistency: the checks catch a torn input and rows without their input") {
  // The checks above must have teeth: a database made inconsistent by hand fails them.
  testutil::TempDir tmp;
  const fs::path fx = source_dir() / "fixtures" / "logs";
  const fs::path db = tmp / "case.db";
  std::vector<std::string> args = {"ingest", "--db", db.string(), "--tz", "UTC",
                                   (fx / "netcall-audit" / "audit.csv").string(),
                                   (fx / "asterisk-queue-log" / "queue_log").string()};
  REQUIRE(wait_exit(spawn(args, tmp / "run.log")) == 0);
  Snapshot full;
  int committed = 0;
  {
    Db d(db);
    full = snapshot(d);
    REQUIRE(full.inputs.size() == 2);
  }
  CHECK(check_after_kill(db, full, committed).empty());
  CHECK(committed == 2);
  {
    Db d(db);
    d.rows("UPDATE inputs SET fingerprint = 'pending:1:x' WHERE id = 1");
    d.rows("DELETE FROM events WHERE id = (SELECT max(id) FROM events WHERE input_id = 2)");
    d.rows("INSERT INTO unmatched (input_id, line, text, why) VALUES (99, 1, 'x', 'y')");
  }
  std::string problems = check_after_kill(db, full, committed);
  CHECK(problems.find("incomplete inputs") != std::string::npos);
  CHECK(problems.find("pending:1:x") != std::string::npos);
  CHECK(problems.find("events=33 but 32 rows") != std::string::npos);
  CHECK(problems.find("0 events, 1 unmatched") != std::string::npos);
  CHECK(problems.find("differs from the uninterrupted run") != std::string::npos);
}
