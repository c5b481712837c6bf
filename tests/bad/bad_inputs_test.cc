// Bad inputs: every folder under fixtures/bad/ is one case. Its case.toml gives the command,
// the exit status, what stdout/stderr must say and what the database holds afterwards; some
// inputs are made at test time (too big to ship, or needing a symlink, chmod or a newer
// schema). The command runs as a real process (CALLAUDIT_BINARY) so that a crash or a hang
// fails its own case instead of the whole run. See docs/bad-input.md for the table.
//
// case.toml keys (all but `command` optional):
//   command          = ["ingest", "--tz", "Europe/London", "{dir}/input.csv"]
//                      {dir} = the case folder, {tmp} = a fresh temp folder. For ingest,
//                      diagnose, query, explain, timeline and report, "--db {tmp}/case.db" is
//                      added unless the command gives --db.
//   exit             = 1
//   stdout_contains  = ["..."]   stderr_contains = ["..."]   (substrings)
//   stdout_lacks     = ["..."]   stderr_lacks    = ["..."]
//   generate         = "long-line" | "zip-bomb" | "tar-gz-bomb" | "zip-bomb-split-entries" |
//                      "symlink-loop" | "chmod-000" | "newer-schema" | "empty-dir"
//   copy             = ["notes.txt"]         copied from {dir} to {tmp} before the command
//   before           = [["ingest", ...]]     commands run first; each must exit 0
//   unchanged        = [{ file = "{tmp}/notes.txt", same_as = "{dir}/notes.txt" }]
//   absent           = ["{tmp}/notes.txt-journal"]
//   timeout          = 300                   seconds before the case counts as hung
//   [after] / [[after]]  sql = "...", equals = "...", db = "{tmp}/x.db" (default: the case db)
//                      run as `callaudit query --db DB --format csv SQL`; `equals` is the CSV
//                      without its header line (rows joined by "\n").
//   [as_root]        exit / stdout_contains / stderr_contains / after used instead when the
//                      tests run as root (root reads a chmod 000 file).
//   known_bug        = "what is wrong": the expectations describe the RIGHT behaviour; while the
//                      tool still gets it wrong the case only warns (doctest WARN), so CI stays
//                      green and the bug stays visible. When it starts passing, remove the key.
#include <doctest/doctest.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <set>
#include <thread>
#include <utility>

#include "helpers.h"

extern char** environ;

namespace fs = std::filesystem;
using testutil::read_file;
using testutil::run_cli;
using testutil::write_file;

namespace {

constexpr int kMinCases = 18;

fs::path cases_root() { return testutil::source_dir() / "fixtures" / "bad"; }

std::vector<fs::path> case_dirs() {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(cases_root()))
    if (e.is_directory() && fs::exists(e.path() / "case.toml")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

struct Vars {
  fs::path dir, tmp;
  std::string operator()(const std::string& s) const {
    return replace_all(replace_all(s, "{dir}", dir.string()), "{tmp}", tmp.string());
  }
};

std::vector<std::string> strings(const toml::node* n, const Vars& v) {
  std::vector<std::string> out;
  if (const auto* a = n ? n->as_array() : nullptr)
    for (const auto& e : *a)
      if (auto s = e.value<std::string>()) out.push_back(v(*s));
  return out;
}

std::string shorten(const std::string& s, size_t max = 4000) {
  return s.size() <= max ? s : s.substr(0, max) + "\n... (" + std::to_string(s.size() - max) + " more bytes)";
}

// ---- running the real binary, with a time limit

struct ProcResult {
  int code = -1;
  int signal = 0;
  bool timed_out = false;
  std::string out, err;
};

ProcResult run_binary(const std::vector<std::string>& args, const fs::path& scratch, int timeout_s) {
  ProcResult r;
  fs::path out_file = scratch / "stdout.txt", err_file = scratch / "stderr.txt";
  std::vector<std::string> argv_s{CALLAUDIT_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE_MESSAGE(rc == 0, "cannot start " << CALLAUDIT_BINARY << ": " << std::strerror(rc));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = read_file(out_file);
  r.err = read_file(err_file);
  return r;
}

// ---- generated inputs

// Streams `head` then `zeros` zero bytes into an open libarchive writer as one entry.
void write_entry(archive* a, const std::string& name, const std::string& head, std::uint64_t zeros) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, static_cast<la_int64_t>(head.size() + zeros));
  archive_entry_set_mtime(e, 1773482400, 0);  // 2026-03-14
  REQUIRE_MESSAGE(archive_write_header(a, e) == ARCHIVE_OK, archive_error_string(a));
  archive_entry_free(e);
  REQUIRE(archive_write_data(a, head.data(), head.size()) == static_cast<la_ssize_t>(head.size()));
  std::string chunk(1 << 20, '\0');
  for (std::uint64_t left = zeros; left > 0;) {
    size_t n = static_cast<size_t>(std::min<std::uint64_t>(left, chunk.size()));
    REQUIRE(archive_write_data(a, chunk.data(), n) == static_cast<la_ssize_t>(n));
    left -= n;
  }
}

// A bzip2 stream of `head` + `zeros` zero bytes, in memory.
std::string bzip2_of(const std::string& head, std::uint64_t zeros) {
  std::string buf(4 << 20, '\0');
  size_t used = 0;
  archive* a = archive_write_new();
  REQUIRE(archive_write_set_format_raw(a) == ARCHIVE_OK);
  REQUIRE_MESSAGE(archive_write_add_filter_bzip2(a) == ARCHIVE_OK, archive_error_string(a));
  REQUIRE(archive_write_open_memory(a, buf.data(), buf.size(), &used) == ARCHIVE_OK);
  write_entry(a, "data", head, zeros);
  REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
  buf.resize(used);
  return buf;
}

void generate(const std::string& what, const Vars& v) {
  const fs::path& dir = v.dir;
  const fs::path& tmp = v.tmp;
  if (what == "long-line") {
    // {tmp}/big.log: the lines of head.log, then one 10 MiB line.
    std::string s = read_file(dir / "head.log");
    s.append(10u << 20, 'x');
    s += '\n';
    write_file(tmp / "big.log", s);
  } else if (what == "zip-bomb") {
    // {tmp}/bomb.zip: one deflated entry freeswitch.log = head.log + 200 MiB of zero bytes
    // (~200 KiB compressed: an expansion of ~1030x). The log lines first make it readable, so
    // the tool reads on into the zeros instead of refusing the entry as binary.
    archive* a = archive_write_new();
    REQUIRE(archive_write_set_format_zip(a) == ARCHIVE_OK);
    (void)archive_write_set_options(a, "zip:compression=deflate");
    (void)archive_write_set_options(a, "zip:compression-level=9");
    REQUIRE(archive_write_open_filename(a, (tmp / "bomb.zip").c_str()) == ARCHIVE_OK);
    write_entry(a, "freeswitch.log", read_file(dir / "head.log"), 200ull << 20);
    REQUIRE(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
  } else if (what == "tar-gz-bomb") {
    // {tmp}/bomb.tar.gz: a tar holding freeswitch.log = head.log + 200 MiB of zeros, gzipped.
    archive* a = archive_write_new();
    REQUIRE(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
    REQUIRE(archive_write_add_filter_gzip(a) == ARCHIVE_OK);
    (void)archive_write_set_filter_option(a, "gzip", "compression-level", "9");
    REQUIRE(archive_write_open_filename(a, (tmp / "bomb.tar.gz").c_str()) == ARCHIVE_OK);
    write_entry(a, "freeswitch.log", read_file(dir / "head.log"), 200ull << 20);
    REQUIRE(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
  } else if (what == "zip-bomb-split-entries") {
    // {tmp}/parts.zip: four stored entries part1.log.bz2 .. part4.log.bz2, each bzip2 of
    // head.log (agent renamed, so no two are duplicates) + 40 MiB of zeros. The zip is a few
    // KiB; together the entries expand to 160 MiB, far over 1000x the archive.
    std::string head = read_file(dir / "head.log");
    archive* a = archive_write_new();
    REQUIRE(archive_write_set_format_zip(a) == ARCHIVE_OK);
    (void)archive_write_set_options(a, "zip:compression=store");
    REQUIRE(archive_write_open_filename(a, (tmp / "parts.zip").c_str()) == ARCHIVE_OK);
    for (int i = 1; i <= 4; ++i) {
      std::string part = bzip2_of(replace_all(head, "1003@default", "200" + std::to_string(i) + "@default"), 40ull << 20);
      write_entry(a, "part" + std::to_string(i) + ".log.bz2", part, 0);
    }
    REQUIRE(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
  } else if (what == "symlink-loop") {
    // {tmp}/ticket/: audit.csv, self -> . (the folder itself), up -> ../ticket, and
    // loop.log -> loop.log (a file link that points at itself).
    fs::create_directories(tmp / "ticket");
    fs::copy_file(dir / "audit.csv", tmp / "ticket" / "audit.csv");
    fs::create_directory_symlink(".", tmp / "ticket" / "self");
    fs::create_directory_symlink("../ticket", tmp / "ticket" / "up");
    fs::create_symlink("loop.log", tmp / "ticket" / "loop.log");
  } else if (what == "chmod-000") {
    // {tmp}/locked.csv: a copy of audit.csv with mode 000.
    fs::copy_file(dir / "audit.csv", tmp / "locked.csv");
    fs::permissions(tmp / "locked.csv", fs::perms::none);
  } else if (what == "newer-schema") {
    // {tmp}/newer.db: an SQLite file with PRAGMA user_version = 99 and one table, as a newer
    // callaudit might leave it; {tmp}/newer.db.orig is a copy to compare with afterwards.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((tmp / "newer.db").c_str(), &db) == SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, "CREATE TABLE inputs_v99 (id INTEGER PRIMARY KEY); PRAGMA user_version = 99;", nullptr,
                          nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    REQUIRE_MESSAGE(rc == SQLITE_OK, msg);
    fs::copy_file(tmp / "newer.db", tmp / "newer.db.orig");
  } else if (what == "unclosed-quote-mid-file") {
    // {tmp}/audit.csv: a Netcall audit export whose third row opens a quote that never
    // closes, then 30000 complete rows (about 2 MiB): the first MiB of them is lost in the
    // cut row, the rest is read as rows again.
    std::string s = "Timestamp,User,User ID,Action,Details,Changed By\n"
                    "13/03/2026 16:58:12,Lucas Moreau,1045,Logout,,Agent\n"
                    "14/03/2026 08:55:04,Jane Smith,1042,Presence Change,\"Offline -> Avail\n";
    for (int i = 0; i < 30000; ++i) {
      const int t = 9 * 3600 + i;
      char row[128];
      std::snprintf(row, sizeof row, "14/03/2026 %02d:%02d:%02d,Jane Smith,1042,Presence Change,%s,Agent\n", t / 3600,
                    t / 60 % 60, t % 60, i % 2 ? "Busy -> Available" : "Available -> Busy");
      s += row;
    }
    write_file(tmp / "audit.csv", s);
  } else if (what == "empty-dir") {
    fs::create_directories(tmp / "empty-folder");
  } else {
    FAIL("unknown generate = \"" << what << "\" in " << (dir / "case.toml").string());
  }
}

// ---- commands

const std::set<std::string> kDbCommands = {"ingest", "diagnose", "query", "explain", "timeline", "report"};

// Substitutes and adds --db {tmp}/case.db where the case gives none; returns the db in use.
std::vector<std::string> make_command(const toml::node* n, const Vars& v, std::string& db) {
  std::vector<std::string> args = strings(n, v);
  REQUIRE_MESSAGE(!args.empty(), "command is missing or empty");
  db = (v.tmp / "case.db").string();
  auto it = std::find(args.begin(), args.end(), "--db");
  if (it != args.end() && it + 1 != args.end()) {
    db = *(it + 1);
  } else if (kDbCommands.count(args[0])) {
    args.insert(args.begin() + 1, {"--db", db});
  }
  return args;
}

std::string join(const std::vector<std::string>& args) {
  std::string s = "callaudit";
  for (const auto& a : args) s += " " + (a.find(' ') == std::string::npos ? a : "'" + a + "'");
  return s;
}

std::string trim_end(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Shows control bytes as \xNN, so a message about them stays readable.
std::string printable(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\n') || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o;
}

// The failures of one case; checked at the end so a known bug can be reported as a warning.
struct Problems {
  std::vector<std::string> list;
  void expect(bool ok, const std::string& what) {
    if (!ok) list.push_back(what);
  }
};

void check_after(const toml::table& a, const Vars& v, const std::string& case_db, Problems& p) {
  auto sql = a["sql"].value<std::string>();
  auto equals = a["equals"].value<std::string>();
  if (equals) equals = v(*equals);
  if (!sql || !equals) {
    p.expect(false, "[after] needs sql and equals");
    return;
  }
  std::string db = v(a["db"].value_or(case_db));
  auto q = run_cli({"query", "--db", db, "--format", "csv", *sql});
  if (q.code != 0) {
    p.expect(false, "after: query failed (" + std::to_string(q.code) + "): " + *sql + "\n" + q.err);
    return;
  }
  std::string body = q.out;
  size_t nl = body.find('\n');
  body = nl == std::string::npos ? "" : body.substr(nl + 1);
  body = trim_end(replace_all(body, "\r\n", "\n"));
  p.expect(body == *equals, "after: " + *sql + "\n  expected: " + *equals + "\n  got:      " + body);
}

void run_case(const fs::path& dir) {
  testutil::TempDir tmp;
  Vars v{dir, tmp.path()};
  toml::table t = toml::parse_file((dir / "case.toml").string());
  testutil::TempDir scratch_dir;  // the command's stdout/stderr, kept out of {tmp}
  const fs::path& scratch = scratch_dir.path();

  for (const auto& f : strings(t["copy"].node(), v)) fs::copy_file(dir / f, tmp / f);
  if (auto g = t["generate"].value<std::string>()) generate(*g, v);

  // The expectations, with the [as_root] variant where one is given and we are root.
  const toml::table* root = ::geteuid() == 0 ? t["as_root"].as_table() : nullptr;
  if (root)
    MESSAGE("running as root, where chmod 000 does not stop reading: asserting the [as_root] outcome of "
            << dir.filename().string());
  auto want = [&](const char* key) -> toml::node_view<const toml::node> {
    if (root && root->contains(key)) return (*root)[key];
    return std::as_const(t)[key];
  };

  if (const auto* before = t["before"].as_array()) {
    for (const auto& b : *before) {
      std::string db;
      auto args = make_command(&b, v, db);
      auto r = run_binary(args, scratch, 120);
      REQUIRE_MESSAGE(r.code == 0, "before: " << join(args) << " exited " << r.code << "\n" << r.out << r.err);
    }
  }

  std::string db;
  auto args = make_command(t["command"].node(), v, db);
  int timeout_s = static_cast<int>(want("timeout").value_or(std::int64_t{300}));
  auto r = run_binary(args, scratch, timeout_s);
  INFO("case: " << dir.filename().string() << "\ncommand: " << join(args) << "\nexit: " << r.code
                << "\n--- stdout\n" << printable(shorten(r.out)) << "--- stderr\n" << printable(shorten(r.err)));

  Problems p;
  // Never acceptable, whatever the case says.
  REQUIRE_MESSAGE(!r.timed_out, "hung: no exit within " << timeout_s << " s");
  REQUIRE_MESSAGE(r.signal == 0, "crashed with signal " << r.signal);
  for (const char* never : {"internal error", "AddressSanitizer", "LeakSanitizer", "runtime error:"})
    p.expect(r.err.find(never) == std::string::npos, std::string("stderr reports \"") + never + "\"");

  if (auto code = want("exit").value<std::int64_t>())
    p.expect(r.code == *code, "exit status: expected " + std::to_string(*code) + ", got " + std::to_string(r.code));
  for (const auto& s : strings(want("stdout_contains").node(), v))
    p.expect(r.out.find(s) != std::string::npos, "stdout lacks \"" + s + "\"");
  for (const auto& s : strings(want("stderr_contains").node(), v))
    p.expect(r.err.find(s) != std::string::npos, "stderr lacks \"" + s + "\"");
  for (const auto& s : strings(want("stdout_lacks").node(), v))
    p.expect(r.out.find(s) == std::string::npos, "stdout has \"" + s + "\"");
  for (const auto& s : strings(want("stderr_lacks").node(), v))
    p.expect(r.err.find(s) == std::string::npos, "stderr has \"" + s + "\"");

  if (const auto* un = want("unchanged").as_array()) {
    for (const auto& u : *un) {
      const auto* ut = u.as_table();
      if (!ut) continue;
      std::string file = v((*ut)["file"].value_or(std::string{}));
      std::string same = v((*ut)["same_as"].value_or(std::string{}));
      p.expect(fs::exists(file) && read_file(file) == read_file(same), file + " changed (differs from " + same + ")");
    }
  }
  for (const auto& a : strings(want("absent").node(), v)) p.expect(!fs::exists(a), a + " was created");

  if (const auto* after = want("after").node()) {
    if (const auto* at = after->as_table()) check_after(*at, v, db, p);
    if (const auto* aa = after->as_array())
      for (const auto& e : *aa)
        if (const auto* et = e.as_table()) check_after(*et, v, db, p);
  }

  std::string all;
  for (const auto& s : p.list) all += "  - " + printable(s) + "\n";
  if (auto bug = t["known_bug"].value<std::string>()) {
    if (p.list.empty())
      MESSAGE("known_bug in " << dir.filename().string()
                              << " no longer shows: the case passes; remove known_bug from its case.toml");
    else
      WARN_MESSAGE(false, "KNOWN BUG (" << dir.filename().string() << "): " << *bug << "\n" << all);
    return;
  }
  if (!p.list.empty()) FAIL_CHECK(dir.filename().string() << ":\n" << all);
}

}  // namespace

TEST_CASE("bad inputs: fixtures/bad holds at least 18 cases, each with a readable case.toml") {
  auto dirs = case_dirs();
  CHECK(dirs.size() >= static_cast<size_t>(kMinCases));
  for (const auto& d : dirs) {
    INFO(d.string());
    toml::table t;
    CHECK_NOTHROW(t = toml::parse_file((d / "case.toml").string()));
    CHECK(t["command"].as_array() != nullptr);
    // every case says how it should end and what the support engineer sees
    CHECK((t["exit"].value<std::int64_t>().has_value() || t["as_root"].as_table()));
  }
}

TEST_CASE("bad inputs: each case behaves as its case.toml says") {
  static std::set<std::string> ran;
  auto dirs = case_dirs();
  REQUIRE(!dirs.empty());
  for (size_t i = 0; i < dirs.size(); ++i) {
    std::string name = dirs[i].filename().string();
    SUBCASE(name.c_str()) {
      ran.insert(name);
      // Subcases run in order, so the last one knows how many ran (checked before it runs, so a
      // failing last case cannot hide the count).
      if (i + 1 == dirs.size()) {
        if (ran.size() == dirs.size())
          CHECK_MESSAGE(ran.size() >= static_cast<size_t>(kMinCases), "only " << ran.size() << " cases ran");
        else
          MESSAGE(ran.size() << " of " << dirs.size() << " cases ran (a subcase filter is in use?)");
      }
      run_case(dirs[i]);
    }
  }
}
