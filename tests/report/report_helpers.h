// Helpers shared by the report tests: ingesting a scenario folder like the scenario runner,
// scrubbing absolute paths, a compact diff, UPDATE_GOLDEN handling.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "helpers.h"

namespace reporttest {

namespace fs = std::filesystem;

inline std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

inline size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = 0; (pos = hay.find(needle, pos)) != std::string::npos; pos += needle.size()) ++n;
  return n;
}

// A unified-style hunk around the first difference (three lines of context).
inline std::string diff(const std::string& expected, const std::string& actual, const std::string& name,
                        size_t limit = 40) {
  auto e = split_lines(expected), a = split_lines(actual);
  size_t pre = 0;
  while (pre < e.size() && pre < a.size() && e[pre] == a[pre]) ++pre;
  size_t suf = 0;
  while (suf < e.size() - pre && suf < a.size() - pre && e[e.size() - 1 - suf] == a[a.size() - 1 - suf]) ++suf;
  const size_t ctx = 3, from = pre > ctx ? pre - ctx : 0;
  std::ostringstream out;
  out << "--- " << name << "\n+++ actual (line " << pre + 1 << ")\n";
  for (size_t i = from; i < pre; ++i) out << "  " << e[i] << "\n";
  for (size_t i = pre, n = 0; i < e.size() - suf; ++i, ++n) {
    if (n == limit) {
      out << "  ... (" << e.size() - suf - i << " more expected lines)\n";
      break;
    }
    out << "- " << e[i] << "\n";
  }
  for (size_t i = pre, n = 0; i < a.size() - suf; ++i, ++n) {
    if (n == limit) {
      out << "  ... (" << a.size() - suf - i << " more actual lines)\n";
      break;
    }
    out << "+ " << a[i] << "\n";
  }
  for (size_t i = a.size() - suf, n = 0; i < a.size() && n < ctx; ++i, ++n) out << "  " << a[i] << "\n";
  if (expected.size() != actual.size() && e == a) out << "(lines equal: the difference is in line ends or a final newline)\n";
  return out.str();
}

// UPDATE_GOLDEN=1 (or true/all): every scenario; otherwise a comma-separated list of names.
inline bool should_update(const std::string& name) {
  const char* v = std::getenv("UPDATE_GOLDEN");
  if (!v || !*v) return false;
  std::string s = v;
  if (s == "0" || s == "false") return false;
  if (s == "1" || s == "true" || s == "all") return true;
  std::istringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (item == name) return true;
  return false;
}

inline fs::path patterns_dir() { return testutil::source_dir() / "patterns"; }

inline std::vector<fs::path> scenario_dirs() {
  const fs::path root = testutil::source_dir() / "fixtures" / "scenarios";
  std::vector<fs::path> dirs;
  if (!fs::is_directory(root)) return dirs;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory()) dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

// Ingests a scenario's inputs/ (with its args) into `db`, as tests/scenarios does.
inline testutil::RunResult ingest_scenario(const fs::path& dir, const std::string& db) {
  std::vector<std::string> ingest = {"ingest", "--db", db, "--patterns", patterns_dir().string()};
  if (fs::exists(dir / "args"))
    for (auto& a : split_words(testutil::read_file(dir / "args"))) ingest.push_back(a);
  ingest.push_back((dir / "inputs").string());
  return testutil::run_cli(ingest);
}

// Ingests a folder of inputs into `db` with the shipped patterns, reading zone-less times in `tz`.
inline testutil::RunResult ingest_folder(const std::string& db, const fs::path& folder, const std::string& tz) {
  return testutil::run_cli({"ingest", "--db", db, "--patterns", patterns_dir().string(), "--tz", tz, folder.string()});
}

inline testutil::RunResult report(const std::string& db, const std::string& format, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"report", "--db", db, "--patterns", patterns_dir().string(), "--format", format};
  for (auto& a : extra) args.push_back(a);
  return testutil::run_cli(args);
}

// Text as the report's Markdown escapes it outside code spans.
inline std::string md_escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '|' || c == '*' || c == '_' || c == '<' || c == '>' || c == '[' || c == ']' || c == '`' ||
        c == '&' || c == '~')
      out += '\\';
    out += c == '\n' || c == '\r' ? ' ' : c;
  }
  return out;
}

// The scenario folder's absolute prefix, removed from every file name in the output. The
// Markdown escapes '_' in paths, so its escaped spelling is scrubbed too.
inline std::string scrub(std::string text, const fs::path& dir) {
  const std::string prefix = dir.string() + "/";
  const std::string md_prefix = md_escaped(prefix);
  text = replace_all(text, prefix, "");
  if (md_prefix != prefix) text = replace_all(text, md_prefix, "");
  return text;
}

// Cells of a GFM table row: '|' separates cells unless escaped by a backslash ("\\" escapes
// itself, so "\\|" is an escaped backslash followed by a separator, as in cmark-gfm).
inline int table_separators(const std::string& line) {
  int n = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\') {
      ++i;
      continue;
    }
    if (line[i] == '|') ++n;
  }
  return n;
}

// Empty when every code span on the line closes: an unescaped run of N backticks must be
// followed by another run of exactly N backticks. Outside code spans a backslash escapes the
// next character; inside, it does not.
inline std::string unclosed_code_span(const std::string& line) {
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == '\\') {
      i += 2;
      continue;
    }
    if (line[i] != '`') {
      ++i;
      continue;
    }
    size_t run = 0;
    while (i + run < line.size() && line[i + run] == '`') ++run;
    size_t j = i + run;
    bool closed = false;
    while (j < line.size()) {
      if (line[j] != '`') {
        ++j;
        continue;
      }
      size_t r = 0;
      while (j + r < line.size() && line[j + r] == '`') ++r;
      if (r == run) {
        closed = true;
        j += r;
        break;
      }
      j += r;
    }
    if (!closed) return line.substr(i);
    i = j;
  }
  return "";
}

// Checks of the Markdown's structure, shared with the HTML injection test.
inline void check_markdown_shape(const std::string& name, const std::string& md) {
  // the sections, in order
  size_t at = 0;
  for (const char* section : {"\n## Summary\n", "\n## Incidents\n", "\n## Agents\n", "\n## Refusal rates\n",
                              "\n## Failures\n", "\n## Coverage\n"}) {
    size_t p = md.find(section, at);
    CHECK_MESSAGE(p != std::string::npos, name << ": no section " << section << " after offset " << at);
    if (p != std::string::npos) at = p;
  }
  // tables: every row has the header's number of cells
  auto lines = split_lines(md);
  int header = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.empty() || l[0] != '|') {
      header = -1;
    } else if (header < 0) {
      header = table_separators(l);
      bool has_delim = i + 1 < lines.size() && lines[i + 1].rfind("|---", 0) == 0;
      CHECK_MESSAGE(has_delim, name << ": table header without a delimiter row, line " << i + 1 << ": " << l);
    } else {
      CHECK_MESSAGE(table_separators(l) == header, name << ": line " << i + 1 << " has " << table_separators(l) - 1
                                                       << " cells, its header " << header - 1 << ": " << l);
    }
    std::string open = unclosed_code_span(l);
    CHECK_MESSAGE(open.empty(), name << ": unclosed code span on line " << i + 1 << ": " << open);
  }
}

// The Markdown outside code spans, with backslash-escaped characters left out: what a
// renderer could read as markup (a code span is shown as text by CommonMark, '<' included).
inline std::string md_outside_code(const std::string& md) {
  std::string out;
  for (const auto& line : split_lines(md)) {
    size_t i = 0;
    while (i < line.size()) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        out += "\\?";  // an escaped character is text: left out
        i += 2;
        continue;
      }
      if (line[i] != '`') {
        out += line[i++];
        continue;
      }
      size_t run = 0;
      while (i + run < line.size() && line[i + run] == '`') ++run;
      const std::string fence(run, '`');
      size_t j = i + run, close = std::string::npos;
      while ((j = line.find(fence, j)) != std::string::npos) {
        size_t r = 0;
        while (j + r < line.size() && line[j + r] == '`') ++r;
        if (r == run) {
          close = j;
          break;
        }
        j += r;
      }
      if (close == std::string::npos) {
        out += line.substr(i);  // not a code span: literal backticks
        break;
      }
      out += "<code/>";  // a marker, never produced by the report
      i = close + run;
    }
    out += "\n";
  }
  return out;
}

}  // namespace reporttest
