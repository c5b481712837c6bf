// Replay, correlation and diagnosis: for every failed offer a verdict (agent, system,
// configuration, benign, unknown) with the lines that prove it. Rules R1-R6 of
// docs/diagnosis.md; their parameters and wording are data in patterns/rules/.
#pragma once
#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "callaudit/model.h"
#include "callaudit/patterns.h"
#include "callaudit/result.h"
#include "callaudit/store.h"

namespace callaudit {

struct Diagnosis;

struct DiagnosisParams {
  TimeUs r1_window = 2 * kUsPerSecond;
  std::vector<std::string> r1_causes;  // from rules/diagnosis.toml [r1] causes
  TimeUs r2_window = 10 * kUsPerSecond;
  TimeUs r3_not_ready_for = 10 * kUsPerSecond;
  std::int64_t r4_max_ring_ms = 2000;
  TimeUs r5_span = 120 * kUsPerSecond;
  int r5_min_agents = 3;
  double r5_min_share = 0.5;
  int r6_min_failures = 3;
  std::vector<std::string> r6_kinds = {"forbidden", "endpoint_unavailable", "media_incompatible", "bad_destination"};
  TimeUs consequence_window = 10 * kUsPerSecond;
  std::map<std::string, std::string> why;  // sentence templates by rule
  bool with_trace = false;                  // record why each rule did or did not fire (explain)
  // The cited lines of a batch of verdicts: a run of ids with at most 1/share events between
  // neighbours is read in one pass over its range, a lone id by one lookup (the same lines
  // either way; 0: one pass over the whole range).
  double cited_scan_share = 0.02;
  // The full verdicts stay in memory up to this many bytes, then go to a temporary file.
  size_t verdict_spill_bytes = 2u << 20;
  // The full verdicts are made this many at a time. With `threads` >= 2 the next batch's
  // sentences and evidence are made on a second thread while this one's cited lines are read
  // and logged; the verdicts are the same either way.
  size_t verdict_batch = 2048;
  int threads = 2;
  // SQLite's page cache while diagnosing, in KiB (the connection's own size is restored
  // after); 0 keeps the connection's size.
  std::int64_t cache_kib = 8 * 1024;
  // Called as each phase of diagnose() ends ("load", "rules", "figures", "verdicts": sentences,
  // evidence and cited lines): the command line times them for the benchmark. Empty: not called.
  std::function<void(const char* phase)> on_phase;
  // Called once, when everything but the full verdicts is final (briefs, incidents, figures,
  // counts) and before those are made: from then on another thread may read the diagnosis,
  // its verdicts as they are appended (the log streams, see VerdictLog), while diagnose_into()
  // goes on. Empty: not called.
  std::function<void(const Diagnosis&)> on_briefs;
  // With on_briefs: its reader reads the verdicts once, in order, and nobody after it (see
  // VerdictLog::stream), so they need no temporary file.
  bool verdicts_read_once = false;
  static DiagnosisParams from(const RuleParams& rules);
};

// ---- the compact timeline the correlation works on

struct StateChange {
  std::int64_t id = 0;
  TimeUs at = 0, at_end = 0;
  std::uint8_t state = 0;      // 0 ready, 1 busy, 2 not_ready
  std::uint8_t initiator = 0;  // 0 agent, 1 supervisor, 2 system, 3 unknown
  std::int64_t order = 0;      // (input, line) tie-break for equal times
};

struct Failure {
  std::int64_t id = 0;
  int agent = 0;
  TimeUs at = 0, at_end = 0;
  std::string kind;
  std::string cause;  // the vendor cause/reason text
  std::optional<std::int64_t> ring_ms;
  bool low_confidence = false;
};

// Each agent's state over time, rebuilt from the state changes of all sources.
class Replay {
 public:
  // `changes[a]` need not be sorted.
  explicit Replay(std::vector<std::vector<StateChange>> changes);
  // The last change strictly before t: the state in force when t happened (nullptr: none).
  [[nodiscard]] const StateChange* state_at(int agent, TimeUs t) const;
  // Changes with at in [from, to].
  [[nodiscard]] std::pair<const StateChange*, const StateChange*> between(int agent, TimeUs from, TimeUs to) const;
  [[nodiscard]] const std::vector<StateChange>& changes(int agent) const { return by_agent_[static_cast<size_t>(agent)]; }
  [[nodiscard]] int agents() const { return static_cast<int>(by_agent_.size()); }

 private:
  std::vector<std::vector<StateChange>> by_agent_;
};

// What the state changes around one failure say (rules R1-R3 and the evidence roles).
struct Correlation {
  const StateChange* r1 = nullptr;     // non-system change away from ready within r1 window before t
  const StateChange* r2 = nullptr;     // agent/supervisor/unknown change to not-ready within r2 window
  const StateChange* at_offer = nullptr;  // the state at t
  bool r3 = false;                     // not-ready at t for longer than r3_not_ready_for
  std::vector<const StateChange*> consequences;  // system changes within the consequence window after t
};

Correlation correlate(const Replay& replay, const Failure& f, const DiagnosisParams& p);

// ---- results

struct Evidence {
  std::string role;  // cause | context | consequence
  std::int64_t event_id = 0;
  std::string note;
  // filled from the database
  std::string file;
  std::int64_t line = 0;
  TimeUs at = 0;
  std::string text;
};

struct RuleTrace {
  std::string rule;
  bool fired = false;
  std::string why;
};

struct FailureVerdict {
  std::int64_t id = 0;
  TimeUs at = 0, at_end = 0;
  std::string agent, agent_name, call, queue;
  std::string format, file;
  std::int64_t line = 0;
  std::string raw;
  std::string reason;
  std::optional<int> sip, q850;
  std::optional<std::int64_t> ring_ms;
  std::string code_kind;  // the kind from the codes, before the rules
  std::string kind_basis;
  std::string kind;
  std::string verdict;
  std::string confidence;
  std::string rule;  // R1..R6, or "default"
  std::string why;
  std::vector<Evidence> evidence;
  std::optional<std::int64_t> incident;
  std::vector<RuleTrace> trace;
};

struct Incident {
  std::int64_t id = 0;
  TimeUs from = 0, to = 0;
  std::string cls;   // reachability | access
  std::string kind;  // the most frequent kind
  int agents = 0;
  int failures = 0;
  int offers = 0;
  std::string verdict;
  std::string why;
  std::vector<std::string> agent_ids;
};

struct AgentFigures {
  std::string agent, name;
  std::int64_t offers = 0, failures = 0, refusals = 0;
  std::map<std::string, std::int64_t> by_verdict;
  std::map<std::string, std::int64_t> refusals_by_hour;  // "2026-03-14T09" -> refusals
  std::map<std::string, std::int64_t> offers_by_hour;
};

// A text a Diagnosis owns, kept as one pointer: reads as a string_view (empty when unset),
// valid while a copy of the diagnosis lives.
class Word {
 public:
  constexpr Word() = default;
  explicit Word(const std::string* s) : s_(s) {}
  [[nodiscard]] std::string_view view() const { return s_ ? std::string_view(*s_) : std::string_view(); }
  operator std::string_view() const { return view(); }  // NOLINT: reads as the text
  friend bool operator==(Word a, std::string_view b) { return a.view() == b; }
  friend auto operator<=>(Word a, std::string_view b) { return a.view() <=> b; }

 private:
  const std::string* s_ = nullptr;
};

// One word of a fixed vocabulary, kept as its number; "" (the first) when unset. Reads as a
// string_view. Made from a text of the vocabulary (std::invalid_argument for any other), or by
// find() (std::nullopt for any other).
template <class Vocabulary>
class OneOf {
 public:
  constexpr OneOf() = default;
  explicit OneOf(std::string_view w) {
    auto f = find(w);
    if (!f) throw std::invalid_argument("not a word of the vocabulary: '" + std::string(w) + "'");
    *this = *f;
  }
  static std::optional<OneOf> find(std::string_view w) {
    for (size_t i = 0; i < Vocabulary::words.size(); ++i)
      if (Vocabulary::words[i] == w) {
        OneOf o;
        o.i_ = static_cast<std::uint8_t>(i);
        return o;
      }
    return std::nullopt;
  }
  [[nodiscard]] std::string_view view() const { return Vocabulary::words[i_]; }
  operator std::string_view() const { return view(); }  // NOLINT: reads as the text
  friend bool operator==(OneOf a, std::string_view b) { return a.view() == b; }
  friend bool operator==(OneOf a, OneOf b) { return a.i_ == b.i_; }

 private:
  std::uint8_t i_ = 0;
};
struct VerdictWords {
  static constexpr const auto& words = kVerdictWords;
};
struct ConfidenceWords {
  static constexpr const auto& words = kConfidenceWords;
};
struct RuleWords {
  static constexpr std::array<std::string_view, 8> words{"", "R1", "R2", "R3", "R4", "R5", "R6", "default"};
};
using VerdictWord = OneOf<VerdictWords>;
using ConfidenceWord = OneOf<ConfidenceWords>;
using RuleWord = OneOf<RuleWords>;

// What most readers of a diagnosis need of one failure: who, when, and what was decided, in
// 48 bytes (a diagnosis holds one per failure, a million of them for a few GiB of logs).
struct FailureBrief {
  std::int64_t id = 0;
  TimeUs at = 0, at_end = 0;
  Word agent, kind;
  std::int32_t incident_id = 0;  // 0: in no incident
  VerdictWord verdict;
  ConfidenceWord confidence;
  RuleWord rule;
  [[nodiscard]] std::optional<std::int64_t> incident() const {
    return incident_id ? std::optional<std::int64_t>(incident_id) : std::nullopt;
  }
};
static_assert(sizeof(FailureBrief) <= 48);

// The full verdicts of a diagnosis, in order, kept serialized: in memory while small, then in
// an unlinked temporary file (in $TMPDIR, else /tmp), so that a diagnosis of a million
// failures does not hold a million verdicts' texts and cited lines in memory. Built once, then
// read: copies share the same store. One thread may append while another reads: after
// stream(), a reader asking for a verdict not yet appended waits for it, until close() (or
// finish()) says no more will come. A failure to read back the temporary file, or a log closed
// with an error, throws std::runtime_error (the commands report it as an error).
class VerdictLog {
 public:
  explicit VerdictLog(size_t spill_bytes = 2u << 20);
  Status append(const FailureVerdict& v);
  // Writes out what append() still buffers and closes the log (see close()).
  Status finish();
  // From now on readers wait for verdicts still to be appended (by another thread).
  // read_once: one reader takes each verdict once, in order (for_each): none is kept after it
  // is read and none goes to a temporary file; once what the reader has not read passes the
  // spill size, append() waits until the reader is no more than half of it behind. Nothing can
  // be read twice then.
  void stream(bool read_once = false);
  // The read-once reader reads no more (for_each does it on its way out; a reader that never
  // got to read must say it): append() stops waiting for it and keeps nothing. A log that is
  // not read once ignores it.
  void reader_left() const;
  // No more appends: waiting readers wake. With an error, a reader that would wait for a
  // verdict that will never come throws it instead of ending early.
  void close(const std::string& error = "");
  [[nodiscard]] size_t size() const;
  [[nodiscard]] bool spilled() const;  // in a temporary file
  [[nodiscard]] size_t held_bytes() const;  // held in memory now (the records, or the write buffer)
  [[nodiscard]] FailureVerdict get(size_t i) const;
  // Calls fn with each verdict in order: decoded afresh (every field set from the log, into
  // the same object each time, which keeps its texts' room), the callee's to change, valid
  // during the call.
  void for_each(const std::function<void(FailureVerdict&)>& fn) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

struct Diagnosis {
  std::vector<FailureBrief> failures;  // in time order
  VerdictLog verdicts;                 // the same failures in full, in the same order
  std::vector<Incident> incidents;
  std::vector<AgentFigures> agents;
  std::int64_t offers = 0;
  std::int64_t refusals = 0;  // non-benign failures
  std::map<std::string, std::int64_t> offers_by_hour;    // the whole team, "2026-03-14T09" -> n
  std::map<std::string, std::int64_t> refusals_by_hour;

  // Appends one failure, brief and verdict (for callers that build a diagnosis by hand). A
  // copy shares the verdicts and the words with its original: add to one of them only.
  Status add(const FailureVerdict& v);
  // A stable copy of `s` owned by this diagnosis and its copies.
  Word word(std::string_view s);

 private:
  using Words = std::unordered_set<std::string, ViewHash, std::equal_to<>>;
  std::shared_ptr<Words> words_ = std::make_shared<Words>();
};

// Runs the whole diagnosis over the database in one set-based pass.
Result<Diagnosis> diagnose(Store& store, const Catalog& cat, const DiagnosisParams& params);
// The same into `out` (replaced), which stays where it is: a reader started by
// params.on_briefs may use it until that reader is joined. On an error after on_briefs, the
// verdict log is closed with it, so that the reader stops too.
Status diagnose_into(Store& store, const Catalog& cat, const DiagnosisParams& params, Diagnosis& out);
// Saves it (replacing the previous one) so the SQL views can show it.
Status save_diagnosis(Store& store, const Diagnosis& d);

}  // namespace callaudit
