// The shipped pattern files: all load, every format's samples hold, the ten formats exist; bad pattern files (tests/patterns/bad/<case>/) fail with file, line and reason.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "callaudit/parse.h"
#include "callaudit/patterns.h"
#include "helpers.h"

using namespace callaudit;
namespace fs = std::filesystem;

namespace {

fs::path root() { return CALLAUDIT_SOURCE_DIR; }

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "  " + x + "\n";
  return s;
}

std::string trim_end(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

TEST_CASE("every shipped pattern file loads and every sample holds") {
  auto cat = Catalog::load(root() / "patterns");
  REQUIRE_MESSAGE(cat.ok(), cat.error());
  REQUIRE_FALSE(cat->formats.empty());
  for (const auto& f : cat->formats) {
    auto problems = check_samples(*f);
    CHECK_MESSAGE(problems.empty(), f->name << " (" << f->file.string() << "):\n" << joined(problems));
    // every format carries samples to check
    size_t samples = f->samples.size();
    for (const auto& p : f->patterns) samples += p.samples.size();
    CHECK_MESSAGE(samples > 0, f->name << " has no samples");
  }
}

TEST_CASE("the catalog holds the ten supported formats") {
  auto cat = Catalog::load(root() / "patterns");
  REQUIRE_MESSAGE(cat.ok(), cat.error());
  const std::vector<std::string> names = {
      "freeswitch-log",     "freeswitch-cdr-csv",    "asterisk-queue-log", "cxone-agent-refusal",
      "cxone-agent-state",  "netcall-audit",         "netcall-event-history", "vonage-interactions",
      "vonage-agent-states", "ziwo-calls",
  };
  for (const auto& n : names) {
    const FormatSpec* f = cat->find(n);
    CHECK_MESSAGE(f != nullptr, "missing format " << n);
    if (f) CHECK(f->name == n);
  }
  CHECK(cat->find("no-such-format") == nullptr);
  CHECK(cat->formats.size() >= names.size());
}

TEST_CASE("every format's code table for vendor reasons exists when it names one") {
  // A format reads its reasons from vendor-reasons.toml [<reasons>]; a table named explicitly
  // (reasons = "...") that is not there is a typo.
  auto cat = Catalog::load(root() / "patterns");
  REQUIRE_MESSAGE(cat.ok(), cat.error());
  for (const auto& f : cat->formats) {
    if (f->reason_table == f->name) continue;  // the default: a table is optional
    CHECK_MESSAGE(cat->codes.vendor.count(f->reason_table) == 1,
                  f->name << " names reason table [" << f->reason_table << "] which vendor-reasons.toml lacks");
  }
}

TEST_CASE("bad pattern files fail with the file, the line and the reason") {
  // One folder per case: format.toml, and expected.txt holding a part of the message.
  fs::path bad = root() / "tests" / "patterns" / "bad";
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(bad))
    if (e.is_directory()) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() >= 5);
  for (const auto& dir : cases) {
    INFO("case " << dir.filename().string());
    fs::path file = dir / "format.toml";
    REQUIRE(fs::exists(file));
    REQUIRE(fs::exists(dir / "expected.txt"));
    std::string expected = trim_end(testutil::read_file(dir / "expected.txt"));
    REQUIRE_FALSE(expected.empty());
    auto f = Catalog::load_format(file);
    REQUIRE_FALSE(f.ok());
    INFO("message: " << f.error());
    // the file is named in full (its folder tells the cases apart), then the expected part
    CHECK(f.error().rfind(file.string(), 0) == 0);
    CHECK(f.error().find(expected) != std::string::npos);
  }
}

TEST_CASE("the line in a load error is the line of the bad entry") {
  // The same bad pattern, pushed down by blank lines: the reported line moves with it.
  const std::string head = "[format]\nname = \"moving\"\nlayout = \"text\"\n[time]\nlayouts = [\"%s\"]\n";
  const std::string bad = "[[pattern]]\nname = \"p\"\nregex = '(unclosed'\n";
  for (int pad : {0, 1, 7}) {
    INFO("padding " << pad);
    testutil::TempDir tmp;
    fs::path file = tmp / "moving.toml";
    testutil::write_file(file, head + std::string(static_cast<size_t>(pad), '\n') + bad);
    auto f = Catalog::load_format(file);
    REQUIRE_FALSE(f.ok());
    std::string want = file.string() + ":" + std::to_string(6 + pad) + ": pattern 'p': bad regex";
    CHECK_MESSAGE(f.error().rfind(want, 0) == 0, f.error());
  }
}

TEST_CASE("Catalog::load refuses a folder without formats/ and a format name used twice") {
  testutil::TempDir tmp;
  auto none = Catalog::load(tmp.path());
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().find(tmp.path().string()) != std::string::npos);

  const std::string fmt =
      "[format]\nname = \"twin\"\nlayout = \"text\"\n[time]\nlayouts = [\"%s\"]\n[[pattern]]\nname = \"p\"\n"
      "regex = '(?P<ts>\\d+) x'\n";
  testutil::write_file(tmp / "formats" / "a.toml", fmt);
  testutil::write_file(tmp / "formats" / "b.toml", fmt);
  auto twice = Catalog::load(tmp.path());
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().find("b.toml") != std::string::npos);
  CHECK(twice.error().find("'twin'") != std::string::npos);

  fs::remove(tmp / "formats" / "b.toml");
  auto once = Catalog::load(tmp.path());
  REQUIRE_MESSAGE(once.ok(), once.error());
  CHECK(once->formats.size() == 1);
  CHECK(once->find("twin") != nullptr);
}

TEST_CASE("a kind's verdict and confidence must be words of the JSON contract") {
  testutil::TempDir tmp;
  fs::copy(root() / "patterns", tmp / "patterns", fs::copy_options::recursive);
  const fs::path kinds = tmp / "patterns" / "rules" / "kinds.toml";
  const std::string shipped = testutil::read_file(kinds);
  REQUIRE(Catalog::load(tmp / "patterns").ok());
  // the first kind's verdict and confidence, each replaced in turn
  const std::string verdict = "verdict = \"agent\"", confidence = "confidence = \"medium\"";
  const size_t v_at = shipped.find(verdict), c_at = shipped.find(confidence);
  REQUIRE(v_at != std::string::npos);
  REQUIRE(c_at != std::string::npos);
  const auto line_of = [&](size_t at) { return std::to_string(1 + std::count(shipped.begin(), shipped.begin() + static_cast<std::ptrdiff_t>(at), '\n')); };
  struct Case {
    size_t at, len;
    std::string with, want;
  };
  for (const Case& c : {Case{v_at, verdict.size(), "verdict = \"sytem\"", "verdict 'sytem' is not one of agent, system"},
                        Case{c_at, confidence.size(), "confidence = \"certain\"", "confidence 'certain' is not one of high"}}) {
    INFO(c.with);
    std::string text = shipped;
    text.replace(c.at, c.len, c.with);
    testutil::write_file(kinds, text);
    auto bad = Catalog::load(tmp / "patterns");
    REQUIRE_FALSE(bad.ok());
    INFO("message: " << bad.error());
    CHECK(bad.error().find(kinds.string() + ":") == 0);
    CHECK(bad.error().find("kind 'declined_by_agent'") != std::string::npos);
    CHECK(bad.error().find(c.want) != std::string::npos);
    // the line of the kind's table: at or above the bad key
    const std::string line = bad.error().substr(kinds.string().size() + 1, bad.error().find(':', kinds.string().size() + 1) - kinds.string().size() - 1);
    CHECK(std::stoi(line) <= std::stoi(line_of(c.at)));
    CHECK(std::stoi(line) >= std::stoi(line_of(c.at)) - 2);
  }
  testutil::write_file(kinds, shipped);
  CHECK(Catalog::load(tmp / "patterns").ok());
}
