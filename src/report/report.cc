// The case report: Markdown for ticket systems, one self-contained HTML file (inline CSS and
// SVG, no script, a restrictive Content-Security-Policy), or the diagnosis JSON.
// Covered by tests/report/ (report_golden_test.cc, html_test.cc, redact_test.cc) and the
// golden reports fixtures/scenarios/*/expected-report.{md,json}.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <tuple>

#include "callaudit/report.h"

namespace callaudit {

namespace {

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

bool word_byte(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

char lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool has_letter(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isalpha(c) || c >= 0x80; });
}

std::string trim(std::string s) {
  const char* ws = " \t\r\n\"'";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// The key a name is masked by: "Smith, Jane", "Jane Smith" and "JANE  SMITH" are one person.
std::string name_key(const std::string& name) {
  std::string n = name;
  size_t comma = n.find(',');
  if (comma != std::string::npos && n.find(',', comma + 1) == std::string::npos)
    n = trim(n.substr(comma + 1)) + " " + trim(n.substr(0, comma));
  std::string key;
  for (char c : n) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!key.empty() && key.back() != ' ') key += ' ';
    } else {
      key += lower_ascii(c);
    }
  }
  if (!key.empty() && key.back() == ' ') key.pop_back();
  return key;
}

// Pieces of a phone-number candidate that are something else: dates, decimals (seconds with
// a fraction, percentages, Asterisk unique ids), IPv4 addresses and epoch seconds.
bool not_a_phone_piece(std::string_view piece) {
  static const re2::RE2 other(
      R"(\d{4}[-./]\d{1,2}[-./]\d{1,2}.*|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d+\.\d+|\d{1,3}(\.\d{1,3}){3}|1\d{9}(\.\d+)?)");
  return RE2::FullMatch(re2::StringPiece(piece.data(), piece.size()), other);
}

size_t digit_count(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }));
}

std::string phone_mask(std::string_view text) {
  std::string digits;
  for (char c : text)
    if (c >= '0' && c <= '9') digits += c;
  return fmt::format("phone-{:06x}", fnv1a(digits) & 0xffffff);
}

// One run of digits and separators: split at whitespace into pieces; consecutive phone-like
// pieces form one number (a piece starting with '+' starts a new one, and a number holds at
// most 15 digits); a number of 8 to 15 digits is masked, anything else is kept.
std::string mask_phones_in_run(std::string_view run) {
  struct Piece {
    size_t from, to;
  };
  std::vector<Piece> pieces;
  for (size_t i = 0; i < run.size();) {
    while (i < run.size() && run[i] == ' ') ++i;
    size_t j = i;
    while (j < run.size() && run[j] != ' ') ++j;
    if (j > i) pieces.push_back({i, j});
    i = j;
  }
  std::string out;
  size_t done = 0;  // run[0, done) is written
  size_t group_from = 0, group_to = 0, group_digits = 0;
  bool in_group = false;
  auto flush = [&]() {
    if (!in_group) return;
    out += run.substr(done, group_from - done);
    std::string_view g = run.substr(group_from, group_to - group_from);
    out += group_digits >= 8 && group_digits <= 15 ? phone_mask(g) : std::string(g);
    done = group_to;
    in_group = false;
  };
  for (const auto& p : pieces) {
    std::string_view piece = run.substr(p.from, p.to - p.from);
    size_t d = digit_count(piece);
    if (piece[0] != '+' && not_a_phone_piece(piece)) {
      flush();
      continue;
    }
    if (in_group && (piece[0] == '+' || group_digits + d > 15)) flush();
    if (!in_group) {
      in_group = true;
      group_from = p.from;
      group_digits = 0;
    }
    group_to = p.to;
    group_digits += d;
  }
  flush();
  out += run.substr(done);
  return out;
}

}  // namespace

Redactor::Redactor(bool on, std::vector<std::string> names) : on_(on) {
  for (auto& n : names) n = trim(n);
  std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const auto& n : names) {
    if (n.size() < 3 || !has_letter(n)) continue;
    names_.emplace_back(n, fmt::format("name-{:06x}", fnv1a(name_key(n)) & 0xffffff));
  }
}

std::string Redactor::operator()(const std::string& text) const {
  if (!on_) return text;
  // names: whole words, any case, longest first; candidates by their first byte
  std::vector<std::vector<size_t>> by_first(256);
  for (size_t k = 0; k < names_.size(); ++k)
    by_first[static_cast<unsigned char>(lower_ascii(names_[k].first.front()))].push_back(k);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    bool hit = false;
    for (size_t k : by_first[static_cast<unsigned char>(lower_ascii(text[i]))]) {
      const auto& [name, mask] = names_[k];
      const size_t n = name.size();
      if (i + n > text.size()) continue;
      if (word_byte(static_cast<unsigned char>(name.front())) && i > 0 &&
          word_byte(static_cast<unsigned char>(text[i - 1])))
        continue;
      if (word_byte(static_cast<unsigned char>(name.back())) && i + n < text.size() &&
          word_byte(static_cast<unsigned char>(text[i + n])))
        continue;
      bool same = true;
      for (size_t c = 0; c < n && same; ++c) same = lower_ascii(text[i + c]) == lower_ascii(name[c]);
      if (!same) continue;
      out += mask;
      i += n;
      hit = true;
      break;
    }
    if (!hit) out += text[i++];
  }
  // phone numbers: a + or digit, then 6 or more digits, spaces, dots, dashes or brackets
  static const re2::RE2 phone(R"((\+?\d[\d ().-]{6,}\d))");
  std::string result;
  re2::StringPiece in(out), m;
  size_t last = 0;
  while (RE2::FindAndConsume(&in, phone, &m)) {
    size_t start = static_cast<size_t>(m.data() - out.data());
    // a run glued to a word ("id12345678", a hex id) is part of that word
    // ("C-12345678", and our own "name-123456" masks)
    auto alpha = [&](size_t k) { return std::isalpha(static_cast<unsigned char>(out[k])) != 0; };
    bool glued = (start > 0 && alpha(start - 1)) || (start > 1 && out[start - 1] == '-' && alpha(start - 2)) ||
                 (start + m.size() < out.size() && alpha(start + m.size()));
    result += out.substr(last, start - last);
    result += glued && m[0] != '+' ? std::string(m.data(), m.size())
                                   : mask_phones_in_run(std::string_view(m.data(), m.size()));
    last = start + m.size();
  }
  result += out.substr(last);
  return result;
}

namespace {

// Names in the raw lines: callers' display names (SIP From, FreeSWITCH "Member X <+44...>",
// `answered "X" <...>`, caller_id_name), a supervisor named in a Changed By cell, and in CSV
// rows a person-like cell next to a phone number (a CDR's caller_id_name / caller_id_number).
void names_in_line(const std::string& raw, std::vector<std::string>& out) {
  static const re2::RE2 quoted_display(R"#("([^"<>\n]{1,60})"\s*<)#");
  static const re2::RE2 member_quoted(R"#((?:Member|Caller|caller)\s+"([^"\n]{1,60})")#");
  static const re2::RE2 display(R"#((?:Member|Processing|Caller|From:)\s+([^"<>\n]{1,60}?)\s*<)#");
  static const re2::RE2 supervisor(R"#((?i:supervisor)\s*\(([^()\n]{1,60})\))#");
  static const re2::RE2 caller_var(R"#(caller_id_name\s*[=:]\s*\[?"?([^"\]\n,;|]{1,60}))#");
  static const re2::RE2 csv_name_phone(
      R"#((?:^|,)\s*"?(\p{Lu}[\p{L}'’.\-]*(?:\s+\p{L}[\p{L}'’.\-]*){0,3})"?\s*,\s*"?\+?\d[\d ()\-]{6,}\d"?\s*(?:,|$))#");
  static const re2::RE2 csv_phone_name(
      R"#((?:^|,)\s*"?\+?\d[\d ()\-]{6,}\d"?\s*,\s*"?(\p{Lu}[\p{L}'’.\-]*(?:\s+\p{L}[\p{L}'’.\-]*){0,3})"?\s*(?:,|$))#");
  const bool quote = raw.find('"') != std::string::npos, angle = raw.find('<') != std::string::npos;
  auto scan = [&](const re2::RE2& re, bool person_like) {
    re2::StringPiece in(raw);
    std::string name;
    while (RE2::FindAndConsume(&in, re, &name)) {
      name = trim(name);
      if (name.size() < 2 || !has_letter(name)) continue;
      // a single upper-case word ("SIP", "NORMAL") is a code; "SMITH JANE" (caller-id style) is a person
      if (person_like && name.find(' ') == std::string::npos &&
          std::none_of(name.begin(), name.end(), [](unsigned char c) { return std::islower(c); }))
        continue;
      out.push_back(name);
    }
  };
  if (quote && angle) scan(quoted_display, false);
  if (quote) scan(member_quoted, false);
  if (angle) scan(display, false);
  if (raw.find('(') != std::string::npos) scan(supervisor, false);
  if (raw.find("caller_id_name") != std::string::npos) scan(caller_var, false);
  if (raw.find(',') != std::string::npos) {
    scan(csv_name_phone, true);
    scan(csv_phone_name, true);
  }
}

}  // namespace

std::vector<std::string> names_to_redact(Store& store) {
  std::vector<std::string> full;
  std::set<std::string> ids;
  {
    Statement q(store.db(), "SELECT DISTINCT agent FROM events");
    while (q.step()) ids.insert(q.text(0));
  }
  auto add = [&](std::string n) {
    n = trim(n);
    if (n.size() >= 2 && has_letter(n) && !ids.count(n)) full.push_back(n);
  };
  {
    Statement q(store.db(), "SELECT DISTINCT agent_name FROM events WHERE agent_name IS NOT NULL AND agent_name <> ''");
    while (q.step()) add(q.text(0));
  }
  // a member or login name standing for the agent ("Priya" in an Asterisk queue_log), but not
  // an interface or address that carries the agent id ("SIP/1004", "1003@default")
  for (const char* sql : {"SELECT alias FROM agent_aliases", "SELECT DISTINCT agent_raw FROM events"}) {
    Statement q(store.db(), sql);
    while (q.step()) {
      std::string a = q.text(0);
      if (a.find_first_of("/@0123456789") == std::string::npos) add(a);
    }
  }
  for (const char* sql : {"SELECT raw FROM events", "SELECT text FROM unmatched"}) {
    Statement q(store.db(), sql);
    std::vector<std::string> found;
    while (q.step()) names_in_line(q.text(0), found);
    for (auto& n : found) add(n);
  }
  std::sort(full.begin(), full.end());
  full.erase(std::unique(full.begin(), full.end()), full.end());

  std::vector<std::string> names;
  for (const auto& n : full) {
    names.push_back(n);
    // "Smith, Jane" -> also "Jane Smith"; "Jane Smith" -> also "Smith, Jane"
    size_t comma = n.find(',');
    std::istringstream split(n);
    std::vector<std::string> words;
    for (std::string w; split >> w;) {
      while (!w.empty() && (w.back() == ',' || w.back() == '.')) w.pop_back();
      if (!w.empty()) words.push_back(w);
    }
    if (comma != std::string::npos) {
      names.push_back(trim(n.substr(comma + 1)) + " " + trim(n.substr(0, comma)));
    } else if (words.size() == 2) {
      names.push_back(words[1] + ", " + words[0]);
    }
    // and each part of three or more letters that starts with a capital
    for (const auto& w : words)
      if (w.size() >= 3 && (std::isupper(static_cast<unsigned char>(w[0])) || static_cast<unsigned char>(w[0]) >= 0x80))
        names.push_back(w);
  }
  return names;
}

namespace {

std::string html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (c < 0x20 && c != '\n' && c != '\t')
          out += fmt::format("&#x{:x};", 0x2400 + c);  // control pictures, never raw controls
        else
          out += static_cast<char>(c);
    }
  }
  return out;
}

// A code span quoting `s` verbatim: a fence longer than any run of backticks inside, line
// ends as spaces. In a table cell (GitHub-flavoured Markdown) a '|' must be written "\|" even
// inside a code span, and the table splits cells before the span is read, so a backslash
// right before a '|' is doubled to keep the pipe escaped (the cell then shows one backslash
// more than the input had: the table stays whole). Outside tables nothing is escaped.
std::string md_code(std::string_view s, bool in_table = true) {
  std::string out;
  size_t backslashes = 0;  // the run of backslashes just written
  for (char c : s) {
    if (c == '\n' || c == '\r') c = ' ';
    if (c == '|' && in_table) {
      if (backslashes % 2 == 1) out += '\\';
      out += "\\|";
      backslashes = 0;
      continue;
    }
    out += c;
    backslashes = c == '\\' ? backslashes + 1 : 0;
  }
  size_t ticks = 0, run = 0;
  for (char c : out) {
    run = c == '`' ? run + 1 : 0;
    ticks = std::max(ticks, run);
  }
  std::string fence(ticks + 1, '`');
  return fence + " " + out + " " + fence;
}

// Text that Markdown shows as written: every character with a meaning (emphasis, links, raw
// HTML, entities, table pipes, code) is backslash-escaped, the backslash itself too; line
// ends become spaces so a table row stays one line.
std::string md_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '|' || c == '*' || c == '_' || c == '<' || c == '>' || c == '[' || c == ']' || c == '`' ||
        c == '&' || c == '~')
      out += '\\';
    out += c == '\n' || c == '\r' ? ' ' : c;
  }
  return out;
}

// At most `n` bytes of `s`, cut at a UTF-8 character boundary, "…" when cut.
std::string clip(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "…";
}

struct Summary {
  std::map<std::string, int> by_verdict;
  std::string main_finding;
  double team_rate = 0;
};

Summary summarize(const Diagnosis& d) {
  Summary s;
  for (const auto& f : d.failures) ++s.by_verdict[std::string(f.verdict)];
  s.team_rate = d.offers ? static_cast<double>(d.refusals) / static_cast<double>(d.offers) : 0;
  std::string top;
  int best = -1;
  for (const char* v : {"agent", "system", "configuration", "unknown"})
    if (s.by_verdict[v] > best) {
      best = s.by_verdict[v];
      top = v;
    }
  if (d.failures.empty()) {
    s.main_finding = "No failed offers were found in the inputs.";
  } else if (!d.incidents.empty() && top == "system") {
    s.main_finding = fmt::format(
        "Most failed offers ({} of {}) were caused by the platform or network; {} incident{} affected several agents at "
        "once.",
        best, d.failures.size(), d.incidents.size(), d.incidents.size() == 1 ? "" : "s");
  } else {
    s.main_finding = fmt::format("Most failed offers ({} of {}) have the verdict {}.", best, d.failures.size(), top);
  }
  return s;
}

std::string pct(double r) { return fmt::format("{:.0f}%", r * 100); }

// ---- refusal rates by day and hour (UTC), from the figures of the diagnosis

constexpr size_t kMaxRateDays = 7, kMaxRateHours = 48, kAgentsPerHour = 3;

struct Count {
  std::int64_t refusals = 0, offers = 0;
};

struct Rates {
  std::vector<std::string> days;   // shown, in order ("2026-03-14")
  size_t days_total = 0;           // days with offers
  std::vector<std::string> hours;  // shown, in order ("2026-03-14T09"), each with offers
  size_t hours_total = 0;          // hours with offers
  std::map<std::string, Count> team_day, team_hour;
  std::vector<std::map<std::string, Count>> agent_day;  // per d.agents entry
};

std::int64_t count_in(const std::map<std::string, std::int64_t>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

// The `n` keys with the most refusals (then offers, then the earliest), back in time order.
std::vector<std::string> busiest(const std::map<std::string, Count>& m, size_t n) {
  std::vector<std::string> keys;
  for (const auto& [k, c] : m)
    if (c.offers > 0 || c.refusals > 0) keys.push_back(k);
  if (keys.size() > n) {
    std::stable_sort(keys.begin(), keys.end(), [&](const std::string& a, const std::string& b) {
      const Count &ca = m.at(a), &cb = m.at(b);
      return ca.refusals != cb.refusals ? ca.refusals > cb.refusals : ca.offers > cb.offers;
    });
    keys.resize(n);
    std::sort(keys.begin(), keys.end());
  }
  return keys;
}

Rates rates_of(const Diagnosis& d) {
  Rates r;
  for (const auto& [h, n] : d.offers_by_hour) {
    r.team_hour[h].offers += n;
    r.team_day[h.substr(0, 10)].offers += n;
  }
  for (const auto& [h, n] : d.refusals_by_hour) {
    r.team_hour[h].refusals += n;
    r.team_day[h.substr(0, 10)].refusals += n;
  }
  for (const auto& a : d.agents) {
    auto& m = r.agent_day.emplace_back();
    for (const auto& [h, n] : a.offers_by_hour) m[h.substr(0, 10)].offers += n;
    for (const auto& [h, n] : a.refusals_by_hour) m[h.substr(0, 10)].refusals += n;
  }
  r.days = busiest(r.team_day, kMaxRateDays);
  r.hours = busiest(r.team_hour, kMaxRateHours);
  r.days_total = static_cast<size_t>(std::count_if(r.team_day.begin(), r.team_day.end(), [](const auto& kv) {
    return kv.second.offers > 0 || kv.second.refusals > 0;
  }));
  r.hours_total = static_cast<size_t>(std::count_if(r.team_hour.begin(), r.team_hour.end(), [](const auto& kv) {
    return kv.second.offers > 0 || kv.second.refusals > 0;
  }));
  return r;
}

double ratio(const Count& c) { return c.offers ? static_cast<double>(c.refusals) / static_cast<double>(c.offers) : 0; }

// "25% (1/4)"; "–" when there was no offer.
std::string rate_cell(const Count& c) {
  if (c.offers == 0 && c.refusals == 0) return "–";
  return fmt::format("{} ({}/{})", pct(ratio(c)), c.refusals, c.offers);
}

Count count_of(const std::map<std::string, Count>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? Count{} : it->second;
}

// "2026-03-14T09" -> "2026-03-14 09:00"
std::string hour_label(const std::string& h) { return h.size() >= 13 ? h.substr(0, 10) + " " + h.substr(11, 2) + ":00" : h; }

// The agents with refusals in hour `h`, most first: (agent, refusals, offers); at most
// kAgentsPerHour, and how many more there were.
std::pair<std::vector<std::tuple<std::string, std::int64_t, std::int64_t>>, size_t> agents_in_hour(
    const Diagnosis& d, const std::string& h) {
  std::vector<std::tuple<std::string, std::int64_t, std::int64_t>> v;
  for (const auto& a : d.agents) {
    std::int64_t n = count_in(a.refusals_by_hour, h);
    if (n > 0) v.emplace_back(a.agent, n, count_in(a.offers_by_hour, h));
  }
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return std::get<1>(a) > std::get<1>(b); });
  size_t more = v.size() > kAgentsPerHour ? v.size() - kAgentsPerHour : 0;
  if (more) v.resize(kAgentsPerHour);
  return {v, more};
}

// What was left out of the rate tables, as a sentence (empty when nothing was).
std::string rates_left_out(const Rates& r) {
  std::string s;
  if (r.days.size() < r.days_total)
    s += fmt::format(" Days: {} of {} shown, those with the most refusals.", r.days.size(), r.days_total);
  if (r.hours.size() < r.hours_total)
    s += fmt::format(" Hours: {} of {} with offers shown, those with the most refusals.", r.hours.size(),
                     r.hours_total);
  if (!s.empty()) s += " Every hour is in the JSON report (offers_by_hour, refusals_by_hour).";
  return s;
}

void write_rates_md(std::ostream& out, const Diagnosis& d) {
  const Rates r = rates_of(d);
  out << "\n## Refusal rates\n\n";
  if (r.days_total == 0) {
    out << "No offers, so no rates.\n";
    return;
  }
  out << "Refusals (failures not benign) out of offers, per day and hour in UTC." << rates_left_out(r) << "\n\n";
  out << "| day (UTC) |";
  for (const auto& day : r.days) out << " " << day << " |";
  out << "\n|---|";
  for (size_t i = 0; i < r.days.size(); ++i) out << "---:|";
  out << "\n| **team** |";
  for (const auto& day : r.days) out << " " << rate_cell(count_of(r.team_day, day)) << " |";
  out << "\n";
  for (size_t k = 0; k < d.agents.size(); ++k) {
    out << "| " << md_text(d.agents[k].agent) << " |";
    for (const auto& day : r.days) out << " " << rate_cell(count_of(r.agent_day[k], day)) << " |";
    out << "\n";
  }
  out << "\n| hour (UTC) | offers | refusals | rate | agents with the most refusals |\n|---|---:|---:|---:|---|\n";
  for (const auto& h : r.hours) {
    const Count c = count_of(r.team_hour, h);
    auto [top, more] = agents_in_hour(d, h);
    std::string who;
    for (const auto& [agent, n, offers] : top)
      who += fmt::format("{}{} {}/{}", who.empty() ? "" : ", ", md_text(agent), n, offers);
    if (more) who += fmt::format(", +{} more", more);
    if (who.empty()) who = "–";
    out << fmt::format("| {} | {} | {} | {} | {} |\n", hour_label(h), c.offers, c.refusals, pct(ratio(c)), who);
  }
}

void write_md(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& cov, const ReportOptions& o,
              const Redactor& R) {
  TextStyle st{false, o.zone};
  Summary s = summarize(d);
  out << "# callaudit report" << (o.case_id.empty() ? "" : " — case " + md_text(o.case_id)) << "\n\n";
  out << "Times in " << (o.zone && !o.zone->is_utc() ? o.zone->name() : std::string("UTC")) << ".";
  if (o.redact) out << " Phone numbers and names are masked.";
  out << "\n\n## Summary\n\n" << s.main_finding << "\n\n";
  out << "| verdict | failed offers |\n|---|---:|\n";
  for (const char* v : {"agent", "system", "configuration", "benign", "unknown"}) out << "| " << v << " | " << s.by_verdict[v] << " |\n";
  out << fmt::format("\n{} offers, {} failed, refusal rate of the team {} (non-benign failures / offers).\n",
                     d.offers, d.failures.size(), pct(s.team_rate));
  out << "\n## Incidents\n\n";
  if (d.incidents.empty()) out << "None: no burst of failures across several agents.\n";
  for (const auto& i : d.incidents)
    out << fmt::format("- **Incident {}** {} to {}: {} failures, {} agents, {} → **{}**. {}\n", i.id,
                       show_time(i.from, st), show_time(i.to, st), i.failures, i.agents, i.kind, i.verdict,
                       md_text(R(i.why)));
  out << "\n## Agents\n\n| agent | name | offers | failures | agent | system | configuration | benign | unknown | "
         "refusal rate | vs team |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& a : d.agents) {
    double rate = a.offers ? static_cast<double>(a.refusals) / static_cast<double>(a.offers) : 0;
    auto bv = [&](const char* k) {
      auto it = a.by_verdict.find(k);
      return it == a.by_verdict.end() ? 0 : it->second;
    };
    out << fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", md_text(a.agent),
                       md_text(R(a.name)), a.offers, a.failures, bv("agent"), bv("system"), bv("configuration"),
                       bv("benign"), bv("unknown"), pct(rate),
                       rate > s.team_rate * 1.5 && a.refusals >= 2 ? "**above**" : "");
  }
  write_rates_md(out, d);
  out << "\n## Failures\n\n";
  d.verdicts.for_each([&](const FailureVerdict& f) {
    out << fmt::format("### #{} — agent {} — {} — **{}** ({}, {})\n\n", f.id, md_text(f.agent), show_time(f.at, st),
                       f.verdict, f.confidence, f.rule);
    out << fmt::format("Kind `{}` from {}; vendor reason {}.", f.kind, md_text(R(f.kind_basis)),
                       md_code(R(f.reason.empty() ? "-" : f.reason), false));
    if (f.incident) out << fmt::format(" Part of incident {}.", *f.incident);
    out << "\n\n" << md_text(R(f.why)) << "\n\n| role | where | line |\n|---|---|---|\n";
    for (const auto& e : f.evidence)
      out << fmt::format("| {} | {}:{} | {} |\n", e.role, md_text(e.file), e.line, md_code(R(e.text)));
    out << "\n";
  });
  out << "## Coverage\n\n| input | format | lines | parsed | unmatched | zone |\n|---|---|---:|---:|---:|---|\n";
  for (const auto& c : cov)
    out << fmt::format("| {} | {} | {} | {} | {} | {} |\n", md_text(c.input.path), c.input.format, c.input.lines,
                       c.input.parsed, c.input.unmatched,
                       c.input.zone_assumed ? "taken as UTC (no --tz)" : md_text(c.input.zone));
  for (const auto& c : cov) {
    if (c.samples.empty()) continue;
    out << "\nUnmatched in " << md_text(c.input.path) << " (" << c.input.unmatched << "):\n\n";
    for (size_t i = 0; i < c.samples.size(); ++i)
      out << fmt::format("- line {}: {} — {}\n", c.samples[i].first, md_code(clip(R(c.samples[i].second), 200), false),
                         md_text(R(c.whys[i])));
  }
}

const char* verdict_color(std::string_view v) {
  return v == "agent" ? "#d98c00" : v == "system" ? "#c62828" : v == "configuration" ? "#6a1b9a"
                                    : v == "benign" ? "#2e7d32" : "#607d8b";
}

// ---- the swimlanes: each agent's state bands around its failures

const char* state_color(const std::string& s) {
  return s == "ready" ? "#a5d6a7" : s == "busy" ? "#90caf9" : s == "not_ready" ? "#ffcc80" : s.empty() ? "#ffffff"
                                                                                                     : "#bdbdbd";
}
const char* state_class(const std::string& s) {
  return s == "ready" ? "ready" : s == "busy" ? "busy" : s == "not_ready" ? "not-ready" : s.empty() ? "unseen" : "other";
}
const char* state_label(const std::string& s) {
  return s == "ready" ? "ready" : s == "busy" ? "busy" : s == "not_ready" ? "not ready" : s.empty() ? "no state seen"
                                                                                                    : "other state";
}

std::string minutes(TimeUs t) {
  const TimeUs m = t / (60 * kUsPerSecond);
  return m * 60 * kUsPerSecond == t ? fmt::format("{} min", m) : fmt::format("{} s", t / kUsPerSecond);
}

void write_swimlanes_html(std::ostream& out, const Diagnosis& d, const StateBands* b, const TextStyle& st,
                          const Redactor& R) {
  out << "<h2 id=\"states\">Agent states around failures</h2>\n";
  if (d.failures.empty()) {
    out << "<p>No failures, so no lanes.</p>\n";
    return;
  }
  if (!b) {
    out << "<p>The agents' state changes were not loaded for this report.</p>\n";
    return;
  }
  const auto& L = b->limits;
  // what is drawn and what is left out, in words
  std::string said;
  auto plural = [](std::int64_t n, const char* one, const char* many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
  };
  if (static_cast<std::int64_t>(b->lanes.size()) == b->agents_total && b->windows_drawn == b->windows_total &&
      b->failures_drawn == b->failures_total) {
    said = fmt::format("Every agent with failures has a lane: {}, {}, {}.", plural(b->agents_total, "agent", "agents"),
                       plural(b->windows_total, "window", "windows"), plural(b->failures_total, "failure", "failures"));
  } else {
    if (static_cast<std::int64_t>(b->lanes.size()) < b->agents_total)
      said += fmt::format("Lanes for {} of {} agents with failures (those with the most refusals)", b->lanes.size(),
                          b->agents_total);
    else
      said += fmt::format("Lanes for all {}", plural(b->agents_total, "agent with failures", "agents with failures"));
    if (b->windows_drawn < b->windows_total)
      said += fmt::format("; {} of {} windows (at most {} per agent, those with the most refusals)", b->windows_drawn,
                          b->windows_total, L.max_windows_per_agent);
    else
      said += fmt::format("; all {}", plural(b->windows_total, "window", "windows"));
    said += fmt::format(", holding {} of {} failures.", b->failures_drawn, b->failures_total);
  }
  said += fmt::format(
      " A window runs from {} before a failure to {} after it; failures closer together share one, up to {} and {} "
      "failures.",
      minutes(L.margin), minutes(L.margin), minutes(L.max_span), L.max_failures_per_window);
  if (b->cut_windows)
    said += fmt::format(" {} window{} held more than {} state changes and {} cut at the first one left out.",
                        b->cut_windows, b->cut_windows == 1 ? "" : "s", L.max_changes_per_window,
                        b->cut_windows == 1 ? "is" : "are");
  if (b->other_states)
    said += fmt::format(" {} state change{} stored without a ready, busy or not ready state {} drawn grey.",
                        b->other_states, b->other_states == 1 ? "" : "s", b->other_states == 1 ? "is" : "are");
  out << "<p class=\"lanes-note\">" << html(said) << "</p>\n";

  // legend
  out << "<svg class=\"legend\" xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"24\" viewBox=\"0 0 1000 "
         "24\" role=\"img\" aria-label=\"legend of the state lanes\">\n";
  double lx = 6;
  for (const char* state : {"ready", "busy", "not_ready", "", "other"}) {
    const std::string st_name = state;
    out << fmt::format("<rect x=\"{:.0f}\" y=\"6\" width=\"22\" height=\"12\" fill=\"{}\" stroke=\"#999\"/><text "
                       "x=\"{:.0f}\" y=\"16\" font-size=\"11\">{}</text>\n",
                       lx, state_color(st_name), lx + 27, state_label(st_name));
    lx += 34 + 6.2 * static_cast<double>(std::string(state_label(st_name)).size());
  }
  lx += 14;
  for (const char* v : {"agent", "system", "configuration", "benign", "unknown"}) {
    out << fmt::format("<circle cx=\"{:.0f}\" cy=\"12\" r=\"5\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"1.5\"/>"
                       "<text x=\"{:.0f}\" y=\"16\" font-size=\"11\">{}</text>\n",
                       lx + 5, verdict_color(v), lx + 14, v);
    lx += 24 + 6.2 * static_cast<double>(std::string(v).size());
  }
  out << "</svg>\n";

  // one row per window, grouped by agent
  size_t rows = 0;
  for (const auto& lane : b->lanes) rows += std::max<size_t>(1, lane.windows.size());
  const int W = 1000, left = 170, right = 10, row_h = 42;
  const int H = 8 + row_h * static_cast<int>(rows);
  out << fmt::format("<svg class=\"tl lanes\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
                     "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"agent states around failures\">\n",
                     W, H, W, H);
  int y = 4;
  for (size_t k = 0; k < b->lanes.size(); ++k) {
    const auto& lane = b->lanes[k];
    if (k > 0) out << fmt::format("<line x1=\"0\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#ccc\"/>\n", W, y - 2, y - 2);
    out << fmt::format("<g class=\"lane\"><text x=\"4\" y=\"{}\" font-size=\"12\" font-weight=\"600\"><title>agent {}"
                       "</title>{}</text><text x=\"4\" y=\"{}\" font-size=\"10\" fill=\"#555\">{} refusal{}, {} "
                       "failure{}</text><text x=\"4\" y=\"{}\" font-size=\"10\" fill=\"#555\">{} of {} window{}"
                       "</text>\n",
                       y + 13, html(lane.agent), html(clip(lane.agent.empty() ? "(no agent)" : lane.agent, 24)), y + 25,
                       lane.refusals, lane.refusals == 1 ? "" : "s", lane.failures, lane.failures == 1 ? "" : "s",
                       y + 36, lane.windows.size(), lane.windows_total, lane.windows_total == 1 ? "" : "s");
    for (const auto& w : lane.windows) {
      const TimeUs span = std::max<TimeUs>(1, w.to - w.from);
      auto x = [&](TimeUs t) {
        return left + static_cast<double>(std::clamp(t, w.from, w.to) - w.from) / static_cast<double>(span) *
                          (W - left - right);
      };
      for (const auto& band : w.bands) {
        const double x0 = x(band.from), x1 = x(band.to);
        std::string what = state_label(band.state);
        if (band.event_id != 0) {
          what += " (" + (band.vendor_state.empty() ? std::string("-") : R(band.vendor_state));
          if (!band.initiator.empty()) what += ", by " + band.initiator;
          what += ")";
          if (band.state != "ready" && band.state != "busy" && band.state != "not_ready")
            what += ": " + (band.state.empty() ? std::string("no state") : band.state);
        }
        out << fmt::format("<rect class=\"sb sb-{}\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"16\" fill=\"{}\" "
                           "stroke=\"#999\" stroke-width=\"0.5\"><title>{}, {} to {}</title></rect>\n",
                           state_class(band.state), x0, y + 4, std::max(1.0, x1 - x0), state_color(band.state),
                           html(what), html(show_time(band.from, st)), html(show_time(band.to, st)));
      }
      for (size_t i : w.failures) {
        const auto& f = d.failures[i];
        out << fmt::format("<circle class=\"fm\" cx=\"{:.1f}\" cy=\"{}\" r=\"5\" fill=\"{}\" stroke=\"#fff\" "
                           "stroke-width=\"1.5\"><title>#{} {} {} — {}</title></circle>\n",
                           x(f.at), y + 12, verdict_color(f.verdict), f.id, html(show_time(f.at, st)), html(f.kind),
                           html(f.verdict));
      }
      out << fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#444\">{}</text><text x=\"{}\" y=\"{}\" "
                         "font-size=\"10\" fill=\"#444\" text-anchor=\"end\">{}{}</text>\n",
                         left, y + 32, html(show_time(w.from, st)), W - right, y + 32,
                         w.cut ? "cut here: too many state changes — " : "", html(show_time(w.to, st)));
      y += row_h;
    }
    if (lane.windows.empty()) y += row_h;
    out << "</g>\n";
  }
  out << "</svg>\n";
}

// ---- refusal rates in HTML: a chart of the team's hours, then the tables of the Markdown

void write_rates_html(std::ostream& out, const Diagnosis& d, double team_rate) {
  const Rates r = rates_of(d);
  out << "<h2 id=\"rates\">Refusal rates</h2>\n";
  if (r.days_total == 0) {
    out << "<p>No offers, so no rates.</p>\n";
    return;
  }
  out << "<p>Refusals (failures not benign) out of offers, per day and hour in UTC." << html(rates_left_out(r))
      << "</p>\n";
  // the team per hour: one bar per hour with offers, the team's rate as a line
  const int W = 1000, left = 44, right = 10, top = 10, plot = 110, H = top + plot + 34;
  const size_t n = r.hours.size();
  const double slot = static_cast<double>(W - left - right) / static_cast<double>(std::max<size_t>(n, 1));
  const double bw = std::min(36.0, slot * 0.8);
  out << fmt::format("<svg class=\"tl rates\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
                     "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"the team's refusal rate per hour\">\n",
                     W, H, W, H);
  for (int p : {0, 50, 100}) {
    const int yy = top + plot - plot * p / 100;
    out << fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#e0e0e0\"/><text x=\"{}\" y=\"{}\" "
                       "font-size=\"10\" text-anchor=\"end\">{}%</text>\n",
                       left, W - right, yy, yy, left - 4, yy + 3, p);
  }
  std::string last_day;
  for (size_t i = 0; i < n; ++i) {
    const Count c = count_of(r.team_hour, r.hours[i]);
    const double h = ratio(c) * plot;
    const double x = left + slot * static_cast<double>(i) + (slot - bw) / 2;
    out << fmt::format("<rect class=\"hb\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#90a4ae\">"
                       "<title>{} UTC: {} of {} offers refused ({})</title></rect>\n",
                       x, top + plot - h, bw, std::max(h, 0.5), hour_label(r.hours[i]), c.refusals, c.offers,
                       pct(ratio(c)));
    if (slot >= 16)
      out << fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"9\" text-anchor=\"middle\">{}</text>\n",
                         x + bw / 2, top + plot + 12, r.hours[i].substr(11, 2));
    const std::string day = r.hours[i].substr(0, 10);
    if (day != last_day) {
      out << fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"10\">{}</text>\n", x, top + plot + 26, day);
      last_day = day;
    }
  }
  const int ty = top + plot - static_cast<int>(team_rate * plot);
  out << fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#c62828\"><title>the team's rate, {}"
                     "</title></line>\n</svg>\n<p class=\"muted\">Bars: the team's refusal rate in each hour with "
                     "offers; the red line: its rate over the whole case.</p>\n",
                     left, W - right, ty, ty, pct(team_rate));

  out << "<table class=\"rates\"><tr><th>day (UTC)</th>";
  for (const auto& day : r.days) out << "<th>" << html(day) << "</th>";
  out << "</tr>\n<tr><th>team</th>";
  for (const auto& day : r.days) out << "<td class=\"n\">" << rate_cell(count_of(r.team_day, day)) << "</td>";
  out << "</tr>\n";
  for (size_t k = 0; k < d.agents.size(); ++k) {
    out << "<tr><td>" << html(d.agents[k].agent) << "</td>";
    for (const auto& day : r.days) out << "<td class=\"n\">" << rate_cell(count_of(r.agent_day[k], day)) << "</td>";
    out << "</tr>\n";
  }
  out << "</table>\n<table class=\"rates\"><tr><th>hour (UTC)</th><th>offers</th><th>refusals</th><th>rate</th>"
         "<th>agents with the most refusals</th></tr>\n";
  for (const auto& h : r.hours) {
    const Count c = count_of(r.team_hour, h);
    auto [top_agents, more] = agents_in_hour(d, h);
    std::string who;
    for (const auto& [agent, k, offers] : top_agents)
      who += fmt::format("{}{} {}/{}", who.empty() ? "" : ", ", html(agent), k, offers);
    if (more) who += fmt::format(", +{} more", more);
    if (who.empty()) who = "–";
    out << fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}"
                       "</td></tr>\n",
                       hour_label(h), c.offers, c.refusals, pct(ratio(c)), who);
  }
  out << "</table>\n";
}

void write_html(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& cov, const ReportOptions& o,
                const Redactor& R) {
  TextStyle st{false, o.zone};
  Summary s = summarize(d);
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
         "img-src data:; base-uri 'none'; form-action 'none'\">\n"
      << "<title>callaudit report" << html(o.case_id.empty() ? "" : " — case " + o.case_id) << "</title>\n<style>\n"
      << "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}"
         "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;"
         "vertical-align:top}th{background:#f4f4f4}td.n{text-align:right}code{background:#f6f6f6;padding:0 .2em;"
         "overflow-wrap:anywhere;white-space:pre-wrap}.v{color:#fff;border-radius:3px;padding:0 .4em;font-weight:600}"
         ".f{border-left:4px solid #ccc;padding:.2em .8em;margin:1em 0}.muted{color:#666}svg.tl{max-width:100%;height:auto}svg{background:#fafafa;"
         "border:1px solid #eee}\n</style></head><body>\n";
  out << "<h1>callaudit report" << html(o.case_id.empty() ? "" : " — case " + o.case_id) << "</h1>\n";
  out << "<p class=\"muted\">Times in " << html(o.zone && !o.zone->is_utc() ? o.zone->name() : "UTC") << "."
      << (o.redact ? " Phone numbers and names are masked." : "") << "</p>\n";
  out << "<h2 id=\"summary\">Summary</h2>\n<p><strong>" << html(s.main_finding) << "</strong></p>\n<table><tr>";
  for (const char* v : {"agent", "system", "configuration", "benign", "unknown"})
    out << "<th><span class=\"v\" style=\"background:" << verdict_color(v) << "\">" << v << "</span></th>";
  out << "</tr><tr>";
  for (const char* v : {"agent", "system", "configuration", "benign", "unknown"})
    out << "<td class=\"n\">" << s.by_verdict[v] << "</td>";
  out << "</tr></table>\n";
  out << fmt::format("<p>{} offers, {} failed; the team's refusal rate is {}.</p>\n", d.offers, d.failures.size(),
                     pct(s.team_rate));

  // timeline of failures and incidents
  out << "<h2 id=\"timeline\">Timeline of failures</h2>\n";
  if (d.failures.empty()) out << "<p>No failures to draw.</p>\n";
  if (!d.failures.empty()) {
    TimeUs t0 = d.failures.front().at, t1 = d.failures.back().at_end;
    for (const auto& f : d.failures) {
      t0 = std::min(t0, f.at);
      t1 = std::max(t1, f.at_end);
    }
    if (t1 <= t0) t1 = t0 + 60 * kUsPerSecond;
    std::vector<std::string> agents;
    for (const auto& a : d.agents) agents.push_back(a.agent);
    for (const auto& f : d.failures)
      if (std::find(agents.begin(), agents.end(), f.agent) == agents.end()) agents.emplace_back(f.agent);
    // the label gutter fits the longest agent id, up to 32 characters (longer ones are cut;
    // the whole id is the label's tooltip)
    size_t longest = 4;
    for (const auto& a : agents) longest = std::max(longest, std::min<size_t>(a.size(), 32));
    const int W = 1000, lane = 18, left = std::clamp(static_cast<int>(12 + 6.5 * static_cast<double>(longest)), 60, 230);
    int H = 30 + lane * static_cast<int>(agents.size());
    auto x = [&](TimeUs t) {
      return left + static_cast<double>(t - t0) / static_cast<double>(t1 - t0) * (W - left - 10);
    };
    out << fmt::format("<svg class=\"tl\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
                       "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"failures over time per agent\">\n",
                       W, H, W, H);
    for (const auto& i : d.incidents)
      out << fmt::format("<rect x=\"{:.1f}\" y=\"0\" width=\"{:.1f}\" height=\"{}\" fill=\"#ffcdd2\" opacity=\"0.6\">"
                         "<title>incident {}</title></rect>\n",
                         x(i.from), std::max(2.0, x(i.to) - x(i.from)), H, i.id);
    for (size_t k = 0; k < agents.size(); ++k) {
      int y = 20 + lane * static_cast<int>(k);
      out << fmt::format("<text x=\"4\" y=\"{}\" font-size=\"11\"><title>{}</title>{}</text><line x1=\"{}\" "
                         "x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>\n",
                         y + 4, html(agents[k]), html(clip(agents[k], 32)), left, W - 10, y, y);
    }
    for (const auto& f : d.failures) {
      auto it = std::find(agents.begin(), agents.end(), f.agent);
      int y = 20 + lane * static_cast<int>(it - agents.begin());
      out << fmt::format("<circle cx=\"{:.1f}\" cy=\"{}\" r=\"4\" fill=\"{}\"><title>#{} {} {}</title></circle>\n",
                         x(f.at), y, verdict_color(f.verdict), f.id, html(f.kind), html(f.verdict));
    }
    out << fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"10\" "
                       "text-anchor=\"end\">{}</text>\n",
                       left, H - 2, html(show_time(t0, st)), W - 10, H - 2, html(show_time(t1, st)));
    out << "</svg>\n";
  }

  write_swimlanes_html(out, d, o.bands, st, R);

  out << "<h2 id=\"incidents\">Incidents</h2>\n";
  if (d.incidents.empty()) out << "<p>None: no burst of failures across several agents.</p>\n";
  for (const auto& i : d.incidents)
    out << fmt::format("<p><strong>Incident {}</strong> {} to {}: {} failures, {} agents, {} — <span class=\"v\" "
                       "style=\"background:{}\">{}</span><br>{}</p>\n",
                       i.id, html(show_time(i.from, st)), html(show_time(i.to, st)), i.failures, i.agents,
                       html(i.kind), verdict_color(i.verdict), html(i.verdict), html(R(i.why)));

  out << "<h2 id=\"agents\">Agents</h2>\n<table><tr><th>agent</th><th>name</th><th>offers</th><th>failures</th>"
         "<th>agent</th><th>system</th><th>configuration</th><th>benign</th><th>unknown</th><th>refusal rate</th>"
         "</tr>\n";
  for (const auto& a : d.agents) {
    double rate = a.offers ? static_cast<double>(a.refusals) / static_cast<double>(a.offers) : 0;
    auto bv = [&](const char* k) {
      auto it = a.by_verdict.find(k);
      return it == a.by_verdict.end() ? 0 : it->second;
    };
    int bar = static_cast<int>(rate * 120);
    int team = static_cast<int>(s.team_rate * 120);
    out << fmt::format("<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}"
                       "</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}"
                       "</td><td><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"170\" height=\"14\"><rect x=\"0\" "
                       "y=\"2\" width=\"{}\" height=\"10\" fill=\"#90a4ae\"/><line x1=\"{}\" x2=\"{}\" y1=\"0\" "
                       "y2=\"14\" stroke=\"#c62828\"/><text x=\"128\" y=\"11\" font-size=\"10\">{}</text></svg></td>"
                       "</tr>\n",
                       html(a.agent), html(R(a.name)), a.offers, a.failures, bv("agent"), bv("system"),
                       bv("configuration"), bv("benign"), bv("unknown"), bar, team, team, pct(rate));
  }
  out << "</table>\n<p class=\"muted\">The red line marks the team's refusal rate.</p>\n";
  write_rates_html(out, d, s.team_rate);

  out << "<h2 id=\"failures\">Failures</h2>\n";
  d.verdicts.for_each([&](const FailureVerdict& f) {
    out << fmt::format("<div class=\"f\" style=\"border-color:{}\"><p><strong>#{}</strong> agent {} — {} — <span "
                       "class=\"v\" style=\"background:{}\">{}</span> ({}, {}) — <code>{}</code>{}</p>\n",
                       verdict_color(f.verdict), f.id, html(f.agent), html(show_time(f.at, st)),
                       verdict_color(f.verdict), html(f.verdict), html(f.confidence), html(f.rule), html(f.kind),
                       f.incident ? fmt::format(" — incident {}", *f.incident) : "");
    out << "<p>" << html(R(f.why)) << "</p>\n<table><tr><th>role</th><th>where</th><th>line</th></tr>\n";
    for (const auto& e : f.evidence)
      out << fmt::format("<tr><td>{}</td><td>{}:{}</td><td><code>{}</code></td></tr>\n", html(e.role), html(e.file),
                         e.line, html(R(e.text)));
    out << "</table></div>\n";
  });

  out << "<h2 id=\"coverage\">Coverage</h2>\n<table><tr><th>input</th><th>format</th><th>lines</th><th>parsed</th>"
         "<th>unmatched</th><th>zone</th></tr>\n";
  for (const auto& c : cov)
    out << fmt::format("<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}"
                       "</td><td>{}</td></tr>\n",
                       html(c.input.path), html(c.input.format), c.input.lines, c.input.parsed, c.input.unmatched,
                       c.input.zone_assumed ? "taken as UTC (no --tz)" : html(c.input.zone));
  out << "</table>\n";
  for (const auto& c : cov) {
    if (c.samples.empty()) continue;
    out << "<p>Unmatched in " << html(c.input.path) << " (" << c.input.unmatched << "):</p><ul>\n";
    for (size_t i = 0; i < c.samples.size(); ++i)
      out << fmt::format("<li>line {}: <code>{}</code> — {}</li>\n", c.samples[i].first,
                         html(clip(R(c.samples[i].second), 300)), html(R(c.whys[i])));
    out << "</ul>\n";
  }
  out << "<p class=\"muted\">Made by callaudit.</p>\n</body></html>\n";
}

}  // namespace

void write_report(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage,
                  const ReportOptions& opts, const Redactor& redact) {
  if (opts.format == "html") {
    write_html(out, d, coverage, opts, redact);
  } else if (opts.format == "json") {
    if (!redact.on()) {
      write_diagnosis_json(out, d, coverage);
      return;
    }
    Diagnosis r = d;  // shares the verdicts, each redacted as it is written
    auto edit = [&](FailureVerdict& f) {
      f.agent_name = redact(f.agent_name);
      f.call = redact(f.call);
      f.why = redact(f.why);
      f.reason = redact(f.reason);
      f.raw = redact(f.raw);
      f.kind_basis = redact(f.kind_basis);
      for (auto& e : f.evidence) e.text = redact(e.text);
    };
    for (auto& i : r.incidents) i.why = redact(i.why);
    for (auto& a : r.agents) a.name = redact(a.name);
    std::vector<CoverageEntry> c = coverage;
    for (auto& e : c) {
      for (auto& s : e.samples) s.second = redact(s.second);
      for (auto& w : e.whys) w = redact(w);
    }
    write_diagnosis_json(out, r, c, edit);
  } else {
    write_md(out, d, coverage, opts, redact);
  }
}

}  // namespace callaudit
