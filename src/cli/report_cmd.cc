// callaudit report | analyze. Covered by tests/cli/report_cli_test.cc and the scenario
// goldens.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "callaudit/diagnose.h"
#include "callaudit/report.h"
#include "common.h"

namespace callaudit::cli {

Result<DiagnosisParams> diagnosis_params(Env& env, const Catalog& cat, const std::string& rules_file, double window);
Result<Diagnosis> run_diagnosis(Env& env, Store& store, const Catalog& cat, const DiagnosisParams& p, bool save);
int run_ingest(Env& env, const std::string& db_path, const std::string& patterns, const std::string& forced,
               const std::string& tz, const std::vector<std::string>& inputs, bool quiet, int threads, std::optional<Diagnosis>* diagnosis, bool temporary_db);

namespace {

// `precomputed`: the diagnosis the caller already made of this database (analyze), or null.
int write_case_report(Env& env, const std::string& db, const std::string& patterns, const ReportOptions& opts,
                      const std::string& output, bool print_summary, const Diagnosis* precomputed) {
  auto cat = load_catalog(env, patterns);
  if (!cat.ok()) return static_cast<int>(Exit::usage);
  auto params = diagnosis_params(env, *cat, "", 0);
  if (!params.ok()) return static_cast<int>(Exit::usage);
  auto store = Store::open(db, Store::Mode::read_only);
  if (!store.ok()) {
    error_line(env, store.error());
    return static_cast<int>(Exit::input_error);
  }
  PhaseClock clock;
  std::optional<Result<Diagnosis>> computed;
  const Diagnosis* d = precomputed;
  if (!d) {
    computed.emplace(run_diagnosis(env, **store, *cat, *params, false));
    if (!computed->ok()) return static_cast<int>(Exit::input_error);
    d = &**computed;
  }
  auto cov = load_coverage(**store);
  if (!cov.ok()) {
    error_line(env, cov.error());
    return static_cast<int>(Exit::input_error);
  }
  Redactor redact(opts.redact, opts.redact ? names_to_redact(**store) : std::vector<std::string>{});
  // the HTML's swimlanes: each agent's state changes around its failures
  auto bands = opts.format == "html" ? load_state_bands(**store, *d) : Result<StateBands>(StateBands{});
  if (!bands.ok()) {
    error_line(env, bands.error());
    return static_cast<int>(Exit::input_error);
  }
  ReportOptions with_bands = opts;
  if (opts.format == "html") with_bands.bands = &*bands;
  if (output.empty() || output == "-") {
    write_report(env.out, *d, *cov, with_bands, redact);
  } else {
    std::ofstream f(output, std::ios::binary);
    if (!f) {
      error_line(env, "cannot write " + output);
      return static_cast<int>(Exit::input_error);
    }
    write_report(f, *d, *cov, with_bands, redact);
    f.close();
    if (!f) {
      error_line(env, "cannot write " + output);
      return static_cast<int>(Exit::input_error);
    }
  }
  clock.lap(env, "report");
  if (print_summary) {
    std::map<std::string, int> by;
    for (const auto& f : d->failures) ++by[std::string(f.verdict)];
    env.out << fmt::format("{} failed offers out of {}: {} agent, {} system, {} configuration, {} benign, {} unknown; {} "
                           "incident{}\n",
                           d->failures.size(), d->offers, by["agent"], by["system"], by["configuration"], by["benign"],
                           by["unknown"], d->incidents.size(), d->incidents.size() == 1 ? "" : "s");
    if (!output.empty() && output != "-") env.out << "report: " << output << "\n";
  }
  return 0;
}

}  // namespace

int cmd_report(Env& env, const std::vector<std::string>& args) {
  const Command& cmd = command("report");
  std::string db, patterns, format = "md", case_id, output, display_tz;
  bool redact = false;
  po::options_description desc("options");
  add_common(desc, db, patterns);
  desc.add_options()("format", po::value<std::string>(&format)->default_value("md"), "md, html or json")(
      "case", po::value<std::string>(&case_id), "the support case id shown in the title")(
      "redact", po::bool_switch(&redact), "mask phone numbers and names (agent ids stay)")(
      "output,o", po::value<std::string>(&output), "write to this file (default: standard output)")(
      "display-tz", po::value<std::string>(&display_tz), "show times in this IANA zone (default UTC)");
  po::variables_map vm;
  if (int rc = parse_args(env, cmd, desc, nullptr, args, vm); rc >= 0) return rc;
  if (format != "md" && format != "html" && format != "json")
    return usage_error(env, cmd, "--format must be md, html or json");
  auto zone = ZoneConverter::make(display_tz);
  if (!zone.ok()) return usage_error(env, cmd, zone.error());
  ReportOptions opts{format, case_id, redact, &*zone};
  return write_case_report(env, db, patterns, opts, output, false, nullptr);
}

int cmd_analyze(Env& env, const std::vector<std::string>& args) {
  const Command& cmd = command("analyze");
  std::string db, patterns, tz, as, output = "report.html", case_id, display_tz;
  bool redact = false;
  int threads = default_threads();
  std::vector<std::string> inputs;
  po::options_description desc("options");
  desc.add_options()("db", po::value<std::string>(&db), "keep the timeline in this database (default: a temporary one)")(
      "patterns", po::value<std::string>(&patterns)->default_value(""), "folder of pattern files")(
      "tz", po::value<std::string>(&tz), "IANA zone of times written without one")(
      "as", po::value<std::string>(&as), "force this format for every input")(
      "output,o", po::value<std::string>(&output)->default_value("report.html"),
      "the report; its format follows the extension (.html, .md, .json)")(
      "case", po::value<std::string>(&case_id), "the support case id")("redact", po::bool_switch(&redact),
                                                                       "mask phone numbers and names")(
      "display-tz", po::value<std::string>(&display_tz), "show times in this zone")(
      "input", po::value<std::vector<std::string>>(&inputs), "inputs");
  add_threads(desc, threads);
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  if (int rc = parse_args(env, cmd, desc, &pos, args, vm); rc >= 0) return rc;
  if (inputs.empty()) return usage_error(env, cmd, "no input given");
  if (threads < 1) return usage_error(env, cmd, "--threads must be 1 or more");
  std::string format = "html";
  if (output.size() >= 3 && output.substr(output.size() - 3) == ".md") format = "md";
  if (output.size() >= 5 && output.substr(output.size() - 5) == ".json") format = "json";
  auto zone = ZoneConverter::make(display_tz);
  if (!zone.ok()) return usage_error(env, cmd, zone.error());
  std::filesystem::path tmp_db;
  if (db.empty()) {
    tmp_db = std::filesystem::temp_directory_path() / fmt::format("callaudit-{}.db", ::getpid());
    std::filesystem::remove(tmp_db);
    db = tmp_db.string();
  }
  // The diagnosis made (and saved) at the end of the ingest is the one the report shows.
  std::optional<Diagnosis> diagnosis;
  int rc = run_ingest(env, db, patterns, as, tz, inputs, true, threads, &diagnosis, !tmp_db.empty());
  if (rc == static_cast<int>(Exit::usage)) return rc;
  ReportOptions opts{format, case_id, redact, &*zone};
  int rc2 = write_case_report(env, db, patterns, opts, output, true, diagnosis ? &*diagnosis : nullptr);
  if (!tmp_db.empty()) std::filesystem::remove(tmp_db);
  return rc2 ? rc2 : rc;
}

}  // namespace callaudit::cli
