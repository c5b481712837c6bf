// The state bands of the HTML report's swimlanes: for the agents with the most refusals, the
// stretches of time around their failures and the state changes inside them. Only those
// stretches are read, through the index events_agent_at (agent, at) or, in analyze's
// temporary database, the partial index of state changes events_state_agent_at (every query
// here says type = 'state' so that it can use it), so the cost follows the limits, not the
// size of the case. Covered by tests/report/state_bands_test.cc.
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <optional>

#include "callaudit/report.h"

namespace callaudit {

namespace {

struct Change {
  std::int64_t id = 0;
  TimeUs at = 0;
  std::string state, vendor_state, initiator;
};

// A change stored without a state (the schema allows NULL) is "none", so that it is never
// mistaken for the absence of any change before a window ("").
Change change_of(const Statement& q) {
  return {q.int64(0), q.int64(1), q.is_null(2) ? std::string("none") : q.text(2), q.text(3), q.text(4)};
}

bool known_state(const std::string& s) { return s == "ready" || s == "busy" || s == "not_ready"; }

// Windows around one agent's failures (`idx` in time order): from `margin` before a failure to
// `margin` after it; a failure whose window overlaps the open one joins it, while the open one
// stays within max_span and max_failures_per_window.
std::vector<StateWindow> windows_of(const Diagnosis& d, const std::vector<size_t>& idx, const StateBandLimits& lim) {
  std::vector<StateWindow> out;
  for (size_t i : idx) {
    const auto& f = d.failures[i];
    const TimeUs from = f.at - lim.margin, to = std::max(f.at, f.at_end) + lim.margin;
    if (!out.empty()) {
      StateWindow& w = out.back();
      if (from <= w.to && to - w.from <= lim.max_span && w.failures.size() < lim.max_failures_per_window) {
        w.to = std::max(w.to, to);
        w.failures.push_back(i);
        if (f.verdict != "benign") ++w.refusals;
        continue;
      }
    }
    StateWindow w;
    w.from = from;
    w.to = to;
    w.failures.push_back(i);
    if (f.verdict != "benign") w.refusals = 1;
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace

Result<StateBands> load_state_bands(Store& store, const Diagnosis& d, const StateBandLimits& limits) {
  StateBands out;
  out.limits = limits;
  out.failures_total = static_cast<std::int64_t>(d.failures.size());

  // failures by agent, in time order
  std::map<std::string, std::vector<size_t>, std::less<>> by_agent;
  for (size_t i = 0; i < d.failures.size(); ++i) {
    auto it = by_agent.find(d.failures[i].agent);
    if (it == by_agent.end()) it = by_agent.emplace(std::string(d.failures[i].agent), std::vector<size_t>()).first;
    it->second.push_back(i);
  }
  out.agents_total = static_cast<std::int64_t>(by_agent.size());

  struct Candidate {
    std::string agent;
    std::int64_t refusals = 0, failures = 0;
    std::vector<StateWindow> windows;
  };
  std::vector<Candidate> all;
  all.reserve(by_agent.size());
  for (auto& [agent, idx] : by_agent) {
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      const auto &fa = d.failures[a], &fb = d.failures[b];
      return fa.at != fb.at ? fa.at < fb.at : fa.id < fb.id;
    });
    Candidate c;
    c.agent = agent;
    c.failures = static_cast<std::int64_t>(idx.size());
    for (size_t i : idx)
      if (d.failures[i].verdict != "benign") ++c.refusals;
    c.windows = windows_of(d, idx, limits);
    out.windows_total += static_cast<std::int64_t>(c.windows.size());
    all.push_back(std::move(c));
  }
  // the agents with the most refusals, then the most failures, then by id
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    if (a.refusals != b.refusals) return a.refusals > b.refusals;
    if (a.failures != b.failures) return a.failures > b.failures;
    return a.agent < b.agent;
  });
  if (all.size() > limits.max_agents) all.resize(limits.max_agents);

  // the state in force at a window's start: the last change before it (by time, then source
  // order, as the replay orders them), found in two index lookups
  Statement last_time(store.db(), StateBandQueries::last_time);
  Statement last_at(store.db(), StateBandQueries::last_at);
  Statement inside(store.db(), StateBandQueries::inside);
  for (const Statement* q : {&last_time, &last_at, &inside})
    if (!q->ok()) return Status::error(q->error());

  for (auto& c : all) {
    StateLane lane;
    lane.agent = c.agent;
    lane.failures = c.failures;
    lane.refusals = c.refusals;
    lane.windows_total = static_cast<std::int64_t>(c.windows.size());
    // the windows with the most refusals, then the most failures, then the earliest
    std::vector<StateWindow> ws = std::move(c.windows);
    std::stable_sort(ws.begin(), ws.end(), [](const StateWindow& a, const StateWindow& b) {
      if (a.refusals != b.refusals) return a.refusals > b.refusals;
      if (a.failures.size() != b.failures.size()) return a.failures.size() > b.failures.size();
      return a.from < b.from;
    });
    if (ws.size() > limits.max_windows_per_agent) ws.resize(limits.max_windows_per_agent);
    std::sort(ws.begin(), ws.end(), [](const StateWindow& a, const StateWindow& b) { return a.from < b.from; });

    for (auto& w : ws) {
      std::optional<Change> before;
      last_time.reset();
      last_time.bind(1, c.agent).bind(2, w.from);
      if (last_time.step()) {
        const TimeUs t = last_time.int64(0);
        last_at.reset();
        last_at.bind(1, c.agent).bind(2, t);
        if (last_at.step()) before = change_of(last_at);
        if (last_at.status() != SQLITE_ROW && last_at.status() != SQLITE_DONE) return Status::error(last_at.error());
      }
      if (last_time.status() != SQLITE_ROW && last_time.status() != SQLITE_DONE)
        return Status::error(last_time.error());

      std::vector<Change> changes;
      inside.reset();
      inside.bind(1, c.agent).bind(2, w.from).bind(3, w.to).bind(4, static_cast<std::int64_t>(limits.max_changes_per_window) + 1);
      while (inside.step()) changes.push_back(change_of(inside));
      if (inside.status() != SQLITE_DONE) return Status::error(inside.error());
      if (changes.size() > limits.max_changes_per_window) {
        // too many to draw: the window ends where the first change left out begins
        w.cut = true;
        w.to = changes.back().at;
        changes.pop_back();
        ++out.cut_windows;
        std::erase_if(w.failures, [&](size_t i) { return d.failures[i].at > w.to; });
        w.refusals = std::count_if(w.failures.begin(), w.failures.end(),
                                   [&](size_t i) { return d.failures[i].verdict != "benign"; });
      }

      const TimeUs start = w.from;
      StateBand band{start, start, "", "", "", 0};
      if (before) band = {start, start, before->state, before->vendor_state, before->initiator, before->id};
      for (const auto& ch : changes) {
        band.to = ch.at;
        w.bands.push_back(band);
        band = {ch.at, ch.at, ch.state, ch.vendor_state, ch.initiator, ch.id};
      }
      band.to = w.to;
      w.bands.push_back(band);
      // a band of no length before the window's first change at its very start says nothing
      if (w.bands.size() > 1 && w.bands.front().to == w.bands.front().from) w.bands.erase(w.bands.begin());
      for (const auto& b : w.bands)
        if (b.event_id != 0 && !known_state(b.state)) ++out.other_states;
      out.failures_drawn += static_cast<std::int64_t>(w.failures.size());
    }
    out.windows_drawn += static_cast<std::int64_t>(ws.size());
    lane.windows = std::move(ws);
    out.lanes.push_back(std::move(lane));
  }
  return out;
}

}  // namespace callaudit
