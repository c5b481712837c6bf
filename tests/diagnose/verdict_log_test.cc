// The verdict log keeps a diagnosis' full verdicts serialized, in memory and then in a
// temporary file: every field must come back as it went in, in order and by index, on either
// side of the spill, and a diagnosis spilled from its first verdict must write the same JSON
// as one kept in memory.
#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>
#include <thread>

#include "callaudit/diagnose.h"
#include "callaudit/report.h"
#include "fixture_db.h"

using namespace callaudit;

namespace {

FailureVerdict sample(std::int64_t n) {
  FailureVerdict v;
  v.id = n;
  v.at = 1'700'000'000'000'000 + n * 1'000'003;
  v.at_end = v.at + (n % 3) * 60'000'000;
  v.agent = "agent-" + std::to_string(n % 7);
  v.agent_name = n % 2 ? "Walker, Alice" : "";
  v.call = std::string(static_cast<size_t>(n % 40), 'c');
  v.queue = "support";
  v.format = "freeswitch-log";
  v.file = "logs/fs-" + std::to_string(n) + ".log";
  v.line = n * 11 - 5;  // negative for n = 0
  v.raw = std::string("line with a NUL \0 and bytes \xff\xfe", 31) + std::to_string(n);
  v.reason = "CALL_REJECTED";
  if (n % 2) v.sip = 603;
  if (n % 3) v.q850 = -21;
  if (n % 5) v.ring_ms = n * 1000;
  v.code_kind = "declined_by_agent";
  v.kind_basis = "sip 603";
  v.kind = n % 4 ? "declined_by_agent" : "rejected_not_ready";
  v.verdict = "agent";
  v.confidence = "high";
  v.rule = "R" + std::to_string(1 + n % 6);
  v.why = std::string(static_cast<size_t>(200 + n % 300), 'w');
  for (std::int64_t k = 0; k < n % 5; ++k)
    v.evidence.push_back({k ? "context" : "cause", n * 100 + k, k ? "state at the offer" : "", "f.log", k, -k, "text " + std::to_string(k)});
  if (n % 7 == 3) v.incident = n / 7;
  if (n % 2) v.trace.push_back({"R1", n % 4 == 1, "why not"});
  return v;
}

void check_same(const FailureVerdict& a, const FailureVerdict& b) {
  CHECK(a.id == b.id);
  CHECK(a.at == b.at);
  CHECK(a.at_end == b.at_end);
  CHECK(a.agent == b.agent);
  CHECK(a.agent_name == b.agent_name);
  CHECK(a.call == b.call);
  CHECK(a.queue == b.queue);
  CHECK(a.format == b.format);
  CHECK(a.file == b.file);
  CHECK(a.line == b.line);
  CHECK(a.raw == b.raw);
  CHECK(a.reason == b.reason);
  CHECK(a.sip == b.sip);
  CHECK(a.q850 == b.q850);
  CHECK(a.ring_ms == b.ring_ms);
  CHECK(a.code_kind == b.code_kind);
  CHECK(a.kind_basis == b.kind_basis);
  CHECK(a.kind == b.kind);
  CHECK(a.verdict == b.verdict);
  CHECK(a.confidence == b.confidence);
  CHECK(a.rule == b.rule);
  CHECK(a.why == b.why);
  REQUIRE(a.evidence.size() == b.evidence.size());
  for (size_t k = 0; k < a.evidence.size(); ++k) {
    CHECK(a.evidence[k].role == b.evidence[k].role);
    CHECK(a.evidence[k].event_id == b.evidence[k].event_id);
    CHECK(a.evidence[k].note == b.evidence[k].note);
    CHECK(a.evidence[k].file == b.evidence[k].file);
    CHECK(a.evidence[k].line == b.evidence[k].line);
    CHECK(a.evidence[k].at == b.evidence[k].at);
    CHECK(a.evidence[k].text == b.evidence[k].text);
  }
  CHECK(a.incident == b.incident);
  REQUIRE(a.trace.size() == b.trace.size());
  for (size_t k = 0; k < a.trace.size(); ++k) {
    CHECK(a.trace[k].rule == b.trace[k].rule);
    CHECK(a.trace[k].fired == b.trace[k].fired);
    CHECK(a.trace[k].why == b.trace[k].why);
  }
}

}  // namespace

TEST_CASE("verdict log: every field comes back, in memory and past the spill, in order and by index") {
  for (size_t spill : {size_t{1} << 30, size_t{50'000}, size_t{0}}) {
    CAPTURE(spill);
    VerdictLog log(spill);
    const int n = 3000;  // about 2 MB: past the spill and the 1 MiB write buffer for the small limits
    for (int i = 0; i < n; ++i) REQUIRE(log.append(sample(i)).ok());
    REQUIRE(log.finish().ok());
    CHECK(log.size() == static_cast<size_t>(n));
    CHECK(log.spilled() == (spill < (size_t{1} << 30)));
    int seen = 0;
    log.for_each([&](FailureVerdict& v) {
      check_same(v, sample(seen));
      ++seen;
    });
    CHECK(seen == n);
    // random access, backwards and scattered, then sequential reading again
    for (int i : {n - 1, 0, 1777, 5, n / 2, n - 2}) check_same(log.get(static_cast<size_t>(i)), sample(i));
    CHECK_THROWS_AS(log.get(static_cast<size_t>(n)), std::out_of_range);
    seen = 0;
    log.for_each([&](FailureVerdict& v) { seen += v.id == seen ? 1 : 0; });
    CHECK(seen == n);
  }
}

TEST_CASE("verdict log: appending after reading keeps the earlier verdicts and adds the new ones") {
  VerdictLog log(0);
  REQUIRE(log.append(sample(1)).ok());
  check_same(log.get(0), sample(1));
  REQUIRE(log.append(sample(2)).ok());
  REQUIRE(log.finish().ok());
  check_same(log.get(0), sample(1));
  check_same(log.get(1), sample(2));
}

TEST_CASE("verdict log: a temporary directory that does not exist is a clear error") {
  const char* old = std::getenv("TMPDIR");
  std::string saved = old ? old : "";
  setenv("TMPDIR", "/nonexistent-callaudit-dir", 1);
  VerdictLog log(0);
  Status s = log.append(sample(1));
  if (old)
    setenv("TMPDIR", saved.c_str(), 1);
  else
    unsetenv("TMPDIR");
  REQUIRE(!s.ok());
  CHECK(s.message().find("/nonexistent-callaudit-dir") != std::string::npos);
  CHECK(s.message().find("temporary file") != std::string::npos);
}

TEST_CASE("a diagnosis spilled to a temporary file writes the same JSON, CSV and text as one kept in memory") {
  testutil::FixtureCase fx;
  auto& cat = fx.cat;
  auto& store = fx.store;
  DiagnosisParams p = DiagnosisParams::from(cat->rules);
  auto cache_size = [&] {
    Statement q((*store)->db(), "PRAGMA cache_size");
    REQUIRE(q.step());
    return q.int64(0);
  };
  const std::int64_t before = cache_size();
  REQUIRE(before != -static_cast<std::int64_t>(p.cache_kib));
  auto in_memory = diagnose(**store, *cat, p);
  CHECK(cache_size() == before);  // the smaller cache of the diagnosis is undone
  p.verdict_spill_bytes = 0;
  auto spilled = diagnose(**store, *cat, p);
  REQUIRE(in_memory.ok());
  REQUIRE(spilled.ok());
  CHECK(!in_memory->verdicts.spilled());
  CHECK(spilled->verdicts.spilled());
  REQUIRE(spilled->failures.size() > 10);
  CHECK(spilled->verdicts.size() == spilled->failures.size());
  // the briefs and the verdicts agree, index by index
  for (size_t i = 0; i < spilled->failures.size(); ++i) {
    const FailureBrief& b = spilled->failures[i];
    const FailureVerdict v = spilled->verdicts.get(i);
    CHECK(b.id == v.id);
    CHECK(b.at == v.at);
    CHECK(b.agent == v.agent);
    CHECK(b.kind == v.kind);
    CHECK(b.verdict == v.verdict);
    CHECK(b.rule == v.rule);
    CHECK(b.confidence == v.confidence);
    CHECK(b.incident() == v.incident);
  }
  std::ostringstream a, b, ac, bc, at, bt;
  write_diagnosis_json(a, *in_memory, {});
  write_diagnosis_json(b, *spilled, {});
  write_diagnosis_csv(ac, *in_memory);
  write_diagnosis_csv(bc, *spilled);
  write_diagnosis_text(at, *in_memory, {}, TextStyle{});
  write_diagnosis_text(bt, *spilled, {}, TextStyle{});
  CHECK(a.str().find("\"evidence\"") != std::string::npos);
  CHECK(a.str() == b.str());
  CHECK(ac.str() == bc.str());
  CHECK(at.str() == bt.str());
}

TEST_CASE("verdicts made a batch ahead on a second thread are those made on one, whatever the batch size") {
  testutil::FixtureCase fx;
  auto& cat = fx.cat;
  auto& store = fx.store;
  DiagnosisParams p = DiagnosisParams::from(cat->rules);
  p.threads = 1;
  auto one = diagnose(**store, *cat, p);
  REQUIRE(one.ok());
  REQUIRE(one->failures.size() > 10);
  std::ostringstream want, want_csv;
  write_diagnosis_json(want, *one, {});
  write_diagnosis_csv(want_csv, *one);
  REQUIRE(want.str().find("\"why\"") != std::string::npos);
  // batches of one, of a few (the last one short) and larger than all failures
  for (size_t batch : {size_t{1}, size_t{3}, one->failures.size() - 1, size_t{1} << 20}) {
    for (int threads : {1, 2}) {
      CAPTURE(batch);
      CAPTURE(threads);
      p.verdict_batch = batch;
      p.threads = threads;
      auto d = diagnose(**store, *cat, p);
      REQUIRE(d.ok());
      CHECK(d->verdicts.size() == one->failures.size());
      std::ostringstream got, got_csv;
      write_diagnosis_json(got, *d, {});
      write_diagnosis_csv(got_csv, *d);
      CHECK(got.str() == want.str());
      CHECK(got_csv.str() == want_csv.str());
    }
  }
}

TEST_CASE("verdict log: a reader on another thread gets every verdict as it is appended, in order") {
  // in memory, past the spill, and spilled from the first one; the appender pauses now and
  // then so that the reader catches up and waits
  for (size_t spill : {size_t{1} << 30, size_t{50'000}, size_t{0}}) {
    CAPTURE(spill);
    VerdictLog log(spill);
    log.stream();
    const int n = 3000;
    std::vector<std::int64_t> seen_ids;
    bool all_same = true;
    std::thread reader([&] {
      log.for_each([&](FailureVerdict& v) {
        const std::int64_t i = static_cast<std::int64_t>(seen_ids.size());
        seen_ids.push_back(v.id);
        FailureVerdict want = sample(i);
        all_same = all_same && v.id == want.id && v.raw == want.raw && v.why == want.why &&
                   v.evidence.size() == want.evidence.size();
      });
    });
    for (int i = 0; i < n; ++i) {
      REQUIRE(log.append(sample(i)).ok());
      if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    REQUIRE(log.finish().ok());
    reader.join();
    CHECK(seen_ids.size() == static_cast<size_t>(n));
    CHECK(all_same);
    // and read again once finished, by index too: a log that is not read once keeps its
    // verdicts whatever its reader says on leaving (analyze --db saves them after the report)
    log.reader_left();
    check_same(log.get(0), sample(0));
    check_same(log.get(static_cast<size_t>(n - 1)), sample(n - 1));
  }
}

TEST_CASE("verdict log: a streaming log closed with an error stops its reader with it") {
  VerdictLog log(0);
  log.stream();
  std::string error;
  int seen = 0;
  std::thread reader([&] {
    try {
      log.for_each([&](FailureVerdict&) { ++seen; });
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  REQUIRE(log.append(sample(0)).ok());
  REQUIRE(log.append(sample(1)).ok());
  log.close("the diagnosis stopped");
  reader.join();
  CHECK(seen == 2);
  CHECK(error == "the diagnosis stopped");
  CHECK_THROWS_AS((void)log.append(sample(2)), std::logic_error);
  // a log that does not stream is read to its end and no further, without waiting
  VerdictLog plain(0);
  REQUIRE(plain.append(sample(0)).ok());
  int n = 0;
  plain.for_each([&](FailureVerdict&) { ++n; });
  CHECK(n == 1);
  CHECK_THROWS_AS((void)plain.get(1), std::out_of_range);
}

TEST_CASE("a report written on another thread while the verdicts are made is the report made after them") {
  testutil::FixtureCase fx;
  auto& cat = fx.cat;
  auto& store = fx.store;
  DiagnosisParams p = DiagnosisParams::from(cat->rules);
  auto whole = diagnose(**store, *cat, p);
  REQUIRE(whole.ok());
  REQUIRE(whole->failures.size() > 10);
  std::ostringstream want;
  write_diagnosis_json(want, *whole, {});
  for (size_t spill : {size_t{1} << 30, size_t{0}}) {
    for (size_t batch : {size_t{1}, size_t{2048}}) {
     for (bool once : {false, true}) {
      CAPTURE(spill);
      CAPTURE(batch);
      CAPTURE(once);
      p.verdict_spill_bytes = spill;
      p.verdict_batch = batch;
      p.verdicts_read_once = once;
      std::ostringstream got;
      std::thread writer;
      size_t briefs_at_start = 0, verdicts_at_start = 0;
      int calls = 0;
      p.on_briefs = [&](const Diagnosis& d) {
        ++calls;
        briefs_at_start = d.failures.size();
        verdicts_at_start = d.verdicts.size();
        writer = std::thread([&got, &d] { write_diagnosis_json(got, d, {}); });
      };
      Diagnosis d;
      REQUIRE(diagnose_into(**store, *cat, p, d).ok());
      writer.join();
      CHECK(calls == 1);
      CHECK(briefs_at_start == whole->failures.size());  // the briefs were final
      CHECK(verdicts_at_start == 0);                     // and no verdict made yet
      CHECK(got.str() == want.str());
      CHECK(d.verdicts.size() == whole->failures.size());
      // read once, nothing went to a file even with no room in memory; else it spilled
      CHECK(d.verdicts.spilled() == (!once && spill == 0));
     }
    }
  }
}

TEST_CASE("verdict log: read once, nothing spills, the appender waits for the reader, and nothing is read twice") {
  VerdictLog log(10'000);  // room for a few verdicts only
  log.stream(/*read_once=*/true);
  const int n = 3000;  // about 2 MB: far past the room
  int seen = 0;
  bool in_order = true;
  size_t most_held = 0;
  std::thread reader([&] {
    log.for_each([&](FailureVerdict& v) {
      most_held = std::max(most_held, log.held_bytes());
      in_order = in_order && v.id == seen && v.raw == sample(seen).raw;
      ++seen;
      if (seen % 700 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a slow reader
    });
  });
  for (int i = 0; i < n; ++i) REQUIRE(log.append(sample(i)).ok());
  REQUIRE(log.finish().ok());
  reader.join();
  CHECK(seen == n);
  CHECK(in_order);
  CHECK(!log.spilled());
  // the room, one verdict past it, and what was taken but not dropped yet (half the room)
  CHECK(most_held > 0);
  CHECK(most_held <= 10'000 + 2'000 + 5'001);
  CHECK(log.size() == static_cast<size_t>(n));
  CHECK_THROWS_AS((void)log.get(0), std::logic_error);  // taken and dropped

  // a reader that leaves before it reads anything does not hold the appender up
  VerdictLog gone(0);
  gone.stream(true);
  gone.reader_left();
  for (int i = 0; i < n; ++i) REQUIRE(gone.append(sample(i)).ok());
  REQUIRE(gone.finish().ok());
  CHECK(gone.size() == static_cast<size_t>(n));
  CHECK(!gone.spilled());
}
