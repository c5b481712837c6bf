// A small backtracking matcher for the common shape of line patterns: concatenations of
// literals, single-character classes with quantifiers, alternations, capture groups and
// optional groups. It gives the same submatches as RE2's leftmost-first full match on ASCII
// text, much faster than RE2's capturing engines on the ~150-byte lines of a log, because a
// quantified class is one tight loop instead of one step per byte and instruction.
//
// `compile` accepts only the subset it can reproduce exactly (anything else: nullptr, and the
// caller keeps using RE2); `match` is tried only on ASCII text and may give up (a step budget
// bounds backtracking), in which case the caller asks RE2. Covered by
// tests/parse/fastmatch_test.cc, which compares it with RE2 on every shipped pattern.
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

  static bool is_ascii(std::string_view text);
  ~FastMatcher();

  struct Node;

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  const Node* start_ = nullptr;
  int ngroups_ = 0;
};

}  // namespace callaudit
