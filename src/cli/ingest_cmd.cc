// callaudit ingest: inputs -> timeline database, with a per-input summary.
// Covered by tests/cli/cli_test.cc and tests/ingest/fixtures_test.cc.
#include <chrono>
#include <fmt/format.h>
#include <iostream>

#include "callaudit/diagnose.h"
#include "callaudit/ingest.h"
#include "common.h"

namespace callaudit::cli {

Result<DiagnosisParams> diagnosis_params(Env& env, const Catalog& cat, const std::string& rules_file, double window);
Status run_diagnosis_into(Env& env, Store& store, const Catalog& cat, const DiagnosisParams& p, bool save, Diagnosis& out);

namespace {

std::string plural(std::int64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

int run_ingest(Env& env, const std::string& db_path, const std::string& patterns, const std::string& forced,
               const std::string& tz, const std::vector<std::string>& inputs, bool quiet, int threads, Diagnosis* diagnosis,
               bool* diagnosed, bool temporary_db, const std::function<void(const Diagnosis&)>& on_briefs,
               bool lanes, bool redact) {
  auto cat = load_catalog(env, patterns);
  if (!cat.ok()) return static_cast<int>(Exit::usage);
  if (!forced.empty() && !cat->find(forced)) {
    error_line(env, "unknown format '" + forced + "' (see 'callaudit formats list')");
    return static_cast<int>(Exit::usage);
  }
  auto zone = ZoneConverter::make(tz);
  if (!zone.ok()) {
    error_line(env, zone.error());
    return static_cast<int>(Exit::usage);
  }
  auto store = Store::open(db_path, Store::Mode::read_write);
  if (!store.ok()) {
    error_line(env, store.error());
    return static_cast<int>(Exit::input_error);
  }
  // the diagnosis below then need not read back what this run stores (a fresh database only)
  (void)(*store)->keep_timeline();
  if (temporary_db) {
    Status st = (*store)->skip_sync();
    if (!st.ok()) error_line(env, "database: " + st.message());
  }
  IngestOptions opts;
  opts.forced_format = forced;
  opts.zone = tz;
  opts.threads = threads;
  opts.keep_detail = !temporary_db;  // nobody queries analyze's temporary database
  // nor reads its offers, but the names to mask are looked for in every stored line
  opts.keep_offers = !temporary_db || redact;
  auto last = std::chrono::steady_clock::now();
  if (env.err_tty) {
    opts.progress = [&](const std::string& name, std::uint64_t bytes, std::int64_t lines) {
      auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::milliseconds(300)) return;
      last = now;
      env.err << fmt::format("\r\033[K{}: {} MiB, {} lines", name, bytes >> 20, lines) << std::flush;
    };
  }
  Ingester ing(*cat, **store, opts, *zone);
  PhaseClock clock;
  std::vector<InputReport> reports;
  std::vector<std::pair<std::string, std::string>> errors;
  walk_inputs(
      inputs,
      [&](InputStream& in) {
        reports.push_back(ing.ingest(in));
        if (env.err_tty && opts.progress) env.err << "\r\033[K" << std::flush;
      },
      [&](const std::string& name, const std::string& msg) {
        InputReport r;
        r.name = name;
        r.status = "error";
        r.message = msg;
        reports.push_back(r);
      });
  clock.lap(env, "scan+store");
  // analyze's temporary database is deleted after the report: no queries will need the rest,
  // and only the HTML's lanes read the state changes by agent
  Status idx = (*store)->create_indexes(!temporary_db ? Store::Indexes::all
                                        : lanes       ? Store::Indexes::for_report
                                                      : Store::Indexes::none);
  if (!idx.ok()) error_line(env, "database: " + idx.message());
  clock.lap(env, "indexes");
  // Keep the stored diagnosis in step with the timeline, so the SQL views are current; the
  // caller may take it (analyze reports it instead of diagnosing again). analyze's temporary
  // database is removed at its end: nobody can query its views, so nothing is saved there.
  // (made in place: a reader that on_briefs starts may be reading it)
  if (auto params = diagnosis_params(env, *cat, "", 0); params.ok()) {
    params->threads = threads >= 2 ? 2 : 1;  // --threads 1: the diagnosis on one thread too
    params->on_briefs = on_briefs;
    // nothing is saved from analyze's temporary database: its reader reads the verdicts once
    params->verdicts_read_once = on_briefs && temporary_db;
    Diagnosis here;
    Status made = run_diagnosis_into(env, **store, *cat, *params, !temporary_db, diagnosis ? *diagnosis : here);
    if (diagnosed) *diagnosed = made.ok();
  }
  clock.lap(env, "diagnose+save");

  Paint p{env.out_tty};
  int ingested = 0, dup = 0, failed = 0;
  std::vector<std::string> assumed;
  for (const auto& r : reports) {
    if (r.status == "ingested") {
      ++ingested;
      const ScanStats& s = r.stats;
      if (!quiet) {
        env.out << p.bold(r.name) << "  " << s.format << "\n";
        env.out << fmt::format("  {} ({} parsed, {} unmatched{}), {}: {}, {} ({} failed), {}\n",
                               plural(s.lines, "line", "lines"), s.parsed, s.unmatched,
                               s.blank ? fmt::format(", {} blank", s.blank) : "", plural(s.events, "event", "events"),
                               plural(s.offers, "offer", "offers"), plural(s.results, "result", "results"), s.failures,
                               plural(s.states, "state change", "state changes"));
        for (const auto& [line, why] : r.unmatched_samples)
          env.out << "  " << p.yellow("unmatched") << " line " << line << ": " << why << "\n";
        if (s.unmatched > static_cast<std::int64_t>(r.unmatched_samples.size()))
          env.out << fmt::format("  ... {} more unmatched (see 'callaudit query \"SELECT * FROM unmatched\"')\n",
                                 s.unmatched - static_cast<std::int64_t>(r.unmatched_samples.size()));
        if (s.header_only) env.out << "  note: header only, no rows\n";
        if (!s.note.empty()) env.out << "  note: " << s.note << "\n";
        if (s.nul_lines)
          env.out << fmt::format("  note: {} began with NUL bytes (removed)\n", plural(s.nul_lines, "line", "lines"));
        if (s.repaired)
          env.out << fmt::format("  note: {} not valid UTF-8, read as Latin-1\n",
                                 plural(s.repaired, "line was", "lines were"));
        if (s.backwards)
          env.out << fmt::format("  note: {} earlier than one before them (first at line {}); events are ordered by "
                                 "time\n",
                                 plural(s.backwards, "event is", "events are"), s.first_backwards_line);
      }
      const FormatSpec* spec = cat->find(s.format);
      if (spec && spec->needs_zone && tz.empty()) assumed.push_back(r.name);
    } else if (r.status == "duplicate") {
      ++dup;
      env.out << p.bold(r.name) << "  " << p.dim(r.message) << "\n";
    } else {
      ++failed;
      error_line(env, r.name + ": " + r.message);
    }
  }
  if (!assumed.empty()) {
    env.out << "note: times without a zone were taken as UTC (no --tz) in:";
    for (const auto& a : assumed) env.out << " " << a;
    env.out << "\n";
  }
  // (no path to show for a temporary database: it is gone when analyze ends)
  env.out << fmt::format("{}: {} ingested, {} already present, {} failed\n", temporary_db ? "inputs" : db_path,
                         ingested, dup, failed);
  return failed ? static_cast<int>(Exit::input_error) : 0;
}

int cmd_ingest(Env& env, const std::vector<std::string>& args) {
  const Command& cmd = command("ingest");
  std::string db, patterns, as, tz;
  int threads = default_threads();
  std::vector<std::string> inputs;
  po::options_description desc("options");
  add_common(desc, db, patterns);
  add_threads(desc, threads);
  desc.add_options()("as", po::value<std::string>(&as), "force this format for every input (see 'formats list')")(
      "tz", po::value<std::string>(&tz), "IANA zone of times written without one (default: taken as UTC)")(
      "input", po::value<std::vector<std::string>>(&inputs), "file, folder, .gz, .zip, or - for stdin");
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  if (int rc = parse_args(env, cmd, desc, &pos, args, vm); rc >= 0) return rc;
  if (inputs.empty()) return usage_error(env, cmd, "no input given");
  if (threads < 1) return usage_error(env, cmd, "--threads must be 1 or more");
  return run_ingest(env, db, patterns, as, tz, inputs, false, threads, nullptr, nullptr, false, {}, false, false);
}

}  // namespace callaudit::cli
