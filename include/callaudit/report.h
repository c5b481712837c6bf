// Rendering a diagnosis: JSON (the stable contract, docs/diagnosis-json.md), CSV, text and the
// case report (Markdown, HTML, JSON).
#pragma once
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "callaudit/diagnose.h"
#include "callaudit/store.h"
#include "callaudit/timeutil.h"

namespace callaudit {

struct CoverageEntry {
  InputRow input;
  std::vector<std::pair<std::int64_t, std::string>> samples;  // (line, text)
  std::vector<std::string> whys;
};

Result<std::vector<CoverageEntry>> load_coverage(Store& store);

constexpr const char* kDiagnosisSchema = "callaudit.diagnosis/1";

// `edit`, when given, may change each verdict before it is written (redaction).
void write_diagnosis_json(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage,
                          const std::function<void(FailureVerdict&)>& edit = {});
void write_diagnosis_csv(std::ostream& out, const Diagnosis& d);

struct TextStyle {
  bool color = false;
  const ZoneConverter* zone = nullptr;  // display zone; nullptr = UTC
};
void write_diagnosis_text(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage,
                          const TextStyle& style);
void write_explain_text(std::ostream& out, const FailureVerdict& f, const TextStyle& style);

// A time for people: UTC ("2026-03-14 09:12:33Z") or in the display zone ("... Europe/London").
std::string show_time(TimeUs t, const TextStyle& style);

}  // namespace callaudit

namespace callaudit {

// ---- each agent's state around its failures: the swimlanes of the HTML report

// One interval of an agent's state: [from, to).
struct StateBand {
  TimeUs from = 0, to = 0;
  std::string state;  // ready | busy | not_ready; "none" for a change stored without a state; "" when no change is seen
  std::string vendor_state, initiator;
  std::int64_t event_id = 0;  // the state change that began it; 0 when none is seen
};

// A stretch of time around one failure or a cluster of failures of one agent.
struct StateWindow {
  TimeUs from = 0, to = 0;
  std::vector<StateBand> bands;  // in time order, covering [from, to] without a gap
  std::vector<size_t> failures;  // indexes into Diagnosis::failures, in time order
  std::int64_t refusals = 0;     // failures whose verdict is not benign
  bool cut = false;  // it held more state changes than max_changes: it ends at the first one left out
};

struct StateLane {
  std::string agent;
  std::int64_t failures = 0, refusals = 0;
  std::int64_t windows_total = 0;   // windows around all of this agent's failures
  std::vector<StateWindow> windows;  // the ones drawn, in time order
};

struct StateBandLimits {
  size_t max_agents = 20;            // lanes for the agents with the most refusals
  size_t max_windows_per_agent = 3;  // and each agent's windows with the most refusals
  TimeUs margin = 120 * kUsPerSecond;  // before a window's first failure and after its last
  TimeUs max_span = 30 * 60 * kUsPerSecond;
  size_t max_failures_per_window = 50;
  size_t max_changes_per_window = 400;
};

struct StateBands {
  StateBandLimits limits;
  std::vector<StateLane> lanes;         // by refusals, most first
  std::int64_t agents_total = 0;        // agents with at least one failure
  std::int64_t windows_total = 0, windows_drawn = 0;
  std::int64_t failures_total = 0, failures_drawn = 0;
  std::int64_t cut_windows = 0;
  std::int64_t other_states = 0;        // drawn changes whose state is not ready, busy or not_ready ("none")
};

// Reads, for the agents and windows the limits keep, the state changes in each window and the
// one in force when it begins (index events_agent_at); nothing else of the timeline.
Result<StateBands> load_state_bands(Store& store, const Diagnosis& d, const StateBandLimits& limits = {});

// The lookups load_state_bands makes. Each says type = 'state', so that analyze's temporary
// database can answer them through its partial index of state changes.
struct StateBandQueries {
  // the time of the last change before a window (?1 agent, ?2 window start)
  static constexpr const char* last_time =
      "SELECT at FROM events WHERE agent = ?1 AND at < ?2 AND type = 'state' ORDER BY at DESC LIMIT 1";
  // the change at that time, the last in source order (?2 that time)
  static constexpr const char* last_at =
      "SELECT id, at, state, coalesce(vendor_state, ''), coalesce(initiator, '') FROM "
      "events WHERE agent = ?1 AND at = ?2 AND type = 'state' ORDER BY input_id DESC, line DESC LIMIT 1";
  // the changes inside a window (?2 from, ?3 to, ?4 how many at most)
  static constexpr const char* inside =
      "SELECT id, at, state, coalesce(vendor_state, ''), coalesce(initiator, '') FROM "
      "events WHERE agent = ?1 AND at >= ?2 AND at <= ?3 AND type = 'state' ORDER BY at, input_id, line LIMIT ?4";
};

struct ReportOptions {
  std::string format = "md";  // md | html | json
  std::string case_id;
  bool redact = false;
  const ZoneConverter* zone = nullptr;
  const StateBands* bands = nullptr;  // html: the swimlanes (nullptr: not loaded, and the report says so)
};

// Masks phone numbers and the given names consistently (same input, same mask).
class Redactor {
 public:
  Redactor(bool on, std::vector<std::string> names);
  [[nodiscard]] std::string operator()(const std::string& text) const;
  [[nodiscard]] bool on() const { return on_; }

 private:
  bool on_;
  std::vector<std::pair<std::string, std::string>> names_;  // name -> mask, longest first
};

// Names worth masking: agent names known to the timeline.
std::vector<std::string> names_to_redact(Store& store);

void write_report(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage,
                  const ReportOptions& opts, const Redactor& redact);

}  // namespace callaudit
