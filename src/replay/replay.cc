// Replay: each agent's state over time from all sources' state changes.
// Covered by tests/diagnose/replay_test.cc and the reference cross-check.
#include <algorithm>

#include "callaudit/diagnose.h"

namespace callaudit {

Replay::Replay(std::vector<std::vector<StateChange>> changes) : by_agent_(std::move(changes)) {
  for (auto& v : by_agent_)
    std::stable_sort(v.begin(), v.end(), [](const StateChange& a, const StateChange& b) {
      return a.at != b.at ? a.at < b.at : a.order < b.order;
    });
}

const StateChange* Replay::state_at(int agent, TimeUs t) const {
  if (agent < 0 || agent >= agents()) return nullptr;
  const auto& v = by_agent_[static_cast<size_t>(agent)];
  // the last change strictly before t: what was in force when the failure happened
  auto it = std::lower_bound(v.begin(), v.end(), t, [](const StateChange& c, TimeUs x) { return c.at < x; });
  if (it == v.begin()) return nullptr;
  return &*(it - 1);
}

std::pair<const StateChange*, const StateChange*> Replay::between(int agent, TimeUs from, TimeUs to) const {
  if (agent < 0 || agent >= agents() || from > to) return {nullptr, nullptr};
  const auto& v = by_agent_[static_cast<size_t>(agent)];
  auto lo = std::lower_bound(v.begin(), v.end(), from, [](const StateChange& c, TimeUs x) { return c.at < x; });
  auto hi = std::upper_bound(v.begin(), v.end(), to, [](TimeUs x, const StateChange& c) { return x < c.at; });
  if (lo >= hi) return {nullptr, nullptr};
  return {&*lo, &*lo + (hi - lo)};
}

}  // namespace callaudit
