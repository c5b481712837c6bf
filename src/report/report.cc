// The case report: Markdown for ticket systems, one self-contained HTML file (inline CSS and
// SVG, no script, a restrictive Content-Security-Policy), or the diagnosis JSON.
// Covered by tests/report/report_test.cc.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "callaudit/report.h"

namespace callaudit {

Redactor::Redactor(bool on, std::vector<std::string> names) : on_(on) {
  std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const auto& n : names) {
    if (n.size() < 3) continue;
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : n) h = (h ^ c) * 1099511628211ULL;
    names_.emplace_back(n, fmt::format("name-{:04x}", h & 0xffff));
  }
}

std::string Redactor::operator()(const std::string& text) const {
  if (!on_) return text;
  std::string out = text;
  for (const auto& [name, mask] : names_) {
    size_t pos = 0;
    while ((pos = out.find(name, pos)) != std::string::npos) {
      out.replace(pos, name.size(), mask);
      pos += mask.size();
    }
    // "Smith, Jane" style: the parts of a name on their own
  }
  // phone numbers: a + or digit, then 7 or more digits with spaces, dots, dashes or brackets
  static const re2::RE2 phone(R"((\+?\d[\d ().-]{6,}\d))");
  std::string result;
  re2::StringPiece in(out), m;
  size_t last = 0;
  while (RE2::FindAndConsume(&in, phone, &m)) {
    std::string digits;
    for (char c : m)
      if (c >= '0' && c <= '9') digits += c;
    size_t start = static_cast<size_t>(m.data() - out.data());
    result += out.substr(last, start - last);
    // keep things that are clearly not phone numbers: dates, times, ids with few digits
    std::string token(m.data(), m.size());
    bool looks_like_time = token.find(':') != std::string::npos || std::count(token.begin(), token.end(), '-') >= 2 ||
                           std::count(token.begin(), token.end(), '.') >= 2 || digits.size() < 8 || digits.size() > 15;
    if (looks_like_time) {
      result += token;
    } else {
      std::uint64_t h = 1469598103934665603ULL;
      for (char c : digits) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
      result += fmt::format("phone-{:04x}", h & 0xffff);
    }
    last = start + m.size();
  }
  result += out.substr(last);
  return result;
}

std::vector<std::string> names_to_redact(Store& store) {
  std::vector<std::string> names;
  Statement q(store.db(), "SELECT DISTINCT agent_name FROM events WHERE agent_name IS NOT NULL AND agent_name <> ''");
  while (q.step()) {
    std::string n = q.text(0);
    names.push_back(n);
    // "Smith, Jane" -> also "Jane Smith", and each part of two or more letters
    size_t comma = n.find(", ");
    if (comma != std::string::npos) names.push_back(n.substr(comma + 2) + " " + n.substr(0, comma));
    std::istringstream parts(n);
    std::string part;
    while (parts >> part) {
      while (!part.empty() && (part.back() == ',' || part.back() == '.')) part.pop_back();
      if (part.size() >= 3 && std::isupper(static_cast<unsigned char>(part[0]))) names.push_back(part);
    }
  }
  return names;
}

namespace {

std::string html(const std::string& s) {
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

std::string md_code(const std::string& s) {
  // a code span that survives backticks and pipes inside
  std::string v = s;
  for (char& c : v)
    if (c == '\n' || c == '\r') c = ' ';
  std::string out;
  for (char c : v) out += c == '|' ? std::string("\\|") : std::string(1, c);
  size_t ticks = 0, run = 0;
  for (char c : out) {
    run = c == '`' ? run + 1 : 0;
    ticks = std::max(ticks, run);
  }
  std::string fence(ticks + 1, '`');
  return fence + " " + out + " " + fence;
}

std::string md_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '*' || c == '_' || c == '<' || c == '>' || c == '[' || c == ']' || c == '`') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

struct Summary {
  std::map<std::string, int> by_verdict;
  std::string main_finding;
  double team_rate = 0;
};

Summary summarize(const Diagnosis& d) {
  Summary s;
  for (const auto& f : d.failures) ++s.by_verdict[f.verdict];
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
  out << "\n## Failures\n\n";
  for (const auto& f : d.failures) {
    out << fmt::format("### #{} — agent {} — {} — **{}** ({}, {})\n\n", f.id, md_text(f.agent), show_time(f.at, st),
                       f.verdict, f.confidence, f.rule);
    out << fmt::format("Kind `{}` from {}; vendor reason {}.", f.kind, md_text(f.kind_basis),
                       md_code(R(f.reason.empty() ? "-" : f.reason)));
    if (f.incident) out << fmt::format(" Part of incident {}.", *f.incident);
    out << "\n\n" << md_text(R(f.why)) << "\n\n| role | where | line |\n|---|---|---|\n";
    for (const auto& e : f.evidence)
      out << fmt::format("| {} | {}:{} | {} |\n", e.role, md_text(e.file), e.line, md_code(R(e.text)));
    out << "\n";
  }
  out << "## Coverage\n\n| input | format | lines | parsed | unmatched | zone |\n|---|---|---:|---:|---:|---|\n";
  for (const auto& c : cov)
    out << fmt::format("| {} | {} | {} | {} | {} | {} |\n", md_text(c.input.path), c.input.format, c.input.lines,
                       c.input.parsed, c.input.unmatched,
                       c.input.zone_assumed ? "taken as UTC (no --tz)" : md_text(c.input.zone));
  for (const auto& c : cov) {
    if (c.samples.empty()) continue;
    out << "\nUnmatched in " << md_text(c.input.path) << " (" << c.input.unmatched << "):\n\n";
    for (size_t i = 0; i < c.samples.size(); ++i)
      out << fmt::format("- line {}: {} — {}\n", c.samples[i].first, md_code(R(c.samples[i].second.substr(0, 200))),
                         md_text(c.whys[i]));
  }
}

const char* verdict_color(const std::string& v) {
  return v == "agent" ? "#d98c00" : v == "system" ? "#c62828" : v == "configuration" ? "#6a1b9a"
                                    : v == "benign" ? "#2e7d32" : "#607d8b";
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
         "word-break:break-all;white-space:pre-wrap}.v{color:#fff;border-radius:3px;padding:0 .4em;font-weight:600}"
         ".f{border-left:4px solid #ccc;padding:.2em .8em;margin:1em 0}.muted{color:#666}svg{background:#fafafa;"
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
  if (!d.failures.empty()) {
    TimeUs t0 = d.failures.front().at, t1 = d.failures.back().at_end;
    for (const auto& f : d.failures) {
      t0 = std::min(t0, f.at);
      t1 = std::max(t1, f.at_end);
    }
    if (t1 <= t0) t1 = t0 + 60 * kUsPerSecond;
    std::vector<std::string> agents;
    for (const auto& a : d.agents) agents.push_back(a.agent);
    const int W = 1000, left = 90, lane = 18;
    int H = 30 + lane * static_cast<int>(agents.size());
    auto x = [&](TimeUs t) {
      return left + static_cast<double>(t - t0) / static_cast<double>(t1 - t0) * (W - left - 10);
    };
    out << "<h2 id=\"timeline\">Timeline of failures</h2>\n";
    out << fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\" "
                       "aria-label=\"failures over time per agent\">\n",
                       W, H);
    for (const auto& i : d.incidents)
      out << fmt::format("<rect x=\"{:.1f}\" y=\"0\" width=\"{:.1f}\" height=\"{}\" fill=\"#ffcdd2\" opacity=\"0.6\">"
                         "<title>incident {}</title></rect>\n",
                         x(i.from), std::max(2.0, x(i.to) - x(i.from)), H, i.id);
    for (size_t k = 0; k < agents.size(); ++k) {
      int y = 20 + lane * static_cast<int>(k);
      out << fmt::format("<text x=\"4\" y=\"{}\" font-size=\"11\">{}</text><line x1=\"{}\" x2=\"{}\" y1=\"{}\" "
                         "y2=\"{}\" stroke=\"#ddd\"/>\n",
                         y + 4, html(agents[k]), left, W - 10, y, y);
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
                       "y2=\"14\" stroke=\"#c62828\"/><text x=\"125\" y=\"11\" font-size=\"10\">{}</text></svg></td>"
                       "</tr>\n",
                       html(a.agent), html(R(a.name)), a.offers, a.failures, bv("agent"), bv("system"),
                       bv("configuration"), bv("benign"), bv("unknown"), bar, team, team, pct(rate));
  }
  out << "</table>\n<p class=\"muted\">The red line marks the team's refusal rate.</p>\n";

  out << "<h2 id=\"failures\">Failures</h2>\n";
  for (const auto& f : d.failures) {
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
  }

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
                         html(R(c.samples[i].second.substr(0, 300))), html(c.whys[i]));
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
    Diagnosis r = d;
    for (auto& f : r.failures) {
      f.agent_name = redact(f.agent_name);
      f.why = redact(f.why);
      f.reason = redact(f.reason);
      f.raw = redact(f.raw);
      for (auto& e : f.evidence) e.text = redact(e.text);
    }
    for (auto& a : r.agents) a.name = redact(a.name);
    std::vector<CoverageEntry> c = coverage;
    for (auto& e : c)
      for (auto& s : e.samples) s.second = redact(s.second);
    write_diagnosis_json(out, r, c);
  } else {
    write_md(out, d, coverage, opts, redact);
  }
}

}  // namespace callaudit
