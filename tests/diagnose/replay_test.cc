// Replay: per-agent timelines sorted by (at, order); state_at is the last change strictly
// before t; between is inclusive on both ends.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "callaudit/diagnose.h"

using namespace callaudit;

namespace {

constexpr TimeUs kT0 = 1'773'479'520 * kUsPerSecond;  // 2026-03-14T09:12:00Z
constexpr TimeUs kS = kUsPerSecond;

StateChange sc(std::int64_t id, TimeUs at, std::int64_t order, std::uint8_t state = 0, std::uint8_t initiator = 0) {
  StateChange c;
  c.id = id;
  c.at = at;
  c.at_end = at;
  c.order = order;
  c.state = state;
  c.initiator = initiator;
  return c;
}

std::int64_t id_of(const StateChange* c) {
  return c ? c->id : -1;
}

std::vector<std::int64_t> ids_of(std::pair<const StateChange*, const StateChange*> r) {
  std::vector<std::int64_t> out;
  for (const StateChange* s = r.first; s && s != r.second; ++s) out.push_back(s->id);
  return out;
}

std::vector<std::int64_t> ids_of(const std::vector<StateChange>& v) {
  std::vector<std::int64_t> out;
  for (const auto& c : v) out.push_back(c.id);
  return out;
}

// Agent 0: given deliberately out of order; ids 1..6 are the sorted (at, order) sequence.
//   id 1 @ T0+0s  order 10
//   id 2 @ T0+5s  order  3
//   id 3 @ T0+5s  order  7   (same time as id 2: order decides)
//   id 4 @ T0+5s  order 20
//   id 5 @ T0+9s  order  1
//   id 6 @ T0+12s order  4
// Agent 1: no changes at all. Agent 2: one change.
Replay make_replay() {
  std::vector<std::vector<StateChange>> in(3);
  in[0] = {sc(5, kT0 + 9 * kS, 1, 2),  sc(4, kT0 + 5 * kS, 20, 1), sc(1, kT0, 10, 0),
           sc(6, kT0 + 12 * kS, 4, 0), sc(2, kT0 + 5 * kS, 3, 2),  sc(3, kT0 + 5 * kS, 7, 0)};
  in[2] = {sc(100, kT0 + 1 * kS, 0, 2, 2)};
  return Replay(std::move(in));
}

}  // namespace

TEST_CASE("replay: unsorted input is sorted by (at, order) per agent") {
  Replay r = make_replay();
  CHECK(r.agents() == 3);
  CHECK(ids_of(r.changes(0)) == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6});
  CHECK(r.changes(1).empty());
  CHECK(ids_of(r.changes(2)) == std::vector<std::int64_t>{100});
  const auto& v = r.changes(0);
  for (size_t i = 1; i < v.size(); ++i) {
    CAPTURE(i);
    CHECK((v[i - 1].at < v[i].at || (v[i - 1].at == v[i].at && v[i - 1].order < v[i].order)));
  }
}

TEST_CASE("replay: equal timestamps are resolved by order, not by input position") {
  // same time, orders given high-to-low and low-to-high: the result is the same
  for (bool reversed : {false, true}) {
    CAPTURE(reversed);
    std::vector<StateChange> v = {sc(11, kT0, 9, 2), sc(12, kT0, 1, 0), sc(13, kT0, 5, 1)};
    if (reversed) std::swap(v[0], v[2]);
    std::vector<std::vector<StateChange>> in;
    in.push_back(v);
    Replay r(std::move(in));
    CHECK(ids_of(r.changes(0)) == std::vector<std::int64_t>{12, 13, 11});
    // after the shared instant, the one with the greatest order is in force
    CHECK(id_of(r.state_at(0, kT0 + 1)) == 11);
    // at the shared instant, none of them is (strictly before)
    CHECK(r.state_at(0, kT0) == nullptr);
  }
}

TEST_CASE("replay: state_at is the last change strictly before t") {
  Replay r = make_replay();
  struct Row {
    const char* what;
    int agent;
    TimeUs t;
    std::int64_t expect;  // -1: nullptr
  };
  const Row rows[] = {
      {"long before any change", 0, kT0 - 3600 * kS, -1},
      {"1 us before the first change", 0, kT0 - 1, -1},
      {"exactly at the first change (strictly before: nothing)", 0, kT0, -1},
      {"1 us after the first change", 0, kT0 + 1, 1},
      {"between first and the tied group", 0, kT0 + 3 * kS, 1},
      {"exactly at the tied group: still the first", 0, kT0 + 5 * kS, 1},
      {"1 us after the tied group: greatest order wins", 0, kT0 + 5 * kS + 1, 4},
      {"exactly at id 5: the tied group's last", 0, kT0 + 9 * kS, 4},
      {"after id 5", 0, kT0 + 10 * kS, 5},
      {"exactly at the last change: the one before it", 0, kT0 + 12 * kS, 5},
      {"1 us after the last change", 0, kT0 + 12 * kS + 1, 6},
      {"long after every change", 0, kT0 + 86400 * kS, 6},
      {"agent with no changes", 1, kT0 + 10 * kS, -1},
      {"single-change agent, at the change", 2, kT0 + 1 * kS, -1},
      {"single-change agent, after the change", 2, kT0 + 1 * kS + 1, 100},
      {"unknown agent: negative index", -1, kT0 + 10 * kS, -1},
      {"unknown agent: index == agents()", 3, kT0 + 10 * kS, -1},
      {"unknown agent: large index", 1000, kT0 + 10 * kS, -1},
  };
  for (const auto& row : rows) {
    CAPTURE(row.what);
    CAPTURE(row.agent);
    CAPTURE(row.t - kT0);
    CHECK(id_of(r.state_at(row.agent, row.t)) == row.expect);
  }
}

TEST_CASE("replay: between is inclusive on both ends, empty and inverted ranges are empty") {
  Replay r = make_replay();
  struct Row {
    const char* what;
    int agent;
    TimeUs from, to;
    std::vector<std::int64_t> expect;
  };
  const std::vector<Row> rows = {
      {"the whole timeline", 0, kT0 - kS, kT0 + 60 * kS, {1, 2, 3, 4, 5, 6}},
      {"exact first..last edges are included", 0, kT0, kT0 + 12 * kS, {1, 2, 3, 4, 5, 6}},
      {"1 us inside both edges excludes them", 0, kT0 + 1, kT0 + 12 * kS - 1, {2, 3, 4, 5}},
      {"from == to on the tied instant: the whole tied group", 0, kT0 + 5 * kS, kT0 + 5 * kS, {2, 3, 4}},
      {"from == to on a single change", 0, kT0 + 9 * kS, kT0 + 9 * kS, {5}},
      {"from on a change, to just before the next", 0, kT0 + 5 * kS, kT0 + 9 * kS - 1, {2, 3, 4}},
      {"from just after a change, to on the next", 0, kT0 + 5 * kS + 1, kT0 + 9 * kS, {5}},
      {"to exactly at the first change", 0, kT0 - 10 * kS, kT0, {1}},
      {"to 1 us before the first change", 0, kT0 - 10 * kS, kT0 - 1, {}},
      {"from exactly at the last change", 0, kT0 + 12 * kS, kT0 + 99 * kS, {6}},
      {"from 1 us after the last change", 0, kT0 + 12 * kS + 1, kT0 + 99 * kS, {}},
      {"a gap between changes", 0, kT0 + 6 * kS, kT0 + 8 * kS, {}},
      {"from == to in a gap", 0, kT0 + 7 * kS, kT0 + 7 * kS, {}},
      {"inverted range (from > to)", 0, kT0 + 12 * kS, kT0, {}},
      {"inverted by 1 us on a change", 0, kT0 + 9 * kS, kT0 + 9 * kS - 1, {}},
      {"agent with no changes", 1, kT0 - 60 * kS, kT0 + 60 * kS, {}},
      {"unknown agent: negative index", -1, kT0 - 60 * kS, kT0 + 60 * kS, {}},
      {"unknown agent: index == agents()", 3, kT0 - 60 * kS, kT0 + 60 * kS, {}},
  };
  for (const auto& row : rows) {
    CAPTURE(row.what);
    CAPTURE(row.agent);
    CAPTURE(row.from - kT0);
    CAPTURE(row.to - kT0);
    auto range = r.between(row.agent, row.from, row.to);
    CHECK(ids_of(range) == row.expect);
    if (row.expect.empty()) {
      // an empty range is reported as a pair of equal pointers (nullptr, nullptr)
      CHECK(range.first == range.second);
    } else {
      // and a non-empty one points into the agent's own sorted timeline
      const auto& v = r.changes(row.agent);
      CHECK(range.first >= v.data());
      CHECK(range.second <= v.data() + v.size());
    }
  }
}

TEST_CASE("replay: an empty replay knows no agents") {
  Replay r(std::vector<std::vector<StateChange>>{});
  CHECK(r.agents() == 0);
  CHECK(r.state_at(0, kT0) == nullptr);
  auto range = r.between(0, kT0 - kS, kT0 + kS);
  CHECK(range.first == nullptr);
  CHECK(range.second == nullptr);
}
