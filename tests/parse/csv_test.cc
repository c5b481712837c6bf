// CSV: CsvTokenizer (quotes, BOM, CRLF, embedded newlines, chunked feeding, line numbers) and CsvMapper (header names, required columns, short and long rows).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "callaudit/parse.h"
#include "callaudit/patterns.h"
#include "helpers.h"

using namespace callaudit;

namespace {

// A row as "line:cell|cell|cell", with " [unterminated]" when the row's quote never closed.
std::string render(const CsvTokenizer::Row& r) {
  std::string s = std::to_string(r.line) + ":";
  for (size_t i = 0; i < r.cells.size(); ++i) s += (i ? "|" : "") + r.cells[i];
  if (r.unterminated_quote) s += " [unterminated]";
  return s;
}

std::vector<CsvTokenizer::Row> drain(CsvTokenizer& t) {
  std::vector<CsvTokenizer::Row> rows;
  CsvTokenizer::Row r;
  while (t.next(r)) rows.push_back(r);
  return rows;
}

// Feeds `input` in pieces of `chunk` bytes (0: all at once), reading rows as they come.
std::vector<CsvTokenizer::Row> tokenize(std::string_view input, size_t chunk = 0, std::int64_t* lines = nullptr) {
  CsvTokenizer t;
  std::vector<CsvTokenizer::Row> rows;
  auto take = [&] {
    for (auto& r : drain(t)) rows.push_back(std::move(r));
  };
  if (chunk == 0) {
    t.feed(input);
  } else {
    for (size_t i = 0; i < input.size(); i += chunk) {
      t.feed(input.substr(i, chunk));
      take();
    }
  }
  t.finish();
  take();
  if (lines) *lines = t.lines();
  return rows;
}

std::vector<std::string> rendered(const std::vector<CsvTokenizer::Row>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(render(r));
  return out;
}

std::string show(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "{" + x + "}";
  return s;
}

struct CsvCase {
  const char* name;
  std::string input;
  std::vector<std::string> rows;  // rendered
  std::int64_t lines;             // CsvTokenizer::lines() at the end
  std::string first_raw;          // raw bytes of the first row
};

const std::vector<CsvCase> kCases = {
    {"plain", "a,b,c\n1,2,3\n", {"1:a|b|c", "2:1|2|3"}, 2, "a,b,c"},
    {"quoted cells hold commas", "\"a,b\",c\n", {"1:a,b|c"}, 1, "\"a,b\",c"},
    {"doubled quotes are one quote", "\"say \"\"hi\"\"\",x\n", {"1:say \"hi\"|x"}, 1, "\"say \"\"hi\"\"\",x"},
    {"a quoted cell of one doubled quote", "\"\"\"\"\n", {"1:\""}, 1, "\"\"\"\""},
    {"an empty quoted cell", "\"\",x\n", {"1:|x"}, 1, "\"\",x"},
    {"embedded newline: the row starts on line 1, the next on line 3",
     "\"l1\nl2\",b\nnext,row\n",
     {"1:l1\nl2|b", "3:next|row"},
     3,
     "\"l1\nl2\",b"},
    {"two embedded newlines", "x,\"1\n2\n3\"\ny\n", {"1:x|1\n2\n3", "4:y"}, 4, "x,\"1\n2\n3\""},
    {"a CRLF inside quotes is kept", "\"x\r\ny\",z\r\nq\r\n", {"1:x\r\ny|z", "3:q"}, 3, "\"x\r\ny\",z"},
    {"BOM at the start is stripped", "\xEF\xBB\xBFh1,h2\nv1,v2\n", {"1:h1|h2", "2:v1|v2"}, 2, "h1,h2"},
    {"CRLF", "a,b\r\nc,d\r\n", {"1:a|b", "2:c|d"}, 2, "a,b"},
    {"CRLF after a quoted cell", "\"a\"\r\n\"b\"\r\n", {"1:a", "2:b"}, 2, "\"a\""},
    {"last row without newline", "a,b\nc,d", {"1:a|b", "2:c|d"}, 2, "a,b"},
    {"last row without newline, quoted", "a\n\"c,d\"", {"1:a", "2:c,d"}, 2, "a"},
    {"empty lines are rows of one empty cell", "a\n\nb\n", {"1:a", "2:", "3:b"}, 3, "a"},
    {"a single newline", "\n", {"1:"}, 1, ""},
    {"empty input", "", {}, 0, ""},
    {"a trailing comma makes an empty last cell", "a,\n", {"1:a|"}, 1, "a,"},
    {"only commas", ",,\n", {"1:||"}, 1, ",,"},
    {"spaces around plain cells are kept", " a , b \n", {"1: a | b "}, 1, " a , b "},
    {"a quote inside an unquoted cell is literal", "ab\"c,d\n", {"1:ab\"c|d"}, 1, "ab\"c,d"},
    {"unterminated quote at end of input", "a,\"open\nstill open", {"1:a|open\nstill open [unterminated]"}, 2,
     "a,\"open\nstill open"},
    {"unterminated quote only affects the last row", "x,y\na,\"open", {"1:x|y", "2:a|open [unterminated]"}, 2, "x,y"},
    {"spaces before a quote that is not the first thing in the cell are literal", "x \"y\"\n", {"1:x \"y\""}, 1,
     "x \"y\""},
    // former bugs
    // A quoted cell after a space (`, "x"`, the FreeSWITCH default template): the spaces are
    // not part of the value. The cell used to come out as ` "b"`.
    {"a quoted cell after a space", "a, \"b\"\n", {"1:a|b"}, 1, "a, \"b\""},
    {"a quoted cell with a comma after a space", "\"x\",\"y\", \"z,z\"\r\n", {"1:x|y|z,z"}, 1, "\"x\",\"y\", \"z,z\""},
    {"a quoted cell after two spaces, at the start of a row", "  \"b\",c\n", {"1:b|c"}, 1, "  \"b\",c"},
};

}  // namespace

TEST_CASE("CsvTokenizer: rows, cells and start lines") {
  for (const auto& c : kCases) {
    INFO("case: " << std::string(c.name));
    std::int64_t lines = -1;
    auto rows = tokenize(c.input, 0, &lines);
    CHECK(show(rendered(rows)) == show(c.rows));
    CHECK(lines == c.lines);
    if (!rows.empty()) CHECK(rows[0].raw == c.first_raw);
  }
}

TEST_CASE("CsvTokenizer: feeding byte by byte or in chunks gives the same rows as all at once") {
  for (const auto& c : kCases) {
    // The BOM split over small first chunks is checked in the former-bugs test below.
    if (c.input.rfind("\xEF\xBB\xBF", 0) == 0) continue;
    INFO("case: " << std::string(c.name));
    auto whole = tokenize(c.input);
    for (size_t chunk : {1, 2, 3, 5}) {
      INFO("chunk " << chunk);
      auto pieces = tokenize(c.input, chunk);
      CHECK(show(rendered(pieces)) == show(rendered(whole)));
      REQUIRE(pieces.size() == whole.size());
      for (size_t i = 0; i < whole.size(); ++i) CHECK(pieces[i].raw == whole[i].raw);
    }
  }
}

TEST_CASE("CsvTokenizer: a CR-LF pair split across two feed() calls ends one row") {
  CsvTokenizer t;
  t.feed("a,b\r");
  t.feed("\nc,d\r");
  t.feed("\n");
  t.finish();
  auto rows = drain(t);
  CHECK(show(rendered(rows)) == show({"1:a|b", "2:c|d"}));
  CHECK(t.lines() == 2);
}

TEST_CASE("CsvTokenizer: rows can be taken while feeding") {
  CsvTokenizer t;
  CsvTokenizer::Row r;
  t.feed("a,b\nc,");
  REQUIRE(t.next(r));
  CHECK(render(r) == "1:a|b");
  CHECK_FALSE(t.next(r));  // "c," is not complete yet
  t.feed("d\n");
  REQUIRE(t.next(r));
  CHECK(render(r) == "2:c|d");
  CHECK_FALSE(t.next(r));
  t.finish();
  CHECK_FALSE(t.next(r));
}

TEST_CASE("parse_csv_line reads one header line") {
  CHECK(show(parse_csv_line("Time,\"Agent, Name\",Result")) == show({"Time", "Agent, Name", "Result"}));
  CHECK(parse_csv_line("").empty());
}

// Former bugs of CsvTokenizer::feed():
// 1. The UTF-8 BOM is only stripped when the first feed() call holds all three BOM bytes;
//    fed in smaller pieces the BOM stays in the first cell (so the first header name no
//    longer matches).
// 2. A lone CR ends a row but does not count a line, so the next row gets the same line number.
TEST_CASE("CsvTokenizer: former bugs") {
  SUBCASE("BOM fed in small pieces") {
    for (size_t chunk : {1, 2}) {
      INFO("chunk " << chunk);
      auto rows = tokenize("\xEF\xBB\xBFh1,h2\nv1,v2\n", chunk);
      CHECK(show(rendered(rows)) == show({"1:h1|h2", "2:v1|v2"}));
    }
  }
  SUBCASE("a lone CR between rows") {
    auto rows = tokenize("a\rb\n");
    CHECK(show(rendered(rows)) == show({"1:a", "2:b"}));
  }
}

// ---- CsvMapper

namespace {

const char* kMiniFormat = R"(
[format]
name = "mini-csv"
layout = "csv"

[time]
field = "ts"
layouts = ["%Y-%m-%d %H:%M:%S"]
zone = "utc"

[csv]
header = ["Time", "Agent", "Result"]
required = ["Time", "Agent"]

[columns]
ts = "Time"
agent = ["Agent ID", "Agent"]
reason = "Result"

[[event]]
name = "refusal"
when = { reason = "Refused|Missed" }
emit = "result"

[[event]]
name = "other"
emit = "none"
)";

struct Mini {
  testutil::TempDir tmp;
  FormatSpec spec;
  Mini() {
    testutil::write_file(tmp / "mini.toml", kMiniFormat);
    auto f = Catalog::load_format(tmp / "mini.toml");
    REQUIRE_MESSAGE(f.ok(), f.error());
    spec = std::move(*f);
  }
};

CsvTokenizer::Row row_of(std::string_view line) {
  CsvTokenizer t;
  t.feed(line);
  t.finish();
  CsvTokenizer::Row r;
  REQUIRE(t.next(r));
  return r;
}

std::string get(const Record& r, std::string_view name) {
  const std::string_view* v = field(r.fields, name);
  return v ? std::string(*v) : "<absent>";
}

}  // namespace

TEST_CASE("CsvMapper maps columns by header name, in any column order") {
  Mini m;
  struct Case {
    const char* header;
    const char* row;
    const char* agent;
    const char* ts;
    const char* reason;
    RecordKind kind;
    const char* rule;
  };
  const Case cases[] = {
      {"Time,Agent,Result", "2024-01-02 10:00:00,1001,Refused", "1001", "2024-01-02 10:00:00", "Refused",
       RecordKind::event, "refusal"},
      {"Result,Agent,Time", "Missed,1002,2024-01-02 11:00:00", "1002", "2024-01-02 11:00:00", "Missed",
       RecordKind::event, "refusal"},
      {"Agent,Time,Result,Extra", "1003,2024-01-02 12:00:00,Answered,whatever", "1003", "2024-01-02 12:00:00",
       "Answered", RecordKind::noise, "other"},
      // header names are trimmed
      {" Time , Agent ,Result", "2024-01-02 13:00:00,1004,Refused", "1004", "2024-01-02 13:00:00", "Refused",
       RecordKind::event, "refusal"},
      // the first candidate column present wins: "Agent ID" before "Agent"
      {"Agent,Agent ID,Time,Result", "Alice,1005,2024-01-02 14:00:00,Refused", "1005", "2024-01-02 14:00:00",
       "Refused", RecordKind::event, "refusal"},
  };
  for (const auto& c : cases) {
    INFO("header: " << std::string(c.header));
    CsvMapper mapper(m.spec);
    bool was_header = false;
    Status st = mapper.start(parse_csv_line(c.header), was_header);
    REQUIRE_MESSAGE(st.ok(), st.message());
    CHECK(was_header);
    Record r;
    mapper.map(row_of(c.row), r);
    CHECK(r.kind == c.kind);
    CHECK(get(r, "agent") == c.agent);
    CHECK(get(r, "ts") == c.ts);
    CHECK(get(r, "reason") == c.reason);
    REQUIRE(r.rule != nullptr);
    CHECK(r.rule->name == c.rule);
  }
}

TEST_CASE("CsvMapper: a header without a required column is an error naming it") {
  Mini m;
  struct Case {
    const char* header;
    std::vector<const char*> named;
    std::vector<const char*> not_named;
  };
  const Case cases[] = {
      {"Time,Result", {"Agent"}, {"Time"}},
      {"Agent,Result", {"Time"}, {"Agent"}},
      {"Result,Other", {"Time", "Agent"}, {}},
      {"time,agent,Result", {"Time", "Agent"}, {}},  // names are case-sensitive
  };
  for (const auto& c : cases) {
    INFO("header: " << std::string(c.header));
    CsvMapper mapper(m.spec);
    bool was_header = false;
    Status st = mapper.start(parse_csv_line(c.header), was_header);
    REQUIRE_FALSE(st.ok());
    std::string after = st.message().substr(st.message().find("column"));  // skip the format name part
    for (const char* n : c.named) CHECK_MESSAGE(after.find(n) != std::string::npos, st.message());
    for (const char* n : c.not_named) {
      std::string list = after.substr(0, after.find(" for format"));
      CHECK_MESSAGE(list.find(n) == std::string::npos, st.message());
    }
    CHECK(st.message().find("mini-csv") != std::string::npos);
  }
}

TEST_CASE("CsvMapper: rows with too few or too many cells are unmatched, with the reason") {
  Mini m;
  CsvMapper mapper(m.spec);
  bool was_header = false;
  REQUIRE(mapper.start(parse_csv_line("Time,Agent,Result"), was_header).ok());
  struct Case {
    const char* row;
    RecordKind kind;
    const char* why;  // substring of Record::why ("" when matched)
  };
  const Case cases[] = {
      {"2024-01-02 10:00:00,1001", RecordKind::unmatched, "2 of 3"},
      {"2024-01-02 10:00:00", RecordKind::unmatched, "1 of 3"},
      {"2024-01-02 10:00:00,1001,Refused,surplus", RecordKind::unmatched, "4 columns"},
      {"2024-01-02 10:00:00,1001,Refused,,x", RecordKind::unmatched, "5 columns"},
      // extra cells that are empty (or blank) are harmless trailing commas
      {"2024-01-02 10:00:00,1001,Refused,,", RecordKind::event, ""},
      {"2024-01-02 10:00:00,1001,Refused, ", RecordKind::event, ""},
      {"2024-01-02 10:00:00,1001,\"Refused", RecordKind::unmatched, "never closed"},
  };
  for (const auto& c : cases) {
    INFO("row: " << std::string(c.row));
    Record r;
    mapper.map(row_of(c.row), r);
    CHECK(r.kind == c.kind);
    if (c.kind == RecordKind::unmatched) {
      CHECK(r.why.find(c.why) != std::string::npos);
      CHECK(r.fields.empty());
      CHECK(r.rule == nullptr);
    } else {
      CHECK(r.why.empty());
      CHECK(get(r, "agent") == "1001");
    }
  }
}

TEST_CASE("CsvTokenizer: a row past 1 MiB is cut at the next line end, in a quote that never closes too") {
  const size_t cap = CsvTokenizer::Row::kMaxRow;
  // a quote opened on line 2 and never closed, 3 MiB of short lines after it, then rows again
  std::string open_quote = "x,y\na,\"open\n";
  std::string filler;
  while (filler.size() < 3 * cap) filler += "1,2\n";
  const std::int64_t filler_lines = static_cast<std::int64_t>(filler.size() / 4);
  open_quote += filler + "b,c\n";
  // an unquoted line of 3 MiB, then a row
  std::string long_line = "x,y\n" + std::string(3 * cap, 'z') + "\r\nb,c\n";
  for (size_t chunk : {size_t{0}, size_t{4096}, size_t{1000003}}) {
    CAPTURE(chunk);
    std::int64_t lines = 0;
    auto rows = tokenize(open_quote, chunk, &lines);
    // the cut row ends at the first line end after 1 MiB; the lines after it are rows again
    REQUIRE(rows.size() >= 3);
    CHECK(render(rows[0]) == "1:x|y");
    CHECK(rows[1].line == 2);
    CHECK(rows[1].too_long);
    CHECK(rows[1].unterminated_quote);
    CHECK(rows[1].cells.empty());
    CHECK(rows[1].raw.size() == cap);
    CHECK(rows[1].raw.rfind("a,\"open\n1,2\n", 0) == 0);
    const std::int64_t after = rows[2].line;  // the first line after the cut
    CHECK(rows[1].last_line == after - 1);
    CHECK(after > 2 + static_cast<std::int64_t>(cap / 4) - 2);
    CHECK(after < 2 + static_cast<std::int64_t>(cap / 4) + 2);
    for (size_t i = 2; i + 1 < rows.size(); ++i) {
      CHECK(render(rows[i]) == std::to_string(after + static_cast<std::int64_t>(i) - 2) + ":1|2");
      CHECK_FALSE(rows[i].too_long);
    }
    CHECK(render(rows.back()) == std::to_string(3 + filler_lines) + ":b|c");
    CHECK(lines == 3 + filler_lines);

    rows = tokenize(long_line, chunk, &lines);
    REQUIRE(rows.size() == 3);
    CHECK(rows[1].too_long);
    CHECK_FALSE(rows[1].unterminated_quote);
    CHECK(rows[1].raw.size() == cap);
    CHECK(render(rows[2]) == "3:b|c");
    CHECK(lines == 3);
  }
}

TEST_CASE("CsvMapper: a row cut at 1 MiB is unmatched, saying whether a quote ran on") {
  Mini m;
  CsvMapper mapper(m.spec);
  bool was_header = false;
  REQUIRE(mapper.start(parse_csv_line("Time,Agent,Result"), was_header).ok());
  auto rows = tokenize("2024-01-02 10:00:00,1001,\"Refused\n" + std::string(2 << 20, 'q') + "\n" +
                       std::string(2 << 20, 'q') + "\n");
  REQUIRE(rows.size() == 2);
  Record r;
  mapper.map(rows[0], r);
  CHECK(r.kind == RecordKind::unmatched);
  CHECK(r.why.find("quoted cell runs past 1 MiB") != std::string::npos);
  CHECK(r.why.find("lines 1 to 2 read as one row") != std::string::npos);
  CHECK(r.fields.empty());
  mapper.map(rows[1], r);
  CHECK(r.kind == RecordKind::unmatched);
  CHECK(r.why == "row longer than 1 MiB: cut, not parsed");
}
