// Text formats: one anchored RE2::Set call per line picks the pattern, then one capturing
// match for lines that can be events. Covered by tests/parse/parse_test.cc.
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>

#include "callaudit/parse.h"

namespace callaudit {

TextParser::TextParser(const FormatSpec& spec) : spec_(spec) {
  for (const auto& p : spec.patterns) {
    std::vector<const EventRule*> cands;
    if (p.rule) {
      cands.push_back(&*p.rule);
    } else {
      for (const auto& r : spec.events) {
        bool applies = true;
        for (const auto& c : r.when)
          if (c.field == "pattern" && !RE2::FullMatch(p.name, *c.re)) applies = false;
        for (const auto& c : r.unless)
          if (c.field == "pattern" && RE2::FullMatch(p.name, *c.re)) applies = false;
        if (applies) cands.push_back(&r);
      }
    }
    capture_.push_back(!cands.empty());
    candidates_.push_back(std::move(cands));
  }
}

int TextParser::dispatch(std::string_view line) const {
  auto* set = static_cast<re2::RE2::Set*>(spec_.set.get());
  std::vector<int> hits;
  if (!set->Match(line, &hits) || hits.empty()) return -1;
  return *std::min_element(hits.begin(), hits.end());
}

void TextParser::parse(std::string_view line, Record& out) {
  out.kind = RecordKind::unmatched;
  out.rule = nullptr;
  out.pattern.clear();
  out.fields.clear();
  out.why.clear();
  auto* set = static_cast<re2::RE2::Set*>(spec_.set.get());
  hits_.clear();
  if (!set->Match(line, &hits_) || hits_.empty()) {
    out.why = "fits no layout of " + spec_.name;
    return;
  }
  int idx = *std::min_element(hits_.begin(), hits_.end());
  const LinePattern& p = spec_.patterns[static_cast<size_t>(idx)];
  out.pattern = p.name;
  if (p.continuation) {
    if (!seen_record_) {
      out.why = "continuation line (" + p.name + ") with no record before it";
      return;
    }
    out.kind = RecordKind::continuation;
    return;
  }
  seen_record_ = true;
  if (!capture_[static_cast<size_t>(idx)]) {
    out.kind = RecordKind::noise;
    return;
  }
  const re2::RE2& re = *p.re;
  int n = re.NumberOfCapturingGroups();
  std::vector<re2::StringPiece> groups(static_cast<size_t>(n) + 1);
  re2::StringPiece text(line.data(), line.size());
  if (!re.Match(text, 0, text.size(), RE2::ANCHOR_BOTH, groups.data(), n + 1)) {
    out.why = "pattern " + p.name + " matched in the set but not alone";  // cannot happen with RE2
    return;
  }
  out.fields.emplace_back("pattern", p.name);
  for (const auto& [name, gi] : re.NamedCapturingGroups()) {
    const auto& g = groups[static_cast<size_t>(gi)];
    if (g.data() == nullptr) continue;
    out.fields.emplace_back(name, std::string(g.data(), g.size()));
  }
  apply_rules(spec_, out, candidates_[static_cast<size_t>(idx)]);
}

}  // namespace callaudit
