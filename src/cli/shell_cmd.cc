// callaudit shell: read-only SQL and dot-commands over the timeline, interactively (libedit) or
// from standard input. Covered by tests/cli/shell_test.cc.
#include <editline/readline.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "callaudit/diagnose.h"
#include "callaudit/report.h"
#include "callaudit/store.h"
#include "common.h"

namespace callaudit::cli {

// query_cmd.cc: one statement under the read-only authorizer, printed as table, csv or json.
int run_query(Env& env, Store& store, const std::string& sql, const std::string& format);
// diagnose_cmd.cc
Result<DiagnosisParams> diagnosis_params(Env& env, const Catalog& cat, const std::string& rules_file, double window);
int explain_failure(Env& env, Store& store, const Catalog& cat, const DiagnosisParams& p, std::int64_t id,
                    const ZoneConverter& zone);
void write_timeline(Env& env, Store& store, const std::string& agent, const std::string& call, TimeUs from, TimeUs to,
                    const ZoneConverter& zone);

namespace {

constexpr const char* kHelp =
    "SQL (read-only; may span lines, ends with ';'):\n"
    "  SELECT verdict, count(*) FROM failures GROUP BY verdict;\n"
    "  views: failures, state_changes, agents, incidents, timeline; display_time(at) shows a time in the zone\n"
    "dot-commands:\n"
    "  .help                               this list\n"
    "  .agents                             per agent: offers, failures, failures by verdict\n"
    "  .failures [VERDICT]                 id, time, agent, kind, verdict, rule (agent, system, configuration,\n"
    "                                      benign or unknown only)\n"
    "  .timeline AGENT [around T] [window S]  the agent's trail, as 'callaudit timeline' (window default 60 s)\n"
    "  .explain ID                         the evidence chain of failure ID, as 'callaudit explain'\n"
    "  .incidents                          the incidents (R5)\n"
    "  .tz [ZONE]                          show times in this IANA zone (UTC by default)\n"
    "  .format [table|csv|json]            how SQL results and lists are printed\n"
    "  .quit, .exit                        leave (so does end of input)\n";

const char* const kVerdicts[] = {"agent", "system", "configuration", "benign", "unknown"};

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// True when sql holds nothing but blanks, comments and semicolons.
bool blank_sql(const std::string& sql) {
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '\f') {
      ++i;
    } else if (sql.compare(i, 2, "--") == 0) {
      size_t e = sql.find('\n', i);
      i = e == std::string::npos ? sql.size() : e + 1;
    } else if (sql.compare(i, 2, "/*") == 0) {
      size_t e = sql.find("*/", i + 2);
      i = e == std::string::npos ? sql.size() : e + 2;
    } else {
      return false;
    }
  }
  return true;
}

// Splits a dot-command line into words; '...' and "..." keep spaces.
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    std::string w;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      char q = line[i];
      if (q == '\'' || q == '"') {
        size_t e = line.find(q, i + 1);
        if (e == std::string::npos) e = line.size();
        w += line.substr(i + 1, e - i - 1);
        i = e < line.size() ? e + 1 : e;
      } else {
        w += q;
        ++i;
      }
    }
    out.push_back(w);
  }
  return out;
}

// display_time(at): a stored time (µs UTC) as text in the shell's display zone.
void display_time_fn(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  const auto* zone = static_cast<const ZoneConverter*>(sqlite3_user_data(ctx));
  std::string s = show_time(sqlite3_value_int64(argv[0]), TextStyle{false, zone});
  sqlite3_result_text(ctx, s.c_str(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

class Shell {
 public:
  Shell(Env& env, Catalog cat, DiagnosisParams params, ZoneConverter zone, std::unique_ptr<Store> store)
      : env_(env),
        cat_(std::move(cat)),
        params_(std::move(params)),
        zone_(std::make_unique<ZoneConverter>(std::move(zone))),
        store_(std::move(store)) {
    sqlite3_create_function(store_->db(), "display_time", 1, SQLITE_UTF8, zone_.get(), display_time_fn, nullptr,
                            nullptr);
  }

  int run() {
    interactive_ = ::isatty(0) != 0;
    std::string history;
    if (interactive_) {
      if (const char* home = std::getenv("HOME"); home && *home) {
        history = std::string(home) + "/.callaudit_history";
        stifle_history(1000);
        read_history(history.c_str());
      }
      env_.out << fmt::format("callaudit shell on {} (read-only); times in {}. '.help' lists the commands.\n",
                              store_->path(), zone_name());
      env_.out.flush();
    }
    std::string buf;
    while (!done_) {
      auto line = next_line(buf.empty() ? "callaudit> " : "      ...> ");
      if (!line) break;
      if (buf.empty()) {
        std::string t = trim(*line);
        if (t.empty() || t.compare(0, 2, "--") == 0) continue;
        if (t[0] == '.') {
          guarded([&] { dot(t); });
          continue;
        }
      }
      buf += *line;
      buf += '\n';
      run_complete(buf);
    }
    if (!done_ && !blank_sql(buf)) guarded([&] { sql(buf); });  // end of input without ';': run what there is
    if (interactive_ && !history.empty()) write_history(history.c_str());
    return 0;
  }

 private:
  std::optional<std::string> next_line(const char* prompt) {
    if (interactive_) {
      char* l = readline(prompt);
      if (!l) {
        env_.out << "\n";
        return std::nullopt;
      }
      std::string s = l;
      std::free(l);
      if (!trim(s).empty()) add_history(s.c_str());
      return s;
    }
    std::string s;
    if (!std::getline(std::cin, s)) return std::nullopt;
    return s;
  }

  // Runs every complete statement at the start of buf and keeps the rest.
  void run_complete(std::string& buf) {
    for (size_t i = 0; i < buf.size(); ++i) {
      if (buf[i] != ';') continue;
      std::string stmt = buf.substr(0, i + 1);
      if (!sqlite3_complete(stmt.c_str())) continue;
      buf.erase(0, i + 1);
      i = static_cast<size_t>(-1);  // scan the rest from its start
      if (!blank_sql(stmt)) guarded([&] { sql(stmt); });
    }
    if (blank_sql(buf)) buf.clear();
  }

  template <class F>
  void guarded(F f) {
    try {
      f();
    } catch (const std::exception& e) {
      error_line(env_, std::string("internal error: ") + e.what());
    }
    env_.out.flush();
  }

  void sql(const std::string& text) { run_query(env_, *store_, text, format_); }

  std::string zone_name() const { return zone_->is_utc() ? "UTC" : zone_->name(); }

  // A list made by the shell: in table format, say which zone its times are in.
  void listing(const std::string& text, bool has_times) {
    if (has_times && format_ == "table") env_.out << "times in " << zone_name() << "\n";
    sql(text);
  }

  void dot(const std::string& line) {
    std::string l = line;
    while (!l.empty() && (l.back() == ';' || l.back() == ' ' || l.back() == '\t')) l.pop_back();
    auto w = words(l);
    const std::string& c = w[0];
    std::vector<std::string> a(w.begin() + 1, w.end());
    if (c == ".quit" || c == ".exit") {
      done_ = true;
    } else if (c == ".help") {
      env_.out << kHelp;
    } else if (c == ".agents") {
      // the agents view for the counts; the stored verdicts (failures view) per agent beside them
      listing(
          "SELECT a.agent AS agent_id, coalesce(a.name, '') AS name, a.offers, a.failures,"
          " coalesce(v.n_agent, 0) AS agent, coalesce(v.n_system, 0) AS system,"
          " coalesce(v.n_configuration, 0) AS configuration, coalesce(v.n_benign, 0) AS benign,"
          " coalesce(v.n_unknown, 0) AS unknown"
          " FROM agents a LEFT JOIN (SELECT agent AS id, sum(verdict = 'agent') AS n_agent,"
          " sum(verdict = 'system') AS n_system, sum(verdict = 'configuration') AS n_configuration,"
          " sum(verdict = 'benign') AS n_benign, sum(verdict = 'unknown') AS n_unknown"
          " FROM failures GROUP BY agent) v ON v.id = a.agent"
          " WHERE a.agent IS NOT NULL ORDER BY a.agent",
          false);
    } else if (c == ".failures") {
      if (a.size() > 1) return usage(".failures [VERDICT]");
      std::string where;
      if (!a.empty()) {
        bool known = false;
        for (const char* v : kVerdicts) known = known || a[0] == v;
        if (!known) return error("unknown verdict '" + a[0] + "' (agent, system, configuration, benign or unknown)");
        where = " WHERE verdict = '" + a[0] + "'";
      }
      listing(
          "SELECT id, display_time(at) AS time, agent, kind, verdict, rule FROM failures" + where + " ORDER BY at, id",
          true);
    } else if (c == ".incidents") {
      listing(
          "SELECT id, display_time(from_at) AS \"from\", display_time(to_at) AS \"to\", class, kind, agents,"
          " failures, offers, verdict, why FROM incidents ORDER BY id",
          true);
    } else if (c == ".timeline") {
      timeline(a);
    } else if (c == ".explain") {
      std::int64_t id = 0;
      if (a.size() != 1) return usage(".explain ID");
      auto [p, ec] = std::from_chars(a[0].data(), a[0].data() + a[0].size(), id);
      if (ec != std::errc() || p != a[0].data() + a[0].size()) return error("not a failure id: '" + a[0] + "'");
      explain_failure(env_, *store_, cat_, params_, id, *zone_);
    } else if (c == ".tz") {
      if (a.size() > 1) return usage(".tz [ZONE]");
      if (a.size() == 1) {
        auto z = ZoneConverter::make(a[0]);
        if (!z.ok()) return error(z.error());
        *zone_ = std::move(*z);  // display_time() reads it through the pointer given to SQLite
      }
      env_.out << "times in " << zone_name() << "\n";
    } else if (c == ".format") {
      if (a.size() > 1) return usage(".format [table|csv|json]");
      if (a.size() == 1) {
        if (a[0] != "table" && a[0] != "csv" && a[0] != "json") return error("format must be table, csv or json");
        format_ = a[0];
      }
      env_.out << "format " << format_ << "\n";
    } else {
      error("unknown command '" + c + "' (.help lists them)");
    }
  }

  void timeline(const std::vector<std::string>& a) {
    const char* u = ".timeline AGENT [around T] [window S]";
    if (a.empty() || a[0] == "around" || a[0] == "window") return usage(u);
    std::string around;
    std::optional<double> window;
    for (size_t i = 1; i < a.size(); ++i) {
      if (a[i] == "around") {
        // T may be written with a space ("2026-03-14 09:12:33"): take the words up to 'window'
        std::string t;
        while (i + 1 < a.size() && a[i + 1] != "window") t += (t.empty() ? "" : " ") + a[++i];
        if (t.empty()) return usage(u);
        around = t;
      } else if (a[i] == "window" && i + 1 < a.size()) {
        const std::string& s = a[++i];
        double v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size() || v <= 0)
          return error("window must be a number of seconds above 0, not '" + s + "'");
        window = v;
      } else {
        return usage(u);
      }
    }
    TimeUs lo = INT64_MIN, hi = INT64_MAX;
    if (!around.empty()) {
      auto t = parse_user_time(around, *zone_);
      if (!t.ok()) return error(t.error());
      auto w = static_cast<TimeUs>(window.value_or(60) * 1e6);
      lo = *t - w;
      hi = *t + w;
    } else if (window) {
      return error("window needs around T");
    }
    write_timeline(env_, *store_, a[0], "", lo, hi, *zone_);
  }

  void usage(const char* u) { error(std::string("usage: ") + u); }
  void error(const std::string& message) { error_line(env_, message); }

  Env& env_;
  Catalog cat_;
  DiagnosisParams params_;
  std::unique_ptr<ZoneConverter> zone_;  // stable address: SQLite's display_time() holds it
  std::unique_ptr<Store> store_;         // declared last: closed before the zone goes
  std::string format_ = "table";
  bool interactive_ = false;
  bool done_ = false;
};

}  // namespace

int cmd_shell(Env& env, const std::vector<std::string>& args) {
  const Command& cmd = command("shell");
  std::string db, patterns, display_tz;
  po::options_description desc("options");
  add_common(desc, db, patterns);
  desc.add_options()("display-tz", po::value<std::string>(&display_tz),
                     "show times in this IANA zone (default: UTC; '.tz' changes it)");
  po::variables_map vm;
  if (int rc = parse_args(env, cmd, desc, nullptr, args, vm); rc >= 0) return rc;
  auto zone = ZoneConverter::make(display_tz);
  if (!zone.ok()) return usage_error(env, cmd, zone.error());
  auto cat = load_catalog(env, patterns);
  if (!cat.ok()) return static_cast<int>(Exit::usage);
  auto params = diagnosis_params(env, *cat, "", 0);
  if (!params.ok()) return static_cast<int>(Exit::usage);
  auto store = Store::open(db, Store::Mode::read_only);
  if (!store.ok()) {
    error_line(env, store.error());
    return static_cast<int>(Exit::input_error);
  }
  Shell shell(env, std::move(*cat), std::move(*params), std::move(*zone), std::move(*store));
  return shell.run();
}

}  // namespace callaudit::cli
