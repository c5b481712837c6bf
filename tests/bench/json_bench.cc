// Diagnosis output benchmark and equivalence check. Diagnoses a database once, then renders
// the diagnosis as JSON, CSV and text with today's writers and with the reference copies of
// the writers before the buffered rewrite (json_reference.cc): the outputs must be identical
// byte for byte, and both are timed into a stream that discards (MB/s of output, best of N).
// --random also renders many random diagnoses (arbitrary bytes, odd times) both ways.
// Built and run by tests/bench/json_bench.sh; prints figures, asserts only equality.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <streambuf>
#include <string>

#include "callaudit/diagnose.h"
#include "callaudit/json.h"
#include "callaudit/patterns.h"
#include "callaudit/report.h"

namespace callaudit::jsonref {
std::string json_escape(std::string_view s);
void write_diagnosis_json(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage);
void write_diagnosis_csv(std::ostream& out, const Diagnosis& d);
void write_diagnosis_text(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage,
                          const TextStyle& style);
void write_explain_text(std::ostream& out, const FailureVerdict& f, const TextStyle& style);
}  // namespace callaudit::jsonref

namespace {

using namespace callaudit;
using Render = std::function<void(std::ostream&)>;

class Discard : public std::streambuf {
 public:
  std::size_t bytes = 0;

 protected:
  std::streamsize xsputn(const char*, std::streamsize n) override {
    bytes += static_cast<std::size_t>(n);
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) ++bytes;
    return traits_type::not_eof(c);
  }
};

std::string render(const Render& r) {
  std::ostringstream s;
  r(s);
  return s.str();
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Best of `repeat` runs, by this thread's CPU time (the machine may be shared); returns MB/s
// and prints a line.
double timed(const char* what, const Render& r, int repeat) {
  double best = 1e30, best_wall = 1e30;
  std::size_t bytes = 0;
  for (int i = 0; i < repeat; ++i) {
    Discard sink;
    std::ostream out(&sink);
    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_seconds();
    r(out);
    best = std::min(best, cpu_seconds() - c0);
    best_wall = std::min(best_wall, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    bytes = sink.bytes;
  }
  double mbs = static_cast<double>(bytes) / 1e6 / best;
  std::printf("  %-8s %10zu bytes  %8.4f s CPU  %7.1f MB/s  (wall %.4f s)\n", what, bytes, best, mbs, best_wall);
  return mbs;
}

bool same(const char* what, const std::string& want, const std::string& got) {
  if (want == got) return true;
  std::size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  std::size_t from = i > 40 ? i - 40 : 0;
  std::fprintf(stderr, "%s differs at byte %zu (sizes %zu, %zu)\n  want: %s\n  got:  %s\n", what, i, want.size(),
               got.size(), std::string(want.substr(from, 80)).c_str(), std::string(got.substr(from, 80)).c_str());
  return false;
}

struct Case {
  const char* name;
  Render now, ref;
};

// The styles are copied into the closures: callers pass temporaries.
std::vector<Case> cases(const Diagnosis& d, const std::vector<CoverageEntry>& cov, TextStyle plain, TextStyle zoned) {
  return {
      {"json", [&](std::ostream& o) { write_diagnosis_json(o, d, cov); },
       [&](std::ostream& o) { jsonref::write_diagnosis_json(o, d, cov); }},
      {"csv", [&](std::ostream& o) { write_diagnosis_csv(o, d); },
       [&](std::ostream& o) { jsonref::write_diagnosis_csv(o, d); }},
      {"text", [&, plain](std::ostream& o) { write_diagnosis_text(o, d, cov, plain); },
       [&, plain](std::ostream& o) { jsonref::write_diagnosis_text(o, d, cov, plain); }},
      {"text (zone, color)", [&, zoned](std::ostream& o) { write_diagnosis_text(o, d, cov, zoned); },
       [&, zoned](std::ostream& o) { jsonref::write_diagnosis_text(o, d, cov, zoned); }},
      {"explain (first 200)",
       [&, zoned](std::ostream& o) {
         for (std::size_t i = 0; i < d.failures.size() && i < 200; ++i) write_explain_text(o, d.verdicts.get(i), zoned);
       },
       [&, zoned](std::ostream& o) {
         for (std::size_t i = 0; i < d.failures.size() && i < 200; ++i)
           jsonref::write_explain_text(o, d.verdicts.get(i), zoned);
       }},
  };
}

// ---- random diagnoses: every byte value, broken UTF-8, times far from today

std::string random_text(std::mt19937_64& rng) {
  static const char* const pieces[] = {"\xC3\xA9",
                                       "\xE2\x82\xAC",
                                       "\xF0\x9F\x93\x9E",
                                       "\xE2\x82",
                                       "\x80",
                                       "\xC0\x80",
                                       "\xF8\x88\x80\x80\x80",
                                       "<script>",
                                       "\"q\"",
                                       "\\",
                                       "\r\n",
                                       "\t",
                                       "\x7f",
                                       "\x1b[0m",
                                       ",",
                                       "a,b",
                                       "plain words "};
  std::string s;
  auto n = rng() % 12;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (rng() % 3 == 0)
      s += pieces[rng() % (sizeof pieces / sizeof *pieces)];
    else
      s += static_cast<char>(rng() % 256);
  }
  return s;
}

TimeUs random_time(std::mt19937_64& rng) {
  switch (rng() % 6) {
    case 0:
      return static_cast<TimeUs>(rng() % 900'000'000'000'000'000ULL);  // up to year ~28,500
    case 1:
      return -static_cast<TimeUs>(rng() % 900'000'000'000'000'000ULL);  // back to year ~-26,500
    case 2:
      return -static_cast<TimeUs>(rng() % 3'000'000'000);  // just before 1970
    case 3:
      return 1'773'000'000'000'000LL + static_cast<TimeUs>(rng() % 1000) * 1'000'000;  // whole seconds, 2026
    default:
      return 1'773'000'000'000'000LL + static_cast<TimeUs>(rng() % 100'000'000'000ULL);
  }
}

Diagnosis random_diagnosis(std::mt19937_64& rng, std::vector<CoverageEntry>& cov) {
  Diagnosis d;
  auto n = rng() % 20;
  for (std::uint64_t i = 0; i < n; ++i) {
    FailureVerdict f;
    f.id = static_cast<std::int64_t>(rng());
    f.at = random_time(rng);
    f.agent = random_text(rng);
    f.agent_name = rng() % 2 ? random_text(rng) : "";
    f.call = rng() % 2 ? random_text(rng) : "";
    f.format = random_text(rng);
    f.file = random_text(rng);
    f.line = static_cast<std::int64_t>(rng() % 100000);
    f.raw = random_text(rng);
    f.reason = random_text(rng);
    if (rng() % 2) f.sip = static_cast<int>(rng() % 700);
    if (rng() % 2) f.q850 = -static_cast<int>(rng() % 130);
    if (rng() % 2) f.ring_ms = static_cast<std::int64_t>(rng());
    if (rng() % 2) f.incident = static_cast<std::int64_t>(rng() % 50);
    f.code_kind = random_text(rng);
    f.kind = rng() % 2 ? f.code_kind : random_text(rng);
    f.kind_basis = random_text(rng);
    static const char* const verdicts[] = {"agent", "system", "configuration", "benign", "unknown", "odd"};
    f.verdict = verdicts[rng() % 6];
    f.confidence = random_text(rng);
    f.rule = random_text(rng);
    f.why = random_text(rng);
    for (auto k = rng() % 4; k > 0; --k) {
      Evidence e;
      e.role = random_text(rng);
      e.file = random_text(rng);
      e.line = static_cast<std::int64_t>(rng() % 1000);
      e.at = random_time(rng);
      e.text = random_text(rng) + std::string(rng() % 2 ? 400 : 0, 'x');
      f.evidence.push_back(e);
    }
    for (auto k = rng() % 3; k > 0; --k) f.trace.push_back({random_text(rng), rng() % 2 == 0, random_text(rng)});
    if (!d.add(f).ok()) std::abort();
  }
  for (auto k = rng() % 3; k > 0; --k) {
    Incident inc;
    inc.id = static_cast<std::int64_t>(rng() % 100);
    inc.from = random_time(rng);
    inc.to = random_time(rng);
    inc.agents = static_cast<int>(rng() % 9);
    inc.failures = static_cast<int>(rng() % 9);
    inc.kind = random_text(rng);
    inc.cls = random_text(rng);
    inc.verdict = "system";
    inc.why = random_text(rng);
    inc.agent_ids = {random_text(rng), random_text(rng)};
    d.incidents.push_back(inc);
  }
  for (auto k = rng() % 3; k > 0; --k) {
    AgentFigures a;
    a.agent = d.failures.empty() || rng() % 2 ? random_text(rng) : std::string(d.failures.front().agent);
    a.name = rng() % 2 ? random_text(rng) : "";
    a.offers = static_cast<std::int64_t>(rng() % 1000);
    a.refusals = static_cast<std::int64_t>(rng() % 1000);
    a.by_verdict["agent"] = 3;
    a.offers_by_hour["2026-03-14T09"] = a.offers;
    a.refusals_by_hour["2026-03-14T10"] = a.refusals;
    d.agents.push_back(a);
  }
  d.offers = static_cast<std::int64_t>(rng() % 100000);
  d.refusals = static_cast<std::int64_t>(rng() % 100000);
  d.offers_by_hour["2026-03-14T09"] = d.offers;
  CoverageEntry c;
  c.input.path = random_text(rng);
  c.input.format = random_text(rng);
  c.input.zone = random_text(rng);
  c.input.zone_assumed = rng() % 2 == 0;
  for (auto k = rng() % 4; k > 0; --k) {
    c.samples.emplace_back(static_cast<std::int64_t>(rng() % 100), random_text(rng));
    c.whys.push_back(random_text(rng));
  }
  cov.push_back(c);
  return d;
}

int random_check(int rounds, const ZoneConverter& zone) {
  std::mt19937_64 rng(20261201);
  for (int r = 0; r < rounds; ++r) {
    std::string s = random_text(rng);
    if (!same("json_escape", jsonref::json_escape(s), json_escape(s))) return 1;
    std::vector<CoverageEntry> cov;
    Diagnosis d = random_diagnosis(rng, cov);
    for (const auto& c : cases(d, cov, TextStyle{false, nullptr}, TextStyle{r % 2 == 0, &zone}))
      if (!same(c.name, render(c.ref), render(c.now))) {
        std::fprintf(stderr, "random diagnosis %d\n", r);
        return 1;
      }
  }
  std::printf("random: %d diagnoses rendered identically in every format\n", rounds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string db, patterns, only, tz = "Europe/London";
  int repeat = 5, rounds = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--db")
      db = argv[i + 1];
    else if (a == "--patterns")
      patterns = argv[i + 1];
    else if (a == "--repeat")
      repeat = std::atoi(argv[i + 1]);
    else if (a == "--random")
      rounds = std::atoi(argv[i + 1]);
    else if (a == "--tz")
      tz = argv[i + 1];
    else if (a == "--only")
      only = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: json_bench [--db DB] [--patterns DIR] [--repeat N] [--random N] [--tz ZONE] [--only "
                   "json|csv|text]\n");
      return 2;
    }
  }
  auto zone = ZoneConverter::make(tz);
  if (!zone.ok()) {
    std::fprintf(stderr, "%s\n", zone.error().c_str());
    return 2;
  }
  if (rounds > 0 && random_check(rounds, *zone) != 0) return 1;
  if (db.empty()) return 0;

  auto cat = Catalog::load(patterns.empty() ? Catalog::default_dir() : std::filesystem::path(patterns));
  if (!cat.ok()) {
    std::fprintf(stderr, "patterns: %s\n", cat.error().c_str());
    return 2;
  }
  auto store = Store::open(db, Store::Mode::read_only);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.error().c_str());
    return 2;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto d = diagnose(**store, *cat, DiagnosisParams::from(cat->rules));
  if (!d.ok()) {
    std::fprintf(stderr, "diagnosis: %s\n", d.error().c_str());
    return 2;
  }
  auto cov = load_coverage(**store);
  if (!cov.ok()) return 2;
  std::printf("%s: %zu failures, diagnosed in %.2f s\n", db.c_str(), d->failures.size(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  int rc = 0;
  for (const auto& c : cases(*d, *cov, TextStyle{false, nullptr}, TextStyle{true, &*zone})) {
    if (!only.empty() && std::string_view(c.name) != only) continue;
    bool ok = same(c.name, render(c.ref), render(c.now));
    std::printf("%s: %s\n", c.name, ok ? "identical" : "DIFFERENT");
    if (!ok) rc = 1;
    double before = timed("before", c.ref, repeat);
    double after = timed("after", c.now, repeat);
    std::printf("  speed-up x%.1f\n", after / before);
  }
  return rc;
}
