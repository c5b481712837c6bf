// The subcommand table, help and dispatch. Covered by tests/cli/cli_test.cc.
#include "callaudit/cli.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include "callaudit/parse.h"
#include "common.h"

namespace callaudit::cli {

int cmd_ingest(Env& env, const std::vector<std::string>& args);
int cmd_formats(Env& env, const std::vector<std::string>& args);
int cmd_diagnose(Env& env, const std::vector<std::string>& args);
int cmd_explain(Env& env, const std::vector<std::string>& args);
int cmd_timeline(Env& env, const std::vector<std::string>& args);
int cmd_query(Env& env, const std::vector<std::string>& args);
int cmd_shell(Env& env, const std::vector<std::string>& args);
int cmd_report(Env& env, const std::vector<std::string>& args);
int cmd_analyze(Env& env, const std::vector<std::string>& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"analyze", "ingest, diagnose and write the case report in one go: the command to run first",
       "callaudit analyze [--tz ZONE] [-o report.html] INPUT...",
       "  callaudit analyze --tz Europe/London ticket-4711.zip\n"
       "  callaudit analyze --tz America/Chicago -o case.md --redact logs/\n",
       cmd_analyze},
      {"ingest", "read inputs into the case's timeline database",
       "callaudit ingest [--db FILE] [--as FORMAT] [--tz ZONE] INPUT...",
       "  callaudit ingest --tz Europe/London ticket-4711.zip\n"
       "  callaudit ingest --db case.db --as netcall-audit audit-export.csv\n"
       "  zcat freeswitch.log.1.gz | callaudit ingest --tz America/New_York -\n",
       cmd_ingest},
      {"diagnose", "a verdict for every failed offer: agent, system, configuration, benign or unknown",
       "callaudit diagnose [--db FILE] [--format text|json|csv] [--window SECONDS] [--rules FILE]",
       "  callaudit diagnose\n"
       "  callaudit diagnose --format json > diagnosis.json\n"
       "  callaudit diagnose --window 20 --display-tz Europe/London\n",
       cmd_diagnose},
      {"explain", "the evidence chain of one failure: rules fired and not fired, lines cited",
       "callaudit explain [--db FILE] FAILURE_ID", "  callaudit explain 17\n", cmd_explain},
      {"timeline", "the merged, time-ordered trail of all sources, with each agent's state",
       "callaudit timeline [--db FILE] [--agent ID] [--call ID] [--from T] [--to T] [--around T] [--window S]",
       "  callaudit timeline --agent 1042 --around 2026-03-14T09:12:33Z\n"
       "  callaudit timeline --call C-000123\n"
       "  callaudit timeline --display-tz Europe/London --from '2026-03-14 09:00' --to '2026-03-14 10:00'\n",
       cmd_timeline},
      {"query", "read-only SQL over the timeline (views: failures, state_changes, agents, incidents, timeline)",
       "callaudit query [--db FILE] [--format table|csv|json] SQL",
       "  callaudit query \"SELECT verdict, count(*) FROM failures GROUP BY verdict\"\n"
       "  callaudit query --format csv \"SELECT * FROM state_changes WHERE agent = '1042'\"\n",
       cmd_query},
      {"shell", "interactive read-only SQL and dot-commands (.failures, .explain, .timeline) over the timeline",
       "callaudit shell [--db FILE] [--display-tz ZONE]",
       "  callaudit shell --db case.db\n"
       "  callaudit shell --display-tz Europe/London\n"
       "  printf '.failures agent\\n.explain 17\\n' | callaudit shell --db case.db\n",
       cmd_shell},
      {"report", "the case report to attach to a ticket: Markdown, self-contained HTML, or JSON",
       "callaudit report [--db FILE] [--format md|html|json] [--case ID] [--redact] [-o FILE]",
       "  callaudit report --format html --case 4711 -o report.html\n"
       "  callaudit report --redact > report.md\n",
       cmd_report},
      {"formats", "list the known formats, check pattern files, test which lines a file matches",
       "callaudit formats list | check [FILE.toml...] | test [--as FORMAT] FILE",
       "  callaudit formats list\n"
       "  callaudit formats check patterns/formats/freeswitch-log.toml\n"
       "  callaudit formats test freeswitch.log\n",
       cmd_formats},
  };
  return table;
}

void add_common(po::options_description& desc, std::string& db, std::string& patterns) {
  desc.add_options()("db", po::value<std::string>(&db)->default_value("callaudit.db"),
                     "the case's timeline database")(
      "patterns", po::value<std::string>(&patterns)->default_value(""),
      "folder of pattern files (default: the shipped patterns/)");
}

int default_threads() {
  // With two cores the scan thread alone is the bottleneck of --threads 2 (the writer waits
  // about half the time); parser threads beside it pay off: one more than the cores, at most 8.
  unsigned cores = std::thread::hardware_concurrency();
  return cores >= 2 ? static_cast<int>(std::min(cores + 1, 8u)) : 1;
}

void add_threads(po::options_description& desc, int& threads) {
  desc.add_options()("threads", po::value<int>(&threads)->default_value(threads),
                     "1: read, parse, store and diagnose on one thread; 2: scan on one thread while another writes the database, and make the verdicts on two; N >= 3: besides, N-1 threads parse text inputs");
}

void error_line(Env& env, const std::string& message) {
  Paint p{env.err_tty};
  env.err << p.red("error:") << " " << message << "\n";
}

int usage_error(Env& env, const Command& cmd, const std::string& message) {
  error_line(env, message);
  env.err << "usage: " << cmd.usage << "\n(see 'callaudit " << cmd.name << " --help')\n";
  return static_cast<int>(Exit::usage);
}

int parse_args(Env& env, const Command& cmd, po::options_description& desc,
               const po::positional_options_description* pos, const std::vector<std::string>& args,
               po::variables_map& vm) {
  bool help = false;
  po::options_description all(desc);
  all.add_options()("help,h", po::bool_switch(&help), "show this help");
  try {
    auto parser = po::command_line_parser(args).options(all);
    if (pos) parser.positional(*pos);
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(env, cmd, e.what());
  }
  if (help) {
    env.out << "callaudit " << cmd.name << ": " << cmd.summary << "\n\nusage: " << cmd.usage << "\n\n"
            << all << "\nexamples:\n"
            << cmd.examples;
    return 0;
  }
  return -1;
}

Result<Catalog> load_catalog(Env& env, const std::string& dir) {
  std::filesystem::path d = dir.empty() ? Catalog::default_dir() : std::filesystem::path(dir);
  auto cat = Catalog::load(d);
  if (!cat.ok()) {
    error_line(env, "patterns: " + cat.error());
    return cat;
  }
  // A pattern file whose own samples fail would misread real inputs: refuse it up front.
  for (const auto& f : cat->formats) {
    auto problems = check_samples(*f);
    if (!problems.empty()) {
      error_line(env, "patterns: " + problems.front() +
                          (problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more)" : "") +
                          "; see 'callaudit formats check'");
      return Status::error(problems.front());
    }
  }
  return cat;
}

namespace {

void print_overview(Env& env) {
  env.out << "callaudit: why did calls fail to reach agents? Reads contact-center logs into a timeline\n"
             "and tells, for every failed offer, whether the agent, the system or configuration caused it.\n\n"
             "usage: callaudit COMMAND [options]\n\ncommands:\n";
  for (const auto& c : commands()) {
    std::string n = c.name;
    n.resize(10, ' ');
    env.out << "  " << n << c.summary << "\n";
  }
  env.out << "\n'callaudit COMMAND --help' shows a command's options and examples.\n";
}

}  // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Env env{out, err, &out == &std::cout && ::isatty(1), &err == &std::cerr && ::isatty(2)};
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_overview(env);
    return args.empty() ? static_cast<int>(Exit::usage) : 0;
  }
  if (args[0] == "--version") {
    out << "callaudit 0.1.0\n";
    return 0;
  }
  for (const auto& c : commands()) {
    if (args[0] == c.name) {
      try {
        return c.run(env, std::vector<std::string>(args.begin() + 1, args.end()));
      } catch (const std::exception& e) {
        error_line(env, std::string("internal error: ") + e.what());
        return static_cast<int>(Exit::input_error);
      }
    }
  }
  error_line(env, "unknown command '" + args[0] + "'");
  print_overview(env);
  return static_cast<int>(Exit::usage);
}

}  // namespace callaudit::cli
