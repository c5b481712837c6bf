// Correlation: the state changes around one failure, by binary search in the replayed
// per-agent timelines (no query per failure). Covered by tests/diagnose/reference_test.cc,
// which checks it against a nested-loop reference on generated timelines.
#include <algorithm>
#include <cstdlib>

#include "callaudit/diagnose.h"

namespace callaudit {

namespace {
constexpr std::uint8_t kReady = 0, kNotReady = 2, kSystem = 2;

TimeUs distance(const StateChange& c, TimeUs t0, TimeUs t1) {
  if (c.at < t0) return t0 - c.at;
  if (c.at > t1) return c.at - t1;
  return 0;
}
}  // namespace

Correlation correlate(const Replay& replay, const Failure& f, const DiagnosisParams& p) {
  Correlation c;
  const TimeUs t0 = f.at, t1 = f.at_end;
  if (std::find(p.r1_causes.begin(), p.r1_causes.end(), f.cause) != p.r1_causes.end()) {
    auto [b, e] = replay.between(f.agent, t0 - p.r1_window, t1);
    for (const StateChange* s = b; s && s != e; ++s)
      if (s->initiator != kSystem && s->state != kReady) c.r1 = s;  // the latest wins
  }
  {
    auto [b, e] = replay.between(f.agent, t0 - p.r2_window, t1 + p.r2_window);
    for (const StateChange* s = b; s && s != e; ++s) {
      if (s->state != kNotReady || s->initiator == kSystem) continue;
      if (!c.r2 || distance(*s, t0, t1) < distance(*c.r2, t0, t1)) c.r2 = s;
    }
  }
  c.at_offer = replay.state_at(f.agent, t0);
  if (c.at_offer && c.at_offer->state == kNotReady && t0 - c.at_offer->at > p.r3_not_ready_for) {
    // for a minute-long failure time, the agent must have stayed not-ready through it
    auto [b, e] = replay.between(f.agent, t0, t1);
    bool changed = false;
    for (const StateChange* s = b; s && s != e; ++s)
      if (s->state != kNotReady) changed = true;
    c.r3 = !changed;
  }
  {
    auto [b, e] = replay.between(f.agent, t0, t1 + p.consequence_window);
    for (const StateChange* s = b; s && s != e; ++s)
      if (s->initiator == kSystem) c.consequences.push_back(s);
  }
  return c;
}

}  // namespace callaudit
