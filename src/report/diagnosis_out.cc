// The diagnosis as JSON (the contract other tools read), CSV, and text for people.
// Covered by tests/report/diagnosis_out_test.cc and the golden scenarios.
#include <fmt/format.h>

#include <charconv>
#include <concepts>
#include <cstring>
#include <iterator>
#include <map>
#include <ostream>
#include <string_view>

#include "callaudit/json.h"
#include "callaudit/report.h"

namespace callaudit {

Result<std::vector<CoverageEntry>> load_coverage(Store& store) {
  std::vector<CoverageEntry> out;
  Statement q(store.db(),
              "SELECT id, path, format, bytes, lines, records, parsed, unmatched, events, offers, results, failures,"
              " states, zone, zone_assumed, precision, first_at, last_at, backwards, merged FROM inputs ORDER BY id");
  if (!q.ok()) return Status::error(q.error());
  while (q.step()) {
    CoverageEntry c;
    InputRow& r = c.input;
    r.id = q.int64(0);
    r.path = q.text(1);
    r.format = q.text(2);
    r.bytes = q.int64(3);
    r.lines = q.int64(4);
    r.records = q.int64(5);
    r.parsed = q.int64(6);
    r.unmatched = q.int64(7);
    r.events = q.int64(8);
    r.offers = q.int64(9);
    r.results = q.int64(10);
    r.failures = q.int64(11);
    r.states = q.int64(12);
    r.zone = q.text(13);
    r.zone_assumed = q.int64(14) != 0;
    r.precision = q.text(15);
    if (!q.is_null(16)) r.first_at = q.int64(16);
    if (!q.is_null(17)) r.last_at = q.int64(17);
    r.backwards = q.int64(18);
    r.merged = q.int64(19);
    out.push_back(std::move(c));
  }
  Statement u(store.db(), "SELECT input_id, line, text, why FROM unmatched ORDER BY input_id, line");
  std::map<std::int64_t, size_t> pos;
  for (size_t i = 0; i < out.size(); ++i) pos[out[i].input.id] = i;
  while (u.step()) {
    auto it = pos.find(u.int64(0));
    if (it == pos.end()) continue;
    auto& c = out[it->second];
    if (c.samples.size() < 10) {
      c.samples.emplace_back(u.int64(1), u.text(2));
      c.whys.push_back(u.text(3));
    }
  }
  return out;
}

namespace {

double rate(std::int64_t refusals, std::int64_t offers) {
  return offers ? static_cast<double>(refusals) / static_cast<double>(offers) : 0.0;
}

// ---- times without a std::string each: the text of format_utc / format_local, on the stack

constexpr char kDigits2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

inline char* two(char* p, unsigned v) {
  std::memcpy(p, kDigits2 + 2 * v, 2);
  return p + 2;
}

// "2026-03-14T09:12:33.123456Z" as format_utc (sep 'T', zulu) or format_local's civil part
// (sep ' ', no zone) would write it; the fraction only when not zero. Returns the length, or 0
// for a year outside 0..9999, whose text the callers take from timeutil itself.
size_t civil_to(char* buf, TimeUs t, char sep, bool zulu) {
  constexpr TimeUs kLimit = 400'000'000'000LL * kUsPerSecond;  // ~12,700 years either side of 1970
  if (t < -kLimit || t > kLimit) return 0;
  TimeUs secs = t >= 0 ? t / kUsPerSecond : -((-t + kUsPerSecond - 1) / kUsPerSecond);
  TimeUs us = t - secs * kUsPerSecond;
  TimeUs days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  TimeUs sod = secs - days * 86400;
  // days since 1970-01-01 to a civil date (H. Hinnant's algorithm, proleptic Gregorian)
  TimeUs z = days + 719468;
  TimeUs era = (z >= 0 ? z : z - 146096) / 146097;
  TimeUs doe = z - era * 146097;
  TimeUs yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  TimeUs doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  TimeUs mp = (5 * doy + 2) / 153;
  TimeUs day = doy - (153 * mp + 2) / 5 + 1;
  TimeUs month = mp < 10 ? mp + 3 : mp - 9;
  TimeUs year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) return 0;
  char* p = buf;
  p = two(p, static_cast<unsigned>(year / 100));
  p = two(p, static_cast<unsigned>(year % 100));
  *p++ = '-';
  p = two(p, static_cast<unsigned>(month));
  *p++ = '-';
  p = two(p, static_cast<unsigned>(day));
  *p++ = sep;
  p = two(p, static_cast<unsigned>(sod / 3600));
  *p++ = ':';
  p = two(p, static_cast<unsigned>(sod / 60 % 60));
  *p++ = ':';
  p = two(p, static_cast<unsigned>(sod % 60));
  if (us != 0) {
    *p++ = '.';
    p = two(p, static_cast<unsigned>(us / 10000));
    p = two(p, static_cast<unsigned>(us / 100 % 100));
    p = two(p, static_cast<unsigned>(us % 100));
  }
  if (zulu) *p++ = 'Z';
  return static_cast<size_t>(p - buf);
}

// One rendered time; the view lives until the next call.
class TimeText {
 public:
  std::string_view utc(TimeUs t) {
    size_t n = civil_to(buf_, t, 'T', true);
    if (n != 0) return {buf_, n};
    slow_ = format_utc(t);
    return slow_;
  }
  // show_time's text.
  std::string_view show(TimeUs t, const TextStyle& style) {
    if (!style.zone || style.zone->is_utc()) {
      size_t n = civil_to(buf_, t, ' ', true);
      if (n != 0) return {buf_, n};
      slow_ = format_utc(t);
      slow_[10] = ' ';
      return slow_;
    }
    size_t n = civil_to(buf_, style.zone->to_local(t), ' ', false);
    if (n != 0) return {buf_, n};
    slow_ = format_local(t, *style.zone);
    return slow_;
  }

 private:
  char buf_[40];
  std::string slow_;
};

// Text collected in memory and written to the stream in large pieces.
class Buffered {
 public:
  explicit Buffered(std::ostream& out) : out_(out) {}
  ~Buffered() { flush(); }
  Buffered(const Buffered&) = delete;
  Buffered& operator=(const Buffered&) = delete;
  // Call between records: writes out what has gathered once it is large.
  void maybe_flush() {
    if (buf_.size() >= kSize) flush();
  }
  void flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }
  Buffered& operator<<(std::string_view v) {
    buf_.append(v.data(), v.data() + v.size());
    return *this;
  }
  Buffered& operator<<(char c) {
    buf_.push_back(c);
    return *this;
  }
  template <std::integral Int>
  Buffered& number(Int v) {
    char b[24];
    auto r = std::to_chars(b, b + sizeof b, v);
    buf_.append(b, r.ptr);
    return *this;
  }
  // s left-aligned in `width` columns, as fmt's "{:<width}" pads it.
  Buffered& padded(std::string_view s, size_t width) {
    bool ascii = true;
    for (char c : s) ascii &= static_cast<unsigned char>(c) < 0x80;
    if (!ascii) {  // fmt counts columns by code point: let it
      fmt::format_to(it(), "{:<{}}", s, width);
      return *this;
    }
    *this << s;
    for (size_t n = s.size(); n < width; ++n) buf_.push_back(' ');
    return *this;
  }
  fmt::appender it() { return fmt::appender(buf_); }

 private:
  static constexpr size_t kSize = 64 * 1024;
  std::ostream& out_;
  fmt::memory_buffer buf_;
};

// Offers and refusals per hour and per day, from the hourly counts ("2026-03-14T09").
void write_periods(JsonWriter& w, const std::map<std::string, std::int64_t>& offers,
                   const std::map<std::string, std::int64_t>& refusals) {
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> hours, days;
  for (const auto& [h, n] : offers) {
    hours[h].first += n;
    days[h.substr(0, 10)].first += n;
  }
  for (const auto& [h, n] : refusals) {
    hours[h].second += n;
    days[h.substr(0, 10)].second += n;
  }
  for (const auto& [key, table] : {std::pair{"by_hour", &hours}, std::pair{"by_day", &days}}) {
    w.key(key).begin_array();
    for (const auto& [period, c] : *table) {
      w.begin_object();
      w.field(std::string_view(key) == "by_hour" ? "hour" : "day",
              std::string_view(key) == "by_hour" ? period + ":00Z" : period);
      w.field("offers", c.first).field("refusals", c.second).field("refusal_rate", rate(c.second, c.first));
      w.end_object();
    }
    w.end_array();
  }
}

}  // namespace

void write_diagnosis_json(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage,
                          const std::function<void(FailureVerdict&)>& edit) {
  JsonWriter w(out);
  TimeText time;
  w.begin_object();
  w.field("schema", kDiagnosisSchema);
  w.key("failures").begin_array();
  d.verdicts.for_each([&](FailureVerdict& f) {
    if (edit) edit(f);
    w.begin_object();
    w.field("id", f.id);
    w.field("at", time.utc(f.at));
    w.field("agent", f.agent);
    w.key("call");
    if (f.call.empty())
      w.null();
    else
      w.value(f.call);
    w.key("source").begin_object();
    w.field("format", f.format).field("file", f.file).field("line", f.line);
    w.end_object();
    w.field("vendor_reason", f.reason);
    w.field("sip", f.sip);
    w.field("q850", f.q850);
    w.field("kind", f.kind);
    w.field("verdict", f.verdict);
    w.field("confidence", f.confidence);
    w.field("why", f.why);
    w.key("evidence").begin_array();
    for (const auto& e : f.evidence) {
      w.begin_object();
      w.field("role", e.role).field("file", e.file).field("line", e.line).field("at", time.utc(e.at));
      w.field("text", e.text);
      w.end_object();
    }
    w.end_array();
    w.field("incident", f.incident);
    // additions beyond the contract's minimum: stable, documented in docs/diagnosis-json.md
    w.field("rule", f.rule);
    w.field("code_kind", f.code_kind);
    w.field("ring_ms", f.ring_ms);
    w.end_object();
  });
  w.end_array();
  w.key("incidents").begin_array();
  for (const auto& i : d.incidents) {
    w.begin_object();
    w.field("id", i.id).field("from", time.utc(i.from));
    w.field("to", time.utc(i.to));
    w.field("agents", i.agents).field("failures", i.failures).field("kind", i.kind).field("verdict", i.verdict);
    w.field("why", i.why);
    w.field("class", i.cls).field("offers", i.offers);
    w.key("agent_ids").begin_array();
    for (const auto& a : i.agent_ids) w.value(a);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.key("agents").begin_array();
  for (const auto& a : d.agents) {
    w.begin_object();
    w.field("agent", a.agent);
    w.key("name");
    if (a.name.empty())
      w.null();
    else
      w.value(a.name);
    w.field("offers", a.offers).field("failures", a.failures);
    w.key("by_verdict").begin_object();
    for (const char* k : {"agent", "system", "configuration", "benign", "unknown"}) {
      auto it = a.by_verdict.find(k);
      w.field(k, it == a.by_verdict.end() ? std::int64_t{0} : it->second);
    }
    w.end_object();
    w.field("refusal_rate", rate(a.refusals, a.offers));
    w.field("refusals", a.refusals);
    write_periods(w, a.offers_by_hour, a.refusals_by_hour);
    w.end_object();
  }
  w.end_array();
  w.key("team").begin_object();
  w.field("offers", d.offers).field("failures", static_cast<std::int64_t>(d.failures.size()));
  w.field("refusals", d.refusals).field("refusal_rate", rate(d.refusals, d.offers));
  write_periods(w, d.offers_by_hour, d.refusals_by_hour);
  w.end_object();
  w.key("coverage").begin_array();
  for (const auto& c : coverage) {
    w.begin_object();
    w.field("file", c.input.path).field("format", c.input.format).field("lines", c.input.lines);
    w.field("parsed", c.input.parsed).field("unmatched", c.input.unmatched);
    w.key("unmatched_samples").begin_array();
    for (size_t i = 0; i < c.samples.size(); ++i) {
      w.begin_object();
      w.field("line", c.samples[i].first).field("text", c.samples[i].second).field("why", c.whys[i]);
      w.end_object();
    }
    w.end_array();
    w.field("zone", c.input.zone).field("zone_assumed", c.input.zone_assumed);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

namespace {
// A cell quoted only when it holds a comma, quote or line break; quotes doubled.
bool csv_needs_quotes(std::string_view s) {
  bool hit = false;
  for (char c : s) hit |= c == ',' || c == '"' || c == '\n' || c == '\r';
  return hit;
}
void csv_cell(Buffered& b, const std::string& s) {
  if (!csv_needs_quotes(s)) {
    b << s;
    return;
  }
  b << '"';
  size_t from = 0;
  for (size_t q = s.find('"'); q != std::string::npos; q = s.find('"', q + 1)) {
    b << std::string_view(s).substr(from, q + 1 - from) << '"';
    from = q + 1;
  }
  b << std::string_view(s).substr(from) << '"';
}
template <typename T>
void opt(Buffered& b, const std::optional<T>& v) {
  if (v) b.number(*v);
}
}  // namespace

void write_diagnosis_csv(std::ostream& out, const Diagnosis& d) {
  Buffered b(out);
  TimeText time;
  b << "id,at,agent,agent_name,call,kind,verdict,confidence,rule,sip,q850,vendor_reason,ring_ms,incident,file,line,"
       "why\n";
  d.verdicts.for_each([&](const FailureVerdict& f) {
    b.number(f.id) << ',' << time.utc(f.at) << ',';
    csv_cell(b, f.agent);
    b << ',';
    csv_cell(b, f.agent_name);
    b << ',';
    csv_cell(b, f.call);
    b << ',' << f.kind << ',' << f.verdict << ',' << f.confidence << ',' << f.rule << ',';
    opt(b, f.sip);
    b << ',';
    opt(b, f.q850);
    b << ',';
    csv_cell(b, f.reason);
    b << ',';
    opt(b, f.ring_ms);
    b << ',';
    opt(b, f.incident);
    b << ',';
    csv_cell(b, f.file);
    b << ',';
    b.number(f.line) << ',';
    csv_cell(b, f.why);
    b << '\n';
    b.maybe_flush();
  });
}

std::string show_time(TimeUs t, const TextStyle& style) {
  TimeText time;
  return std::string(time.show(t, style));
}

namespace {

void paint(Buffered& b, const TextStyle& s, const char* code, std::string_view text) {
  if (s.color)
    b << "\033[" << code << 'm' << text << "\033[0m";
  else
    b << text;
}

std::string paint(const TextStyle& s, const char* code, const std::string& text) {
  return s.color ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
}

const char* verdict_color(std::string_view v) {
  return v == "agent" ? "33" : v == "system" ? "31" : v == "configuration" ? "35" : v == "benign" ? "32" : "2";
}

std::string verdict_colored(const TextStyle& s, const std::string& v) {
  return paint(s, verdict_color(v), v);
}

void evidence_lines(std::ostream& out, const FailureVerdict& f, const TextStyle& style) {
  for (const auto& e : f.evidence) {
    out << fmt::format("      {:<11} {}:{}  {}\n", e.role, e.file, e.line, show_time(e.at, style));
    out << "                  " << paint(style, "2", e.text.substr(0, 300)) << "\n";
  }
}

}  // namespace

void write_explain_text(std::ostream& out, const FailureVerdict& f, const TextStyle& style) {
  out << fmt::format("failure {}  {}  agent {}{}\n", f.id, show_time(f.at, style), f.agent,
                     f.agent_name.empty() ? "" : " (" + f.agent_name + ")");
  out << fmt::format("  source   {}:{} ({})\n", f.file, f.line, f.format);
  out << "           " << f.raw.substr(0, 400) << "\n";
  out << fmt::format("  codes    reason \"{}\"  sip {}  q850 {}  ring {}\n", f.reason,
                     f.sip ? std::to_string(*f.sip) : "-", f.q850 ? std::to_string(*f.q850) : "-",
                     f.ring_ms ? std::to_string(*f.ring_ms) + " ms" : "-");
  out << fmt::format("  kind     {} (from {}){}\n", f.kind, f.kind_basis,
                     f.kind != f.code_kind ? " — the codes said " + f.code_kind : "");
  out << "  verdict  " << verdict_colored(style, f.verdict) << " (" << f.confidence << ", rule " << f.rule << ")\n";
  out << "  why      " << f.why << "\n";
  if (f.incident) out << "  incident " << *f.incident << "\n";
  out << "  rules\n";
  for (const auto& t : f.trace) out << fmt::format("    {} {:<3} {}\n", t.fired ? "fired " : "no    ", t.rule, t.why);
  out << "  evidence\n";
  evidence_lines(out, f, style);
}

void write_diagnosis_text(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage,
                          const TextStyle& style) {
  Buffered b(out);
  TimeText time, time2;
  std::map<std::string, int> by_verdict;
  for (const auto& f : d.failures) ++by_verdict[std::string(f.verdict)];
  paint(b, style, "1", fmt::format("{} failed offers out of {} offers", d.failures.size(), d.offers));
  b << ": ";
  bool first = true;
  for (const char* v : {"agent", "system", "configuration", "benign", "unknown"}) {
    b << (first ? "" : ", ");
    b.number(by_verdict[v]) << ' ';
    paint(b, style, verdict_color(v), v);
    first = false;
  }
  b << "\ntimes in " << (style.zone && !style.zone->is_utc() ? style.zone->name() : std::string("UTC")) << '\n';
  for (const auto& i : d.incidents) {
    b << '\n';
    paint(b, style, "1",
          fmt::format("incident {}: {} to {}, {} agents, {} failures ({}) -> ", i.id, time.show(i.from, style),
                      time2.show(i.to, style), i.agents, i.failures, i.kind));
    paint(b, style, verdict_color(i.verdict), i.verdict);
    b << "\n  " << i.why << '\n';
  }
  std::map<std::string_view, std::vector<size_t>> by_agent;  // indexes into the verdicts
  for (size_t i = 0; i < d.failures.size(); ++i) by_agent[d.failures[i].agent].push_back(i);
  std::map<std::string_view, const AgentFigures*> figures;  // the last entry of an agent counts
  for (const auto& a : d.agents) figures[a.agent] = &a;
  std::string rates;
  for (const auto& [agent, list] : by_agent) {
    const std::string name = d.verdicts.get(list.front()).agent_name;
    rates.clear();
    if (auto it = figures.find(agent); it != figures.end()) {
      const AgentFigures& a = *it->second;
      fmt::format_to(std::back_inserter(rates), "  refusal rate {:.0f}% of {} offers (team {:.0f}%)",
                     100 * rate(a.refusals, a.offers), a.offers, 100 * rate(d.refusals, d.offers));
    }
    b << '\n';
    paint(b, style, "1", "agent " + std::string(agent) + (name.empty() ? "" : " (" + name + ")"));
    b << rates << '\n';
    for (size_t i : list) {
      const FailureVerdict v = d.verdicts.get(i);
      const FailureVerdict* f = &v;
      char id[24];
      auto r = std::to_chars(id, id + sizeof id, f->id);
      b << "  #";
      b.padded(std::string_view(id, static_cast<size_t>(r.ptr - id)), 6) << ' ' << time.show(f->at, style) << "  ";
      b.padded(f->kind, 22) << ' ';
      paint(b, style, verdict_color(f->verdict), f->verdict);
      b << " (" << f->confidence << ", " << f->rule << ')';
      if (f->incident) {
        b << " incident ";
        b.number(*f->incident);
      }
      b << '\n';
      b << "          " << f->why << '\n';
      b << "          " << f->file << ':';
      b.number(f->line) << '\n';
      b.maybe_flush();
    }
  }
  b << "\ncoverage\n";
  for (const auto& c : coverage) {
    fmt::format_to(b.it(), "  {}  {}  {} lines, {} parsed, {} unmatched{}\n", c.input.path, c.input.format,
                   c.input.lines, c.input.parsed, c.input.unmatched,
                   c.input.zone_assumed ? "  (zone-less times taken as UTC)" : "");
    for (size_t i = 0; i < c.samples.size() && i < 3; ++i)
      fmt::format_to(b.it(), "    unmatched line {}: {}\n", c.samples[i].first, c.whys[i]);
  }
  b << "\n'callaudit explain ID' shows the evidence of one failure.\n";
}

}  // namespace callaudit
