// Diagnosis: kinds and default verdicts from the tables, then rules R1-R6 in order, incidents,
// per-agent figures and the evidence lines. Covered by tests/diagnose/*_test.cc and the
// golden scenarios under fixtures/scenarios/.
#include "callaudit/diagnose.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <climits>
#include <future>
#include <map>
#include <set>
#include <unordered_map>

#include "callaudit/timeutil.h"

namespace callaudit {

namespace {

constexpr std::uint8_t kReady = 0, kBusy = 1, kNotReady = 2;
const char* const kStateNames[] = {"ready", "busy", "not ready"};
const char* const kInitiators[] = {"agent", "supervisor", "system", "unknown"};

std::uint8_t state_code(std::string_view s) { return s == "ready" ? kReady : s == "busy" ? kBusy : kNotReady; }
std::uint8_t initiator_code(std::string_view s) {
  return s == "agent" ? 0 : s == "supervisor" ? 1 : s == "system" ? 2 : 3;
}

std::string human_duration(TimeUs us) {
  if (us < 0) us = -us;
  double s = static_cast<double>(us) / 1e6;
  if (s < 1) return fmt::format("{} ms", us / 1000);
  if (s < 120) return fmt::format("{:.1f} s", s);
  if (s < 7200) return fmt::format("{:.0f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

// The values of a "why" sentence's {placeholders}: a dozen short pairs, looked up linearly
// (a std::map of strings cost more than the rest of the sentence). Keys are literals.
class Vars {
 public:
  Vars(std::initializer_list<std::pair<std::string_view, std::string>> init) {
    v_.reserve(init.size() + 8);
    for (const auto& p : init) v_.emplace_back(p.first, p.second);
  }
  std::string& operator[](std::string_view key) {
    for (auto& [k, v] : v_)
      if (k == key) return v;
    return v_.emplace_back(key, std::string()).second;
  }
  [[nodiscard]] const std::string* find(std::string_view key) const {
    for (const auto& [k, v] : v_)
      if (k == key) return &v;
    return nullptr;
  }

 private:
  std::vector<std::pair<std::string_view, std::string>> v_;
};

// Into `out` (replaced; its room reused).
void render(const std::string& tmpl, const Vars& vars, std::string& out) {
  out.clear();
  out.reserve(tmpl.size() + 64);
  std::string_view t = tmpl;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '{') {
      size_t end = t.find('}', i);
      if (end != std::string_view::npos) {
        if (const std::string* v = vars.find(t.substr(i + 1, end - i - 1))) {
          out += *v;
          i = end;
          continue;
        }
      }
    }
    out += t[i];
  }
}
std::string render(const std::string& tmpl, const Vars& vars) {
  std::string out;
  render(tmpl, vars, out);
  return out;
}

// The sentence template of a rule; a rule without one gets a plain sentence, made in `fallback`.
const std::string& template_of(const DiagnosisParams& p, const std::string& key, std::string& fallback) {
  auto it = p.why.find(key);
  if (it != p.why.end()) return it->second;
  fallback = "{kind_title}: verdict {verdict} (" + key + ")";
  return fallback;
}

// One failed offer as loaded: numbers only, its texts in `FailureText` (an answered offer is
// kept as its time and agent alone). The texts the rules read, each distinct one kept once
// (interned in the diagnosis) and referred to by number: a few distinct values each, for
// hundreds of thousands of failures. The rest of a failure's own row (name, call, queue,
// codes) is read with its cited line.
using Row = TimelineDigest::Failure;
using FailureText = TimelineDigest::Texts;
struct TextViews {
  std::string_view kind, kind_basis, confidence, reason;
};
class Words {
 public:
  explicit Words(Diagnosis& out) : out_(out) { list_.emplace_back(); }  // 0: the empty text
  std::uint32_t id(std::string_view s) {
    if (s.empty()) return 0;
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    const Word kept = out_.word(s);
    list_.push_back(kept);
    return ids_.emplace(kept.view(), static_cast<std::uint32_t>(list_.size() - 1)).first->second;
  }
  [[nodiscard]] TextViews views(const FailureText& t) const {
    return {list_[t.kind], list_[t.kind_basis], list_[t.confidence], list_[t.reason]};
  }
  [[nodiscard]] Word word(std::uint32_t id) const { return list_[id]; }

 private:
  Diagnosis& out_;
  std::vector<Word> list_;
  std::unordered_map<std::string_view, std::uint32_t> ids_;
};

}  // namespace

DiagnosisParams DiagnosisParams::from(const RuleParams& r) {
  DiagnosisParams p;
  auto secs = [&](const char* key, TimeUs def) {
    return static_cast<TimeUs>(r.number(key, static_cast<double>(def) / 1e6) * 1e6);
  };
  p.r1_window = secs("r1.window_after_change_s", p.r1_window);
  if (auto it = r.lists.find("r1.causes"); it != r.lists.end()) p.r1_causes = it->second;
  p.r2_window = secs("r2.window_s", p.r2_window);
  p.r3_not_ready_for = secs("r3.not_ready_for_s", p.r3_not_ready_for);
  p.r4_max_ring_ms = static_cast<std::int64_t>(r.number("r4.max_ring_ms", static_cast<double>(p.r4_max_ring_ms)));
  p.r5_span = secs("r5.span_s", p.r5_span);
  p.r5_min_agents = static_cast<int>(r.number("r5.min_agents", p.r5_min_agents));
  p.r5_min_share = r.number("r5.min_failure_share", p.r5_min_share);
  p.r6_min_failures = static_cast<int>(r.number("r6.min_failures", p.r6_min_failures));
  if (auto it = r.lists.find("r6.kinds"); it != r.lists.end()) p.r6_kinds = it->second;
  p.consequence_window = secs("consequence.window_s", p.consequence_window);
  for (const auto& [k, v] : r.texts)
    if (k.rfind("why.", 0) == 0) p.why[k.substr(4)] = v;
  return p;
}

namespace {

// The words of the rules' verdicts, made once.
const VerdictWord kAgent("agent"), kSystem("system"), kConfiguration("configuration");
const ConfidenceWord kHigh("high"), kMedium("medium"), kLow("low");
const RuleWord kR1("R1"), kR2("R2"), kR3("R3"), kR4("R4"), kR5("R5"), kR6("R6"), kDefault("default");

// Gives a vector's memory back (clear() keeps its capacity).
template <class T>
void release(std::vector<T>& v) {
  std::vector<T>().swap(v);
}

// All the reads of one diagnosis in one read transaction: one lock on the file instead of one
// per statement (tens of thousands of lookups of cited lines).
class ReadTransaction {
 public:
  explicit ReadTransaction(Store& store) : store_(store) {
    if (sqlite3_get_autocommit(store.db())) open_ = store.exec("BEGIN").ok();
  }
  ~ReadTransaction() {
    if (open_) (void)store_.exec("COMMIT");
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Store& store_;
  bool open_ = false;
};

// A smaller page cache while diagnosing: the diagnosis reads the events in one pass in storage
// order and its cited lines in ascending id order, so pages are rarely read twice, and the
// memory is better spent on the failures. The size the connection had is restored after.
class DiagnosisCache {
 public:
  DiagnosisCache(Store& store, std::int64_t kib) : store_(store) {
    Statement q(store.db(), "PRAGMA cache_size");
    if (q.ok() && q.step()) before_ = q.int64(0);
    if (before_ && kib > 0) (void)store.exec("PRAGMA cache_size = -" + std::to_string(kib));
  }
  ~DiagnosisCache() {
    if (before_) (void)store_.exec("PRAGMA cache_size = " + std::to_string(*before_));
  }
  DiagnosisCache(const DiagnosisCache&) = delete;
  DiagnosisCache& operator=(const DiagnosisCache&) = delete;

 private:
  Store& store_;
  std::optional<std::int64_t> before_;
};

}  // namespace

Result<Diagnosis> diagnose(Store& store, const Catalog& cat, const DiagnosisParams& p) {
  Diagnosis out;
  if (Status s = diagnose_into(store, cat, p, out); !s.ok()) return s;
  return out;
}

Status diagnose_into(Store& store, const Catalog& cat, const DiagnosisParams& p, Diagnosis& out) {
  DiagnosisCache cache(store, p.cache_kib);
  ReadTransaction txn(store);
  out = Diagnosis();
  out.verdicts = VerdictLog(p.verdict_spill_bytes);
  const auto& kinds = cat.codes.kinds;
  auto kind_info = [&](std::string_view k) -> const KindInfo* {
    auto it = kinds.find(std::string(k));
    return it == kinds.end() ? nullptr : &it->second;
  };

  // ---- load the compact timeline in one pass
  std::unordered_map<std::string, int> agent_index;
  std::vector<std::string> agent_ids, agent_names;
  auto agent_of = [&](const std::string& a) {
    auto [it, fresh] = agent_index.emplace(a, static_cast<int>(agent_ids.size()));
    if (fresh) {
      agent_ids.push_back(a);
      agent_names.emplace_back();
    }
    return it->second;
  };
  std::vector<std::vector<StateChange>> changes;
  std::vector<Row> failed;                       // the failed offers, in time order
  std::vector<std::pair<TimeUs, int>> answered;  // (time, agent) of the answered ones, in time order
  std::vector<FailureText> texts;
  Words words(out);
  if (auto digest = store.take_timeline()) {
    // Gathered while the events were stored: the same rows as the read below, without it.
    for (size_t i = 0; i < digest->agents.size(); ++i) {
      (void)agent_of(digest->words[digest->agents[i]]);
      agent_names[i] = digest->words[digest->names[i]];
    }
    changes.resize(agent_ids.size());
    for (const auto& d : digest->states) {
      StateChange s;
      s.id = d.id;
      s.at = d.at;
      s.at_end = d.at_end;
      s.state = state_code(digest->words[d.state]);
      s.initiator = initiator_code(digest->words[d.initiator]);
      s.order = d.input_id * (1LL << 32) + d.line;
      changes[static_cast<size_t>(d.agent)].push_back(s);
    }
    digest->states = {};
    failed = std::move(digest->failures);
    texts = std::move(digest->texts);
    answered = std::move(digest->answered);
    // the digest's words become the diagnosis' own, in the order the read below meets them
    std::vector<std::uint32_t> remap(digest->words.size(), UINT32_MAX);
    auto own = [&](std::uint32_t& w) {
      if (remap[w] == UINT32_MAX) remap[w] = words.id(digest->words[w]);
      w = remap[w];
    };
    for (auto& t : texts) {
      own(t.kind);
      own(t.kind_basis);
      own(t.confidence);
      own(t.reason);
    }
  } else {
    // the inputs' own counts size the vectors once
    Statement n(store.db(), "SELECT coalesce(sum(results), 0), coalesce(sum(failures), 0) FROM inputs");
    if (n.ok() && n.step()) {
      const std::int64_t all = std::max<std::int64_t>(0, n.int64(0)), failures = std::max<std::int64_t>(0, n.int64(1));
      failed.reserve(static_cast<size_t>(failures));
      texts.reserve(static_cast<size_t>(failures));
      answered.reserve(static_cast<size_t>(std::max<std::int64_t>(0, all - failures)));
    }
    // One pass over the table in storage order (cheaper than through an index), sorted here:
    // by time, then by (input, line) for equal times. Of an answered offer only its time and
    // agent are kept; only failures need their texts.
    Statement q(store.db(),
                "SELECT id, type, at, at_end, agent, agent_name, input_id, line, kind, kind_basis, confidence, reason,"
                " ring_ms, state, initiator"
                " FROM events NOT INDEXED WHERE type IN ('result', 'state')");
    if (!q.ok()) return Status::error(q.error());
    auto view = [&](int col) { return q.text_view(col); };
    std::string agent_key;
    while (q.step()) {
      agent_key.assign(view(4));
      int a = agent_of(agent_key);
      std::string_view name = view(5);
      if (!name.empty()) agent_names[static_cast<size_t>(a)].assign(name);
      if (view(1) == "state") {
        if (changes.size() <= static_cast<size_t>(a)) changes.resize(static_cast<size_t>(a) + 1);
        StateChange s;
        s.id = q.int64(0);
        s.at = q.int64(2);
        s.at_end = q.int64(3);
        s.state = state_code(q.text_view(13));
        s.initiator = initiator_code(q.text_view(14));
        s.order = q.int64(6) * (1LL << 32) + q.int64(7);
        changes[static_cast<size_t>(a)].push_back(s);
      } else {
        if (view(8) == "normal") {
          answered.emplace_back(q.int64(2), a);
          continue;
        }
        Row r;
        r.id = q.int64(0);
        r.agent = a;
        r.at = q.int64(2);
        r.at_end = q.int64(3);
        r.input_id = q.int64(6);
        r.line = q.int64(7);
        {
          FailureText& t = texts.emplace_back();
          r.text = static_cast<std::int32_t>(texts.size() - 1);
          t.kind = words.id(view(8));
          t.kind_basis = words.id(view(9));
          t.confidence = words.id(view(10));
          t.reason = words.id(view(11));
        }
        if (!q.is_null(12)) {
          r.ring_ms = q.int64(12);
          r.has_ring = true;
        }
        failed.push_back(r);
      }
    }
    if (q.status() != SQLITE_DONE) return Status::error(q.error());
  }
  {
    std::stable_sort(failed.begin(), failed.end(), [](const Row& x, const Row& y) {
      if (x.at != y.at) return x.at < y.at;
      if (x.input_id != y.input_id) return x.input_id < y.input_id;
      return x.line < y.line;
    });
    std::sort(answered.begin(), answered.end());
  }
  if (p.on_phase) p.on_phase("load");
  changes.resize(agent_ids.size());
  Replay replay(std::move(changes));

  // ---- R1-R4 per failure
  std::vector<TimeUs> result_times;  // of every result, answered or not
  result_times.reserve(failed.size() + answered.size());
  for (const auto& r : failed) result_times.push_back(r.at);
  for (const auto& a : answered) result_times.push_back(a.first);
  std::sort(result_times.begin(), result_times.end());

  std::vector<std::uint8_t> decided;  // 0 open, 1 decided by R1-R3
  std::vector<bool> r4;
  // what correlate() reads of a failure (again when its verdict is written: binary searches
  // are cheaper than keeping every failure's correlation)
  auto failure_of = [](const Row& r, const TextViews& t) {
    Failure f{r.id, r.agent, r.at, r.at_end, std::string(t.kind), std::string(t.reason), r.ring(), t.confidence == "low"};
    // the cause name may sit in the basis ("cause ORIGINATOR_CANCEL") when the reason is free text
    if (t.kind_basis.rfind("cause ", 0) == 0) f.cause = t.kind_basis.substr(6);
    return f;
  };
  // What the rules decide, per failure: a brief (texts interned), and the few texts that only
  // some rules make (R6's sentence and cited failures, the traces of `explain`).
  std::vector<FailureBrief> briefs(failed.size());
  std::vector<std::vector<RuleTrace>> traces(p.with_trace ? failed.size() : 0);
  // R6: one agent's setup failures while others answered. A group's sentence is the same for
  // all its members and each cites the first others of the group, so the texts are kept once
  // per group and the evidence made with the verdict, not kept per member.
  struct SetupGroup {
    std::string why;
    std::vector<size_t> members;
  };
  std::vector<SetupGroup> setup_groups;
  std::unordered_map<size_t, std::uint32_t> setups;  // an R6 member -> its group
  std::vector<Word> agent_words;
  agent_words.reserve(agent_ids.size());
  for (const auto& a : agent_ids) agent_words.push_back(out.word(a));
  const Word rejected_not_ready = out.word("rejected_not_ready"), endpoint_unavailable = out.word("endpoint_unavailable");
  decided.assign(failed.size(), 0);
  r4.assign(failed.size(), false);

  for (size_t i = 0; i < failed.size(); ++i) {
    const Row& r = failed[i];
    const TextViews t = words.views(texts[static_cast<size_t>(r.text)]);
    FailureBrief& v = briefs[i];
    v.id = r.id;
    v.at = r.at;
    v.at_end = r.at_end;
    v.agent = agent_words[static_cast<size_t>(r.agent)];
    v.kind = words.word(texts[static_cast<size_t>(r.text)].kind);
    const KindInfo* ki = kind_info(t.kind);
    static const std::string kUnknownText = "unknown", kLowText = "low";
    const std::string& def_verdict = ki ? ki->verdict : kUnknownText;
    const std::string& def_conf = t.confidence == "low" ? kLowText : ki ? ki->confidence : kLowText;

    const Failure f = failure_of(r, t);
    const Correlation c = correlate(replay, f, p);

    auto trace = [&](const char* rule, bool fired, std::string why) { traces[i].push_back({rule, fired, std::move(why)}); };
    if (c.r1) {
      v.kind = rejected_not_ready;
      v.verdict = kAgent;
      v.confidence = kHigh;
      v.rule = kR1;
      decided[i] = 1;
      if (p.with_trace) trace("R1", true, "a non-system status change away from available came right before the ring was cancelled");
    } else {
      if (p.with_trace) trace("R1", false,
            std::find(p.r1_causes.begin(), p.r1_causes.end(), f.cause) == p.r1_causes.end()
                ? "applies to a cancelled ring (" + fmt::format("{}", fmt::join(p.r1_causes, ", ")) + "), not to '" +
                      (f.cause.empty() ? std::string(t.kind) : f.cause) + "'"
                : "no non-system status change away from available within " + human_duration(p.r1_window) +
                      " before it");
    }
    if (!decided[i]) {
      bool applies = def_verdict == "agent" || def_verdict == "unknown";
      if (applies && c.r2) {
        v.verdict = kAgent;
        v.confidence = kHigh;
        v.rule = kR2;
        decided[i] = 1;
        if (p.with_trace) trace("R2", true, "the agent's own change to not-ready lies within " + human_duration(p.r2_window));
      } else {
        if (p.with_trace) trace("R2", false,
              !applies ? "the default verdict of " + std::string(t.kind) + " is " + def_verdict + ", not agent or unknown"
                       : "no change to not-ready by the agent, a supervisor or unknown within " +
                             human_duration(p.r2_window));
      }
    }
    if (!decided[i]) {
      bool applies = true;  // diagnosis.md R3: whatever the kind, routing offered to an unavailable agent
      if (applies && c.r3) {
        v.verdict = kSystem;
        v.confidence = kMedium;
        v.rule = kR3;
        decided[i] = 1;
        if (p.with_trace) trace("R3", true, "the agent was not ready for " + human_duration(r.at - c.at_offer->at) + " before the offer");
      } else {
        std::string why = !c.at_offer ? std::string("no state known before the offer")
                          : c.at_offer->state != kNotReady
                              ? std::string("the agent was ") + kStateNames[c.at_offer->state] + " at the offer"
                              : "not ready for only " + human_duration(r.at - c.at_offer->at) + " (limit " +
                                    human_duration(p.r3_not_ready_for) + ")";
        if (p.with_trace) trace("R3", false, why);
      }
    }
    if (!decided[i]) {
      if (t.kind == "no_answer" && r.has_ring && r.ring_ms < p.r4_max_ring_ms) {
        v.kind = endpoint_unavailable;
        v.verdict = kConfiguration;
        v.confidence = kLow;
        v.rule = kR4;
        r4[i] = true;
        if (p.with_trace) trace("R4", true, "rang " + human_duration(r.ring_ms * 1000) + ", under " +
                              human_duration(p.r4_max_ring_ms * 1000));
      } else {
        if (p.with_trace) trace("R4", false, t.kind != "no_answer" ? "not a no-answer"
                           : !r.has_ring          ? "ring time unknown"
                                                 : "rang " + human_duration(r.ring_ms * 1000));
        auto verdict = VerdictWord::find(def_verdict);
        auto confidence = ConfidenceWord::find(def_conf);
        if (!verdict) return Status::error("kind '" + std::string(t.kind) + "': '" + def_verdict + "' is not a verdict");
        if (!confidence)
          return Status::error("kind '" + std::string(t.kind) + "': '" + def_conf + "' is not a confidence");
        v.verdict = *verdict;
        v.confidence = *confidence;
        v.rule = kDefault;
      }
    }
  }

  // ---- R5 incidents: per class, a sliding window over open failures
  std::map<std::string, std::vector<size_t>> by_class;
  for (size_t i = 0; i < failed.size(); ++i) {
    if (decided[i]) continue;
    const KindInfo* ki = kind_info(briefs[i].kind);
    if (ki && !ki->cls.empty()) by_class[ki->cls].push_back(i);
  }
  for (auto& [cls, idx] : by_class) {
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return failed[a].at < failed[b].at; });
    std::vector<bool> member(idx.size(), false);
    std::map<int, int> agents_in;
    size_t j = 0;
    for (size_t i = 0; i < idx.size(); ++i) {
      while (j < idx.size() && failed[idx[j]].at - failed[idx[i]].at <= p.r5_span) {
        ++agents_in[failed[idx[j]].agent];
        ++j;
      }
      if (static_cast<int>(agents_in.size()) >= p.r5_min_agents) {
        TimeUs from = failed[idx[i]].at, to = failed[idx[j - 1]].at_end;
        auto lo = std::lower_bound(result_times.begin(), result_times.end(), from);
        auto hi = std::upper_bound(result_times.begin(), result_times.end(), to);
        double offers = static_cast<double>(hi - lo);
        double fails = static_cast<double>(j - i);
        if (offers <= 0 || fails / offers >= p.r5_min_share)
          for (size_t k = i; k < j; ++k) member[k] = true;
      }
      if (--agents_in[failed[idx[i]].agent] == 0) agents_in.erase(failed[idx[i]].agent);
    }
    // consecutive members (within the span of each other) form one incident
    size_t k = 0;
    while (k < idx.size()) {
      if (!member[k]) {
        ++k;
        continue;
      }
      size_t e = k;
      while (e + 1 < idx.size() && member[e + 1] && failed[idx[e + 1]].at - failed[idx[e]].at <= p.r5_span) ++e;
      Incident inc;
      inc.id = static_cast<std::int64_t>(out.incidents.size()) + 1;
      inc.cls = cls;
      inc.from = failed[idx[k]].at;
      inc.to = failed[idx[e]].at_end;
      std::set<std::string, std::less<>> agents;
      std::map<std::string, int, std::less<>> kind_count;
      for (size_t m = k; m <= e; ++m) {
        agents.emplace(briefs[idx[m]].agent);
        auto kc = kind_count.find(briefs[idx[m]].kind);
        if (kc == kind_count.end()) kc = kind_count.emplace(std::string(briefs[idx[m]].kind), 0).first;
        ++kc->second;
      }
      inc.agents = static_cast<int>(agents.size());
      inc.agent_ids.assign(agents.begin(), agents.end());
      inc.failures = static_cast<int>(e - k + 1);
      auto lo = std::lower_bound(result_times.begin(), result_times.end(), inc.from);
      auto hi = std::upper_bound(result_times.begin(), result_times.end(), inc.to);
      inc.offers = static_cast<int>(hi - lo);
      inc.kind = std::max_element(kind_count.begin(), kind_count.end(), [](auto& a, auto& b) {
                   return a.second < b.second;
                 })->first;
      inc.verdict = cls == "access" ? "configuration" : "system";
      const KindInfo* ki = kind_info(inc.kind);
      Vars vars = {
          {"incident_agents", std::to_string(inc.agents)}, {"incident_failures", std::to_string(inc.failures)},
          {"from", format_utc(inc.from)},                   {"to", format_utc(inc.to)},
          {"kind", inc.kind},                               {"kind_title", ki ? ki->title : inc.kind}};
      std::string fallback;
      inc.why = render(template_of(p, cls == "access" ? "r5_access" : "r5", fallback), vars);
      if (inc.agents >= p.r5_min_agents) {
        for (size_t m = k; m <= e; ++m) {
          size_t i = idx[m];
          FailureBrief& v = briefs[i];
          v.incident_id = static_cast<std::int32_t>(inc.id);
          if (v.verdict == "agent" || v.verdict == "unknown" || (r4[i] && cls == "reachability")) {
            v.verdict = kSystem;
          }
          if (v.verdict != "benign") {
            v.confidence = kHigh;
            v.rule = kR5;
          }
          if (p.with_trace) traces[i].push_back({"R5", true,
                             fmt::format("incident {}: {} failures from {} agents within {}", inc.id, inc.failures,
                                         inc.agents, human_duration(p.r5_span))});
        }
        out.incidents.push_back(std::move(inc));
      }
      k = e + 1;
    }
  }
  // what only R4 and R5 read goes now: the verdicts phase below is the diagnosis' peak
  release(result_times);
  release(r4);
  by_class.clear();
  // the members of each incident, in time order: other agents' failures are cited from here
  std::vector<std::vector<size_t>> incident_members(out.incidents.size());
  for (size_t i = 0; i < failed.size(); ++i)
    if (briefs[i].incident_id) incident_members[static_cast<size_t>(briefs[i].incident_id - 1)].push_back(i);
  for (size_t i = 0; i < failed.size(); ++i)
    if (!decided[i] && !briefs[i].incident_id)
      if (p.with_trace) traces[i].push_back({"R5", false, "not part of a burst from " + std::to_string(p.r5_min_agents) +
                                                        " or more agents within " + human_duration(p.r5_span)});

  // ---- R6 one agent's setup
  std::map<int, std::vector<size_t>> setup;
  for (size_t i = 0; i < failed.size(); ++i) {
    if (decided[i] || briefs[i].incident_id) continue;
    if (std::find(p.r6_kinds.begin(), p.r6_kinds.end(), briefs[i].kind) != p.r6_kinds.end())
      setup[failed[i].agent].push_back(i);
  }
  for (auto& [agent, idx] : setup) {
    if (static_cast<int>(idx.size()) < p.r6_min_failures) continue;
    TimeUs from = failed[idx.front()].at, to = failed[idx.back()].at_end;
    bool others_answered = false;
    auto lo = std::lower_bound(answered.begin(), answered.end(), std::pair<TimeUs, int>{from - p.r5_span, INT_MIN});
    for (auto it = lo; it != answered.end() && it->first <= to + p.r5_span; ++it)
      if (it->second != agent) {
        others_answered = true;
        break;
      }
    if (!others_answered) continue;
    std::set<std::string, std::less<>> ks;
    for (size_t i : idx) ks.emplace(briefs[i].kind);
    Vars vars = {{"agent", agent_ids[static_cast<size_t>(agent)]},
                 {"n", std::to_string(idx.size())},
                 {"kinds", fmt::format("{}", fmt::join(ks, ", "))}};
    std::string fallback;
    const auto group = static_cast<std::uint32_t>(setup_groups.size());
    setup_groups.push_back({render(template_of(p, "r6", fallback), vars), idx});
    for (size_t i : idx) {
      FailureBrief& v = briefs[i];
      v.verdict = kConfiguration;
      v.confidence = kHigh;
      v.rule = kR6;
      if (p.with_trace) traces[i].push_back({"R6", true, fmt::format("{} setup failures for this agent while others answered", idx.size())});
      setups.emplace(i, group);
    }
  }
  for (size_t i = 0; i < failed.size(); ++i)
    if (!decided[i] && !briefs[i].incident_id && !setups.count(i))
      if (p.with_trace) traces[i].push_back({"R6", false, "fewer than " + std::to_string(p.r6_min_failures) +
                                                        " setup failures for this agent, or nobody else answered"});

  release(decided);
  setup.clear();
  if (p.on_phase) p.on_phase("rules");

  // ---- per-agent figures: counted by agent index and hour number, named at the end
  constexpr TimeUs kHour = 3600 * kUsPerSecond;
  struct Counts {
    std::int64_t offers = 0, failures = 0, refusals = 0;
    std::map<std::string, std::int64_t> by_verdict;
    std::unordered_map<TimeUs, std::int64_t> offers_by_hour, refusals_by_hour;  // hour start -> n
  };
  std::vector<Counts> counts(agent_ids.size());
  std::vector<bool> seen(agent_ids.size(), false);
  std::unordered_map<TimeUs, std::int64_t> team_offers, team_refusals;
  auto offer = [&](TimeUs at, int agent) {
    Counts& a = counts[static_cast<size_t>(agent)];
    seen[static_cast<size_t>(agent)] = true;
    ++a.offers;
    TimeUs h = at - at % kHour;
    ++a.offers_by_hour[h];
    ++team_offers[h];
    ++out.offers;
  };
  for (const auto& r : failed) offer(r.at, r.agent);
  for (const auto& [at, agent] : answered) offer(at, agent);
  for (size_t i = 0; i < failed.size(); ++i) {
    const FailureBrief& v = briefs[i];
    size_t ai = static_cast<size_t>(failed[i].agent);
    Counts& a = counts[ai];
    seen[ai] = true;
    ++a.failures;
    ++a.by_verdict[std::string(v.verdict)];
    if (v.verdict != "benign") {
      ++a.refusals;
      TimeUs h = v.at - v.at % kHour;
      ++a.refusals_by_hour[h];
      ++team_refusals[h];
      ++out.refusals;
    }
  }
  // "2026-03-14T09": formatted once per distinct hour
  std::unordered_map<TimeUs, std::string> hour_names;
  auto hour_name = [&](TimeUs h) -> const std::string& {
    auto [it, fresh] = hour_names.try_emplace(h);
    if (fresh) it->second = format_utc(h).substr(0, 13);
    return it->second;
  };
  auto named = [&](const std::unordered_map<TimeUs, std::int64_t>& by_hour) {
    std::map<std::string, std::int64_t> m;
    for (const auto& [h, n] : by_hour) m[hour_name(h)] += n;
    return m;
  };
  out.offers_by_hour = named(team_offers);
  out.refusals_by_hour = named(team_refusals);
  std::vector<size_t> order;
  for (size_t ai = 0; ai < agent_ids.size(); ++ai)
    if (seen[ai]) order.push_back(ai);
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return agent_ids[x] < agent_ids[y]; });
  for (size_t ai : order) {
    const Counts& c = counts[ai];
    AgentFigures a;
    a.agent = agent_ids[ai];
    a.name = agent_names[ai];
    a.offers = c.offers;
    a.failures = c.failures;
    a.refusals = c.refusals;
    a.by_verdict = c.by_verdict;
    for (const char* k : {"agent", "system", "configuration", "benign", "unknown"}) a.by_verdict.emplace(k, 0);
    a.offers_by_hour = named(c.offers_by_hour);
    a.refusals_by_hour = named(c.refusals_by_hour);
    out.agents.push_back(std::move(a));
  }
  release(answered);
  release(counts);
  if (p.on_phase) p.on_phase("figures");

  // ---- the verdicts in full, in time order, one batch at a time: sentence, evidence and the
  // cited lines are made for a batch, written to the verdict log and dropped, so that memory
  // holds the briefs and one batch, not every failure's texts.
  std::vector<size_t> by_time(failed.size());
  for (size_t i = 0; i < by_time.size(); ++i) by_time[i] = i;
  std::sort(by_time.begin(), by_time.end(), [&](size_t a, size_t b) {
    return briefs[a].at != briefs[b].at ? briefs[a].at < briefs[b].at : briefs[a].id < briefs[b].id;
  });
  // the briefs into that order in place (they become the diagnosis' own): briefs[k] is the
  // brief of failure by_time[k]
  {
    std::vector<bool> placed(briefs.size(), false);
    for (size_t start = 0; start < briefs.size(); ++start) {
      if (placed[start]) continue;
      FailureBrief held = briefs[start];
      size_t k = start;
      while (true) {
        placed[k] = true;
        const size_t from = by_time[k];
        if (from == start) {
          briefs[k] = held;
          break;
        }
        briefs[k] = briefs[from];
        k = from;
      }
    }
  }
  // the briefs are the diagnosis' own from here on; all else in it is final too
  out.failures = std::move(briefs);
  // on any return from here (an error, an exception) a reader of the verdicts stops as well;
  // after finish() this does nothing
  struct CloseLog {
    VerdictLog& log;
    ~CloseLog() { log.close("the diagnosis stopped before its end"); }
  } close_log{out.verdicts};
  if (p.on_briefs) {
    out.verdicts.stream(p.verdicts_read_once);
    p.on_briefs(out);
  }
  std::unordered_map<std::int64_t, std::pair<std::string, std::string>> inputs;  // id -> (path, format)
  {
    Statement in(store.db(), "SELECT id, path, format FROM inputs");
    while (in.step()) inputs[in.int64(0)] = {in.text(1), in.text(2)};
  }
  // a cited line, and for a failure's own line the rest of its row
  Statement range(store.db(),
                  "SELECT input_id, line, at, raw, agent_name, call, queue, sip, q850, id FROM events"
                  " WHERE id >= ?1 AND id <= ?2 ORDER BY id");
  Statement point(store.db(), "SELECT input_id, line, at, raw, agent_name, call, queue, sip, q850 FROM events WHERE id = ?");
  if (!range.ok()) return Status::error(range.error());
  if (!point.ok()) return Status::error(point.error());
  struct Cited {
    std::int64_t input_id = 0, line = 0;
    TimeUs at = 0;
    std::string raw, agent_name, call, queue;
    std::optional<int> sip, q850;
    bool found = false;
  };
  // (into a Cited of an earlier batch: its texts keep their room)
  auto read_cited = [](const Statement& q, Cited& c) {
    c.input_id = q.int64(0);
    c.line = q.int64(1);
    c.at = q.int64(2);
    c.raw.assign(q.text_view(3));
    c.agent_name.assign(q.text_view(4));
    c.call.assign(q.text_view(5));
    c.queue.assign(q.text_view(6));
    c.sip = q.is_null(7) ? std::nullopt : std::optional<int>(static_cast<int>(q.int64(7)));
    c.q850 = q.is_null(8) ? std::nullopt : std::optional<int>(static_cast<int>(q.int64(8)));
    c.found = true;
  };
  std::vector<std::int64_t> ids;
  std::vector<Cited> cited;
  const size_t batch_size = std::max<size_t>(p.verdict_batch, 1);
  // The sentences and evidence of the failures [b0, b1) in time order. No database access and
  // nothing shared is written but the batch (each failure's own setup and trace are moved out).
  // The batch's verdicts are those of a batch before, overwritten: every field is set again,
  // and their texts keep their room (allocating and freeing a dozen texts per verdict was a
  // quarter of the verdicts' time).
  auto make_batch = [&](size_t b0, size_t b1, std::vector<FailureVerdict>& batch, std::string& fallback_template) {
    batch.resize(b1 - b0);
    for (size_t k = b0; k < b1; ++k) {
      const size_t i = by_time[k];
      FailureVerdict& v = batch[k - b0];
      size_t cites = 0;  // the evidence records set so far (the rest of v.evidence is an old verdict's)
      auto cite = [&v, &cites](const char* role, std::int64_t event_id, const char* note) {
        if (cites == v.evidence.size()) v.evidence.emplace_back();
        Evidence& e = v.evidence[cites++];
        e.role = role;
        e.event_id = event_id;
        e.note = note;
        e.file.clear();
        e.line = 0;
        e.at = 0;
        e.text.clear();
      };
      // the fields the database fills (cite_batch), and those set below only in some cases
      v.agent_name.clear();
      v.call.clear();
      v.queue.clear();
      v.format.clear();
      v.file.clear();
      v.raw.clear();
      v.sip.reset();
      v.q850.reset();
      v.why.clear();
      v.trace.clear();
      const FailureBrief& brief = out.failures[k];
      const Row& r = failed[i];
      const TextViews t = words.views(texts[static_cast<size_t>(r.text)]);
      const Correlation c = correlate(replay, failure_of(r, t), p);
      v.id = r.id;
      v.at = r.at;
      v.at_end = r.at_end;
      v.agent = agent_ids[static_cast<size_t>(r.agent)];
      v.line = r.line;
      v.ring_ms = r.ring();
      v.code_kind = t.kind;
      v.kind = brief.kind;
      v.reason = t.reason;
      v.kind_basis = t.kind_basis;
      v.verdict = brief.verdict;
      v.confidence = brief.confidence;
      v.rule = brief.rule;
      v.incident = brief.incident();
      if (p.with_trace) v.trace = std::move(traces[i]);
      // the failure itself comes first: its cause for the rules that blame the failure's own
      // code, else context
      cite(v.rule == "default" || v.rule == "R4" || v.rule == "R5" ? "cause" : "context", v.id, "the failure itself");
      if (auto s = setups.find(i); s != setups.end()) {
        const SetupGroup& g = setup_groups[s->second];
        v.why = g.why;
        int others = 0;  // the group's first three others
        for (size_t o : g.members)
          if (o != i && others < 3) {
            cite("cause", failed[o].id, "another setup failure of this agent");
            ++others;
          }
      }
      const KindInfo* ki = kind_info(v.kind);
      Vars vars = {
          {"agent", v.agent},
          {"kind", v.kind},
          {"kind_title", ki ? ki->title : v.kind},
          {"reason", v.reason.empty() ? v.code_kind : v.reason},
          {"basis", v.kind_basis},
          {"verdict", v.verdict},
          {"ring", r.has_ring ? human_duration(r.ring_ms * 1000) : "?"}};
      const StateChange* cause = v.rule == "R1" ? c.r1 : v.rule == "R2" ? c.r2 : v.rule == "R3" ? c.at_offer : nullptr;
      // then its cause, the state at the offer, the consequences, 3 other agents (R5)
      // the sentence's template, to format only the times it shows
      const std::string* tmpl = nullptr;
      if (v.why.empty()) {
        std::string key = v.rule == "default" ? "default" : v.rule == "R5" ? "r5" : std::string(1, 'r') + v.rule.substr(1);
        if (v.rule == "R5" && v.incident && out.incidents[static_cast<size_t>(*v.incident - 1)].cls == "access")
          key = "r5_access";
        tmpl = &template_of(p, key, fallback_template);
      }
      auto shown = [&](const char* var) { return tmpl && tmpl->find(std::string("{") + var + "}") != std::string::npos; };
      if (cause) {
        vars["initiator"] = kInitiators[cause->initiator];
        TimeUs d = cause->at - r.at;
        if (cause->at >= r.at && cause->at <= r.at_end && r.at_end != r.at)
          vars["delta"] = "within the same minute as";  // a minute-precision failure time
        else if (cause->at > r.at_end)
          vars["delta"] = human_duration(cause->at - r.at_end) + " after";
        else
          vars["delta"] = d < 0 ? human_duration(-d) + " before" : "at the moment of";
        if (v.rule == "R1") vars["delta"] = human_duration(r.at - cause->at);
        if (shown("since")) vars["since"] = format_utc(cause->at);
        vars["ago"] = human_duration(r.at - cause->at);
        vars["state_id"] = std::to_string(cause->id);
        cite("cause", cause->id, "");
      }
      if (c.at_offer && c.at_offer != cause) cite("context", c.at_offer->id, "state at the offer");
      for (const StateChange* s : c.consequences) cite("consequence", s->id, "set by the platform after the failure");
      if (v.rule == "R5" && v.incident) {
        const Incident& inc = out.incidents[static_cast<size_t>(*v.incident - 1)];
        vars["incident_agents"] = std::to_string(inc.agents);
        vars["incident_failures"] = std::to_string(inc.failures);
        if (shown("from")) vars["from"] = format_utc(inc.from);
        if (shown("to")) vars["to"] = format_utc(inc.to);
        int n = 0;
        for (size_t o : incident_members[static_cast<size_t>(*v.incident - 1)]) {
          if (n >= 3) break;
          if (failed[o].agent != r.agent) {
            cite("cause", failed[o].id, "the same failure at another agent");
            ++n;
          }
        }
      }
      if (tmpl) {
        if (cause) vars["state"] = kStateNames[cause->state];
        render(*tmpl, vars, v.why);
      }
      v.evidence.resize(cites);
    }
  };
  // The cited lines of the failures [b0, b1), each read once in ascending id order: runs of
  // close ids (at least cited_scan_share of the events between them cited) by one pass over the
  // run's id range, lone ones by a lookup each, fewer B-tree descents than one lookup per line.
  // Then each evidence gets its line, and each verdict its own line's facts. It reads the
  // database: one call at a time (the connection is not shared between two at once).
  auto cite_batch = [&](size_t b0, size_t b1, std::vector<FailureVerdict>& batch) -> Status {
    ids.clear();
    for (const auto& v : batch)
      for (const auto& e : v.evidence) ids.push_back(e.event_id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (cited.size() < ids.size()) cited.resize(ids.size());
    for (size_t k = 0; k < ids.size(); ++k) cited[k].found = false;
    const double gap = p.cited_scan_share > 0 ? 1.0 / p.cited_scan_share : 1e300;
    for (size_t k0 = 0; k0 < ids.size();) {
      size_t k1 = k0 + 1;  // the run is [k0, k1)
      while (k1 < ids.size() && static_cast<double>(ids[k1] - ids[k1 - 1]) <= gap) ++k1;
      if (k1 - k0 > 1) {
        range.bind(1, ids[k0]).bind(2, ids[k1 - 1]);
        size_t k = k0;
        while (k < k1 && range.step()) {
          const std::int64_t id = range.int64(9);
          while (k < k1 && ids[k] < id) ++k;
          if (k < k1 && ids[k] == id) {
            read_cited(range, cited[k]);
            ++k;
          }
        }
        if (range.status() != SQLITE_ROW && range.status() != SQLITE_DONE) return Status::error(range.error());
        range.reset();
      } else {
        point.bind(1, ids[k0]);
        if (point.step()) read_cited(point, cited[k0]);
        if (point.status() != SQLITE_ROW && point.status() != SQLITE_DONE) return Status::error(point.error());
        point.reset();
      }
      k0 = k1;
    }
    for (size_t k = b0; k < b1; ++k) {
      FailureVerdict& v = batch[k - b0];
      for (auto& e : v.evidence) {
        size_t at = static_cast<size_t>(std::lower_bound(ids.begin(), ids.end(), e.event_id) - ids.begin());
        const Cited& ct = cited[at];
        if (!ct.found) continue;
        auto in_it = inputs.find(ct.input_id);
        if (in_it != inputs.end()) e.file = in_it->second.first;
        e.line = ct.line;
        e.at = ct.at;
        e.text = ct.raw;
        if (e.event_id == v.id) {
          v.file = e.file;
          v.raw = e.text;
          if (in_it != inputs.end()) v.format = in_it->second.second;
          v.agent_name = ct.agent_name.empty() ? agent_names[static_cast<size_t>(failed[by_time[k]].agent)] : ct.agent_name;
          v.call = ct.call;
          v.queue = ct.queue;
          v.sip = ct.sip;
          v.q850 = ct.q850;
        }
      }
    }
    return {};
  };
  // Three stages at once with two threads or more: the next batch is made and cited on a
  // second thread while this one appends the batch before it to the log, which the report's
  // thread reads as it grows.
  auto prepare = [&](size_t b0, size_t b1, std::vector<FailureVerdict>& batch, std::string& fallback) -> Status {
    make_batch(b0, b1, batch, fallback);
    return cite_batch(b0, b1, batch);
  };
  std::vector<FailureVerdict> batch, next_batch;
  std::string fallback_here, fallback_ahead;
  // declared after everything prepare uses: on an early return it is waited for first
  std::future<Status> ahead;  // the next batch, being made on a second thread
  if (!by_time.empty())
    if (Status s = prepare(0, std::min(by_time.size(), batch_size), batch, fallback_here); !s.ok()) return s;
  for (size_t b0 = 0; b0 < by_time.size(); b0 += batch_size) {
    const size_t b1 = std::min(by_time.size(), b0 + batch_size);
    const size_t n1 = std::min(by_time.size(), b1 + batch_size);  // the next batch is [b1, n1)
    if (b1 < n1 && p.threads >= 2)
      ahead = std::async(std::launch::async, [&, b1, n1] { return prepare(b1, n1, next_batch, fallback_ahead); });
    for (auto& v : batch)
      if (Status s = out.verdicts.append(v); !s.ok()) return s;
    if (b1 < n1) {
      // (get() rethrows what the second thread threw)
      Status s = ahead.valid() ? ahead.get() : prepare(b1, n1, next_batch, fallback_here);
      if (!s.ok()) return s;
      std::swap(batch, next_batch);
    }
  }
  if (Status s = out.verdicts.finish(); !s.ok()) return s;
  if (p.on_phase) p.on_phase("verdicts");
  return {};
}

Status save_diagnosis(Store& store, const Diagnosis& d) {
  // Every row refers to an event or failure this diagnosis read in the same database: the
  // foreign-key lookups (two per evidence row) would only re-check that. Off for the save
  // (the pragma has no effect inside a transaction), on again after it.
  Status st = store.exec("PRAGMA foreign_keys = OFF; BEGIN; DELETE FROM evidence; DELETE FROM diagnosis; DELETE FROM incidents;");
  if (!st.ok()) {
    (void)store.exec("ROLLBACK; PRAGMA foreign_keys = ON;");
    return st;
  }
  auto fail = [&](const Statement& s) {
    std::string msg = s.error();
    (void)store.exec("ROLLBACK; PRAGMA foreign_keys = ON;");
    return Status::error(msg);
  };
  Statement inc(store.db(),
                "INSERT INTO incidents (id, from_at, to_at, class, kind, agents, failures, offers, verdict, why)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)");
  for (const auto& i : d.incidents) {
    inc.bind(1, i.id).bind(2, i.from).bind(3, i.to).bind(4, i.cls).bind(5, i.kind);
    inc.bind(6, static_cast<std::int64_t>(i.agents)).bind(7, static_cast<std::int64_t>(i.failures));
    inc.bind(8, static_cast<std::int64_t>(i.offers)).bind(9, i.verdict).bind(10, i.why);
    inc.step();
    if (inc.status() != SQLITE_DONE) return fail(inc);
    inc.reset();
  }
  // In id order, so that both tables grow at their end instead of splitting pages all over
  // (time order, in which the verdicts are kept, is nearly the same for one input).
  std::vector<size_t> by_id(d.failures.size());
  for (size_t i = 0; i < by_id.size(); ++i) by_id[i] = i;
  std::sort(by_id.begin(), by_id.end(), [&](size_t a, size_t b) { return d.failures[a].id < d.failures[b].id; });
  Statement dg(store.db(),
               "INSERT INTO diagnosis (failure_id, kind, verdict, confidence, rule, why, incident_id)"
               " VALUES (?,?,?,?,?,?,?)");
  Statement ev(store.db(), "INSERT INTO evidence (failure_id, role, event_id, note) VALUES (?,?,?,?)");
  if (!dg.ok()) return fail(dg);
  if (!ev.ok()) return fail(ev);
  try {
    for (size_t k : by_id) {
      const FailureVerdict f = d.verdicts.get(k);
      // the bound texts outlive each step: no copies
      dg.bind(1, f.id).bind_static(2, f.kind).bind_static(3, f.verdict).bind_static(4, f.confidence);
      dg.bind_static(5, f.rule).bind_static(6, f.why).bind(7, f.incident);
      if (dg.step(), dg.status() != SQLITE_DONE) return fail(dg);
      dg.reset();
      for (const auto& e : f.evidence) {
        ev.bind(1, f.id).bind_static(2, e.role).bind(3, e.event_id);
        if (e.note.empty())
          ev.bind_null(4);
        else
          ev.bind_static(4, e.note);
        if (ev.step(), ev.status() != SQLITE_DONE) return fail(ev);
        ev.reset();
      }
    }
  } catch (const std::exception& e) {
    (void)store.exec("ROLLBACK; PRAGMA foreign_keys = ON;");
    return Status::error(e.what());
  }
  Status done = store.exec("COMMIT");
  if (!done.ok()) (void)store.exec("ROLLBACK");
  Status on = store.exec("PRAGMA foreign_keys = ON");
  return done.ok() ? on : done;
}

}  // namespace callaudit
