// CSV: a streaming RFC 4180 tokenizer (BOM, CRLF, quotes, embedded newlines) and the mapping
// of rows to fields by header name. Covered by tests/parse/csv_test.cc.
#include <re2/re2.h>

#include <algorithm>

#include "callaudit/parse.h"

namespace callaudit {

void CsvTokenizer::end_cell() {
  cur_.cells.push_back(std::move(cell_));
  cell_.clear();
}

void CsvTokenizer::end_row() {
  if (cur_.too_long)
    cur_.last_line = line_;  // its cells were dropped at the cut, and nothing was added since
  else
    end_cell();
  ready_.push_back(std::move(cur_));
  cur_ = Row{};
  row_started_ = false;
}

void CsvTokenizer::feed(std::string_view bytes) {
  size_t i = 0;
  // A UTF-8 byte order mark may start the file; it is not part of the first header name. It
  // may arrive split over several chunks.
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  while (first_bytes_ && i < bytes.size()) {
    if (bytes[i] == kBom[bom_seen_]) {
      ++i;
      if (++bom_seen_ == kBom.size()) first_bytes_ = false;
      continue;
    }
    // not a BOM after all: replay what was held back
    first_bytes_ = false;
    std::string held(kBom.substr(0, bom_seen_));
    bom_seen_ = 0;
    if (!held.empty()) feed(held);
  }
  if (first_bytes_) return;
  for (; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (!row_started_) {
      row_started_ = true;
      cur_.line = line_;
      at_line_start_ = false;
    }
    if (!skipping_ && cur_.raw.size() > Row::kMaxRow) {
      // cut: the first kMaxRow bytes are kept for the unmatched sample, the cells dropped
      skipping_ = true;
      cur_.too_long = true;
      cur_.unterminated_quote = in_quotes_ && !quote_pending_;
      cur_.raw.resize(Row::kMaxRow);
      std::string().swap(cell_);
      cur_.cells.clear();
      in_quotes_ = false;
      quote_pending_ = false;
    }
    if (skipping_) {
      if (c != '\n' && c != '\r') continue;
      skipping_ = false;  // the row ends here, handled below as any end of line
    }
    if (pending_cr_) {
      pending_cr_ = false;
      ++line_;  // a CR alone ends a line too
      if (c == '\n') {
        // The CR that ended the last row belonged to a CRLF pair.
        row_started_ = false;
        at_line_start_ = true;
        continue;
      }
      cur_.line = line_;
    }
    if (in_quotes_) {
      if (quote_pending_) {
        quote_pending_ = false;
        if (c == '"') {
          cell_ += '"';
          cur_.raw += c;
          continue;
        }
        in_quotes_ = false;  // that quote closed the field; handle c below
      } else {
        cur_.raw += c;
        if (c == '"') {
          quote_pending_ = true;
        } else {
          if (c == '\n') ++line_;
          cell_ += c;
        }
        continue;
      }
    }
    if (c == ',') {
      cur_.raw += c;
      end_cell();
    } else if (c == '\n' || c == '\r') {
      if (!cur_.raw.empty() && cur_.raw.back() == '\r') cur_.raw.pop_back();
      end_row();
      if (c == '\r') {
        pending_cr_ = true;
      } else {
        at_line_start_ = true;
        ++line_;
      }
    } else if (c == '"' && cell_.find_first_not_of(' ') == std::string::npos) {
      // A quote opens a quoted field; spaces before it are tolerated (`, "x"` in FreeSWITCH
      // templates) and are not part of the value.
      cell_.clear();
      in_quotes_ = true;
      cur_.raw += c;
    } else {
      cur_.raw += c;
      cell_ += c;
    }
  }
}

void CsvTokenizer::finish() {
  if (quote_pending_) {
    quote_pending_ = false;
    in_quotes_ = false;
  }
  if (in_quotes_) {
    cur_.unterminated_quote = true;
    in_quotes_ = false;
  }
  skipping_ = false;
  if (row_started_ && !(cur_.raw.empty() && cur_.cells.empty() && cell_.empty())) end_row();
}

bool CsvTokenizer::next(Row& row) {
  if (ready_pos_ >= ready_.size()) {
    ready_.clear();
    ready_pos_ = 0;
    return false;
  }
  row = std::move(ready_[ready_pos_++]);
  return true;
}

std::vector<std::string> parse_csv_line(std::string_view line) {
  CsvTokenizer t;
  t.feed(line);
  t.finish();
  CsvTokenizer::Row r;
  if (!t.next(r)) return {};
  return r.cells;
}

namespace {
std::string trim(std::string s) {
  auto is_space = [](unsigned char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && is_space(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && is_space(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}
}  // namespace

CsvMapper::CsvMapper(const FormatSpec& spec) : spec_(spec) {
  for (const auto& r : spec.events) rules_.push_back(&r);
}

Status CsvMapper::start(const std::vector<std::string>& first_row, bool& was_header, std::string_view raw) {
  std::vector<std::string> names;
  for (const auto& c : first_row) names.push_back(trim(c));
  bool has_required = std::all_of(spec_.required.begin(), spec_.required.end(), [&](const std::string& r) {
    return std::find(names.begin(), names.end(), r) != names.end();
  });
  // headerless_detect sees the raw first line, exactly as detection does
  std::string joined(raw);
  if (raw.empty())
    for (size_t i = 0; i < first_row.size(); ++i) joined += (i ? "," : "") + first_row[i];
  if (!has_required && spec_.headerless &&
      (!spec_.headerless_detect || RE2::PartialMatch(joined, *spec_.headerless_detect))) {
    header_ = spec_.header;
    was_header = false;
  } else {
    was_header = true;
    header_ = names;
    std::vector<std::string> missing;
    for (const auto& r : spec_.required)
      if (std::find(names.begin(), names.end(), r) == names.end()) missing.push_back(r);
    if (!missing.empty()) {
      std::string m;
      for (const auto& x : missing) m += (m.empty() ? "" : ", ") + x;
      return Status::error("header lacks required column" + std::string(missing.size() > 1 ? "s " : " ") + m +
                           " for format " + spec_.name);
    }
  }
  aliases_.clear();
  for (const auto& [fieldname, candidates] : spec_.columns) {
    for (const auto& cand : candidates) {
      auto it = std::find(header_.begin(), header_.end(), cand);
      if (it != header_.end()) {
        aliases_.emplace_back(fieldname, static_cast<int>(it - header_.begin()));
        break;
      }
    }
  }
  return {};
}

void CsvMapper::map(const CsvTokenizer::Row& row, Record& out) const {
  out.kind = RecordKind::unmatched;
  out.rule = nullptr;
  out.pattern.clear();
  out.fields.clear();
  out.why.clear();
  if (row.too_long) {
    out.why = row.unterminated_quote ? "a quoted cell runs past 1 MiB (a quote never closed?): lines " +
                                           std::to_string(row.line) + " to " + std::to_string(row.last_line) +
                                           " read as one row, cut at that line's end, not parsed"
                                     : "row longer than 1 MiB: cut, not parsed";
    return;
  }
  if (row.unterminated_quote) {
    out.why = "a quoted cell is never closed (truncated file?)";
    return;
  }
  if (row.cells.size() < header_.size()) {
    out.why = "row has " + std::to_string(row.cells.size()) + " of " + std::to_string(header_.size()) + " columns";
    return;
  }
  for (size_t i = header_.size(); i < row.cells.size(); ++i) {
    if (!trim(row.cells[i]).empty()) {
      out.why = "row has " + std::to_string(row.cells.size()) + " columns, the header " +
                std::to_string(header_.size());
      return;
    }
  }
  // names are the mapper's (it outlives its records); values are copied into the record
  for (size_t i = 0; i < header_.size(); ++i) out.fields.add_view(header_[i], out.fields.keep(row.cells[i]));
  for (const auto& [name, idx] : aliases_)
    out.fields.set_view(name, out.fields.keep(row.cells[static_cast<size_t>(idx)]));
  apply_rules(spec_, out, rules_);
}

}  // namespace callaudit
