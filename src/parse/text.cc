// Text formats: the first pattern matching the whole line picks its layout. On ASCII lines
// of a format whose patterns all fit the fast matcher, one FastDispatch pass finds it and its
// groups; otherwise (and when that pass gives up) one anchored RE2::Set call picks the
// pattern, then one capturing match for lines that can be events (the fast matcher on ASCII
// lines when the pattern fits its subset, else RE2). Covered by tests/parse/parse_test.cc and
// fastmatch_test.cc.
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "callaudit/parse.h"
#include "parse/fastmatch.h"

namespace callaudit {

// What one format's patterns need at parse time, derived once per loaded format and shared by
// every parser of it (and of its copies: the regexes are shared).
struct TextPlan {
  struct Pattern {
    std::shared_ptr<re2::RE2> re;                           // keeps the group names alive
    std::vector<std::pair<std::string_view, int>> groups;   // named groups, in RE2's (name) order
    std::unique_ptr<FastMatcher> fast;                      // nullptr: RE2 only
  };
  std::vector<Pattern> patterns;
  std::unique_ptr<FastDispatch> dispatch;  // nullptr: the Set for every line
};

namespace {

std::shared_ptr<const TextPlan> make_plan(const FormatSpec& spec) {
  auto plan = std::make_shared<TextPlan>();
  for (const auto& p : spec.patterns) {
    TextPlan::Pattern tp;
    tp.re = p.re;
    if (p.re) {
      for (const auto& [name, gi] : p.re->NamedCapturingGroups()) tp.groups.emplace_back(name, gi);
      if (!p.continuation) tp.fast = FastMatcher::compile(p.regex, *p.re);
    }
    plan->patterns.push_back(std::move(tp));
  }
  std::vector<FastDispatch::Input> inputs;
  for (const auto& p : spec.patterns) inputs.push_back({p.regex, p.re.get()});
  plan->dispatch = FastDispatch::compile(inputs);
  return plan;
}

// Plans by format: keyed by the format's compiled set, which its copies share.
std::shared_ptr<const TextPlan> plan_for(const FormatSpec& spec) {
  static std::mutex mu;
  static std::map<std::weak_ptr<void>, std::shared_ptr<const TextPlan>, std::owner_less<std::weak_ptr<void>>> plans;
  std::lock_guard<std::mutex> lock(mu);
  if (spec.set) {
    auto it = plans.find(spec.set);
    if (it != plans.end() && it->second->patterns.size() == spec.patterns.size()) return it->second;
  }
  for (auto it = plans.begin(); it != plans.end();) it = it->first.expired() ? plans.erase(it) : std::next(it);
  auto plan = make_plan(spec);
  if (spec.set) plans[spec.set] = plan;
  return plan;
}

}  // namespace

TextParser::TextParser(const FormatSpec& spec, bool fast_dispatch)
    : spec_(spec), plan_(plan_for(spec)), fast_(fast_dispatch ? plan_->dispatch.get() : nullptr) {
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

bool TextParser::fast_dispatch() const { return fast_ != nullptr; }

int TextParser::pick(std::string_view line, bool& have_caps, std::vector<int>& caps,
                     std::vector<std::pair<int, int>>& trail, std::vector<int>& ways, std::vector<int>& hits) const {
  have_caps = false;
  if (fast_ && FastMatcher::is_ascii(line)) {
    int idx = -1;
    auto r = fast_->match(line, idx, caps, trail, ways);
    if (r == FastMatcher::Outcome::match) {
      have_caps = true;
      return idx;
    }
    if (r == FastMatcher::Outcome::no_match) return -1;
  }
  auto* set = static_cast<re2::RE2::Set*>(spec_.set.get());
  if (!set->Match(line, &hits) || hits.empty()) return -1;
  return *std::min_element(hits.begin(), hits.end());
}

int TextParser::dispatch(std::string_view line) const {
  bool have_caps = false;
  std::vector<int> caps, ways, hits;
  std::vector<std::pair<int, int>> trail;
  return pick(line, have_caps, caps, trail, ways, hits);
}

void TextParser::parse(std::string_view line, Record& out, bool line_outlives_record) {
  out.kind = RecordKind::unmatched;
  out.rule = nullptr;
  out.fields.clear();
  if (!out.why.empty()) out.why.clear();
  bool have_caps = false;  // the fast dispatch gave the groups too
  const int idx = pick(line, have_caps, caps_, trail_, ways_, hits_);
  if (idx < 0) {
    out.pattern.clear();
    out.why = "fits no layout of " + spec_.name;
    return;
  }
  const LinePattern& p = spec_.patterns[static_cast<size_t>(idx)];
  if (out.pattern != p.name) out.pattern = p.name;
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
  const TextPlan::Pattern& tp = plan_->patterns[static_cast<size_t>(idx)];
  // Unless the caller keeps the line, the record keeps its own copy: its fields are views into it.
  std::string_view text = line_outlives_record ? line : out.fields.keep(line);
  // the groups: from the dispatch, else from the pattern's fast matcher, else from RE2 below
  const bool done = have_caps || (tp.fast && FastMatcher::is_ascii(text) &&
                                  tp.fast->match(text, caps_, trail_) == FastMatcher::Outcome::match);
  if (done) {
    out.fields.add_view("pattern", p.name);
    for (const auto& [name, gi] : tp.groups) {
      int b = caps_[2 * static_cast<size_t>(gi)], e = caps_[2 * static_cast<size_t>(gi) + 1];
      if (b < 0 || e < 0) continue;
      out.fields.add_view(name, text.substr(static_cast<size_t>(b), static_cast<size_t>(e - b)));
    }
  } else {
    const re2::RE2& re = *p.re;
    int n = re.NumberOfCapturingGroups();
    groups_.assign(static_cast<size_t>(n) + 1, re2::StringPiece());
    re2::StringPiece t(text.data(), text.size());
    if (!re.Match(t, 0, t.size(), RE2::ANCHOR_BOTH, groups_.data(), n + 1)) {
      out.why = "pattern " + p.name + " matched in the set but not alone";  // cannot happen with RE2
      return;
    }
    out.fields.add_view("pattern", p.name);
    for (const auto& [name, gi] : tp.groups) {
      const auto& g = groups_[static_cast<size_t>(gi)];
      if (g.data() == nullptr) continue;
      out.fields.add_view(name, std::string_view(g.data(), g.size()));
    }
  }
  apply_rules(spec_, out, candidates_[static_cast<size_t>(idx)]);
}

}  // namespace callaudit
