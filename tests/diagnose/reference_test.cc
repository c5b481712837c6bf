// correlate() against a naive nested-loop reference written from the rule definitions
// (docs: shared/diagnosis.md §3, R1-R3 and consequences), on deterministic generated
// timelines full of equal timestamps, exact window edges, out-of-order input from several
// sources, and minute-precision failures.
//
// The reference sees ALL state changes of ALL agents as one flat, unsorted vector and, for
// every failure, scans all of them:
//   r1        only if f.cause is one of p.r1_causes: changes of f.agent with initiator != system
//             and state != ready and at in [f.at - r1_window, f.at_end]; the greatest (at, order).
//   r2        changes of f.agent with state == not_ready, initiator != system, at in
//             [f.at - r2_window, f.at_end + r2_window]; the smallest distance to [f.at, f.at_end]
//             (0 inside); ties -> the earliest in (at, order).
//   at_offer  the change of f.agent with the greatest (at, order) among those with at < f.at.
//   r3        at_offer exists, is not_ready, f.at - at_offer.at > r3_not_ready_for, and no change of
//             f.agent with at in [f.at, f.at_end] has state != not_ready.
//   consequences  changes of f.agent with initiator == system and at in
//             [f.at, f.at_end + consequence_window], in (at, order) order.
// (at, order) is unique per timeline in the generator, so "greatest"/"earliest" are well defined.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "callaudit/diagnose.h"

using namespace callaudit;

namespace {

constexpr std::uint8_t kReady = 0, kBusy = 1, kNotReady = 2;
constexpr std::uint8_t kAgent = 0, kSupervisor = 1, kSystem = 2, kUnknown = 3;
constexpr TimeUs kS = kUsPerSecond;
constexpr TimeUs kMs = kUsPerSecond / 1000;
constexpr TimeUs kT0 = 1'773'479'520 * kS;  // 2026-03-14T09:12:00Z, minute-aligned

// ------------------------------------------------------------------ the reference

struct Flat {
  int agent = 0;
  StateChange c;
};

bool before(const StateChange& a, const StateChange& b) {  // (at, order) <
  if (a.at != b.at) return a.at < b.at;
  return a.order < b.order;
}

TimeUs distance_to(TimeUs at, TimeUs t0, TimeUs t1) {
  if (at < t0) return t0 - at;
  if (at > t1) return at - t1;
  return 0;
}

struct Expected {
  std::int64_t r1 = -1, r2 = -1, at_offer = -1;  // ids; -1: none
  bool r3 = false;
  std::vector<std::int64_t> consequences;
  bool operator==(const Expected&) const = default;
};

Expected reference(const std::vector<Flat>& all, const Failure& f, const DiagnosisParams& p) {
  bool r1_cause = false;
  for (const auto& cause : p.r1_causes)
    if (cause == f.cause) r1_cause = true;

  const StateChange* r1 = nullptr;
  const StateChange* r2 = nullptr;
  TimeUs r2_dist = 0;
  const StateChange* at_offer = nullptr;
  std::vector<const StateChange*> cons;

  for (const Flat& x : all) {
    if (x.agent != f.agent) continue;
    const StateChange& c = x.c;
    // R1
    if (r1_cause && c.initiator != kSystem && c.state != kReady && c.at >= f.at - p.r1_window && c.at <= f.at_end)
      if (!r1 || before(*r1, c)) r1 = &c;
    // R2
    if (c.state == kNotReady && c.initiator != kSystem && c.at >= f.at - p.r2_window &&
        c.at <= f.at_end + p.r2_window) {
      TimeUs d = distance_to(c.at, f.at, f.at_end);
      if (!r2 || d < r2_dist || (d == r2_dist && before(c, *r2))) {
        r2 = &c;
        r2_dist = d;
      }
    }
    // state at the offer
    if (c.at < f.at && (!at_offer || before(*at_offer, c))) at_offer = &c;
    // consequences
    if (c.initiator == kSystem && c.at >= f.at && c.at <= f.at_end + p.consequence_window) cons.push_back(&c);
  }

  Expected e;
  e.r1 = r1 ? r1->id : -1;
  e.r2 = r2 ? r2->id : -1;
  e.at_offer = at_offer ? at_offer->id : -1;
  if (at_offer && at_offer->state == kNotReady && f.at - at_offer->at > p.r3_not_ready_for) {
    bool left_not_ready = false;
    for (const Flat& x : all)
      if (x.agent == f.agent && x.c.at >= f.at && x.c.at <= f.at_end && x.c.state != kNotReady) left_not_ready = true;
    e.r3 = !left_not_ready;
  }
  std::sort(cons.begin(), cons.end(), [](const StateChange* a, const StateChange* b) { return before(*a, *b); });
  for (const StateChange* c : cons) e.consequences.push_back(c->id);
  return e;
}

Expected from_correlation(const Correlation& c) {
  Expected e;
  e.r1 = c.r1 ? c.r1->id : -1;
  e.r2 = c.r2 ? c.r2->id : -1;
  e.at_offer = c.at_offer ? c.at_offer->id : -1;
  e.r3 = c.r3;
  for (const StateChange* s : c.consequences) e.consequences.push_back(s ? s->id : -1);
  return e;
}

Replay make_replay(const std::vector<Flat>& all, int agents) {
  std::vector<std::vector<StateChange>> per(static_cast<size_t>(agents));
  for (const Flat& x : all) per[static_cast<size_t>(x.agent)].push_back(x.c);
  return Replay(std::move(per));
}

// ------------------------------------------------------------------ printing a case

std::string rel(TimeUs t) {  // relative to kT0, "+12.500000s"
  TimeUs d = t - kT0;
  std::ostringstream o;
  o << (d < 0 ? "-" : "+");
  TimeUs a = d < 0 ? -d : d;
  std::string frac = std::to_string(a % kS);
  o << a / kS << "." << std::string(6 - frac.size(), '0') << frac << "s";
  return o.str();
}

std::string show(const Expected& e) {
  std::ostringstream o;
  o << "r1=" << e.r1 << " r2=" << e.r2 << " at_offer=" << e.at_offer << " r3=" << (e.r3 ? "true" : "false")
    << " consequences=[";
  for (size_t i = 0; i < e.consequences.size(); ++i) o << (i ? "," : "") << e.consequences[i];
  o << "]";
  return o.str();
}

std::string show_case(const std::vector<Flat>& all, const Failure& f, const DiagnosisParams& p) {
  std::ostringstream o;
  o << "params: r1_window=" << rel(kT0 + p.r1_window) << " r2_window=" << rel(kT0 + p.r2_window)
    << " r3_not_ready_for=" << rel(kT0 + p.r3_not_ready_for)
    << " consequence_window=" << rel(kT0 + p.consequence_window) << " r1_causes={";
  for (const auto& c : p.r1_causes) o << c << ";";
  o << "}\nfailure: id=" << f.id << " agent=" << f.agent << " at=" << rel(f.at) << " at_end=" << rel(f.at_end)
    << " cause=\"" << f.cause << "\"\nchanges of agent " << f.agent << " sorted by (at, order):\n";
  std::vector<StateChange> mine;
  for (const Flat& x : all)
    if (x.agent == f.agent) mine.push_back(x.c);
  std::sort(mine.begin(), mine.end(), before);
  for (const auto& c : mine)
    o << "  id=" << c.id << " at=" << rel(c.at) << " order=" << c.order << " state=" << int(c.state)
      << " initiator=" << int(c.initiator) << "\n";
  return o.str();
}

// Shrinks a disagreeing case to a minimal set of the failing agent's changes.
std::vector<Flat> shrink(std::vector<Flat> all, const Failure& f, const DiagnosisParams& p, int agents) {
  std::vector<Flat> mine;
  for (const Flat& x : all)
    if (x.agent == f.agent) mine.push_back(x);
  auto disagrees = [&](const std::vector<Flat>& v) {
    Replay r = make_replay(v, agents);
    return !(from_correlation(correlate(r, f, p)) == reference(v, f, p));
  };
  for (size_t i = 0; i < mine.size();) {
    std::vector<Flat> fewer = mine;
    fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(i));
    if (disagrees(fewer))
      mine = std::move(fewer);
    else
      ++i;
  }
  return mine;
}

// ------------------------------------------------------------------ the generator

// The shipped rules name ORIGINATOR_CANCEL for R1; the tests use the same.
DiagnosisParams default_params() {
  DiagnosisParams p;
  p.r1_causes = {"ORIGINATOR_CANCEL"};
  return p;
}

struct Timeline {
  DiagnosisParams p = default_params();
  int agents = 0;
  std::vector<Flat> all;  // flat, shuffled
  std::vector<Failure> failures;
};

Timeline generate(std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto chance = [&pick](int percent) { return pick(1, 100) <= percent; };

  Timeline t;
  // windows: mostly the defaults, sometimes other multiples of 500 ms
  if (chance(30)) {
    const TimeUs r1s[] = {500 * kMs, 1 * kS, 2 * kS, 2500 * kMs, 5 * kS};
    const TimeUs r2s[] = {2 * kS, 5 * kS, 10 * kS, 15 * kS};
    const TimeUs r3s[] = {0, 5 * kS, 10 * kS, 20 * kS};
    const TimeUs cws[] = {0, 5 * kS, 10 * kS, 30 * kS};
    t.p.r1_window = r1s[pick(0, 4)];
    t.p.r2_window = r2s[pick(0, 3)];
    t.p.r3_not_ready_for = r3s[pick(0, 3)];
    t.p.consequence_window = cws[pick(0, 3)];
  }
  if (chance(20)) t.p.r1_causes = {"ORIGINATOR_CANCEL", "LOSE_RACE"};

  static const char* const kCauses[] = {"ORIGINATOR_CANCEL", "ORIGINATOR_CANCEL", "ORIGINATOR_CANCEL", "NO_ANSWER",
                                        "USER_BUSY",         "LOSE_RACE",         "Refused",           "",
                                        "originator_cancel"};
  const int n_causes = static_cast<int>(sizeof kCauses / sizeof kCauses[0]);

  t.agents = pick(1, 4);
  std::int64_t next_id = 1;

  // failures first, so that state changes can be anchored on their window edges
  std::vector<std::vector<Failure>> fails(static_cast<size_t>(t.agents));
  for (int a = 0; a < t.agents; ++a) {
    int n = pick(2, 6);
    for (int i = 0; i < n; ++i) {
      Failure f;
      f.id = next_id++;
      f.agent = a;
      if (chance(30)) {  // minute precision: [HH:MM:00, HH:MM:59.999999]
        f.at = kT0 + pick(0, 3) * 60 * kS;
        f.at_end = f.at + 60 * kS - 1;
      } else {
        f.at = kT0 + pick(0, 360) * 500 * kMs;
        f.at_end = f.at;
      }
      f.cause = kCauses[pick(0, n_causes - 1)];
      fails[static_cast<size_t>(a)].push_back(f);
    }
  }

  std::set<std::int64_t> orders;  // (at, order) unique: make order unique outright
  for (int a = 0; a < t.agents; ++a) {
    const auto& fa = fails[static_cast<size_t>(a)];
    std::vector<StateChange> mine;
    int n = pick(0, 40);
    for (int i = 0; i < n; ++i) {
      StateChange c;
      c.id = next_id++;
      int how = pick(1, 100);
      if (how <= 45) {  // on the grid
        c.at = kT0 + pick(-40, 520) * 500 * kMs;
      } else if (how <= 60 && !mine.empty()) {  // the same instant as another change
        c.at = mine[static_cast<size_t>(pick(0, static_cast<int>(mine.size()) - 1))].at;
      } else {  // on a window edge of one of this agent's failures, or 1 us off it
        const Failure& f = fa[static_cast<size_t>(pick(0, static_cast<int>(fa.size()) - 1))];
        const TimeUs edges[] = {f.at,
                                f.at_end,
                                f.at - t.p.r1_window,
                                f.at - t.p.r2_window,
                                f.at_end + t.p.r2_window,
                                f.at - t.p.r3_not_ready_for,
                                f.at_end + t.p.consequence_window,
                                f.at - 1 * kS,
                                f.at_end + 1 * kS};
        c.at = edges[pick(0, 8)];
        int j = pick(1, 10);
        if (j == 1) c.at -= 1;
        if (j == 2) c.at += 1;
      }
      c.at_end = c.at;
      c.state = static_cast<std::uint8_t>(pick(0, 2));
      c.initiator = static_cast<std::uint8_t>(pick(0, 3));
      // several sources: order = (source, line); unique so the tie-break is total
      do {
        c.order = static_cast<std::int64_t>(pick(0, 3)) * 1'000'000 + pick(0, 99'999);
      } while (!orders.insert(c.order).second);
      mine.push_back(c);
    }
    for (const auto& c : mine) t.all.push_back({a, c});
    for (const auto& f : fa) t.failures.push_back(f);
  }
  // a few failures of agents nobody has a timeline for
  if (chance(10)) {
    Failure f;
    f.id = next_id++;
    f.agent = chance(50) ? t.agents : -1;
    f.at = kT0 + pick(0, 360) * 500 * kMs;
    f.at_end = f.at;
    f.cause = "ORIGINATOR_CANCEL";
    t.failures.push_back(f);
  }
  std::shuffle(t.all.begin(), t.all.end(), rng);
  return t;
}

// What the generated cases exercised (from the reference's point of view).
struct Coverage {
  long failures = 0, r1 = 0, r2 = 0, at_offer = 0, r3 = 0, consequences = 0;
  long r1_tie_on_at = 0, at_offer_tie_on_at = 0, r2_distance_tie = 0, r2_tie_on_at = 0;
  long edge_r1 = 0, edge_r2_before = 0, edge_r2_after = 0, edge_r3_exact = 0, edge_consequence = 0;
  long change_at_failure_time = 0, minute_failures = 0, r3_blocked_inside_minute = 0;
};

void account(Coverage& cov, const std::vector<Flat>& all, const Failure& f, const DiagnosisParams& p,
             const Expected& e) {
  ++cov.failures;
  if (f.at_end != f.at) ++cov.minute_failures;
  const StateChange* r1 = nullptr;
  const StateChange* r2 = nullptr;
  const StateChange* ao = nullptr;
  for (const Flat& x : all)
    if (x.agent == f.agent) {
      if (x.c.id == e.r1) r1 = &x.c;
      if (x.c.id == e.r2) r2 = &x.c;
      if (x.c.id == e.at_offer) ao = &x.c;
    }
  if (r1) ++cov.r1;
  if (r2) ++cov.r2;
  if (ao) ++cov.at_offer;
  if (e.r3) ++cov.r3;
  if (!e.consequences.empty()) ++cov.consequences;
  bool r1_tie = false, ao_tie = false, r2_dtie = false, r2_atie = false;
  for (const Flat& x : all) {
    if (x.agent != f.agent) continue;
    const StateChange& c = x.c;
    if (r1 && c.id != r1->id && c.at == r1->at && c.initiator != kSystem && c.state != kReady) r1_tie = true;
    if (ao && c.id != ao->id && c.at == ao->at) ao_tie = true;
    if (r2 && c.id != r2->id && c.state == kNotReady && c.initiator != kSystem && c.at >= f.at - p.r2_window &&
        c.at <= f.at_end + p.r2_window && distance_to(c.at, f.at, f.at_end) == distance_to(r2->at, f.at, f.at_end)) {
      r2_dtie = true;
      if (c.at == r2->at) r2_atie = true;
    }
    if (c.at == f.at - p.r1_window && c.initiator != kSystem && c.state != kReady) ++cov.edge_r1;
    if (c.at == f.at - p.r2_window && c.state == kNotReady && c.initiator != kSystem) ++cov.edge_r2_before;
    if (c.at == f.at_end + p.r2_window && c.state == kNotReady && c.initiator != kSystem) ++cov.edge_r2_after;
    if (c.at == f.at_end + p.consequence_window && c.initiator == kSystem) ++cov.edge_consequence;
    if (c.at == f.at) ++cov.change_at_failure_time;
  }
  if (r1_tie) ++cov.r1_tie_on_at;
  if (ao_tie) ++cov.at_offer_tie_on_at;
  if (r2_dtie) ++cov.r2_distance_tie;
  if (r2_atie) ++cov.r2_tie_on_at;
  if (ao && ao->state == kNotReady && f.at - ao->at == p.r3_not_ready_for) ++cov.edge_r3_exact;
  if (ao && ao->state == kNotReady && f.at - ao->at > p.r3_not_ready_for && !e.r3) ++cov.r3_blocked_inside_minute;
}

// ------------------------------------------------------------------ hand-made cases

StateChange sc(std::int64_t id, TimeUs at, std::int64_t order, std::uint8_t state, std::uint8_t initiator) {
  StateChange c;
  c.id = id;
  c.at = c.at_end = at;
  c.order = order;
  c.state = state;
  c.initiator = initiator;
  return c;
}

Failure failure(TimeUs at, TimeUs at_end, const char* cause = "ORIGINATOR_CANCEL") {
  Failure f;
  f.id = 1;
  f.agent = 0;
  f.at = at;
  f.at_end = at_end;
  f.cause = cause;
  return f;
}

// The expected result by position: ids (-1: none), r3, consequence ids.
Expected want(std::int64_t r1, std::int64_t r2, std::int64_t at_offer, bool r3 = false,
              std::vector<std::int64_t> consequences = {}) {
  Expected e;
  e.r1 = r1;
  e.r2 = r2;
  e.at_offer = at_offer;
  e.r3 = r3;
  e.consequences = std::move(consequences);
  return e;
}

// Checks correlate() and the reference against the same hand-written expectation.
void check_both(const std::vector<StateChange>& changes, const Failure& f, const Expected& expected,
                const DiagnosisParams& p = default_params()) {
  std::vector<Flat> all;
  for (const auto& c : changes) all.push_back({0, c});
  Replay r = make_replay(all, 1);
  Expected got = from_correlation(correlate(r, f, p));
  Expected ref = reference(all, f, p);
  INFO(show_case(all, f, p));
  INFO("expected:    ", show(expected));
  INFO("correlate(): ", show(got));
  INFO("reference:   ", show(ref));
  CHECK(ref == expected);
  CHECK(got == expected);
}

}  // namespace

TEST_CASE("correlate: ties on equal time are decided by order (hand-made)") {
  const TimeUs t = kT0 + 60 * kS;
  SUBCASE("r1: of two changes at the same instant, the greater order is the latest") {
    // given in the 'wrong' input order on purpose
    check_both({sc(10, t - kS, 7, kNotReady, kAgent), sc(11, t - kS, 3, kBusy, kAgent)}, failure(t, t),
               want(10, 10, 10));
  }
  SUBCASE("at_offer: the greatest order among the changes at the same instant before t") {
    check_both({sc(10, t - 20 * kS, 2, kNotReady, kSystem), sc(11, t - 20 * kS, 1, kReady, kSystem)},
               failure(t, t, "NO_ANSWER"), want(-1, -1, 10, true, {}));
    check_both({sc(10, t - 20 * kS, 1, kNotReady, kSystem), sc(11, t - 20 * kS, 2, kReady, kSystem)},
               failure(t, t, "NO_ANSWER"), want(-1, -1, 11));
  }
  SUBCASE("r2: equal distance before and after t -> the earlier one") {
    check_both({sc(20, t + 5 * kS, 1, kNotReady, kAgent), sc(21, t - 5 * kS, 9, kNotReady, kSupervisor)},
               failure(t, t, "NO_ANSWER"), want(-1, 21, 21));
  }
  SUBCASE("r2: equal distance at the same instant -> the smaller order") {
    check_both({sc(30, t + 3 * kS, 8, kNotReady, kUnknown), sc(31, t + 3 * kS, 4, kNotReady, kAgent)},
               failure(t, t, "NO_ANSWER"), want(-1, 31, -1));
  }
  SUBCASE("r2: inside a minute-precision interval every distance is 0 -> the earliest") {
    const TimeUs m = kT0 + 60 * kS;
    check_both({sc(40, m + 30 * kS, 1, kNotReady, kAgent), sc(41, m + 10 * kS, 5, kNotReady, kAgent),
                sc(42, m + 10 * kS, 2, kNotReady, kAgent), sc(43, m - 1 * kS, 0, kNotReady, kAgent)},
               failure(m, m + 60 * kS - 1, "NO_ANSWER"), want(-1, 42, 43));
  }
  SUBCASE("consequences come in (at, order) order") {
    check_both({sc(52, t + 2 * kS, 9, kNotReady, kSystem), sc(50, t, 5, kNotReady, kSystem),
                sc(51, t + 2 * kS, 1, kReady, kSystem)},
               failure(t, t, "NO_ANSWER"), want(-1, -1, -1, false, {50, 51, 52}));
  }
}

TEST_CASE("correlate: exact window edges (hand-made)") {
  const TimeUs t = kT0 + 60 * kS;
  DiagnosisParams p = default_params();  // r1 2 s, r2 10 s, r3 10 s, consequences 10 s
  SUBCASE("r1 window start is inclusive, 1 us earlier is out") {
    check_both({sc(1, t - 2 * kS, 0, kBusy, kAgent)}, failure(t, t), want(1, -1, 1), p);
    check_both({sc(1, t - 2 * kS - 1, 0, kBusy, kAgent)}, failure(t, t), want(-1, -1, 1), p);
  }
  SUBCASE("r1 needs a listed cause") {
    check_both({sc(1, t - kS, 0, kBusy, kAgent)}, failure(t, t, "NO_ANSWER"), want(-1, -1, 1), p);
  }
  SUBCASE("r2 window edges are inclusive on both sides, also around a minute") {
    const TimeUs end = t + 60 * kS - 1;
    check_both({sc(1, t - 10 * kS, 0, kNotReady, kAgent)}, failure(t, end, "X"), want(-1, 1, 1), p);
    // out of R2, but not ready for more than 10 s at t: R3
    check_both({sc(1, t - 10 * kS - 1, 0, kNotReady, kAgent)}, failure(t, end, "X"), want(-1, -1, 1, true, {}), p);
    check_both({sc(1, end + 10 * kS, 0, kNotReady, kAgent)}, failure(t, end, "X"), want(-1, 1, -1), p);
    check_both({sc(1, end + 10 * kS + 1, 0, kNotReady, kAgent)}, failure(t, end, "X"), want(-1, -1, -1), p);
  }
  SUBCASE("r3 needs strictly more than r3_not_ready_for") {
    check_both({sc(1, t - 10 * kS, 0, kNotReady, kSystem)}, failure(t, t, "X"), want(-1, -1, 1), p);
    check_both({sc(1, t - 10 * kS - 1, 0, kNotReady, kSystem)}, failure(t, t, "X"), want(-1, -1, 1, true, {}), p);
  }
  SUBCASE("r3: a change at exactly t is not the state at t, but it does break the not-ready stretch") {
    check_both({sc(1, t - 30 * kS, 0, kNotReady, kSystem), sc(2, t, 0, kReady, kSystem)}, failure(t, t, "X"),
               want(-1, -1, 1, false, {2}), p);
    check_both({sc(1, t - 30 * kS, 0, kNotReady, kSystem), sc(2, t, 0, kNotReady, kSystem)}, failure(t, t, "X"),
               want(-1, -1, 1, true, {2}), p);
  }
  SUBCASE("consequence window end is inclusive") {
    check_both({sc(1, t + 10 * kS, 0, kNotReady, kSystem)}, failure(t, t, "X"), want(-1, -1, -1, false, {1}), p);
    check_both({sc(1, t + 10 * kS + 1, 0, kNotReady, kSystem)}, failure(t, t, "X"), want(-1, -1, -1), p);
    check_both({sc(1, t - 1, 0, kNotReady, kSystem)}, failure(t, t, "X"), want(-1, -1, 1), p);
  }
}

TEST_CASE("correlate agrees with the nested-loop reference on generated timelines") {
  constexpr std::uint32_t kBaseSeed = 20260314;
  constexpr int kTimelines = 2000;
  Coverage cov;
  long timelines = 0, changes = 0, mismatches = 0;
  for (int i = 0; i < kTimelines; ++i) {
    const std::uint32_t seed = kBaseSeed + static_cast<std::uint32_t>(i);
    Timeline tl = generate(seed);
    ++timelines;
    changes += static_cast<long>(tl.all.size());

    // per-agent vectors, each shuffled again (a different order from the flat vector)
    std::mt19937 shuffler(seed ^ 0x5eedu);
    std::vector<std::vector<StateChange>> per(static_cast<size_t>(tl.agents));
    for (const Flat& x : tl.all) per[static_cast<size_t>(x.agent)].push_back(x.c);
    for (auto& v : per) std::shuffle(v.begin(), v.end(), shuffler);
    const Replay replay(std::move(per));

    for (const Failure& f : tl.failures) {
      Expected ref = reference(tl.all, f, tl.p);
      Expected got = from_correlation(correlate(replay, f, tl.p));
      account(cov, tl.all, f, tl.p, ref);
      if (got == ref) continue;
      ++mismatches;
      if (mismatches <= 5) {
        std::vector<Flat> minimal = shrink(tl.all, f, tl.p, tl.agents);
        Expected min_ref = reference(minimal, f, tl.p);
        Replay min_replay = make_replay(minimal, tl.agents);
        Expected min_got = from_correlation(correlate(min_replay, f, tl.p));
        INFO("seed ", seed, " (timeline ", i, "), failure id ", f.id);
        INFO(show_case(tl.all, f, tl.p));
        INFO("reference:   ", show(ref));
        INFO("correlate(): ", show(got));
        INFO("minimal case:\n", show_case(minimal, f, tl.p));
        INFO("  reference:   ", show(min_ref));
        INFO("  correlate(): ", show(min_got));
        FAIL_CHECK("correlate() disagrees with the reference");
      }
    }
  }
  MESSAGE("timelines=", timelines, " state changes=", changes, " failures compared=", cov.failures,
          " (minute-precision ", cov.minute_failures, ") mismatches=", mismatches);
  MESSAGE("found: r1=", cov.r1, " r2=", cov.r2, " at_offer=", cov.at_offer, " r3=", cov.r3,
          " consequences=", cov.consequences);
  MESSAGE("ties: r1 on equal at=", cov.r1_tie_on_at, " at_offer on equal at=", cov.at_offer_tie_on_at,
          " r2 on equal distance=", cov.r2_distance_tie, " r2 on equal at=", cov.r2_tie_on_at);
  MESSAGE("edges: r1 start=", cov.edge_r1, " r2 before=", cov.edge_r2_before, " r2 after=", cov.edge_r2_after,
          " r3 exactly r3_not_ready_for=", cov.edge_r3_exact, " consequence end=", cov.edge_consequence,
          " change at t=", cov.change_at_failure_time, " r3 broken inside the interval=", cov.r3_blocked_inside_minute);
  CHECK(timelines >= 1000);
  CHECK(mismatches == 0);
  // the generator must actually reach the interesting cases
  CHECK(cov.failures >= 5000);
  CHECK(cov.minute_failures >= 1000);
  CHECK(cov.r1 >= 200);
  CHECK(cov.r2 >= 500);
  CHECK(cov.r3 >= 200);
  CHECK(cov.consequences >= 500);
  CHECK(cov.r1_tie_on_at >= 50);
  CHECK(cov.at_offer_tie_on_at >= 100);
  CHECK(cov.r2_distance_tie >= 50);
  CHECK(cov.r2_tie_on_at >= 20);
  CHECK(cov.edge_r1 >= 50);
  CHECK(cov.edge_r2_before >= 50);
  CHECK(cov.edge_r2_after >= 50);
  CHECK(cov.edge_r3_exact >= 20);
  CHECK(cov.edge_consequence >= 50);
  CHECK(cov.change_at_failure_time >= 100);
  CHECK(cov.r3_blocked_inside_minute >= 10);
}
