// The refusal rates of the Markdown and HTML reports: per day for the team and each agent, per
// hour for the team. Every cell is read back from the report and compared with the figures of
// the diagnosis (AgentFigures and Diagnosis offers_by_hour / refusals_by_hour), for every
// scenario and for a two-day case whose offers are counted by hand.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>

#include "callaudit/diagnose.h"
#include "callaudit/patterns.h"
#include "callaudit/store.h"
#include "report_helpers.h"

namespace fs = std::filesystem;
using namespace reporttest;

namespace {

// The cells of a Markdown table row: "| a | b |" -> {"a", "b"} (no escaped pipes expected).
std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  if (row.size() < 4 || row.front() != '|' || row.back() != '|') return out;
  const std::string body = row.substr(2, row.size() - 4);
  size_t at = 0;
  for (size_t p; (p = body.find(" | ", at)) != std::string::npos; at = p + 3) out.push_back(body.substr(at, p - at));
  out.push_back(body.substr(at));
  return out;
}

struct Sums {
  std::int64_t refusals = 0, offers = 0;
};

// Day totals of hourly figures ("2026-03-14T09" -> "2026-03-14").
std::map<std::string, Sums> by_day(const std::map<std::string, std::int64_t>& offers,
                                   const std::map<std::string, std::int64_t>& refusals) {
  std::map<std::string, Sums> out;
  for (const auto& [h, n] : offers) out[h.substr(0, 10)].offers += n;
  for (const auto& [h, n] : refusals) out[h.substr(0, 10)].refusals += n;
  return out;
}

std::string expected_cell(const Sums& s) {
  if (s.offers == 0 && s.refusals == 0) return "–";
  const double r = s.offers ? static_cast<double>(s.refusals) / static_cast<double>(s.offers) : 0;
  return fmt::format("{:.0f}% ({}/{})", r * 100, s.refusals, s.offers);
}

std::int64_t at_key(const std::map<std::string, std::int64_t>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

callaudit::Diagnosis diagnose_db(const std::string& db) {
  auto cat = callaudit::Catalog::load(patterns_dir());
  REQUIRE_MESSAGE(cat.ok(), cat.error());
  auto store = callaudit::Store::open(db, callaudit::Store::Mode::read_only);
  REQUIRE_MESSAGE(store.ok(), store.error());
  auto d = callaudit::diagnose(**store, *cat, callaudit::DiagnosisParams::from(cat->rules));
  REQUIRE_MESSAGE(d.ok(), d.error());
  return std::move(*d);
}

// Reads the Markdown rates section and checks every cell against the figures; returns the
// number of cells checked.
int check_md_rates(const std::string& name, const std::string& md, const callaudit::Diagnosis& d) {
  const size_t from = md.find("\n## Refusal rates\n");
  REQUIRE_MESSAGE(from != std::string::npos, name << ": no rates section");
  const size_t to = md.find("\n## ", from + 5);
  const auto lines = split_lines(md.substr(from, to - from));
  int checked = 0;

  // the day table
  auto header = std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("| day (UTC) |", 0) == 0; });
  REQUIRE_MESSAGE(header != lines.end(), name << ": no day table");
  const auto days = cells(*header);  // "day (UTC)", then the days
  REQUIRE(days.size() >= 2);
  const auto team_days = by_day(d.offers_by_hour, d.refusals_by_hour);
  CHECK_MESSAGE(days.size() - 1 == std::min<size_t>(team_days.size(), 7), name);
  std::map<std::string, std::vector<std::string>> rows;
  for (auto it = header + 2; it != lines.end() && !it->empty() && (*it)[0] == '|'; ++it) {
    auto c = cells(*it);
    REQUIRE_MESSAGE(c.size() == days.size(), name << ": " << *it);
    rows[c[0]] = c;
  }
  REQUIRE_MESSAGE(rows.count("**team**"), name << ": no team row");
  CHECK_MESSAGE(rows.size() == d.agents.size() + 1, name << ": " << rows.size() - 1 << " agent rows");
  for (size_t k = 1; k < days.size(); ++k) {
    CHECK_MESSAGE(rows["**team**"][k] == expected_cell(team_days.count(days[k]) ? team_days.at(days[k]) : Sums{}),
                  name << ": team on " << days[k]);
    ++checked;
    for (const auto& a : d.agents) {
      const auto ad = by_day(a.offers_by_hour, a.refusals_by_hour);
      const auto row = rows.find(md_escaped(a.agent));
      REQUIRE_MESSAGE(row != rows.end(), name << ": no row for agent " << a.agent);
      CHECK_MESSAGE(row->second[k] == expected_cell(ad.count(days[k]) ? ad.at(days[k]) : Sums{}),
                    name << ": agent " << a.agent << " on " << days[k]);
      ++checked;
    }
  }

  // the hour table: every hour with offers (up to 48), offers, refusals, rate, top agents
  auto hours = std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("| hour (UTC) |", 0) == 0; });
  REQUIRE_MESSAGE(hours != lines.end(), name << ": no hour table");
  size_t hour_rows = 0;
  for (auto it = hours + 2; it != lines.end() && !it->empty() && (*it)[0] == '|'; ++it) {
    auto c = cells(*it);
    REQUIRE_MESSAGE(c.size() == 5, name << ": " << *it);
    ++hour_rows;
    // "2026-03-14 09:00" -> "2026-03-14T09"
    const std::string key = c[0].substr(0, 10) + "T" + c[0].substr(11, 2);
    CHECK_MESSAGE(c[0].substr(13) == ":00", name << ": " << c[0]);
    const std::int64_t offers = at_key(d.offers_by_hour, key), refusals = at_key(d.refusals_by_hour, key);
    CHECK_MESSAGE(offers > 0, name << ": an hour without offers: " << *it);
    CHECK_MESSAGE(c[1] == std::to_string(offers), name << ": " << *it);
    CHECK_MESSAGE(c[2] == std::to_string(refusals), name << ": " << *it);
    CHECK_MESSAGE(c[3] == fmt::format("{:.0f}%", offers ? 100.0 * static_cast<double>(refusals) / static_cast<double>(offers) : 0.0),
                  name << ": " << *it);
    checked += 3;
    // the agents named: each with its own refusals and offers in that hour
    std::int64_t named = 0;
    size_t agents_with = 0;
    for (const auto& a : d.agents) {
      const std::int64_t r = at_key(a.refusals_by_hour, key);
      if (r == 0) continue;
      ++agents_with;
      const std::string entry = md_escaped(a.agent) + " " + std::to_string(r) + "/" + std::to_string(at_key(a.offers_by_hour, key));
      if (c[4].find(entry) != std::string::npos) named += 1;
    }
    CHECK_MESSAGE(named == static_cast<std::int64_t>(std::min<size_t>(agents_with, 3)), name << ": " << *it);
    if (agents_with > 3) CHECK_MESSAGE(c[4].find("+" + std::to_string(agents_with - 3) + " more") != std::string::npos, *it);
  }
  CHECK_MESSAGE(hour_rows == std::min<size_t>(d.offers_by_hour.size(), 48), name << ": " << hour_rows << " hour rows");
  return checked;
}

}  // namespace

TEST_CASE("report: the Markdown rates of every scenario are the diagnosis figures") {
  int checked = 0;
  for (const fs::path& dir : scenario_dirs()) {
    const std::string name = dir.filename().string();
    testutil::TempDir tmp;
    const std::string db = (tmp / "case.db").string();
    REQUIRE_MESSAGE(ingest_scenario(dir, db).code == 0, name);
    auto md = report(db, "md");
    REQUIRE(md.code == 0);
    checked += check_md_rates(name, md.out, diagnose_db(db));
  }
  CHECK_MESSAGE(checked >= 50, "only " << checked << " cells checked");
}

TEST_CASE("report: rates over two days and two agents, offers counted by hand") {
  // Netcall event history, read in UTC: 1042 has 3 offers on the 14th (2 at 09h, 1 at 10h) and
  // 1 on the 15th; 1043 has 2 on the 15th at 09h. Failures: 1042 at 09:05 on the 14th, 1043 both.
  testutil::TempDir tmp;
  testutil::write_file(tmp / "in" / "events.csv",
                       "Timestamp,Interaction ID,Queue,Event,Agent,Agent ID,Status\n"
                       "14/03/2026 09:00:00,C-1,Sales,Agent Offer,Jane Smith,1042,Ringing\n"
                       "14/03/2026 09:00:05,C-1,Sales,Agent Offer,Jane Smith,1042,Accepted\n"
                       "14/03/2026 09:05:00,C-2,Sales,Agent Offer,Jane Smith,1042,Ringing\n"
                       "14/03/2026 09:05:20,C-2,Sales,Agent Offer,Jane Smith,1042,Failure (No Answer)\n"
                       "14/03/2026 10:00:00,C-3,Sales,Agent Offer,Jane Smith,1042,Ringing\n"
                       "14/03/2026 10:00:05,C-3,Sales,Agent Offer,Jane Smith,1042,Accepted\n"
                       "15/03/2026 09:00:00,C-4,Sales,Agent Offer,Jane Smith,1042,Ringing\n"
                       "15/03/2026 09:00:05,C-4,Sales,Agent Offer,Jane Smith,1042,Accepted\n"
                       "15/03/2026 09:10:00,C-5,Sales,Agent Offer,Omar Haddad,1043,Ringing\n"
                       "15/03/2026 09:10:20,C-5,Sales,Agent Offer,Omar Haddad,1043,Failure (No Answer)\n"
                       "15/03/2026 09:20:00,C-6,Sales,Agent Offer,Omar Haddad,1043,Ringing\n"
                       "15/03/2026 09:20:20,C-6,Sales,Agent Offer,Omar Haddad,1043,Failure (No Answer)\n");
  const std::string db = (tmp / "case.db").string();
  auto in = ingest_folder(db, tmp / "in", "UTC");
  REQUIRE_MESSAGE(in.code == 0, in.err << in.out);
  const auto d = diagnose_db(db);
  // the hand count, through the figures the tables are made from
  REQUIRE(d.offers == 6);
  CHECK(at_key(d.offers_by_hour, "2026-03-14T09") == 2);
  CHECK(at_key(d.offers_by_hour, "2026-03-14T10") == 1);
  CHECK(at_key(d.offers_by_hour, "2026-03-15T09") == 3);
  REQUIRE(d.failures.size() == 3);

  auto md = report(db, "md");
  REQUIRE(md.code == 0);
  CHECK(check_md_rates("two days", md.out, d) >= 2 * 3 + 3 * 3);
  // two day columns, and 1043 had no offer on the 14th
  CHECK(md.out.find("| day (UTC) | 2026-03-14 | 2026-03-15 |\n|---|---:|---:|\n") != std::string::npos);
  CHECK(md.out.find("\n| 1043 | – | ") != std::string::npos);

  // the HTML shows the same cells
  auto html = report(db, "html");
  REQUIRE(html.code == 0);
  const size_t rates = html.out.find("<h2 id=\"rates\">");
  REQUIRE(rates != std::string::npos);
  const std::string section = html.out.substr(rates, html.out.find("<h2 ", rates + 5) - rates);
  const auto team = by_day(d.offers_by_hour, d.refusals_by_hour);
  for (const auto& [day, s] : team) CHECK_MESSAGE(section.find("<td class=\"n\">" + expected_cell(s) + "</td>") != std::string::npos, day);
  for (const auto& a : d.agents)
    for (const auto& [day, s] : by_day(a.offers_by_hour, a.refusals_by_hour))
      CHECK_MESSAGE(section.find("<td class=\"n\">" + expected_cell(s) + "</td>") != std::string::npos, a.agent << " " << day);
  CHECK(count(section, "class=\"hb\"") == 3);  // one bar per hour with offers
  CHECK(section.find("<tr><td>2026-03-14 10:00</td><td class=\"n\">1</td>") != std::string::npos);
}
