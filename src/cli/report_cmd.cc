// callaudit report | analyze. Covered by tests/cli/analyze_test.cc, tests/report/html_test.cc and the
// scenario goldens.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "callaudit/diagnose.h"
#include "callaudit/report.h"
#include "common.h"

namespace callaudit::cli {

Result<DiagnosisParams> diagnosis_params(Env& env, const Catalog& cat, const std::string& rules_file, double window);
Result<Diagnosis> run_diagnosis(Env& env, Store& store, const Catalog& cat, const DiagnosisParams& p, bool save);
int run_ingest(Env& env, const std::string& db_path, const std::string& patterns, const std::string& forced,
               const std::string& tz, const std::vector<std::string>& inputs, bool quiet, int threads, Diagnosis* diagnosis,
               bool* diagnosed, bool temporary_db, const std::function<void(const Diagnosis&)>& on_briefs,
               bool lanes, bool redact);

namespace {

// What a case report shows besides the diagnosis, read from the database first: the writing
// then needs nothing but memory, and may go on beside the diagnosis (analyze).
struct ReportParts {
  std::vector<CoverageEntry> coverage;
  std::optional<Redactor> redact;
  StateBands bands;
  ReportOptions opts;  // the html's opts.bands points at `bands`
};

// false: an error line was written.
bool read_report_parts(Env& env, Store& store, const Diagnosis& d, const ReportOptions& opts, ReportParts& out) {
  auto cov = load_coverage(store);
  if (!cov.ok()) {
    error_line(env, cov.error());
    return false;
  }
  out.coverage = std::move(*cov);
  out.redact.emplace(opts.redact, opts.redact ? names_to_redact(store) : std::vector<std::string>{});
  out.opts = opts;
  if (opts.format == "html") {
    // the HTML's swimlanes: each agent's state changes around its failures
    auto bands = load_state_bands(store, d);
    if (!bands.ok()) {
      error_line(env, bands.error());
      return false;
    }
    out.bands = std::move(*bands);
    out.opts.bands = &out.bands;
  }
  return true;
}

// Writes the report to a file, or to `out` when output is "" or "-". Returns an error, or "".
// `created` (if given) tells whether `output` is a plain file this call made (anew, or in
// place of an earlier report): the only kind of output a caller may remove when the report
// cannot be finished. A link, a device or a file of several names is the user's, written
// through, and never removed. On a failure here such a file of ours is removed already.
std::string write_report_to(std::ostream& out, const std::string& output, const Diagnosis& d, const ReportParts& parts,
                            bool* created) {
  bool ours = false;
  if (created) *created = false;
  auto fail = [&](std::string why) {
    if (ours) {
      (void)::unlink(output.c_str());  // no half report of ours left behind
      if (created) *created = false;
    }
    return why;
  };
  try {
    if (output.empty() || output == "-") {
      write_report(out, d, parts.coverage, parts.opts, *parts.redact);
      return "";
    }
    // A report written over the last one: a plain file (one name, not a link) is replaced
    // by a new file with its permissions rather than truncated, since the file system forces
    // a truncated file's new data to the disk when it is closed (about 0.2 s for 400 MB).
    // Anything else (a link, a device, a file of several names) is written through as before.
    struct stat old {};
    bool replaced = false;
    const bool existed = ::lstat(output.c_str(), &old) == 0;
    if (existed && S_ISREG(old.st_mode) && old.st_nlink == 1) replaced = ::unlink(output.c_str()) == 0;
    std::ofstream f(output, std::ios::binary);
    if (!f) return fail("cannot write " + output + ": " + std::strerror(errno));
    ours = !existed || replaced;
    if (created) *created = ours;
    if (replaced) (void)::chmod(output.c_str(), old.st_mode & 07777);
    // the reason is the errno of the write that failed: read at once, before anything else
    // can set it (the stream itself keeps none)
    auto failed = [&] {
      const int e = errno;
      return fail("cannot write " + output + (e != 0 ? std::string(": ") + std::strerror(e) : ""));
    };
    errno = 0;
    write_report(f, d, parts.coverage, parts.opts, *parts.redact);
    if (f) f.flush();
    if (!f) return failed();
    f.close();
    if (!f) return failed();
    return "";
  } catch (const std::exception& e) {
    return fail(std::string("the report was not finished: ") + e.what());
  }
}

void print_summary(Env& env, const Diagnosis& d, const std::string& output) {
  std::map<std::string, int> by;
  for (const auto& f : d.failures) ++by[std::string(f.verdict)];
  env.out << fmt::format("{} failed offers out of {}: {} agent, {} system, {} configuration, {} benign, {} unknown; {} "
                         "incident{}\n",
                         d.failures.size(), d.offers, by["agent"], by["system"], by["configuration"], by["benign"],
                         by["unknown"], d.incidents.size(), d.incidents.size() == 1 ? "" : "s");
  if (!output.empty() && output != "-") env.out << "report: " << output << "\n";
}

// `precomputed`: the diagnosis the caller already made of this database (analyze), or null.
int write_case_report(Env& env, const std::string& db, const std::string& patterns, const ReportOptions& opts,
                      const std::string& output, bool print, const Diagnosis* precomputed) {
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
  ReportParts parts;
  if (!read_report_parts(env, **store, *d, opts, parts)) return static_cast<int>(Exit::input_error);
  if (std::string err = write_report_to(env.out, output, *d, parts, nullptr); !err.empty()) {
    error_line(env, err);
    return static_cast<int>(Exit::input_error);
  }
  clock.lap(env, "report");
  if (print) print_summary(env, *d, output);
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
  ReportOptions opts{format, case_id, redact, &*zone};
  // The diagnosis made (and saved) at the end of the ingest is the one the report shows. With
  // a file to write and two threads or more, the report is written while the verdicts are
  // made, in the order it lists them (the parts it reads from the database are read first);
  // otherwise after the diagnosis.
  Diagnosis diagnosis;
  bool diagnosed = false;
  ReportParts parts;
  bool streamed = false, unreadable = false, report_is_ours = false;
  std::string stream_error;
  std::jthread writer;  // joined on every way out, before what it reads goes
  std::function<void(const Diagnosis&)> on_briefs;
  if (threads >= 2 && output != "-") {
    on_briefs = [&](const Diagnosis& d) {
      auto store = Store::open(db, Store::Mode::read_only);
      if (!store.ok()) {
        error_line(env, store.error());
      } else if (read_report_parts(env, **store, d, opts, parts)) {
        streamed = true;
        writer = std::jthread([&] {
          stream_error = write_report_to(env.out, output, diagnosis, parts, &report_is_ours);
          diagnosis.verdicts.reader_left();  // (even if it could not start: the diagnosis must not wait for it)
        });
        return;
      }
      // no report (the error is written): nor may the diagnosis wait for a reader of its verdicts
      unreadable = true;
      d.verdicts.reader_left();
    };
  }
  int rc = run_ingest(env, db, patterns, as, tz, inputs, true, threads, &diagnosis, &diagnosed, !tmp_db.empty(),
                      on_briefs, format == "html", redact);
  int rc2 = 0;
  if (unreadable) {
    rc2 = static_cast<int>(Exit::input_error);
  } else if (streamed) {
    PhaseClock clock;
    writer.join();
    clock.lap(env, "report (the rest, after the diagnosis)");
    if (diagnosed && stream_error.empty()) {
      print_summary(env, diagnosis, output);
    } else {
      // the diagnosis stopped (its error is written) or the writing did: no half report of
      // ours (a link or a device named by -o is the user's, and stays)
      if (!stream_error.empty() && diagnosed) error_line(env, stream_error);
      if (report_is_ours) (void)::unlink(output.c_str());
      rc2 = static_cast<int>(Exit::input_error);
    }
  } else if (rc != static_cast<int>(Exit::usage)) {
    rc2 = write_case_report(env, db, patterns, opts, output, true, diagnosed ? &diagnosis : nullptr);
  }
  if (!tmp_db.empty()) std::filesystem::remove(tmp_db);
  if (rc == static_cast<int>(Exit::usage)) return rc;
  return rc2 ? rc2 : rc;
}

}  // namespace callaudit::cli
