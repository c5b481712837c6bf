// The fast capturing matcher against RE2 itself: every shipped text pattern on its samples,
// on every fixture line and on many mutations of them; small patterns on every short string
// over a small alphabet; constructs it must leave to RE2.
#include <doctest/doctest.h>
#include <re2/re2.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "callaudit/patterns.h"
#include "parse/fastmatch.h"

using namespace callaudit;
namespace fs = std::filesystem;

namespace {

// Both engines on one text: the same verdict, the same span for every group.
void agree(const std::string& pattern, const RE2& re, const FastMatcher& fm, std::string_view text, int& compared) {
  if (!FastMatcher::is_ascii(text)) return;
  int n = re.NumberOfCapturingGroups();
  std::vector<re2::StringPiece> g(static_cast<size_t>(n) + 1);
  re2::StringPiece t(text.data(), text.size());
  bool want = re.Match(t, 0, t.size(), RE2::ANCHOR_BOTH, g.data(), n + 1);
  std::vector<int> caps;
  std::vector<std::pair<int, int>> trail;
  auto got = fm.match(text, caps, trail);
  if (got == FastMatcher::Outcome::gave_up) return;  // RE2 answers then
  ++compared;
  INFO("pattern: " << pattern);
  INFO("text: " << std::string(text));
  REQUIRE((got == FastMatcher::Outcome::match) == want);
  if (!want) return;
  for (int i = 1; i <= n; ++i) {
    INFO("group " << i);
    const auto& s = g[static_cast<size_t>(i)];
    int b = caps[2 * static_cast<size_t>(i)], e = caps[2 * static_cast<size_t>(i) + 1];
    if (s.data() == nullptr) {
      CHECK(b == -1);
      CHECK(e == -1);
    } else {
      CHECK(b == static_cast<int>(s.data() - text.data()));
      CHECK(e == static_cast<int>(s.data() - text.data() + s.size()));
    }
  }
}

std::vector<std::string> fixture_lines() {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(CALLAUDIT_SOURCE_DIR) / "fixtures" / "logs")) {
    if (!e.is_regular_file() || e.path().extension() == ".zip" || e.path().extension() == ".gz") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      out.push_back(line);
    }
  }
  return out;
}

std::string mutate(const std::string& s, std::mt19937& rng) {
  static const std::string alphabet = "0123456789abcdefAZ _-.:@/[]()%\"<>\t";
  std::string out = s;
  int edits = 1 + static_cast<int>(rng() % 3);
  for (int k = 0; k < edits; ++k) {
    size_t at = out.empty() ? 0 : rng() % out.size();
    char c = alphabet[rng() % alphabet.size()];
    switch (rng() % 4) {
      case 0:
        if (!out.empty()) out[at] = c;
        break;
      case 1:
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), c);
        break;
      case 2:
        if (!out.empty()) out.erase(at, 1);
        break;
      default:
        out = out.substr(0, at);  // cut, as a line written halfway
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the fast matcher agrees with RE2 on every shipped text pattern") {
  auto cat = Catalog::load(fs::path(CALLAUDIT_SOURCE_DIR) / "patterns");
  REQUIRE_MESSAGE(cat.ok(), cat.error());
  std::vector<std::string> lines = fixture_lines();
  for (const auto& f : cat->formats)
    for (const auto& p : f->patterns)
      for (const auto& s : p.samples) lines.push_back(s.text);
  REQUIRE(lines.size() > 100);
  std::mt19937 rng(7);
  int supported = 0, compared = 0;
  for (const auto& f : cat->formats) {
    for (const auto& p : f->patterns) {
      auto fm = FastMatcher::compile(p.regex, *p.re);
      if (f->name == "freeswitch-log" && !p.continuation)
        CHECK_MESSAGE(fm != nullptr, "freeswitch-log pattern " << p.name << " should have a fast matcher");
      if (!fm) continue;
      ++supported;
      CHECK(fm->groups() == p.re->NumberOfCapturingGroups());
      for (const auto& line : lines) {
        agree(p.regex, *p.re, *fm, line, compared);
        for (int k = 0; k < 3; ++k) agree(p.regex, *p.re, *fm, mutate(line, rng), compared);
      }
    }
  }
  CHECK(supported >= 10);
  CHECK(compared > 10000);
}

TEST_CASE("the fast matcher agrees with RE2 on every short string") {
  const char* patterns[] = {
      "(?P<a>a*)(?P<b>a*?)b?",   "(?:(?P<x>a+) )?(?P<y>[ab]+)", "(?P<v>.+?)\\s*",        "a|ab|(?P<c>abb)",
      "(?P<o>a)?(?P<p>b)??a*",   "[^- ]{1,2}-(?P<q>\\S*)",      "(a|)(b|)-?",            "x*",
      "(?:ab|a)(?P<r>b*)",       "\\w+\\(\\)|(?P<w>\\w+)",       "(?P<e>)a*",             "[a\\-]{2,}b?[[:alpha:]]?",
      "(?:(?P<m>a|b) )?(?P<n>a\\.?b)", "^a?b*$",                 "(?P<s>[ab]{0,3}?)(?P<t>b{1,2})?",
  };
  const std::string alphabet = "ab- .";
  int compared = 0;
  for (const char* pat : patterns) {
    RE2 re(pat);
    REQUIRE_MESSAGE(re.ok(), pat);
    auto fm = FastMatcher::compile(pat, re);
    REQUIRE_MESSAGE(fm != nullptr, pat);
    // every string of length 0..6 over the alphabet
    std::vector<size_t> digits;
    for (size_t len = 0; len <= 6; ++len) {
      digits.assign(len, 0);
      for (;;) {
        std::string s;
        for (size_t d : digits) s += alphabet[d];
        agree(pat, re, *fm, s, compared);
        size_t i = 0;
        while (i < len && ++digits[i] == alphabet.size()) digits[i++] = 0;
        if (i == len) break;
      }
    }
  }
  CHECK(compared > 100000);
}

TEST_CASE("the fast matcher leaves what it does not know to RE2") {
  for (const char* pat : {"\\bab", "(?i)ab", "(ab)+", "(?:ab)*", "\\pLx", "a$b", "\\x41", "a{,3}", "(?s).", "a\\z"}) {
    RE2 re(pat);
    if (!re.ok()) continue;
    CHECK_MESSAGE(FastMatcher::compile(pat, re) == nullptr, pat);
  }
  CHECK_FALSE(FastMatcher::is_ascii("caf\xc3\xa9 au lait, long enough to take the word loop"));
  CHECK(FastMatcher::is_ascii("plain ASCII text, long enough to take the word loop"));
}

TEST_CASE("the fast matcher gives up on runaway backtracking instead of taking long") {
  std::string pat = "(?P<a>.*)(?P<b>.*)(?P<c>.*)(?P<d>.*)x";
  RE2 re(pat);
  auto fm = FastMatcher::compile(pat, re);
  REQUIRE(fm);
  std::string text(3000, 'a');
  std::vector<int> caps;
  std::vector<std::pair<int, int>> trail;
  CHECK(fm->match(text, caps, trail) == FastMatcher::Outcome::gave_up);
}
