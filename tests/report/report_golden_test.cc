// Golden case reports: every folder under fixtures/scenarios/ is ingested as the scenario runner
// does (inputs/ with the folder's args), then `report --format md` and `report --format json`
// are compared byte for byte with expected-report.md and expected-report.json in that folder,
// after the folder's absolute path is scrubbed from every file name.
//
// UPDATE_GOLDEN=1 rewrites every golden report (and passes); UPDATE_GOLDEN=name1,name2 only
// those scenarios. Read the diff before committing.
//
// Besides the bytes, the Markdown of every scenario is checked for what a ticket system needs:
// the five sections in order, tables whose rows have as many cells as their header (no raw
// '|' inside a cell), code spans that close on the line they open, and every evidence line of
// every failure quoted verbatim with its file:line.
#include <doctest/doctest.h>

#include "callaudit/diagnose.h"
#include "callaudit/json.h"
#include "callaudit/patterns.h"
#include "callaudit/store.h"
#include "report_helpers.h"

namespace fs = std::filesystem;
using namespace reporttest;

namespace {

// The evidence text as the Markdown quotes it inside a code span in a table cell: line ends as
// spaces, '|' escaped (with a backslash run before it made even); nothing else changes.
std::string md_quoted(const std::string& text) {
  std::string out;
  size_t backslashes = 0;
  for (char c : text) {
    if (c == '\n' || c == '\r') c = ' ';
    if (c == '|') {
      if (backslashes % 2 == 1) out += '\\';
      out += "\\|";
      backslashes = 0;
      continue;
    }
    out += c;
    backslashes = c == '\\' ? backslashes + 1 : 0;
  }
  return out;
}

}  // namespace

TEST_CASE("report: md and json of every scenario match expected-report.md / expected-report.json") {
  auto dirs = scenario_dirs();
  CHECK_MESSAGE(dirs.size() >= 12, "only " << dirs.size() << " scenarios");
  for (const fs::path& dir : dirs) {
    const std::string name = dir.filename().string();
    testutil::TempDir tmp;
    const std::string db = (tmp / "case.db").string();
    auto in = ingest_scenario(dir, db);
    if (in.code != 0) {
      CHECK_MESSAGE(false, name << ": ingest exited " << in.code << "\n" << in.err << in.out);
      continue;
    }
    for (const char* format : {"md", "json"}) {
      auto r = report(db, format);
      if (r.code != 0) {
        CHECK_MESSAGE(false, name << ": report --format " << format << " exited " << r.code << "\n" << r.err);
        continue;
      }
      CHECK_MESSAGE(r.err.empty(), name << ": report --format " << format << " wrote to stderr: " << r.err);
      const std::string actual = scrub(r.out, dir);
      CHECK_MESSAGE(actual.find(dir.string()) == std::string::npos,
                    name << ": the scenario's absolute path survived scrubbing in the " << format);
      const fs::path golden = dir / (std::string("expected-report.") + format);
      if (should_update(name)) {
        testutil::write_file(golden, actual);
        MESSAGE(name << ": wrote " << golden.string());
        continue;
      }
      if (!fs::exists(golden)) {
        CHECK_MESSAGE(false, name << ": no " << golden.filename().string() << " (run with UPDATE_GOLDEN=" << name
                                  << " to create it, then review it)");
        continue;
      }
      const std::string expected = testutil::read_file(golden);
      const bool same = actual == expected;
      CHECK_MESSAGE(same, name << ": report --format " << format << " differs from " << golden.filename().string()
                               << "\n" << diff(expected, actual, golden.filename().string()));
    }
  }
}

TEST_CASE("report: json is the diagnosis contract (the same bytes as diagnose --format json)") {
  for (const fs::path& dir : scenario_dirs()) {
    const std::string name = dir.filename().string();
    testutil::TempDir tmp;
    const std::string db = (tmp / "case.db").string();
    REQUIRE_MESSAGE(ingest_scenario(dir, db).code == 0, name);
    auto r = report(db, "json");
    auto d = testutil::run_cli({"diagnose", "--db", db, "--patterns", patterns_dir().string(), "--format", "json"});
    REQUIRE(r.code == 0);
    REQUIRE(d.code == 0);
    const bool same = r.out == d.out;
    CHECK_MESSAGE(same, name << ": report --format json differs from diagnose --format json\n"
                             << diff(d.out, r.out, "diagnose --format json"));
  }
}

TEST_CASE("report: the Markdown of every scenario renders (sections, tables, code spans) and quotes evidence") {
  auto cat = callaudit::Catalog::load(patterns_dir());
  REQUIRE_MESSAGE(cat.ok(), cat.error());
  const auto params = callaudit::DiagnosisParams::from(cat->rules);
  int evidence_checked = 0;
  for (const fs::path& dir : scenario_dirs()) {
    const std::string name = dir.filename().string();
    testutil::TempDir tmp;
    const std::string db = (tmp / "case.db").string();
    REQUIRE_MESSAGE(ingest_scenario(dir, db).code == 0, name);
    auto md = report(db, "md");
    auto json = report(db, "json");
    REQUIRE(md.code == 0);
    REQUIRE(json.code == 0);
    check_markdown_shape(name, md.out);

    // every failure and its evidence, from the library itself
    auto store = callaudit::Store::open(db, callaudit::Store::Mode::read_only);
    REQUIRE_MESSAGE(store.ok(), store.error());
    auto d = callaudit::diagnose(**store, *cat, params);
    REQUIRE_MESSAGE(d.ok(), d.error());
    d->verdicts.for_each([&](const callaudit::FailureVerdict& f) {
      const std::string heading = "### #" + std::to_string(f.id) + " — agent " + md_escaped(f.agent) + " — ";
      CHECK_MESSAGE(md.out.find(heading) != std::string::npos, name << ": no heading for failure #" << f.id);
      CHECK_MESSAGE(md.out.find("**" + f.verdict + "**") != std::string::npos, name << ": verdict " << f.verdict);
      CHECK_MESSAGE(!f.evidence.empty(), name << ": failure #" << f.id << " has no evidence");
      for (const auto& e : f.evidence) {
        ++evidence_checked;
        const std::string where = md_escaped(e.file) + ":" + std::to_string(e.line);
        const std::string row_start = "| " + e.role + " | " + where + " | ";
        const size_t row = md.out.find(row_start);
        CHECK_MESSAGE(row != std::string::npos, name << ": failure #" << f.id << ": no evidence row " << row_start);
        CHECK_MESSAGE(md.out.find(md_quoted(e.text)) != std::string::npos,
                      name << ": failure #" << f.id << ": evidence not quoted verbatim: " << e.text);
        CHECK_MESSAGE(json.out.find(callaudit::json_escape(e.text)) != std::string::npos,
                      name << ": failure #" << f.id << ": evidence not in the json: " << e.text);
        CHECK_MESSAGE(e.line > 0, name << ": failure #" << f.id << ": evidence without a line number");
      }
    });
    // every agent row of the table
    for (const auto& a : d->agents)
      CHECK_MESSAGE(md.out.find("\n| " + md_escaped(a.agent) + " | ") != std::string::npos,
                    name << ": agent " << a.agent << " missing from the Agents table");
  }
  CHECK_MESSAGE(evidence_checked >= 14, "only " << evidence_checked << " evidence lines across the scenarios");
}

TEST_CASE("report: Markdown keeps hostile text inside its cells and code spans") {
  // Text with pipes, backticks, a backslash before a pipe and markup goes through ingest as a
  // Netcall failure reason: the tables must keep their shape and the code spans must close.
  testutil::TempDir tmp;
  testutil::write_file(tmp / "in" / "events.csv",
                       "Timestamp,Interaction ID,Queue,Event,Agent,Agent ID,Status\n"
                       "14/03/2026 09:12:20,C-1|x,Sales,Agent Offer,Jane | Smith,1042,Ringing\n"
                       "14/03/2026 09:12:33,C-1|x,Sales,Agent Offer,Jane | Smith,1042,"
                       "\"Failure (a|b ``c` d\\|e **f** <b>g</b> [h](i) &lt;x&gt; ~~s~~)\"\n");
  const std::string db = (tmp / "case.db").string();
  auto in = ingest_folder(db, tmp / "in", "Europe/London");
  REQUIRE_MESSAGE(in.code == 0, in.err << in.out);
  auto md = report(db, "md");
  REQUIRE(md.code == 0);
  check_markdown_shape("hostile", md.out);
  const std::string text = md_outside_code(md.out);
  CHECK_MESSAGE(text.find("<b>") == std::string::npos, text);
  CHECK_MESSAGE(text.find("&lt;") == std::string::npos, text);  // would render as "<"
  CHECK(md.out.find("\\<b\\>g\\</b\\>") != std::string::npos);
  CHECK(md.out.find("Jane \\| Smith") != std::string::npos);
}
