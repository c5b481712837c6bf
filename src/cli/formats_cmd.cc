// callaudit formats list | check | test. Covered by tests/cli/cli_test.cc.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "callaudit/ingest.h"
#include "callaudit/parse.h"
#include "common.h"

namespace callaudit::cli {

namespace {

class CountingSink : public ScanSink {
 public:
  Status on_event(const Event& e) override {
    (void)e;
    return {};
  }
  Status on_unmatched(std::int64_t line, std::string_view text, const std::string& why) override {
    if (samples.size() < 20) samples.push_back({line, std::string(text.substr(0, 160)), why});
    return {};
  }
  void on_recognized(const std::string& pattern, bool is_event) override {
    auto& c = counts[pattern];
    ++c.first;
    if (is_event) ++c.second;
  }
  struct Sample {
    std::int64_t line;
    std::string text, why;
  };
  std::vector<Sample> samples;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> counts;
};

int formats_list(Env& env, const Catalog& cat) {
  env.out << fmt::format("{:<24} {:<6} {:<15} {:>8}  {}\n", "format", "layout", "source", "patterns", "title");
  for (const auto& f : cat.formats) {
    size_t n = f->layout == Layout::text ? f->patterns.size() : f->events.size();
    env.out << fmt::format("{:<24} {:<6} {:<15} {:>8}  {}\n", f->name, to_string(f->layout), f->source, n, f->title);
  }
  env.out << fmt::format("{} formats from {}\n", cat.formats.size(), (cat.dir / "formats").string());
  return 0;
}

int formats_check(Env& env, const std::string& patterns_dir, const std::vector<std::string>& files) {
  Paint p{env.out_tty};
  std::vector<std::filesystem::path> paths;
  if (files.empty()) {
    std::filesystem::path d = patterns_dir.empty() ? Catalog::default_dir() : std::filesystem::path(patterns_dir);
    auto cat = Catalog::load(d);
    if (!cat.ok()) {
      error_line(env, cat.error());
      return static_cast<int>(Exit::input_error);
    }
    for (const auto& f : cat->formats) paths.push_back(f->file);
  } else {
    for (const auto& f : files) paths.emplace_back(f);
  }
  int bad = 0;
  size_t samples = 0;
  for (const auto& path : paths) {
    auto spec = Catalog::load_format(path);
    if (!spec.ok()) {
      env.out << p.red("FAIL ") << spec.error() << "\n";
      ++bad;
      continue;
    }
    auto problems = check_samples(*spec);
    size_t n = spec->samples.size();
    for (const auto& pat : spec->patterns) n += pat.samples.size();
    samples += n;
    if (problems.empty()) {
      env.out << p.green("ok   ") << spec->name << fmt::format(" ({} samples)", n) << "\n";
    } else {
      ++bad;
      env.out << p.red("FAIL ") << spec->name << "\n";
      for (const auto& pr : problems) env.out << "  " << pr << "\n";
    }
  }
  env.out << fmt::format("{} files, {} samples, {} failing\n", paths.size(), samples, bad);
  return bad ? static_cast<int>(Exit::input_error) : 0;
}

int formats_test(Env& env, const Catalog& cat, const std::string& forced, const std::string& tz,
                 const std::vector<std::string>& files) {
  auto zone = ZoneConverter::make(tz);
  if (!zone.ok()) {
    error_line(env, zone.error());
    return static_cast<int>(Exit::usage);
  }
  int rc = 0;
  walk_inputs(
      files,
      [&](InputStream& in) {
        std::string err;
        std::string head = read_head(*in.source, 64 * 1024, err);
        const FormatSpec* spec = nullptr;
        if (!forced.empty()) {
          spec = cat.find(forced);
        } else {
          Detection d = detect_format(cat, head);
          spec = d.spec;
          if (!spec) {
            error_line(env, in.name + ": " + d.why);
            rc = 1;
            return;
          }
        }
        if (!spec) {
          error_line(env, "unknown format '" + forced + "'");
          rc = 2;
          return;
        }
        auto src = prefixed(std::move(head), *in.source);
        CountingSink sink;
        auto st = scan(*spec, cat, *zone, *src, sink);
        if (!st.ok()) {
          error_line(env, in.name + ": " + st.error());
          rc = 1;
          return;
        }
        env.out << in.name << ": " << spec->name << "\n";
        env.out << fmt::format("  {} lines, {} parsed, {} unmatched, {} blank; {} events ({} offers, {} results, {} "
                               "failures, {} state changes)\n",
                               st->lines, st->parsed, st->unmatched, st->blank, st->events, st->offers, st->results,
                               st->failures, st->states);
        env.out << "  by pattern (recognized / events):\n";
        for (const auto& [name, c] : sink.counts) env.out << fmt::format("    {:<28} {:>8} {:>8}\n", name, c.first, c.second);
        for (const auto& s : sink.samples)
          env.out << fmt::format("  unmatched line {}: {}\n    {}\n", s.line, s.why, s.text);
      },
      [&](const std::string& name, const std::string& msg) {
        error_line(env, name + ": " + msg);
        rc = 1;
      });
  return rc;
}

}  // namespace

int cmd_formats(Env& env, const std::vector<std::string>& args) {
  const Command& cmd = command("formats");
  std::string db, patterns, as, tz, action;
  std::vector<std::string> rest;
  po::options_description desc("options");
  desc.add_options()("patterns", po::value<std::string>(&patterns)->default_value(""),
                     "folder of pattern files (default: the shipped patterns/)")(
      "as", po::value<std::string>(&as), "test: force this format")("tz", po::value<std::string>(&tz),
                                                                      "test: zone of zone-less times")(
      "action", po::value<std::string>(&action), "list, check or test")(
      "file", po::value<std::vector<std::string>>(&rest), "files");
  po::positional_options_description pos;
  pos.add("action", 1).add("file", -1);
  po::variables_map vm;
  if (int rc = parse_args(env, cmd, desc, &pos, args, vm); rc >= 0) return rc;
  if (action == "check") return formats_check(env, patterns, rest);
  if (action != "list" && action != "test")
    return usage_error(env, cmd, action.empty() ? "say list, check or test" : "unknown action '" + action + "'");
  auto cat = load_catalog(env, patterns);
  if (!cat.ok()) return static_cast<int>(Exit::input_error);
  if (action == "list") return formats_list(env, *cat);
  if (rest.empty()) return usage_error(env, cmd, "formats test needs a FILE");
  return formats_test(env, *cat, as, tz, rest);
}

}  // namespace callaudit::cli
