// The JSON writer and diagnosis renderers as they were before the buffered rewrite, kept
// verbatim (namespace aside) so json_bench can check that today's output is byte-identical
// and measure the speed-up against them. Benchmark code only; not part of callaudit.
#include <fmt/format.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "callaudit/report.h"

namespace callaudit::jsonref {

std::string json_escape(std::string_view s);

// The former writers read every verdict from memory: materialize them once per call.
inline std::vector<FailureVerdict> all_verdicts(const Diagnosis& d) {
  std::vector<FailureVerdict> out;
  out.reserve(d.verdicts.size());
  d.verdicts.for_each([&](FailureVerdict& f) { out.push_back(std::move(f)); });
  return out;
}

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out, bool pretty = true) : out_(out), pretty_(pretty) {}
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(std::int64_t v);
  JsonWriter& value(int v) { return value(static_cast<std::int64_t>(v)); }
  JsonWriter& value(double v);
  JsonWriter& value(bool v);
  JsonWriter& null();
  template <typename T>
  JsonWriter& value(const std::optional<T>& v) {
    return v ? value(*v) : null();
  }
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

 private:
  void before_value();
  void newline();
  std::ostream& out_;
  bool pretty_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else if (c == '<') {
            out += "\\u003c";  // safe inside an HTML script block too
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    size_t n = (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 0;
    bool ok = n > 0 && i + n < s.size();
    for (size_t k = 1; ok && k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) ok = false;
    if (!ok) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(s.substr(i, n + 1));
    i += n + 1;
  }
  out += '"';
  return out;
}

void JsonWriter::newline() {
  if (!pretty_) return;
  out_ << '\n';
  for (size_t i = 0; i < first_.size(); ++i) out_ << "  ";
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ << ',';
    first_.back() = false;
    newline();
  }
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ << '{';
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  bool empty = first_.back();
  first_.pop_back();
  if (!empty) newline();
  out_ << '}';
  if (first_.empty() && pretty_) out_ << '\n';
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_ << '[';
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  bool empty = first_.back();
  first_.pop_back();
  if (!empty) newline();
  out_ << ']';
  return *this;
}
JsonWriter& JsonWriter::key(std::string_view k) {
  before_value();
  out_ << json_escape(k) << (pretty_ ? ": " : ":");
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::value(std::string_view s) {
  before_value();
  out_ << json_escape(s);
  return *this;
}
JsonWriter& JsonWriter::value(std::int64_t v) {
  before_value();
  out_ << v;
  return *this;
}
JsonWriter& JsonWriter::value(double v) {
  before_value();
  if (!std::isfinite(v)) {
    out_ << "null";
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    out_ << buf;
  }
  return *this;
}
JsonWriter& JsonWriter::value(bool v) {
  before_value();
  out_ << (v ? "true" : "false");
  return *this;
}
JsonWriter& JsonWriter::null() {
  before_value();
  out_ << "null";
  return *this;
}

namespace {
double rate(std::int64_t refusals, std::int64_t offers) {
  return offers ? static_cast<double>(refusals) / static_cast<double>(offers) : 0.0;
}

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

void write_diagnosis_json(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage) {
  JsonWriter w(out);
  w.begin_object();
  w.field("schema", kDiagnosisSchema);
  w.key("failures").begin_array();
  for (const auto& f : all_verdicts(d)) {
    w.begin_object();
    w.field("id", f.id);
    w.field("at", format_utc(f.at));
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
      w.field("role", e.role).field("file", e.file).field("line", e.line).field("at", format_utc(e.at));
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
  }
  w.end_array();
  w.key("incidents").begin_array();
  for (const auto& i : d.incidents) {
    w.begin_object();
    w.field("id", i.id).field("from", format_utc(i.from)).field("to", format_utc(i.to));
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
std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}
template <typename T>
std::string opt(const std::optional<T>& v) {
  return v ? std::to_string(*v) : std::string();
}
}  // namespace

void write_diagnosis_csv(std::ostream& out, const Diagnosis& d) {
  out << "id,at,agent,agent_name,call,kind,verdict,confidence,rule,sip,q850,vendor_reason,ring_ms,incident,file,line,"
         "why\n";
  for (const auto& f : all_verdicts(d)) {
    out << f.id << ',' << format_utc(f.at) << ',' << csv_cell(f.agent) << ',' << csv_cell(f.agent_name) << ','
        << csv_cell(f.call) << ',' << f.kind << ',' << f.verdict << ',' << f.confidence << ',' << f.rule << ','
        << opt(f.sip) << ',' << opt(f.q850) << ',' << csv_cell(f.reason) << ',' << opt(f.ring_ms) << ','
        << opt(f.incident) << ',' << csv_cell(f.file) << ',' << f.line << ',' << csv_cell(f.why) << '\n';
  }
}

// Renamed: callaudit::show_time would be found too, by argument-dependent lookup.
std::string ref_show_time(TimeUs t, const TextStyle& style) {
  if (!style.zone || style.zone->is_utc()) {
    std::string s = format_utc(t);
    s[10] = ' ';
    return s;
  }
  return format_local(t, *style.zone);
}

namespace {

std::string paint(const TextStyle& s, const char* code, const std::string& text) {
  return s.color ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
}

std::string verdict_colored(const TextStyle& s, const std::string& v) {
  const char* code = v == "agent"           ? "33"
                     : v == "system"        ? "31"
                     : v == "configuration" ? "35"
                     : v == "benign"        ? "32"
                                            : "2";
  return paint(s, code, v);
}

void evidence_lines(std::ostream& out, const FailureVerdict& f, const TextStyle& style) {
  for (const auto& e : f.evidence) {
    out << fmt::format("      {:<11} {}:{}  {}\n", e.role, e.file, e.line, ref_show_time(e.at, style));
    out << "                  " << paint(style, "2", e.text.substr(0, 300)) << "\n";
  }
}

}  // namespace

void write_explain_text(std::ostream& out, const FailureVerdict& f, const TextStyle& style) {
  out << fmt::format("failure {}  {}  agent {}{}\n", f.id, ref_show_time(f.at, style), f.agent,
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
  std::map<std::string, int> by_verdict;
  const std::vector<FailureVerdict> verdicts = all_verdicts(d);
  for (const auto& f : verdicts) ++by_verdict[f.verdict];
  out << paint(style, "1", fmt::format("{} failed offers out of {} offers", d.failures.size(), d.offers)) << ": ";
  bool first = true;
  for (const char* v : {"agent", "system", "configuration", "benign", "unknown"}) {
    out << (first ? "" : ", ") << by_verdict[v] << " " << verdict_colored(style, v);
    first = false;
  }
  out << "\ntimes in " << (style.zone && !style.zone->is_utc() ? style.zone->name() : std::string("UTC")) << "\n";
  for (const auto& i : d.incidents) {
    out << "\n"
        << paint(style, "1",
                 fmt::format("incident {}: {} to {}, {} agents, {} failures ({}) -> ", i.id,
                             ref_show_time(i.from, style), ref_show_time(i.to, style), i.agents, i.failures, i.kind))
        << verdict_colored(style, i.verdict) << "\n  " << i.why << "\n";
  }
  std::map<std::string, std::vector<const FailureVerdict*>> by_agent;
  for (const auto& f : verdicts) by_agent[f.agent].push_back(&f);
  for (const auto& [agent, list] : by_agent) {
    const std::string& name = list.front()->agent_name;
    std::string rates;
    for (const auto& a : d.agents)
      if (a.agent == agent)
        rates = fmt::format("  refusal rate {:.0f}% of {} offers (team {:.0f}%)", 100 * rate(a.refusals, a.offers),
                            a.offers, 100 * rate(d.refusals, d.offers));
    out << "\n" << paint(style, "1", "agent " + agent + (name.empty() ? "" : " (" + name + ")")) << rates << "\n";
    for (const auto* f : list) {
      out << fmt::format("  #{:<6} {}  {:<22} ", f->id, ref_show_time(f->at, style), f->kind)
          << verdict_colored(style, f->verdict)
          << fmt::format(" ({}, {}){}\n", f->confidence, f->rule,
                         f->incident ? fmt::format(" incident {}", *f->incident) : "");
      out << "          " << f->why << "\n";
      out << fmt::format("          {}:{}\n", f->file, f->line);
    }
  }
  out << "\ncoverage\n";
  for (const auto& c : coverage) {
    out << fmt::format("  {}  {}  {} lines, {} parsed, {} unmatched{}\n", c.input.path, c.input.format, c.input.lines,
                       c.input.parsed, c.input.unmatched,
                       c.input.zone_assumed ? "  (zone-less times taken as UTC)" : "");
    for (size_t i = 0; i < c.samples.size() && i < 3; ++i)
      out << fmt::format("    unmatched line {}: {}\n", c.samples[i].first, c.whys[i]);
  }
  out << "\n'callaudit explain ID' shows the evidence of one failure.\n";
}

}  // namespace callaudit::jsonref
