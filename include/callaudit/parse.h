// Parsing: recognizes records of one format (text lines through one RE2::Set, CSV rows
// mapped by header name) and tells what each means (an event rule, known noise, unmatched).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "callaudit/patterns.h"

namespace callaudit {

enum class RecordKind { event, noise, continuation, unmatched };

struct Record {
  RecordKind kind = RecordKind::unmatched;
  const EventRule* rule = nullptr;  // the rule that fired (kind == event, or noise with flags)
  std::string pattern;              // text formats: the pattern that matched
  FieldPairs fields;
  std::string why;                  // for unmatched: the reason
};

const std::string* field(const FieldPairs& f, std::string_view name);
void set_field(FieldPairs& f, std::string_view name, std::string value);

// Applies extracts and rules to the fields of a recognized record: fills `rec.rule`.
void apply_rules(const FormatSpec& spec, Record& rec, const std::vector<const EventRule*>& candidates);

class TextParser {
 public:
  explicit TextParser(const FormatSpec& spec);
  // Classifies one line (end-of-line bytes already removed).
  void parse(std::string_view line, Record& out);
  // The index of the first pattern matching `line`, or -1.
  int dispatch(std::string_view line) const;

 private:
  const FormatSpec& spec_;
  std::vector<std::vector<const EventRule*>> candidates_;  // per pattern
  std::vector<bool> capture_;                              // per pattern
  bool seen_record_ = false;
  std::vector<int> hits_;
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
