// Which format an input is, from its first bytes; and the sample checks of pattern files.
// Covered by tests/parse/detect_test.cc and tests/patterns/catalog_test.cc.
#include <re2/re2.h>

#include <algorithm>

#include "callaudit/parse.h"

namespace callaudit {

double detect_score(const FormatSpec& spec, std::string_view head) {
  if (head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);
  if (spec.layout == Layout::csv) {
    size_t nl = head.find('\n');
    std::string_view first = head.substr(0, nl);
    if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
    auto cells = parse_csv_line(first);
    for (auto& c : cells) {
      while (!c.empty() && (c.back() == ' ')) c.pop_back();
      while (!c.empty() && c.front() == ' ') c.erase(c.begin());
    }
    bool all = !spec.required.empty() && std::all_of(spec.required.begin(), spec.required.end(), [&](const auto& r) {
      return std::find(cells.begin(), cells.end(), r) != cells.end();
    });
    // More required columns found means a more specific match.
    if (all) return 0.9 + 0.01 * static_cast<double>(std::min<size_t>(spec.required.size(), 9));
    if (spec.headerless && spec.headerless_detect && RE2::PartialMatch(first, *spec.headerless_detect)) return 0.85;
    return 0.0;
  }
  TextParser parser(spec);
  int lines = 0, hits = 0;
  size_t pos = 0;
  while (pos < head.size() && lines < 200) {
    size_t nl = head.find('\n', pos);
    if (nl == std::string_view::npos) break;  // a cut last line proves nothing
    std::string_view line = head.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && line.front() == '\0') line.remove_prefix(1);
    if (line.empty()) continue;
    ++lines;
    Record r;
    parser.parse(line, r);
    if (r.kind != RecordKind::unmatched && r.kind != RecordKind::continuation) ++hits;
    else if (r.kind == RecordKind::continuation) ++hits;
  }
  if (lines == 0) return 0.0;
  double score = static_cast<double>(hits) / lines;
  return score >= spec.detect_min ? score * 0.95 : 0.0;
}

std::string explain_mismatch(const LinePattern& p, std::string_view line) {
  // Cut the pattern after each top-level piece and keep the longest prefix that still matches
  // the start of the line: that tells how far the pattern got.
  const std::string& re = p.regex;
  std::vector<size_t> cuts;
  int depth = 0;
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    }
    if (depth == 0 && !in_class) {
      size_t end = i + 1;
      // include a following quantifier
      while (end < re.size() && std::string_view("*+?{").find(re[end]) != std::string_view::npos) {
        if (re[end] == '{') {
          size_t close = re.find('}', end);
          end = close == std::string::npos ? re.size() : close + 1;
        } else {
          ++end;
        }
      }
      cuts.push_back(end);
      i = end - 1;
    }
  }
  size_t best_text = 0, best_cut = 0;
  RE2::Options o;
  o.set_log_errors(false);
  for (size_t cut : cuts) {
    re2::RE2 prefix(re.substr(0, cut), o);
    if (!prefix.ok()) continue;
    re2::StringPiece m;
    re2::StringPiece text(line.data(), line.size());
    if (prefix.Match(text, 0, text.size(), RE2::ANCHOR_START, &m, 1)) {
      best_cut = cut;
      best_text = m.size();
    }
  }
  std::string out = "matched up to column " + std::to_string(best_text + 1) + ": \"" +
                    std::string(line.substr(0, best_text)) + "\" then the pattern wants \"" +
                    re.substr(best_cut, 60) + "\" but the line has \"" + std::string(line.substr(best_text, 40)) + "\"";
  return out;
}

std::vector<std::string> check_samples(const FormatSpec& spec) {
  std::vector<std::string> problems;
  auto where = [&](int line) { return spec.file.string() + ":" + std::to_string(line); };
  auto compare = [&](const Sample& s, const Record& r, const std::string& label) {
    for (const auto& [k, v] : s.expect) {
      if (k == "emit") {
        std::string got = r.kind == RecordKind::event && r.rule && r.rule->emit ? std::string(to_string(*r.rule->emit))
                                                                                 : "none";
        if (got != v) problems.push_back(where(s.toml_line) + ": " + label + ": expected emit = " + v + ", got " + got);
        continue;
      }
      const std::string_view* got = field(r.fields, k);
      if (!got)
        problems.push_back(where(s.toml_line) + ": " + label + ": expected field " + k + " = \"" + v +
                           "\", but the record has no such field");
      else if (*got != v)
        problems.push_back(where(s.toml_line) + ": " + label + ": expected " + k + " = \"" + v + "\", got \"" + std::string(*got) +
                           "\"");
    }
  };
  if (spec.layout == Layout::text) {
    for (size_t i = 0; i < spec.patterns.size(); ++i) {
      const auto& p = spec.patterns[i];
      if (p.samples.empty() && !p.continuation)
        problems.push_back(where(p.toml_line) + ": pattern '" + p.name + "' has no sample line");
      for (const auto& s : p.samples) {
        TextParser parser(spec);
        Record r;
        // a continuation sample is checked after a record has been seen
        if (p.continuation) {
          Record dummy;
          for (const auto& q : spec.patterns)
            if (!q.continuation && !q.samples.empty()) {
              parser.parse(q.samples.front().text, dummy);
              break;
            }
        }
        parser.parse(s.text, r);
        std::string label = "sample of pattern '" + p.name + "'";
        if (r.kind == RecordKind::unmatched && r.pattern.empty()) {
          problems.push_back(where(s.toml_line) + ": " + label + " does not match any pattern; " +
                             explain_mismatch(p, s.text));
          continue;
        }
        if (r.pattern != p.name) {
          problems.push_back(where(s.toml_line) + ": " + label + " is taken by pattern '" + r.pattern +
                             "' listed before it");
          continue;
        }
        compare(s, r, label);
      }
    }
  } else {
    if (spec.samples.empty()) problems.push_back(spec.file.string() + ": no [[sample]] rows");
    CsvMapper mapper(spec);
    bool was_header = false;
    std::vector<std::string> header = spec.header;
    if (header.empty()) header = spec.required;
    Status st = mapper.start(header, was_header);
    if (!st.ok()) {
      problems.push_back(spec.file.string() + ": the [csv] header does not satisfy required: " + st.message());
      return problems;
    }
    for (const auto& s : spec.samples) {
      CsvTokenizer t;
      t.feed(s.text);
      t.finish();
      CsvTokenizer::Row row;
      Record r;
      if (!t.next(row)) {
        problems.push_back(where(s.toml_line) + ": sample row is empty");
        continue;
      }
      mapper.map(row, r);
      if (r.kind == RecordKind::unmatched) {
        problems.push_back(where(s.toml_line) + ": sample row is not recognized: " + r.why);
        continue;
      }
      compare(s, r, "sample row");
    }
  }
  return problems;
}

}  // namespace callaudit
