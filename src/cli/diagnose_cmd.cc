// callaudit diagnose | explain | timeline. Covered by tests/cli/diagnose_cli_test.cc and the
// golden scenarios.
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "callaudit/diagnose.h"
#include "callaudit/report.h"
#include "common.h"

namespace callaudit::cli {

const Command& command(const char* name) {
  for (const auto& c : commands())
    if (std::string(c.name) == name) return c;
  throw std::logic_error(std::string("no command ") + name);
}

Result<DiagnosisParams> diagnosis_params(Env& env, const Catalog& cat, const std::string& rules_file, double window) {
  RuleParams rules = cat.rules;
  if (!rules_file.empty()) {
    auto extra = Catalog::load_rules_file(rules_file);
    if (!extra.ok()) {
      error_line(env, extra.error());
      return extra.status();
    }
    for (auto& [k, v] : extra->numbers) rules.numbers[k] = v;
    for (auto& [k, v] : extra->lists) rules.lists[k] = v;
    for (auto& [k, v] : extra->texts) rules.texts[k] = v;
  }
  DiagnosisParams p = DiagnosisParams::from(rules);
  p.threads = default_threads() >= 2 ? 2 : 1;
  if (window > 0) {
    p.r2_window = static_cast<TimeUs>(window * 1e6);
    p.consequence_window = static_cast<TimeUs>(window * 1e6);
  }
  return p;
}

Status run_diagnosis_into(Env& env, Store& store, const Catalog& cat, const DiagnosisParams& p, bool save, Diagnosis& out) {
  PhaseClock clock;
  DiagnosisParams timed = p;
  if (clock.on()) timed.on_phase = [&](const char* phase) { clock.lap(env, (std::string("diagnose: ") + phase).c_str()); };
  Status made = diagnose_into(store, cat, timed, out);
  if (!made.ok()) {
    error_line(env, "diagnosis: " + made.message());
    return made;
  }
  if (save) {
    Status st = save_diagnosis(store, out);
    if (!st.ok()) error_line(env, "cannot save the diagnosis: " + st.message());
    clock.lap(env, "save diagnosis");
  }
  return made;
}

Result<Diagnosis> run_diagnosis(Env& env, Store& store, const Catalog& cat, const DiagnosisParams& p, bool save) {
  Diagnosis d;
  if (Status s = run_diagnosis_into(env, store, cat, p, save, d); !s.ok()) return s;
  return d;
}

// The evidence chain of one failure, recomputed and not saved: `explain` and the shell's .explain.
int explain_failure(Env& env, Store& store, const Catalog& cat, const DiagnosisParams& p, std::int64_t id,
                    const ZoneConverter& zone) {
  DiagnosisParams traced = p;
  traced.with_trace = true;  // explain shows every rule, fired or not
  auto d = run_diagnosis(env, store, cat, traced, false);
  if (!d.ok()) return static_cast<int>(Exit::input_error);
  for (size_t i = 0; i < d->failures.size(); ++i) {
    if (d->failures[i].id == id) {
      write_explain_text(env.out, d->verdicts.get(i), TextStyle{env.out_tty, &zone});
      return 0;
    }
  }
  error_line(env, fmt::format("no failure with id {} (ids are listed by 'callaudit diagnose')", id));
  return static_cast<int>(Exit::input_error);
}

// The merged trail between from and to (inclusive), optionally of one agent or call: `timeline` and
// the shell's .timeline.
void write_timeline(Env& env, Store& store, const std::string& agent, const std::string& call, TimeUs from, TimeUs to,
                    const ZoneConverter& zone) {
  // each agent's state when the window opens, then the trail
  std::map<std::string, std::string> state;
  {
    Statement q(
        store.db(),
        "SELECT agent, state, vendor_state FROM events e WHERE type = 'state' AND at < ?1 AND (?2 = '' OR agent = ?2)"
        " AND at = (SELECT max(at) FROM events x WHERE x.type = 'state' AND x.agent = e.agent AND x.at < ?1)");
    q.bind(1, from).bind(2, agent);
    while (q.step()) state[q.text(0)] = q.text(1) + " (" + q.text(2) + ")";
  }
  Statement q(store.db(),
              "SELECT e.at, e.agent, e.type, coalesce(e.kind, ''), coalesce(e.reason, ''), coalesce(e.state, ''),"
              " coalesce(e.vendor_state, ''), coalesce(e.initiator, ''), i.path, e.line, coalesce(e.call, ''),"
              " coalesce(d.verdict, ''), e.id, e.sip"
              " FROM events e JOIN inputs i ON i.id = e.input_id LEFT JOIN diagnosis d ON d.failure_id = e.id"
              " WHERE e.at BETWEEN ?1 AND ?2 AND (?3 = '' OR e.agent = ?3) AND (?4 = '' OR e.call = ?4)"
              " ORDER BY e.at, e.input_id, e.line");
  q.bind(1, from).bind(2, to).bind(3, agent).bind(4, call);
  TextStyle style{env.out_tty, &zone};
  env.out << fmt::format("times in {}\n", zone.is_utc() ? "UTC" : zone.name());
  env.out << fmt::format("{:<27} {:<8} {:<7} {:<44} {:<26} {}\n", "time", "agent", "type", "what", "agent state before",
                         "source");
  int n = 0;
  while (q.step()) {
    std::string a = q.text(1), type = q.text(2), what;
    if (type == "state") {
      what = fmt::format("{} -> {} by {}", q.text(6), q.text(5), q.text(7));
    } else if (type == "result") {
      what = q.text(3) == "normal" ? "answered" : fmt::format("#{} {} ({})", q.int64(12), q.text(3), q.text(4));
      if (!q.text(11).empty()) what += " => " + q.text(11);
    } else {
      what = "offered" + (q.text(10).empty() ? std::string() : " call " + q.text(10).substr(0, 20));
    }
    std::string before = state.count(a) ? state[a] : "?";
    env.out << fmt::format("{:<27} {:<8} {:<7} {:<44} {:<26} {}:{}\n", show_time(q.int64(0), style), a, type, what,
                           before, q.text(8), q.int64(9));
    if (type == "state") state[a] = q.text(5) + " (" + q.text(6) + ")";
    ++n;
  }
  env.out << fmt::format("{} events\n", n);
}

namespace {

struct Common {
  std::string db, patterns, display_tz;
};

void add_display(po::options_description& desc, Common& c) {
  add_common(desc, c.db, c.patterns);
  desc.add_options()("display-tz", po::value<std::string>(&c.display_tz),
                     "show times in this IANA zone (default: UTC; the zone is always printed)");
}

}  // namespace

int cmd_diagnose(Env& env, const std::vector<std::string>& args) {
  const Command& cmd = command("diagnose");
  Common c;
  std::string format = "text", rules;
  double window = 0;
  po::options_description desc("options");
  add_display(desc, c);
  desc.add_options()("format", po::value<std::string>(&format)->default_value("text"), "text, json or csv")(
      "window", po::value<double>(&window), "seconds around a failure searched for the agent's state changes (R2)")(
      "rules", po::value<std::string>(&rules), "a rules TOML overriding patterns/rules/diagnosis.toml");
  po::variables_map vm;
  if (int rc = parse_args(env, cmd, desc, nullptr, args, vm); rc >= 0) return rc;
  if (format != "text" && format != "json" && format != "csv")
    return usage_error(env, cmd, "--format must be text, json or csv");
  auto cat = load_catalog(env, c.patterns);
  if (!cat.ok()) return static_cast<int>(Exit::usage);
  auto zone = ZoneConverter::make(c.display_tz);
  if (!zone.ok()) return usage_error(env, cmd, zone.error());
  auto params = diagnosis_params(env, *cat, rules, window);
  if (!params.ok()) return static_cast<int>(Exit::usage);
  auto store = Store::open(c.db, Store::Mode::read_only);
  if (!store.ok()) {
    error_line(env, store.error());
    return static_cast<int>(Exit::input_error);
  }
  store = Store::open(c.db, Store::Mode::read_write);
  if (!store.ok()) {
    error_line(env, store.error());
    return static_cast<int>(Exit::input_error);
  }
  auto d = run_diagnosis(env, **store, *cat, *params, true);
  if (!d.ok()) return static_cast<int>(Exit::input_error);
  auto cov = load_coverage(**store);
  if (!cov.ok()) {
    error_line(env, cov.error());
    return static_cast<int>(Exit::input_error);
  }
  if (format == "json")
    write_diagnosis_json(env.out, *d, *cov);
  else if (format == "csv")
    write_diagnosis_csv(env.out, *d);
  else
    write_diagnosis_text(env.out, *d, *cov, TextStyle{env.out_tty, &*zone});
  return 0;
}

int cmd_explain(Env& env, const std::vector<std::string>& args) {
  const Command& cmd = command("explain");
  Common c;
  std::int64_t id = 0;
  double window = 0;
  std::string rules;
  po::options_description desc("options");
  add_display(desc, c);
  desc.add_options()("window", po::value<double>(&window), "as for diagnose")(
      "rules", po::value<std::string>(&rules), "as for diagnose")("id", po::value<std::int64_t>(&id),
                                                                  "the failure id");
  po::positional_options_description pos;
  pos.add("id", 1);
  po::variables_map vm;
  if (int rc = parse_args(env, cmd, desc, &pos, args, vm); rc >= 0) return rc;
  if (!vm.count("id")) return usage_error(env, cmd, "which failure? give its id (see 'callaudit diagnose')");
  auto cat = load_catalog(env, c.patterns);
  if (!cat.ok()) return static_cast<int>(Exit::usage);
  auto zone = ZoneConverter::make(c.display_tz);
  if (!zone.ok()) return usage_error(env, cmd, zone.error());
  auto params = diagnosis_params(env, *cat, rules, window);
  if (!params.ok()) return static_cast<int>(Exit::usage);
  auto store = Store::open(c.db, Store::Mode::read_only);
  if (!store.ok()) {
    error_line(env, store.error());
    return static_cast<int>(Exit::input_error);
  }
  return explain_failure(env, **store, *cat, *params, id, *zone);
}

int cmd_timeline(Env& env, const std::vector<std::string>& args) {
  const Command& cmd = command("timeline");
  Common c;
  std::string agent, call, from, to, around;
  double window = 60;
  po::options_description desc("options");
  add_display(desc, c);
  desc.add_options()("agent", po::value<std::string>(&agent), "only this agent")(
      "call", po::value<std::string>(&call), "only this call / interaction")(
      "from", po::value<std::string>(&from), "start time (2026-03-14T09:00:00Z, or local with --display-tz)")(
      "to", po::value<std::string>(&to), "end time")("around", po::value<std::string>(&around),
                                                      "a time: show --window seconds either side")(
      "window", po::value<double>(&window)->default_value(60), "seconds either side of --around");
  po::variables_map vm;
  if (int rc = parse_args(env, cmd, desc, nullptr, args, vm); rc >= 0) return rc;
  auto zone = ZoneConverter::make(c.display_tz);
  if (!zone.ok()) return usage_error(env, cmd, zone.error());
  TimeUs lo = INT64_MIN, hi = INT64_MAX;
  auto read = [&](const std::string& s, TimeUs& dst) -> bool {
    auto t = parse_user_time(s, *zone);
    if (!t.ok()) {
      usage_error(env, cmd, t.error());
      return false;
    }
    dst = *t;
    return true;
  };
  if (!from.empty() && !read(from, lo)) return static_cast<int>(Exit::usage);
  if (!to.empty() && !read(to, hi)) return static_cast<int>(Exit::usage);
  if (!around.empty()) {
    TimeUs t = 0;
    if (!read(around, t)) return static_cast<int>(Exit::usage);
    lo = t - static_cast<TimeUs>(window * 1e6);
    hi = t + static_cast<TimeUs>(window * 1e6);
  }
  auto store = Store::open(c.db, Store::Mode::read_only);
  if (!store.ok()) {
    error_line(env, store.error());
    return static_cast<int>(Exit::input_error);
  }
  write_timeline(env, **store, agent, call, lo, hi, *zone);
  return 0;
}

}  // namespace callaudit::cli
