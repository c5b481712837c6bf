// The value types passed between pipeline stages. Every stage depends only on these and on
// the stages to its left (read -> parse -> normalize -> store -> replay -> correlate -> diagnose).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace callaudit {

// Hashes std::string and std::string_view alike: for maps keyed by text that are looked up by
// view without a copy (with std::equal_to<>).
struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Microseconds since the Unix epoch, UTC.
using TimeUs = std::int64_t;
constexpr TimeUs kUsPerSecond = 1'000'000;

enum class EventType : std::uint8_t { offer, result, state };
std::string_view to_string(EventType t);
std::optional<EventType> event_type_from(std::string_view s);

// How precise a source's timestamps are. A minute-precision time stands for a whole minute.
enum class Precision : std::uint8_t { microsecond, millisecond, second, minute };
std::string_view to_string(Precision p);

// One normalized fact extracted from one input line (or CSV record).
struct Event {
  EventType type = EventType::offer;
  TimeUs at = 0;      // start of the instant (UTC)
  TimeUs at_end = 0;  // == at, or the last microsecond of the minute for minute precision
  Precision precision = Precision::second;

  std::string agent;       // normalized agent id ("1001")
  std::string agent_raw;   // as written in the source ("PJSIP/1001", "1001@default")
  std::string agent_name;  // display name when the source carries one
  std::string call;        // call / interaction / contact id
  std::string queue;

  // offer results
  std::string kind;        // failure kind of the taxonomy; "normal" when answered
  std::string kind_basis;  // which code decided the kind: "sip 603", "q850 34", "cause NO_ANSWER", ...
  std::string confidence;  // "" or "low": a hint from the code tables
  std::optional<int> sip;
  std::optional<int> q850;
  std::string reason;      // the vendor's reason / cause text, verbatim
  std::optional<std::int64_t> ring_ms;

  // agent state changes
  std::string state;         // ready | busy | not_ready
  std::string vendor_state;  // the vendor's own state name
  std::string initiator;     // agent | supervisor | system | unknown

  std::string detail;  // extra facts worth showing (who ended the leg, linked lines)

  std::int64_t line = 0;  // 1-based line of the input where the record starts
  std::string raw;        // the source record, verbatim

  // Back to a default Event, each text keeping its room: an Event reused for the next record
  // allocates nothing for texts no longer than the last one's.
  void clear();
  bool operator==(const Event&) const = default;
};

// The words of a diagnosis' verdicts and confidences (the JSON contract's), the first ("")
// for none.
inline constexpr std::array<std::string_view, 6> kVerdictWords{"", "agent", "system", "configuration", "benign",
                                                               "unknown"};
inline constexpr std::array<std::string_view, 4> kConfidenceWords{"", "high", "medium", "low"};

[[nodiscard]] inline bool is_failure(const Event& e) {
  return e.type == EventType::result && e.kind != "normal";
}

}  // namespace callaudit
