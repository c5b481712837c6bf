// The fast capturing matcher against RE2 itself: every shipped text pattern on its samples,
// on every fixture line and on many mutations of them; small patterns on every short string
// over a small alphabet; constructs it must leave to RE2. The fast dispatch (first matching
// pattern and its groups in one pass) against an RE2::Set the same way.
#include <doctest/doctest.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
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

// Every fixture line and every sample line of the catalog's formats.
std::vector<std::string> shipped_lines(const Catalog& cat) {
  std::vector<std::string> lines = fixture_lines();
  for (const auto& f : cat.formats)
    for (const auto& p : f->patterns)
      for (const auto& s : p.samples) lines.push_back(s.text);
  return lines;
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
  std::vector<std::string> lines = shipped_lines(*cat);
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
      // runs of literals and fixed counts, matched as one step: whole, cut short, shared
      // by the branches that lead into them
      "(?P<f>a{2}-b)a?",         "(?:a{2} )?(?P<g>[ab]{2}\\.b)", "(?:a|b)-a{2}",        "a-b{2}|a-",
      "(?P<h>a)b{2}(?P<i>a{1})[^a]{3}",
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

TEST_CASE("the fast matcher agrees with RE2 on long fixed runs, 16 or eight bytes at a time or with many classes") {
  // a run whose classes split into few nibble rectangles is checked 16 positions at a time
  // (the last, partial block read whole when the text goes on for 16 bytes more, else byte by
  // byte), one of few classes eight positions at a time, one of more than eight classes byte
  // by byte: each text matching as a whole, then every byte changed, the text cut short and
  // grown by one
  struct Case {
    const char* pattern;
    const char* text;
    bool by_nibbles;  // its runs split into few nibble rectangles
  };
  const Case cases[] = {
      {"(?P<u>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}) x", "0123abcd-ef01-9a8b x", true},
      {"(?P<t>\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{6})(?: (?P<c>\\d+))?", "2024-03-05 08:00:00.000340 97", true},
      // a rectangle for each literal byte: more than eight
      {"abcdefghij-\\d{3}", "abcdefghij-123", false},
      {"(?:x|y)0123456789[a-c]{2}(?P<z>z*)", "y0123456789cazz", false},
      // 36 bytes: two whole blocks and a tail read whole (the text goes on)
      {"(?P<u>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) (?P<r>.*)",
       "9b1e6c2a-7d4f-4c1e-8a55-0f2d3c4b5a69 2024-03-05 14:05:31.233190 [NOTICE]", true},
      // 40 bytes at the very end of the text: the tail byte by byte
      {"(?P<a>[A-Z]{20}[0-9]{20})", "ABCDEFGHIJKLMNOPQRST01234567890123456789", true},
      // classes of several rectangles each: every printable byte, word bytes
      {"<[!-~]{17}\\w{16}>(?P<r>.*)", "<a~!0Zz{}|_-+=?/.Ab_9Zz0aQ_x1Y2w3V> and more text after it", true},
  };
  const std::string swaps = "0a9f-: .xzgZ\x7f";
  int compared = 0;
  for (const auto& one : cases) {
    const char* pat = one.pattern;
    const char* base = one.text;
    RE2 re(pat);
    REQUIRE_MESSAGE(re.ok(), pat);
    auto fm = FastMatcher::compile(pat, re);
    REQUIRE_MESSAGE(fm != nullptr, pat);
    CHECK_MESSAGE((fm->nibble_runs() > 0) == one.by_nibbles, pat);
    const std::string text = base;
    REQUIRE(RE2::FullMatch(text, re));
    agree(pat, re, *fm, text, compared);
    for (size_t i = 0; i < text.size(); ++i) {
      for (char c : swaps) {
        std::string t = text;
        t[i] = c;
        agree(pat, re, *fm, t, compared);
      }
      agree(pat, re, *fm, text.substr(0, i), compared);
    }
    for (char c : swaps) agree(pat, re, *fm, text + c, compared);
  }
  CHECK(compared > 1000);
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

namespace {

// The reference for the dispatch: an anchored RE2::Set picks the lowest-numbered matching
// pattern, RE2 gives its groups. The dispatch must say the same, or give up.
struct SetReference {
  std::vector<std::string> patterns;
  std::vector<std::unique_ptr<RE2>> res;
  RE2::Set set{RE2::Options(), RE2::ANCHOR_BOTH};
  std::unique_ptr<FastDispatch> fast;

  SetReference(std::vector<std::string> ps, size_t min_shared) : patterns(std::move(ps)) {
    std::vector<FastDispatch::Input> in;
    for (const auto& p : patterns) {
      res.push_back(std::make_unique<RE2>(p));
      REQUIRE_MESSAGE(res.back()->ok(), p);
      REQUIRE(set.Add(p, nullptr) >= 0);
    }
    REQUIRE(set.Compile());
    for (size_t i = 0; i < patterns.size(); ++i) in.push_back({patterns[i], res[i].get()});
    fast = FastDispatch::compile(in, min_shared);
  }

  // Returns whether the dispatch answered (rather than gave up).
  bool agree(std::string_view text) {
    std::vector<int> hits;
    int want = -1;
    if (set.Match(re2::StringPiece(text.data(), text.size()), &hits) && !hits.empty())
      want = *std::min_element(hits.begin(), hits.end());
    int got = -1;
    std::vector<int> caps, ways;
    std::vector<std::pair<int, int>> trail;
    auto r = fast->match(text, got, caps, trail, ways);
    if (r == FastMatcher::Outcome::gave_up) return false;
    INFO("text: " << std::string(text));
    REQUIRE((r == FastMatcher::Outcome::match) == (want >= 0));
    if (want < 0) return true;
    REQUIRE(got == want);
    const RE2& re = *res[static_cast<size_t>(want)];
    int n = re.NumberOfCapturingGroups();
    std::vector<re2::StringPiece> g(static_cast<size_t>(n) + 1);
    REQUIRE(re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::ANCHOR_BOTH, g.data(), n + 1));
    INFO("pattern: " << patterns[static_cast<size_t>(want)]);
    for (int i = 1; i <= n; ++i) {
      INFO("group " << i);
      const auto& s = g[static_cast<size_t>(i)];
      int b = caps[2 * static_cast<size_t>(i)], e = caps[2 * static_cast<size_t>(i) + 1];
      CHECK(b == (s.data() == nullptr ? -1 : static_cast<int>(s.data() - text.data())));
      CHECK(e == (s.data() == nullptr ? -1 : static_cast<int>(s.data() - text.data() + s.size())));
    }
    return true;
  }
};

}  // namespace

TEST_CASE("the fast dispatch picks what the RE2::Set picks, with RE2's groups, on every shipped text format") {
  auto cat = Catalog::load(fs::path(CALLAUDIT_SOURCE_DIR) / "patterns");
  REQUIRE_MESSAGE(cat.ok(), cat.error());
  std::vector<std::string> lines = shipped_lines(*cat);
  std::mt19937 rng(11);
  int formats = 0, answered = 0;
  for (const auto& f : cat->formats) {
    if (f->layout != Layout::text) continue;
    std::vector<std::string> ps;
    for (const auto& p : f->patterns) ps.push_back(p.regex);
    SetReference ref(ps, 8);
    if (f->name == "freeswitch-log") {
      REQUIRE_MESSAGE(ref.fast != nullptr, "every freeswitch-log pattern should fit the fast matcher");
      // the mod_callcenter, channel and catch-all patterns share the line prefix
      auto groups = ref.fast->groups();
      REQUIRE(!groups.empty());
      CHECK(groups[0].size() >= 9);
    }
    if (!ref.fast) continue;
    ++formats;
    std::vector<int> chosen(ps.size() + 1, 0);
    for (const auto& line : lines) {
      if (!FastMatcher::is_ascii(line)) continue;
      for (int k = 0; k < 4; ++k) {
        std::string text = k == 0 ? line : mutate(line, rng);
        if (!FastMatcher::is_ascii(text)) continue;
        answered += ref.agree(text) ? 1 : 0;
      }
      int idx = -1;
      std::vector<int> caps, ways;
      std::vector<std::pair<int, int>> trail;
      ref.fast->match(line, idx, caps, trail, ways);
      ++chosen[static_cast<size_t>(idx + 1)];
    }
    // every pattern was chosen for some line
    if (f->name == "freeswitch-log")
      for (size_t i = 1; i < chosen.size(); ++i) CHECK_MESSAGE(chosen[i] > 0, f->patterns[i - 1].name);
  }
  CHECK(formats >= 1);
  CHECK(answered > 5000);
}

TEST_CASE("the fast dispatch: a later way of the shared part for an earlier pattern wins over an earlier way") {
  // "abc": pattern 0 matches only with a = "ab" (the shared part's second way), pattern 1
  // already with a = "a" (its first way). The Set says 0, and so must the dispatch.
  SetReference ref({"(?P<a>a|ab)c", "(?P<a>a|ab)bc?", "(?P<a>a|ab).*"}, 1);
  REQUIRE(ref.fast != nullptr);
  REQUIRE(ref.fast->groups() == std::vector<std::vector<int>>{{0, 1, 2}});
  int idx = -1;
  std::vector<int> caps, ways;
  std::vector<std::pair<int, int>> trail;
  REQUIRE(ref.fast->match("abc", idx, caps, trail, ways) == FastMatcher::Outcome::match);
  CHECK(idx == 0);
  CHECK(caps[2] == 0);
  CHECK(caps[3] == 2);
  REQUIRE(ref.fast->match("ab", idx, caps, trail, ways) == FastMatcher::Outcome::match);
  CHECK(idx == 1);
  CHECK(caps[3] == 1);
  CHECK(ref.agree("abc"));
}

TEST_CASE("the fast dispatch agrees with the RE2::Set on every short string") {
  const std::vector<std::vector<std::string>> sets = {
      {"(?P<a>a|ab)c", "(?P<a>a|ab)bc?", "(?P<a>a|ab).*"},
      {"(?:(?P<u>a+) )?(?P<v>b*)-c", "(?:(?P<u>a+) )?(?P<v>b*)-(?P<w>.+?)\\s*", "(?:(?P<u>a+) )?(?P<v>b*).*", "c.*", "(?:\\s+.*|)"},
      {"(?P<x>a*?)(?P<y>b?)(?P<z>a|b)c", "(?P<x>a*?)(?P<y>b?)a", "(?P<x>a*?)(?P<y>b?)", "a b"},
      {"(?P<p>[ab]{1,2})-(?P<q>\\S*)", "(?P<p>[ab]{1,2})-", "(?P<p>[ab]{1,2})", "(?P<p>.)(?P<r>b)?c?"},
      {"ab", "a", "ab?c", "", "(?P<n>c)b|.*"},
  };
  const std::string alphabet = "abc- ";
  int answered = 0;
  for (const auto& ps : sets) {
    for (size_t min_shared : {1, 2, 8}) {
      SetReference ref(ps, min_shared);
      REQUIRE(ref.fast != nullptr);
      std::vector<size_t> digits;
      for (size_t len = 0; len <= 6; ++len) {
        digits.assign(len, 0);
        for (;;) {
          std::string s;
          for (size_t d : digits) s += alphabet[d];
          answered += ref.agree(s) ? 1 : 0;
          size_t i = 0;
          while (i < len && ++digits[i] == alphabet.size()) digits[i++] = 0;
          if (i == len) break;
        }
      }
    }
  }
  CHECK(answered > 200000);
}

TEST_CASE("the fast dispatch leaves what it cannot do to the RE2::Set") {
  // one pattern outside the subset: no dispatch at all
  SetReference none({"(?P<a>a)b", "(?i)ab"}, 1);
  CHECK(none.fast == nullptr);
  // a shared part with more ways than it keeps: it gives up, every time
  std::string shared = "(?P<a>.*)(?P<b>.*)";
  SetReference many({shared + "x", shared + "y"}, 1);
  REQUIRE(many.fast != nullptr);
  REQUIRE(many.fast->groups().size() == 1);
  int idx = -1;
  std::vector<int> caps, ways;
  std::vector<std::pair<int, int>> trail;
  CHECK(many.fast->match(std::string(40, 'a') + "y", idx, caps, trail, ways) == FastMatcher::Outcome::gave_up);
  CHECK(many.fast->match("aay", idx, caps, trail, ways) == FastMatcher::Outcome::match);
  CHECK(idx == 1);
}
