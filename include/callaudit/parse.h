// Parsing: recognizes records of one format (text lines through one RE2::Set, CSV rows
// mapped by header name) and tells what each means (an event rule, known noise, unmatched).
#pragma once
#include <deque>
#include <memory>

#include <re2/stringpiece.h>
#include <string>
#include <string_view>
#include <vector>

#include "callaudit/patterns.h"


namespace callaudit {

enum class RecordKind { event, noise, continuation, unmatched };

// The named values of one record. Values are views into storage the record owns (its copy of
// the line, or text it was given); a copy of a record owns copies of everything.
class Fields {
 public:
  struct Entry {
    std::string_view name;
    std::string_view value;
  };
  Fields() = default;
  Fields(const Fields& o) { *this = o; }
  Fields(Fields&&) noexcept = default;
  Fields& operator=(const Fields& o);
  Fields& operator=(Fields&&) noexcept = default;

  void clear() {
    entries_.clear();
    used_ = 0;
  }
  [[nodiscard]] const std::string_view* find(std::string_view name) const {
    for (const auto& e : entries_)
      if (e.name.size() == name.size() && (name.empty() || (e.name[0] == name[0] && e.name == name))) return &e.value;
    return nullptr;
  }
  // Sets (or replaces) a field; name and value are copied.
  void set(std::string_view name, std::string_view value);
  // Appends a field without copying: `name` and `value` must outlive the record (names from
  // the format spec or its regexes; values inside text given to keep()).
  void add_view(std::string_view name, std::string_view value) { entries_.push_back({name, value}); }
  // Sets (or replaces) a field without copying; same lifetime rules as add_view().
  void set_view(std::string_view name, std::string_view value);
  // Copies `text` into the record's storage and returns the copy (stable until clear()).
  std::string_view keep(std::string_view text);

  [[nodiscard]] size_t size() const { return entries_.size(); }
  [[nodiscard]] bool empty() const { return entries_.empty(); }
  [[nodiscard]] std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  [[nodiscard]] std::vector<Entry>::const_iterator end() const { return entries_.end(); }
  bool operator==(const Fields& o) const;

 private:
  std::vector<Entry> entries_;
  // Each string on its own, so that views into it stay valid as more are kept (and no
  // allocation at all for a record that keeps nothing, unlike a deque's).
  std::vector<std::unique_ptr<std::string>> store_;
  size_t used_ = 0;                // store_ slots in use; the rest keep their capacity
};

struct Record {
  RecordKind kind = RecordKind::unmatched;
  const EventRule* rule = nullptr;  // the rule that fired (kind == event, or noise with flags)
  std::string pattern;              // text formats: the pattern that matched
  Fields fields;
  std::string why;                  // for unmatched: the reason
};

const std::string_view* field(const Fields& f, std::string_view name);
void set_field(Fields& f, std::string_view name, std::string_view value);

// Applies extracts and rules to the fields of a recognized record: fills `rec.rule`.
void apply_rules(const FormatSpec& spec, Record& rec, const std::vector<const EventRule*>& candidates);

class FastMatcher;
class FastDispatch;

// Per-format data the parser derives once: which patterns can emit or flag, their fast
// matchers, the field names in the order RE2 lists them.
struct TextPlan;

class TextParser {
 public:
  // `fast_dispatch` false: every line goes through the RE2::Set (the reference, for tests).
  explicit TextParser(const FormatSpec& spec, bool fast_dispatch = true);
  // Classifies one line (end-of-line bytes already removed). The record's fields are views
  // into its own copy of the line, or, with `line_outlives_record`, into `line` itself (the
  // caller keeps those bytes unchanged for as long as it uses the record).
  void parse(std::string_view line, Record& out, bool line_outlives_record = false);
  // The index of the first pattern matching `line`, or -1.
  int dispatch(std::string_view line) const;
  // Whether ASCII lines are dispatched by the fast matcher (every pattern fits its subset)
  // rather than by the RE2::Set.
  [[nodiscard]] bool fast_dispatch() const;
  // Parses as if a record had come before: a continuation line is then a continuation even
  // at the start. For parsers given a chunk from the middle of an input; the caller decides
  // in input order whether a record really came first.
  void assume_record_seen() { seen_record_ = true; }

 private:
  // The index of the first pattern matching `line`, or -1; `have_caps`: the fast dispatch
  // answered and `caps` holds that pattern's groups.
  int pick(std::string_view line, bool& have_caps, std::vector<int>& caps, std::vector<std::pair<int, int>>& trail,
           std::vector<int>& ways, std::vector<int>& hits) const;

  const FormatSpec& spec_;
  std::shared_ptr<const TextPlan> plan_;
  const FastDispatch* fast_ = nullptr;  // the plan's dispatch, unless turned off
  std::vector<std::vector<const EventRule*>> candidates_;  // per pattern
  std::vector<bool> capture_;                              // per pattern
  bool seen_record_ = false;
  std::vector<int> hits_;
  std::vector<int> caps_;                      // fast matcher: group bounds
  std::vector<std::pair<int, int>> trail_;     // fast matcher: backtracking scratch
  std::vector<int> ways_;                      // fast dispatch: the ways the shared atoms matched
  std::vector<re2::StringPiece> groups_;       // RE2: group bounds
};

// RFC 4180 CSV with the quirks of real exports: BOM, CRLF, quoted fields with commas, quotes
// and newlines. Fed bytes in chunks; yields rows with the line number they start on.
class CsvTokenizer {
 public:
  struct Row {
    std::vector<std::string> cells;
    std::int64_t line = 0;  // 1-based line the row starts on
    std::string raw;        // the row's bytes, without its final end of line
    bool unterminated_quote = false;
    // Longer than kMaxRow bytes: `raw` holds the first kMaxRow of them and `cells` nothing;
    // the rest of the row up to the next end of line was dropped (inside a quote that never
    // closed too: the quote is given up there, so one such quote costs one row, not the rest
    // of the file, and memory stays bounded).
    bool too_long = false;
    std::int64_t last_line = 0;  // too_long: the line the cut row ends on
    static constexpr size_t kMaxRow = 1u << 20;
  };
  void feed(std::string_view bytes);
  void finish();  // end of input: completes a last row without end of line
  bool next(Row& row);
  [[nodiscard]] std::int64_t lines() const { return line_ - (at_line_start_ ? 1 : 0); }

 private:
  void end_cell();
  void end_row();
  std::vector<Row> ready_;
  size_t ready_pos_ = 0;
  Row cur_;
  std::string cell_;
  bool in_quotes_ = false;
  bool quote_pending_ = false;  // saw a quote inside quotes: either "" or the closing quote
  bool row_started_ = false;
  bool at_line_start_ = true;
  bool pending_cr_ = false;
  bool first_bytes_ = true;
  bool skipping_ = false;  // past kMaxRow: dropping bytes up to the next end of line
  size_t bom_seen_ = 0;
  std::int64_t line_ = 1;
};

// Maps CSV rows of one format to records, by header name.
class CsvMapper {
 public:
  explicit CsvMapper(const FormatSpec& spec);
  // Takes the first row: a header, or (for headerless formats) the first data row.
  // Returns an error when required columns are missing. `was_header` tells which.
  // `raw` is the first row's text as read (headerless_detect is matched against it).
  Status start(const std::vector<std::string>& first_row, bool& was_header, std::string_view raw = {});
  void map(const CsvTokenizer::Row& row, Record& out) const;
  [[nodiscard]] const std::vector<std::string>& header() const { return header_; }

 private:
  const FormatSpec& spec_;
  std::vector<std::string> header_;
  std::vector<std::pair<std::string, int>> aliases_;  // field -> column
  std::vector<const EventRule*> rules_;
};

// Parses a CSV header line (used by detection).
std::vector<std::string> parse_csv_line(std::string_view line);

// Detection: how well `head` (the first bytes of an input) fits a format, 0..1.
double detect_score(const FormatSpec& spec, std::string_view head);

// Sample checks of one format: every sample must be recognized by its own pattern and yield
// exactly the expected fields. Returns one message per failing sample ("file:line: ...").
std::vector<std::string> check_samples(const FormatSpec& spec);

// For a line that a pattern should match but does not: how far it got.
std::string explain_mismatch(const LinePattern& p, std::string_view line);

}  // namespace callaudit
