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
