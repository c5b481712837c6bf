// `report --redact`: names and phone numbers masked, consistently, in Markdown, HTML and JSON;
// agent ids kept.
//
// The people and numbers are taken from the fixtures themselves (fixtures/logs/**, the zip
// bundle and its .gz member included), by plain parsing: the FullName / Agent / User /
// caller_id_name columns of CSV exports, caller_id_number, the caller name and number of a
// headerless FreeSWITCH Master.csv, supervisors named in a Changed By cell, caller names in
// FreeSWITCH lines (`Member Alice Walker <+44...>`, `answered "Alice Walker" <...>`, SIP
// `From: "Bob Turner" <sip:...>`), an Asterisk member name, and every UK number written
// `+442079460123`, `+44 20 7946 0123` or `020 7946 0100`. All of fixtures/logs goes into one
// database; none of those names or numbers may appear in any of the three reports.
#include <doctest/doctest.h>

#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <regex>
#include <set>
#include <tuple>

#include "callaudit/report.h"
#include "report_helpers.h"

namespace fs = std::filesystem;
using namespace reporttest;

namespace {

struct Source {
  std::string name, text;
};

// Every member of an archive (zip, tar, gz), recursively; `name` is "outer:inner".
void read_archive(const std::string& name, const std::string& data, std::vector<Source>& out, int depth = 0) {
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_all(a);
  archive_read_support_format_raw(a);
  REQUIRE(archive_read_open_memory(a, data.data(), data.size()) == ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) == AE_IFDIR) continue;
    std::string member = archive_entry_pathname(e) ? archive_entry_pathname(e) : "data";
    std::string content;
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) content.append(buf, static_cast<size_t>(n));
    const bool nested = member.size() > 3 && (member.substr(member.size() - 3) == ".gz" ||
                                              member.substr(member.size() - 4) == ".zip");
    if (nested && depth < 3)
      read_archive(name + ":" + member, content, out, depth + 1);
    else
      out.push_back({name + ":" + member, content});
  }
  archive_read_free(a);
}

std::vector<Source> fixture_sources(std::vector<fs::path>* files) {
  std::vector<Source> out;
  const fs::path root = testutil::source_dir() / "fixtures" / "logs";
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string ext = e.path().extension().string();
    if (ext == ".toml" || ext == ".md") continue;  // the fixtures' own notes, not inputs
    files->push_back(e.path());
    const std::string data = testutil::read_file(e.path());
    if (ext == ".zip" || ext == ".gz")
      read_archive(e.path().filename().string(), data, out);
    else
      out.push_back({e.path().filename().string(), data});
  }
  std::sort(files->begin(), files->end());
  return out;
}

// One CSV record per line (the fixtures' quoted cells hold no line ends), "" quotes.
std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.push_back(cell);
      cell.clear();
    } else if (c != '\r') {
      cell += c;
    }
  }
  cells.push_back(cell);
  for (auto& x : cells) {
    x.erase(0, x.find_first_not_of(' '));
    x.erase(x.find_last_not_of(' ') + 1);
  }
  return cells;
}

bool has_letter(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isalpha(c); });
}

struct Secrets {
  std::set<std::string> names;   // people
  std::set<std::string> phones;  // numbers as written
};

Secrets secrets_of(const std::vector<Source>& sources) {
  Secrets s;
  const std::set<std::string> name_columns = {"FullName", "Agent", "User", "caller_id_name"};
  const std::regex phone(R"((\+44 ?20 ?7946 ?\d{4}|\+44\d{10}|\b0\d{2} ?\d{4} ?\d{4}\b))");
  const std::regex supervisor(R"(Supervisor \(([^)]+)\))");
  const std::regex fs_names(
      R"rx((?:Member|Processing) ([A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+)*) <|answered "([^"]+)"|Member "([^"]+)"|From: "([^"]+)")rx");
  for (const auto& src : sources) {
    auto lines = split_lines(src.text);
    if (lines.empty()) continue;
    if (!lines[0].empty() && static_cast<unsigned char>(lines[0][0]) == 0xEF) lines[0] = lines[0].substr(3);  // BOM
    // CSV exports with a header
    auto header = csv_cells(lines[0]);
    std::vector<size_t> cols;
    std::optional<size_t> number_col;
    for (size_t i = 0; i < header.size(); ++i) {
      if (name_columns.count(header[i])) cols.push_back(i);
      if (header[i] == "caller_id_number") number_col = i;
    }
    // a headerless FreeSWITCH Master.csv: "caller_id_name","caller_id_number",... on every line
    const bool master_csv = src.name.find("Master.csv") != std::string::npos;
    for (size_t l = master_csv ? 0 : 1; l < lines.size(); ++l) {
      auto cells = csv_cells(lines[l]);
      if (master_csv) {
        if (cells.size() > 2 && has_letter(cells[0])) s.names.insert(cells[0]);
        if (cells.size() > 2 && !cells[1].empty()) s.phones.insert(cells[1]);
        continue;
      }
      for (size_t c : cols)
        if (c < cells.size() && has_letter(cells[c])) s.names.insert(cells[c]);
      if (number_col && *number_col < cells.size() && !cells[*number_col].empty()) s.phones.insert(cells[*number_col]);
    }
    for (const auto& line : lines) {
      for (std::sregex_iterator it(line.begin(), line.end(), phone), end; it != end; ++it) s.phones.insert((*it)[1]);
      for (std::sregex_iterator it(line.begin(), line.end(), supervisor), end; it != end; ++it)
        s.names.insert((*it)[1]);
      for (std::sregex_iterator it(line.begin(), line.end(), fs_names), end; it != end; ++it)
        for (int g = 1; g <= 4; ++g)
          if ((*it)[g].matched) s.names.insert((*it)[g]);
      // Asterisk queue_log: time|call|queue|member|event|...: a member that is a name
      if (src.name.find("queue_log") != std::string::npos) {
        std::vector<std::string> f;
        std::string part;
        std::istringstream in(line);
        while (std::getline(in, part, '|')) f.push_back(part);
        if (f.size() > 4 && has_letter(f[3]) && f[3] != "NONE" && f[3].find('/') == std::string::npos)
          s.names.insert(f[3]);
      }
    }
  }
  return s;
}

// Whole-word occurrences (a name inside a mask like "name-1a2b3c" does not count; none can).
bool contains_word(const std::string& hay, const std::string& needle) {
  for (size_t p = 0; (p = hay.find(needle, p)) != std::string::npos; ++p) {
    auto word = [](unsigned char c) { return std::isalnum(c) || c == '_'; };
    bool left = p == 0 || !word(static_cast<unsigned char>(hay[p - 1])) || !word(static_cast<unsigned char>(needle[0]));
    size_t e = p + needle.size();
    bool right =
        e >= hay.size() || !word(static_cast<unsigned char>(hay[e])) || !word(static_cast<unsigned char>(needle.back()));
    if (left && right) return true;
  }
  return false;
}

// The ways a value may be spelled in each output: as is, HTML-escaped, Markdown-escaped.
std::vector<std::string> spellings(const std::string& v) {
  std::string h;
  for (char c : v) {
    if (c == '&') h += "&amp;";
    else if (c == '<') h += "&lt;";
    else if (c == '>') h += "&gt;";
    else if (c == '"') h += "&quot;";
    else if (c == '\'') h += "&#39;";
    else h += c;
  }
  std::vector<std::string> out = {v, h, md_escaped(v)};
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// agent id -> name shown in the report's agents table
std::map<std::string, std::string> md_agent_names(const std::string& md) {
  std::map<std::string, std::string> out;
  const std::regex row(R"(^\| (\d+) \| ([^|]*) \| \d+ \|)");
  for (const auto& line : split_lines(md)) {
    std::smatch m;
    if (std::regex_search(line, m, row)) out[m[1]] = m[2];
  }
  return out;
}
std::map<std::string, std::string> html_agent_names(const std::string& html) {
  std::map<std::string, std::string> out;
  const std::regex row(R"(<tr><td>(\d+)</td><td>([^<]*)</td>)");
  for (std::sregex_iterator it(html.begin(), html.end(), row), end; it != end; ++it) out[(*it)[1]] = (*it)[2];
  return out;
}
std::map<std::string, std::string> json_agent_names(const std::string& json) {
  std::map<std::string, std::string> out;
  const std::regex row(R"rx("agent": "(\d+)",\s*"name": (?:"([^"]*)"|null))rx");
  for (std::sregex_iterator it(json.begin(), json.end(), row), end; it != end; ++it) out[(*it)[1]] = (*it)[2];
  return out;
}

struct Reports {
  std::string md, html, json, plain_md, plain_json;
};

const Reports& all_logs_reports() {
  static Reports r;
  static bool done = false;
  if (done) return r;
  static testutil::TempDir tmp;
  const std::string db = (tmp / "logs.db").string();
  std::vector<fs::path> files;
  fixture_sources(&files);
  std::vector<std::string> ingest = {"ingest", "--db", db, "--patterns", patterns_dir().string(), "--tz",
                                     "Europe/London"};
  for (const auto& f : files) ingest.push_back(f.string());
  auto in = testutil::run_cli(ingest);
  REQUIRE_MESSAGE(in.code == 0, in.err << in.out);
  auto run = [&](const char* format, bool redact) {
    std::vector<std::string> extra;
    if (redact) extra.push_back("--redact");
    auto out = report(db, format, extra);
    REQUIRE_MESSAGE(out.code == 0, out.err);
    return out.out;
  };
  r.md = run("md", true);
  r.html = run("html", true);
  r.json = run("json", true);
  r.plain_md = run("md", false);
  r.plain_json = run("json", false);
  done = true;
  return r;
}

}  // namespace

TEST_CASE("report redact: the fixtures' people and numbers are found by the test itself") {
  std::vector<fs::path> files;
  auto s = secrets_of(fixture_sources(&files));
  // a floor, so that a parsing slip here cannot make the next test vacuous
  for (const char* n : {"Jane Smith", "Smith, Jane", "Priya Natarajan", "Priya", "Alice Walker", "Bob Turner",
                        "Liam Hart", "Mia Ford", "Mark Ellis", "Carol Evans", "Dan Price"})
    CHECK_MESSAGE(s.names.count(n), "not extracted from fixtures/logs: " << n);
  for (const char* p : {"+442079460123", "+442079460222", "02079460100"})
    CHECK_MESSAGE(s.phones.count(p), "not extracted from fixtures/logs: " << p);
  CHECK(s.names.size() >= 15);
  CHECK(s.phones.size() >= 12);
  // and they are in the unredacted report, so their absence below means something
  const auto& r = all_logs_reports();
  int shown = 0;
  for (const auto& n : s.names) shown += contains_word(r.plain_md, md_escaped(n)) ? 1 : 0;
  for (const auto& p : s.phones) shown += r.plain_md.find(p) != std::string::npos ? 1 : 0;
  CHECK_MESSAGE(shown >= 10, "only " << shown << " of the names and numbers appear in the unredacted report");
}

TEST_CASE("report redact: no name or phone number of fixtures/logs survives in md, html or json and agent ids stay") {
  std::vector<fs::path> files;
  auto s = secrets_of(fixture_sources(&files));
  const auto& r = all_logs_reports();
  const std::vector<std::pair<const char*, const std::string*>> outputs = {
      {"md", &r.md}, {"html", &r.html}, {"json", &r.json}};

  for (const auto& [format_name, text] : outputs) {
    const std::string format = format_name;
    CAPTURE(format);
    for (const auto& name : s.names) {
      for (const auto& spelled : spellings(name)) {
        CHECK_MESSAGE(!contains_word(*text, spelled), format << ": name left unmasked: " << spelled);
        // any case: "JANE SMITH" is still Jane Smith
        std::string lt = *text, ln = spelled;
        for (char& c : lt) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        for (char& c : ln) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        CHECK_MESSAGE(!contains_word(lt, ln), format << ": name left unmasked (other case): " << spelled);
      }
      // each first or last name on its own
      std::istringstream words(name);
      for (std::string w; words >> w;) {
        while (!w.empty() && (w.back() == ',' || w.back() == '.')) w.pop_back();
        if (w.size() >= 3 && std::isupper(static_cast<unsigned char>(w[0])))
          CHECK_MESSAGE(!contains_word(*text, w), format << ": part of a name left unmasked: " << w << " (" << name << ")");
      }
    }
    for (const auto& phone : s.phones) {
      CHECK_MESSAGE(text->find(phone) == std::string::npos, format << ": phone number left unmasked: " << phone);
      std::string digits;
      for (char c : phone)
        if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
      // the national significant number in any spelling ("2079460123")
      CHECK_MESSAGE(text->find(digits.substr(digits.size() - 10)) == std::string::npos,
                    format << ": digits of a phone number left unmasked: " << phone);
    }
    CHECK_MESSAGE(text->find("name-") != std::string::npos, format << ": no name mask at all");
    CHECK_MESSAGE(text->find("phone-") != std::string::npos, format << ": no phone mask at all");
  }

  // agent ids stay: every agent of the unredacted report, in every redacted output
  auto ids = md_agent_names(r.plain_md);
  REQUIRE(ids.size() >= 8);
  for (const char* id : {"1001", "1002", "1003", "1004", "1042", "1043", "1044", "1045"})
    CHECK_MESSAGE(ids.count(id), "agent " << id << " missing from the unredacted report");
  for (const auto& [format, text] : outputs)
    for (const auto& [id, name] : ids) {
      const std::string cell = std::string(format) == "md"     ? "\n| " + id + " | "
                               : std::string(format) == "html" ? "<tr><td>" + id + "</td>"
                                                               : "\"agent\": \"" + id + "\"";
      CHECK_MESSAGE(text->find(cell) != std::string::npos, format << ": agent id " << id << " lost");
    }
}

TEST_CASE("report redact: evidence keeps its times, call ids, addresses and agent ids") {
  const auto& r = all_logs_reports();
  // FreeSWITCH times with microseconds and the CPU idle field, Asterisk epoch seconds and
  // unique ids, SIP addresses: none of them is a phone number. Every one the unredacted report
  // shows, the redacted one shows too.
  const std::vector<std::regex> kept = {
      std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}(?: \d+\.\d+%)?)"),
      std::regex(R"(\b1\d{9}\\?\|1\d{9}\.\d+\b)"),
      std::regex(R"(sip:\d{4}@\d+\.\d+\.\d+\.\d+:\d+)"),
  };
  for (const auto& [format, plain, redacted] :
       {std::tuple{std::string("md"), &r.plain_md, &r.md}, std::tuple{std::string("json"), &r.plain_json, &r.json}}) {
    CAPTURE(format);
    for (size_t k = 0; k < kept.size(); ++k) {
      int seen = 0;
      for (std::sregex_iterator it(plain->begin(), plain->end(), kept[k]), end; it != end; ++it, ++seen)
        CHECK_MESSAGE(redacted->find(it->str()) != std::string::npos, "masked although not a phone: " << it->str());
      CHECK_MESSAGE(seen > 0, "pattern " << k << " found nothing in the unredacted " << format);
    }
  }
  // masks are whole: nothing of a mask is masked again
  const std::regex broken(R"((name|phone)-[0-9a-f]{0,5}(name|phone)-)");
  for (const auto* text : {&r.md, &r.html, &r.json}) CHECK_FALSE(std::regex_search(*text, broken));
}

TEST_CASE("report redact: the same name and number get the same mask in md, html and json") {
  const auto& r = all_logs_reports();
  auto md = md_agent_names(r.md), html = html_agent_names(r.html), json = json_agent_names(r.json);
  auto plain = json_agent_names(r.plain_json);
  REQUIRE(md.size() >= 8);
  for (const auto& [id, mask] : md) {
    CAPTURE(id);
    CHECK(html[id] == mask);
    CHECK(json[id] == mask);
    if (!plain[id].empty()) {
      CHECK_MESSAGE(mask.rfind("name-", 0) == 0, "agent " << id << " named " << plain[id] << " shown as " << mask);
    }
  }
  // masks of phone numbers: the md, html and json quote the same evidence, so the same masks
  auto masks = [](const std::string& text) {
    std::set<std::string> out;
    const std::regex m(R"(phone-[0-9a-f]{6})");
    for (std::sregex_iterator it(text.begin(), text.end(), m), end; it != end; ++it) out.insert(it->str());
    return out;
  };
  CHECK(masks(r.md) == masks(r.json));
  CHECK(masks(r.html) == masks(r.json));
}

TEST_CASE("report redact: Redactor masks names whole, in any order and case, and numbers in their usual spellings") {
  callaudit::Redactor R(true, {"Smith, Jane", "Jane Smith", "Jane", "Smith", "Alice Walker"});
  // one person, one mask, whatever the spelling
  CHECK(R("Smith, Jane") == R("Jane Smith"));
  CHECK(R("JANE SMITH") == R("Jane Smith"));
  CHECK(R("Jane Smith").rfind("name-", 0) == 0);
  CHECK(R("Jane Smith") != R("Alice Walker"));
  // whole words only: "Janet" and "Smithson" are other people
  CHECK(R("Janet Smithson") == "Janet Smithson");
  CHECK(R("agent 1042 (Jane Smith) went busy").find("1042") != std::string::npos);
  CHECK(R("answered \"Alice Walker\" <+442079460123>").find("Alice") == std::string::npos);
  // inside free text (a Details cell, a why sentence), in either order
  CHECK(R("Offline -> Available (handed over by Smith, Jane)").find("Smith") == std::string::npos);
  CHECK(R("Offline -> Available (handed over by Smith, Jane)").find(R("Jane Smith")) != std::string::npos);
  // numbers
  for (const char* p : {"+442079460123", "+44 20 7946 0123", "020 7946 0123", "(020) 7946 0123", "+1 212-555-0123",
                        "212-555-0123", "+44.20.7946.0123", "tel:+442079460123", "sip:+442079460123@203.0.113.10"}) {
    const std::string number = p;
    CAPTURE(number);
    std::string out = R(number);
    CHECK(out.find("phone-") != std::string::npos);
    CHECK(out.find("7946") == std::string::npos);
    CHECK(out.find("555") == std::string::npos);
  }
  CHECK(R("+442079460123") == R("+44 20 7946 0123"));  // the same digits, the same mask
  // two numbers side by side are two numbers, neither left in clear
  std::string two = R("+442079460123 +442079460456");
  CHECK(two.find("7946") == std::string::npos);
  // not numbers: dates, times, decimals, addresses, epoch seconds, agent ids
  for (const char* keep : {"2024-03-05 14:02:31.233190 97.40%", "14/03/2026 09:12:33", "203.0.113.10",
                           "1709647135|1709647120.21|support", "agent 1042", "C-000123", "SIP 603", "ring 15000 ms"}) {
    const std::string text = keep;
    CAPTURE(text);
    CHECK(R(text) == text);
  }
  // off: nothing changes
  callaudit::Redactor off(false, {"Jane Smith"});
  CHECK(off("Jane Smith +442079460123") == "Jane Smith +442079460123");
}
