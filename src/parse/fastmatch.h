// A small backtracking matcher for the common shape of line patterns: concatenations of
// literals, single-character classes with quantifiers, alternations, capture groups and
// optional groups. It gives the same submatches as RE2's leftmost-first full match on ASCII
// text, much faster than RE2's capturing engines on the ~150-byte lines of a log, because a
// quantified class is one tight loop instead of one step per byte and instruction.
//
// `compile` accepts only the subset it can reproduce exactly (anything else: nullptr, and the
// caller keeps using RE2); `match` is tried only on ASCII text and may give up (a step budget
// bounds backtracking), in which case the caller asks RE2. Each node knows the bytes a match
// from it can start with: branches and backtracking steps that cannot match are skipped
// without entering them, and a quantified class whose continuation cannot start with a byte of
// it takes only its longest run (no shorter one could lead to a match). A run of literals and
// classes of a fixed count (a timestamp's `\d{4}-\d{2}-\d{2}`) can match in one way only and is
// checked as one step: when its classes split into at most eight rectangles of nibbles (a set
// of high nibbles times a set of low ones), 16 positions at a time by two table shuffles (SSSE3,
// chosen when the program starts); otherwise each byte's classes looked up in a table and masked
// by its position's, eight positions at a time (byte by byte for a run of more than eight
// classes).
// Covered by tests/parse/fastmatch_test.cc, which compares it with RE2 on every shipped
// pattern.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace re2 {
class RE2;
}

namespace callaudit {

class FastMatcher {
 public:
  enum class Outcome { match, no_match, gave_up };
  // `re` is the same pattern compiled by RE2 (used to read classes and to check the group
  // numbering). Returns nullptr when the pattern uses something outside the subset.
  static std::unique_ptr<FastMatcher> compile(std::string_view pattern, const re2::RE2& re);
  // Full match of `text` (ASCII only). On a match, group g (1-based) spans
  // [caps[2g], caps[2g+1]), or both are -1 when the group did not take part.
  // `trail` is scratch space owned by the caller (one per thread).
  Outcome match(std::string_view text, std::vector<int>& caps, std::vector<std::pair<int, int>>& trail) const;
  [[nodiscard]] int groups() const { return ngroups_; }
  // How many of its fixed runs are checked 16 bytes at a time where the CPU can (for the tests).
  [[nodiscard]] int nibble_runs() const;

  static bool is_ascii(std::string_view text);
  ~FastMatcher();

  struct Node;

 private:
  friend class FastDispatch;
  std::vector<std::unique_ptr<Node>> nodes_;
  const Node* start_ = nullptr;
  int ngroups_ = 0;
};

// What an anchored RE2::Set followed by one capturing match gives, in one pass of the fast
// matcher: the lowest-numbered pattern that matches all of `text`, with that pattern's groups.
// Consecutive patterns that begin with the same atoms (a format's shared line prefix) share
// them: the shared part is matched once, every way it can match is kept in priority order, and
// each pattern's rest is tried from each of those ways in turn, so the answer is exactly the
// one of trying the patterns one by one, at a fraction of the cost on lines whose message
// fails every rest at its first byte.
//
// `compile` gives nullptr unless every pattern fits the fast matcher's subset; `match` is for
// ASCII text only and may give up (step budget, too many ways), and then the Set answers.
class FastDispatch {
 public:
  struct Input {
    std::string_view pattern;
    const re2::RE2* re;
  };
  // Consecutive patterns share their common leading atoms when there are at least
  // `min_shared` of them (a literal counts one atom per character).
  static std::unique_ptr<FastDispatch> compile(const std::vector<Input>& patterns, size_t min_shared = 8);
  // On `match`, `index` is the pattern's index in `patterns` and `caps` its groups, as
  // FastMatcher::match gives them. `trail` and `ways` are scratch space owned by the caller.
  FastMatcher::Outcome match(std::string_view text, int& index, std::vector<int>& caps,
                             std::vector<std::pair<int, int>>& trail, std::vector<int>& ways) const;
  // The groups of consecutive patterns matched with a shared part, by index (for the tests).
  [[nodiscard]] std::vector<std::vector<int>> groups() const;
  ~FastDispatch();

 private:
  struct Group {
    const FastMatcher::Node* shared = nullptr;  // nullptr, or the shared atoms ending in an `accept` node
    std::vector<std::pair<int, const FastMatcher::Node*>> rests;  // (pattern index, its rest)
  };
  std::vector<std::unique_ptr<FastMatcher::Node>> nodes_;
  std::vector<Group> groups_;
  int slots_ = 0;  // 2 * (most groups of any pattern + 1)
};

}  // namespace callaudit
