// Golden end-to-end scenarios: every folder under fixtures/scenarios/ holds inputs/ (files in
// the real formats), args (extra ingest arguments, one line, may be empty), expected.json (the
// output of `diagnose --format json`, with the scenario folder's absolute path scrubbed from
// every file name) and README.md (what the scenario shows and why, per diagnosis.md).
//
// The runner ingests inputs/ into a fresh database, diagnoses, scrubs "<abs scenario dir>/" and
// compares with expected.json byte for byte; a mismatch prints the differing lines.
//
// UPDATE_GOLDEN=1 rewrites every expected.json from the current output (and passes);
// UPDATE_GOLDEN=name1,name2 rewrites only those scenarios. Read the diff before committing:
// an expected.json may hold a hand-corrected verdict where the engine disagrees with
// diagnosis.md (its README says so), and regenerating it would bless the engine's output.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "helpers.h"

namespace fs = std::filesystem;
using testutil::run_cli;

namespace {

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

// A unified-style hunk around the first difference: common prefix and suffix trimmed, three
// lines of context, at most `limit` changed lines per side.
std::string diff(const std::string& expected, const std::string& actual, size_t limit = 40) {
  auto e = split_lines(expected), a = split_lines(actual);
  size_t pre = 0;
  while (pre < e.size() && pre < a.size() && e[pre] == a[pre]) ++pre;
  size_t suf = 0;
  while (suf < e.size() - pre && suf < a.size() - pre && e[e.size() - 1 - suf] == a[a.size() - 1 - suf]) ++suf;
  const size_t ctx = 3, from = pre > ctx ? pre - ctx : 0;
  std::ostringstream out;
  out << "--- expected.json\n+++ actual (line " << pre + 1 << ")\n";
  for (size_t i = from; i < pre; ++i) out << "  " << e[i] << "\n";
  for (size_t i = pre, n = 0; i < e.size() - suf; ++i, ++n) {
    if (n == limit) { out << "  ... (" << e.size() - suf - i << " more expected lines)\n"; break; }
    out << "- " << e[i] << "\n";
  }
  for (size_t i = pre, n = 0; i < a.size() - suf; ++i, ++n) {
    if (n == limit) { out << "  ... (" << a.size() - suf - i << " more actual lines)\n"; break; }
    out << "+ " << a[i] << "\n";
  }
  for (size_t i = a.size() - suf, n = 0; i < a.size() && n < ctx; ++i, ++n) out << "  " << a[i] << "\n";
  if (expected.size() != actual.size() && e == a) out << "(lines equal: the difference is in line ends or a final newline)\n";
  return out.str();
}

// UPDATE_GOLDEN=1 (or true/all): every scenario; otherwise a comma-separated list of names.
bool should_update(const std::string& name) {
  const char* v = std::getenv("UPDATE_GOLDEN");
  if (!v || !*v) return false;
  std::string s = v;
  if (s == "0" || s == "false") return false;
  if (s == "1" || s == "true" || s == "all") return true;
  std::istringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (item == name) return true;
  return false;
}

}  // namespace

TEST_CASE("scenarios: diagnose --format json matches each golden expected.json") {
  const fs::path root = testutil::source_dir() / "fixtures" / "scenarios";
  const fs::path patterns = testutil::source_dir() / "patterns";
  REQUIRE(fs::is_directory(root));

  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory()) dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  CHECK_MESSAGE(dirs.size() >= 12, "only " << dirs.size() << " scenarios under " << root.string());

  for (const fs::path& dir : dirs) {
    const std::string name = dir.filename().string();
    const fs::path inputs = dir / "inputs";
    if (!fs::is_directory(inputs)) {
      CHECK_MESSAGE(false, "scenario " << name << ": no inputs/ folder");
      continue;
    }
    CHECK_MESSAGE(fs::exists(dir / "README.md"), "scenario " << name << ": no README.md");

    testutil::TempDir tmp;
    const std::string db = (tmp / "case.db").string();
    std::vector<std::string> ingest = {"ingest", "--db", db, "--patterns", patterns.string()};
    if (fs::exists(dir / "args"))
      for (auto& a : split_words(testutil::read_file(dir / "args"))) ingest.push_back(a);
    ingest.push_back(inputs.string());
    auto in = run_cli(ingest);
    if (in.code != 0) {
      CHECK_MESSAGE(false, "scenario " << name << ": ingest exited " << in.code << "\n" << in.err << in.out);
      continue;
    }
    auto dg = run_cli({"diagnose", "--db", db, "--patterns", patterns.string(), "--format", "json"});
    if (dg.code != 0) {
      CHECK_MESSAGE(false, "scenario " << name << ": diagnose exited " << dg.code << "\n" << dg.err);
      continue;
    }
    const std::string actual = replace_all(dg.out, dir.string() + "/", "");

    const fs::path golden = dir / "expected.json";
    if (should_update(name)) {
      testutil::write_file(golden, actual);
      MESSAGE("scenario " << name << ": wrote " << golden.string());
      continue;
    }
    if (!fs::exists(golden)) {
      CHECK_MESSAGE(false, "scenario " << name << ": no expected.json (run with UPDATE_GOLDEN=" << name
                                       << " to create it, then review it)");
      continue;
    }
    const std::string expected = testutil::read_file(golden);
    const bool same = actual == expected;  // not inside CHECK: doctest would print both whole files
    CHECK_MESSAGE(same, "scenario " << name << ": output differs from expected.json\n" << diff(expected, actual));
  }
}
