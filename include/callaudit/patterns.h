// Source formats, code tables and rule parameters, all loaded from the data files under
// patterns/. Nothing vendor-specific lives in code: it lives here, as data.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "callaudit/model.h"
#include "callaudit/result.h"
#include "callaudit/timeutil.h"

namespace re2 {
class RE2;
}

namespace callaudit {

using FieldPairs = std::vector<std::pair<std::string, std::string>>;

// A condition on a record field: the field's value must match `re` in full.
struct Condition {
  std::string field;
  std::shared_ptr<re2::RE2> re;
};

// What a recognized record means: the first rule whose conditions hold decides.
struct EventRule {
  std::string name;
  std::vector<Condition> when;    // all must hold (a missing field never holds)
  std::vector<Condition> unless;  // none may hold
  std::optional<EventType> emit;  // nullopt: recognized, but not an event (known noise)
  bool unmatched = false;         // emit = "unmatched": a value no rule knows; counted as unmatched
  FieldPairs set;                 // fields assigned when the rule fires ("{field}" copies one)
  std::string merge;              // "", "weak" or "primary": a weak event merges into a primary one
  std::string next_state_initiator;  // the agent's next state change is marked with this initiator
  std::string alias;                 // "", "source" or "target": ties member names to interfaces
  bool record_leg = false;           // remember this record's `sip` for its `leg`
  int toml_line = 0;
};

struct Sample {
  std::string text;    // a line (text formats) or a CSV row under the format's header
  FieldPairs expect;   // fields the record must yield; key "emit" is the event type or "none"
  int toml_line = 0;
};

// A line layout of a text format. The first pattern (in file order) that matches decides.
struct LinePattern {
  std::string name;
  std::string regex;  // after ${var} substitution
  std::shared_ptr<re2::RE2> re;
  bool continuation = false;  // a line of a multi-line record: only valid after a record
  std::optional<EventRule> rule;  // set when the pattern says emit = ...
  std::vector<Sample> samples;
  int toml_line = 0;
};

struct Extract {
  std::string field;
  std::shared_ptr<re2::RE2> re;
  int toml_line = 0;
};

struct StateValue {
  std::string state;      // ready | busy | not_ready
  std::string initiator;  // default initiator for this value, or ""
};

enum class Layout { text, csv };

struct FormatSpec {
  std::string name;
  std::string title;
  std::string source;  // real | representative
  std::string description;
  std::filesystem::path file;
  Layout layout = Layout::text;

  // time
  std::string time_field = "ts";
  std::vector<TimeLayout> time_layouts;
  Precision precision = Precision::second;
  bool needs_zone = false;  // zone-less local times: --tz applies
  bool result_at_ring_start = false;  // a result's time is when ringing began: it failed ring time later

  // text
  std::vector<LinePattern> patterns;
  std::shared_ptr<void> set;  // re2::RE2::Set over `patterns`, anchored both ends
  double detect_min = 0.6;

  // csv
  std::vector<std::string> header;      // the canonical header (positional when headerless)
  bool headerless = false;              // rows may come without a header (positional mapping)
  std::shared_ptr<re2::RE2> headerless_detect;  // first row must match this to be taken positionally
  std::vector<std::string> required;    // header names that identify this format
  std::vector<std::pair<std::string, std::vector<std::string>>> columns;  // field <- header names
  std::vector<Sample> samples;

  std::vector<Extract> extracts;
  std::vector<EventRule> events;
  std::map<std::string, StateValue> states;
  std::vector<std::pair<std::shared_ptr<re2::RE2>, std::string>> initiators;
  std::vector<std::shared_ptr<re2::RE2>> agent_ids;  // each with a group named id
  std::string reason_table;  // table of vendor-reasons.toml; defaults to the format name
  int merge_window_ms = 2000;
  int mark_window_ms = 2000;
  int alias_window_ms = 1000;
};

struct CodeEntry {
  std::string name;
  std::string kind;
  std::string confidence;
  std::optional<int> number;
};

struct KindInfo {
  std::string verdict;
  std::string confidence;
  std::string cls;  // reachability | access | ""
  bool failure = true;
  std::string title;
};

struct Codes {
  std::map<int, CodeEntry> q850;
  std::map<int, CodeEntry> sip;
  std::map<std::string, std::string> sip_classes;  // "5" -> kind
  // (looked up by a view of the field, without making a string: std::less<>)
  std::map<std::string, CodeEntry, std::less<>> causes;  // platform cause names (FreeSWITCH)
  std::map<std::string, std::map<std::string, CodeEntry, std::less<>>, std::less<>> vendor;  // table -> reason -> entry
  std::map<std::string, KindInfo> kinds;
};

// Numeric rule parameters ("r2.window_s") and lists ("r6.kinds") from patterns/rules/.
struct RuleParams {
  std::map<std::string, double> numbers;
  std::map<std::string, std::vector<std::string>> lists;
  std::map<std::string, std::string> texts;
  [[nodiscard]] double number(const std::string& key, double fallback) const;
};

class Catalog {
 public:
  // Loads formats/*.toml, codes/*.toml and rules/*.toml under `dir`.
  static Result<Catalog> load(const std::filesystem::path& dir);
  static Result<FormatSpec> load_format(const std::filesystem::path& file);
  static Result<Codes> load_codes(const std::filesystem::path& dir);
  static Result<RuleParams> load_rules(const std::filesystem::path& dir);
  // One rules file in the layout of rules/diagnosis.toml (user overrides, --rules).
  static Result<RuleParams> load_rules_file(const std::filesystem::path& file);
  // Where patterns/ is: $CALLAUDIT_PATTERNS, next to the executable, or the source tree.
  static std::filesystem::path default_dir();

  [[nodiscard]] const FormatSpec* find(std::string_view name) const;

  std::vector<std::shared_ptr<FormatSpec>> formats;
  Codes codes;
  RuleParams rules;
  std::filesystem::path dir;
};

std::string_view to_string(Layout l);

}  // namespace callaudit
