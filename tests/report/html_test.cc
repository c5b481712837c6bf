// The HTML case report: one self-contained file (inline CSS and SVG, no script, no external
// fetch, a restrictive Content-Security-Policy) in which every value from the inputs is
// escaped. Three layers:
//   - structure, read as text: the CSP, no script, no URL but the SVG namespace, the sections
//     in order (the agents' state lanes and the refusal rates among them), inline SVG, and
//     every tag and attribute from a short allow-list; the state lanes of three scenarios
//     counted band by band from their inputs;
//   - an injection corpus (fixtures/bad/html-injection/): markup in agent names, ids, reasons,
//     interaction ids, raw lines and the case id comes out as text in the HTML and Markdown;
//   - headless Chromium (/usr/bin/chromium, installed by scripts/setup.sh --browser): the page
//     loads, its sections are in the DOM, the console shows no CSP violation or script error,
//     and the screenshot is a 1200x2000 PNG with content.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "report_helpers.h"

namespace fs = std::filesystem;
using namespace reporttest;

namespace {

const char* const kChromium = "/usr/bin/chromium";
const char* const kSvgNamespace = "http://www.w3.org/2000/svg";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Tag {
  std::string name;  // lower case; "/name" for an end tag, "!" for a doctype or comment
  std::vector<std::pair<std::string, std::string>> attrs;
  size_t at = 0;
};

// A small HTML tokenizer, enough for the report: tags with their attributes; the text of
// <style> is skipped as raw text (as a browser does), everything else is text.
std::vector<Tag> tags(const std::string& html, std::string* error) {
  std::vector<Tag> out;
  size_t i = 0;
  auto is_name = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '_'; };
  while ((i = html.find('<', i)) != std::string::npos) {
    Tag t;
    t.at = i;
    ++i;
    if (i < html.size() && html[i] == '!') {
      size_t end = html.find('>', i);
      if (end == std::string::npos) {
        *error = "unterminated <! at " + std::to_string(t.at);
        return out;
      }
      t.name = "!";
      out.push_back(t);
      i = end + 1;
      continue;
    }
    bool end_tag = i < html.size() && html[i] == '/';
    if (end_tag) ++i;
    size_t s = i;
    while (i < html.size() && is_name(html[i])) ++i;
    t.name = (end_tag ? "/" : "") + lower(html.substr(s, i - s));
    if (t.name.empty() || t.name == "/") {
      *error = "a '<' that opens no tag at " + std::to_string(t.at) + ": " + html.substr(t.at, 40);
      return out;
    }
    // attributes
    while (i < html.size()) {
      while (i < html.size() && std::isspace(static_cast<unsigned char>(html[i]))) ++i;
      if (i < html.size() && html[i] == '/') {
        ++i;
        continue;
      }
      if (i >= html.size() || html[i] == '>') break;
      size_t a = i;
      while (i < html.size() && html[i] != '=' && html[i] != '>' && !std::isspace(static_cast<unsigned char>(html[i])) &&
             html[i] != '/')
        ++i;
      std::string name = lower(html.substr(a, i - a));
      std::string value;
      if (i < html.size() && html[i] == '=') {
        ++i;
        if (i < html.size() && (html[i] == '"' || html[i] == '\'')) {
          char q = html[i++];
          size_t e = html.find(q, i);
          if (e == std::string::npos) {
            *error = "unterminated attribute value in <" + t.name + "> at " + std::to_string(t.at);
            return out;
          }
          value = html.substr(i, e - i);
          i = e + 1;
        } else {
          size_t v = i;
          while (i < html.size() && html[i] != '>' && !std::isspace(static_cast<unsigned char>(html[i]))) ++i;
          value = html.substr(v, i - v);
        }
      }
      t.attrs.emplace_back(name, value);
    }
    if (i >= html.size()) {
      *error = "unterminated tag <" + t.name + "> at " + std::to_string(t.at);
      return out;
    }
    ++i;  // '>'
    out.push_back(t);
    if (t.name == "style" || t.name == "title") {
      // raw text (style) / escapable raw text (title): up to the end tag
      size_t e = lower(html.substr(i)).find("</" + t.name);
      if (e == std::string::npos) {
        *error = "no </" + t.name + ">";
        return out;
      }
      i += e;
    }
  }
  return out;
}

const std::set<std::string> kAllowedTags = {
    "!",     "html", "head", "meta",  "title", "style", "body",   "h1",  "h2",   "h3",     "p",    "strong",
    "span",  "table", "thead", "tbody", "tr",  "th",    "td",     "div", "code", "br",     "ul",   "li",
    "small", "em",   "svg",  "rect",  "text",  "line",  "circle", "g",   "nav",  "header", "section"};
const std::set<std::string> kAllowedAttrs = {
    "lang", "charset", "http-equiv", "content", "class", "style", "id",     "xmlns",       "width",
    "height", "role", "aria-label", "x",      "y",     "x1",    "x2",     "y1",          "y2",
    "cx",   "cy",      "r",          "fill",   "stroke", "opacity", "font-size", "text-anchor", "stroke-width",
    "rx",   "viewbox", "preserveaspectratio", "colspan", "title", "font-weight", "dominant-baseline"};

// The sections of every HTML report, by id, in the order they come.
const std::vector<const char*> kSections = {"summary", "timeline", "states", "incidents", "agents",
                                            "rates",   "failures", "coverage"};

// Structure every HTML report must have. `name` labels the messages.
void check_html_structure(const std::string& name, const std::string& html, bool has_failures) {
  // the CSP, in a meta element of the head
  const size_t csp = html.find("<meta http-equiv=\"Content-Security-Policy\" content=\"");
  REQUIRE_MESSAGE(csp != std::string::npos, name << ": no Content-Security-Policy meta element");
  CHECK_MESSAGE(csp < html.find("</head>"), name << ": the CSP is not in the head");
  const size_t v = csp + std::string("<meta http-equiv=\"Content-Security-Policy\" content=\"").size();
  const std::string policy = html.substr(v, html.find('"', v) - v);
  CHECK_MESSAGE(policy.find("default-src 'none'") != std::string::npos, name << ": policy " << policy);
  CHECK_MESSAGE(policy.find("script-src") == std::string::npos, name << ": the policy allows scripts: " << policy);
  CHECK_MESSAGE(policy.find("http") == std::string::npos, name << ": the policy names a host: " << policy);

  // no script, no URL except the SVG namespace
  CHECK_MESSAGE(lower(html).find("<script") == std::string::npos, name << ": a <script in the HTML");
  CHECK_MESSAGE(lower(html).find("https://") == std::string::npos, name << ": an https:// URL in the HTML");
  const std::string l = lower(html);
  for (size_t p = 0; (p = l.find("http://", p)) != std::string::npos; ++p) {
    const bool ns = html.compare(p, std::string(kSvgNamespace).size(), kSvgNamespace) == 0 &&
                    html.compare(p - 7, 7, "xmlns=\"") == 0;
    CHECK_MESSAGE(ns, name << ": a URL other than the SVG namespace at " << p << ": " << html.substr(p, 60));
  }

  // sections
  for (const char* id : kSections) {
    const std::string attr = std::string("id=\"") + id + "\"";
    CHECK_MESSAGE(count(html, attr) == 1, name << ": section " << attr << " appears " << count(html, attr) << " times");
  }
  size_t last = 0;
  for (const char* id : kSections) {
    const size_t p = html.find(std::string("id=\"") + id + "\"");
    CHECK_MESSAGE((p != std::string::npos && p >= last), name << ": section " << id << " out of order");
    if (p != std::string::npos) last = p;
  }
  if (has_failures) CHECK_MESSAGE(count(html, "<svg") >= 2, name << ": no inline SVG pictures");

  // every tag and attribute from the allow-list; exactly one <style>, no event handlers or URLs
  std::string error;
  auto ts = tags(html, &error);
  CHECK_MESSAGE(error.empty(), name << ": " << error);
  int styles = 0;
  for (const auto& t : ts) {
    const std::string bare = t.name[0] == '/' ? t.name.substr(1) : t.name;
    CHECK_MESSAGE(kAllowedTags.count(bare), name << ": tag <" << t.name << "> at " << t.at << ": "
                                                 << html.substr(t.at, 80));
    if (t.name == "style") ++styles;
    for (const auto& [a, val] : t.attrs) {
      CHECK_MESSAGE(kAllowedAttrs.count(a), name << ": attribute " << a << "=\"" << val << "\" in <" << t.name << ">");
      CHECK_MESSAGE(a.rfind("on", 0) != 0, name << ": event handler " << a << " in <" << t.name << ">");
      if (a == "style") {
        CHECK_MESSAGE(lower(val).find("url(") == std::string::npos, name << ": url( in a style attribute: " << val);
        CHECK_MESSAGE(val.find_first_of("<>\"'") == std::string::npos, name << ": markup in a style attribute: " << val);
      }
    }
  }
  CHECK_MESSAGE(styles == 1, name << ": " << styles << " <style> elements");
  // the one style sheet fetches nothing
  const size_t s0 = html.find("<style>"), s1 = html.find("</style>");
  if (s0 != std::string::npos && s1 != std::string::npos) {
    const std::string css = lower(html.substr(s0, s1 - s0));
    CHECK_MESSAGE(css.find("url(") == std::string::npos, name << ": url( in the style sheet");
    CHECK_MESSAGE(css.find("@import") == std::string::npos, name << ": @import in the style sheet");
  }
  CHECK_MESSAGE(html.rfind("</body></html>\n") == html.size() - 15, name << ": the document does not end properly");
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int run_shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  if (rc == -1) return -1;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

struct Browser {
  int code = -1;
  std::string out, err;
};

// Runs headless Chromium on `page` with the flags of the brief, plus console logging to
// standard error; `mode` is "--dump-dom" or "--screenshot=FILE".
Browser chromium(const fs::path& page, const std::string& mode, const fs::path& work) {
  const fs::path profile = work / "profile";
  fs::create_directories(profile);
  const fs::path out = work / "chromium.out", err = work / "chromium.err";
  const std::string cmd = std::string("timeout 180 ") + kChromium +
                          " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                          " --disable-background-networking --disable-component-update --disable-sync"
                          " --disable-dev-shm-usage --enable-logging=stderr --log-level=0"
                          " --user-data-dir=" + shell_quote(profile.string()) + " --window-size=1200,2000 " +
                          shell_quote(mode) + " " + shell_quote("file://" + page.string()) + " >" +
                          shell_quote(out.string()) + " 2>" + shell_quote(err.string()) + " </dev/null";
  Browser b;
  b.code = run_shell(cmd);
  b.out = testutil::read_file(out);
  b.err = testutil::read_file(err);
  return b;
}

// Console lines that mean the page did something the policy refused, or a script ran/failed.
std::vector<std::string> console_problems(const std::string& err) {
  std::vector<std::string> bad;
  for (const auto& line : split_lines(err)) {
    const bool hit = line.find(":CONSOLE") != std::string::npos || line.find("Refused to") != std::string::npos ||
                     line.find("Uncaught") != std::string::npos ||
                     line.find("Content Security Policy") != std::string::npos ||
                     line.find("Content-Security-Policy") != std::string::npos;
    if (hit) bad.push_back(line);
  }
  return bad;
}

std::uint32_t be32(const std::string& s, size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

bool have_chromium() { return fs::exists(kChromium); }

// The part of `html` from the heading with this id to the next heading.
std::string section_of(const std::string& html, const std::string& id) {
  const size_t from = html.find("<h2 id=\"" + id + "\">");
  if (from == std::string::npos) return "";
  const size_t to = html.find("<h2 ", from + 4);
  return html.substr(from, to == std::string::npos ? std::string::npos : to - from);
}

const char* const kNoChromium =
    "headless Chromium is needed at /usr/bin/chromium for this test: run scripts/setup.sh --browser (it installs "
    "the Debian package chromium; scripts/test.sh does this in CI)";

// Renders `page`: DOM dump (sections present, console clean) and screenshot (1200x2000 PNG,
// not blank). The screenshot is left at work/shot.png.
void render_and_check(const std::string& name, const fs::path& page, const fs::path& work) {
  Browser dom = chromium(page, "--dump-dom", work / "dom");
  REQUIRE_MESSAGE(dom.code == 0, name << ": chromium --dump-dom exited " << dom.code << "\n" << dom.err);
  CHECK_MESSAGE(dom.out.find("<html") != std::string::npos, name << ": no DOM dumped");
  for (const char* id : kSections)
    CHECK_MESSAGE(dom.out.find(std::string("id=\"") + id + "\"") != std::string::npos,
                  name << ": section " << id << " missing from the rendered DOM");
  CHECK_MESSAGE(lower(dom.out).find("<script") == std::string::npos, name << ": a script element in the DOM");
  CHECK_MESSAGE(lower(dom.out).find("<img") == std::string::npos, name << ": an img element in the DOM");
  auto problems = console_problems(dom.err);
  CHECK_MESSAGE(problems.empty(), name << ": console: " << (problems.empty() ? "" : problems.front()));

  const fs::path shot = work / "shot.png";
  Browser png = chromium(page, "--screenshot=" + shot.string(), work / "shot");
  REQUIRE_MESSAGE(png.code == 0, name << ": chromium --screenshot exited " << png.code << "\n" << png.err);
  problems = console_problems(png.err);
  CHECK_MESSAGE(problems.empty(), name << ": console: " << (problems.empty() ? "" : problems.front()));
  REQUIRE_MESSAGE(fs::exists(shot), name << ": no screenshot written\n" << png.err);
  const std::string data = testutil::read_file(shot);
  REQUIRE_MESSAGE(data.size() > 33, name << ": screenshot too short");
  CHECK_MESSAGE(data.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0, name << ": not a PNG");
  CHECK_MESSAGE(data.compare(12, 4, "IHDR") == 0, name << ": no IHDR chunk first");
  CHECK_MESSAGE(be32(data, 16) == 1200, name << ": screenshot width " << be32(data, 16));
  CHECK_MESSAGE(be32(data, 20) == 2000, name << ": screenshot height " << be32(data, 20));
  // a blank 1200x2000 page compresses to a few KB; text, tables and pictures do not
  CHECK_MESSAGE(data.size() > 20 * 1024, name << ": screenshot only " << data.size() << " bytes: blank page?");
}

// The injection corpus, ingested into `db`.
void ingest_injection(const std::string& db) {
  const fs::path inputs = testutil::source_dir() / "fixtures" / "bad" / "html-injection" / "inputs";
  REQUIRE(fs::exists(inputs / "events.csv"));
  REQUIRE(fs::exists(inputs / "audit.csv"));
  auto in = ingest_folder(db, inputs, "Europe/London");
  REQUIRE_MESSAGE(in.code == 0, in.err << in.out);
}

const char* const kCaseId = "<script>alert('case')</script>";

// What must never appear as markup, and how each payload must read once escaped.
const std::vector<std::string> kLive = {"<script", "<img", "<svg onload", "onmouseover='", "</style><style>",
                                        "onerror=alert(1)>", "<b>"};
const std::vector<std::string> kEscaped = {
    "&lt;script&gt;alert(1)&lt;/script&gt;",         // agent names, interaction ids, details
    "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",  // names, reasons
    "&lt;svg onload=alert(1)&gt;",                   // reason, agent id
    "javascript:alert(1)",                           // as text only (there is no href at all)
    "&#39; onmouseover=&#39;x",                      // reason, names, ids
    "&lt;/style&gt;&lt;style&gt;",                   // names
    "&amp;lt;script&amp;gt;alert(2)&amp;lt;/script&amp;gt;",  // "&lt;" stays the text "&lt;"
    "&amp;amp;lt;",                                  // "&amp;lt;" stays the text "&amp;lt;"
    "&lt;script&gt;alert(&#39;case&#39;)&lt;/script&gt;",    // the case id
};

}  // namespace

TEST_CASE("report html: every scenario's report has the CSP, no script, no URL, the sections and inline SVG") {
  for (const fs::path& dir : scenario_dirs()) {
    const std::string name = dir.filename().string();
    testutil::TempDir tmp;
    const std::string db = (tmp / "case.db").string();
    REQUIRE_MESSAGE(ingest_scenario(dir, db).code == 0, name);
    auto r = report(db, "html");
    REQUIRE_MESSAGE(r.code == 0, name << ": " << r.err);
    check_html_structure(name, r.out, true);
    CHECK_MESSAGE(r.out.find("<meta charset=\"utf-8\">") != std::string::npos, name);
  }
}

TEST_CASE("report html: a case with no failures still has every section") {
  testutil::TempDir tmp;
  testutil::write_file(tmp / "in" / "events.csv",
                       "Timestamp,Interaction ID,Queue,Event,Agent,Agent ID,Status\n"
                       "14/03/2026 09:12:22,C-1,Sales,Agent Offer,Jane Smith,1042,Ringing\n"
                       "14/03/2026 09:12:25,C-1,Sales,Agent Offer,Jane Smith,1042,Accepted\n");
  const std::string db = (tmp / "case.db").string();
  auto in = ingest_folder(db, tmp / "in", "Europe/London");
  REQUIRE_MESSAGE(in.code == 0, in.err << in.out);
  auto r = report(db, "html");
  REQUIRE(r.code == 0);
  check_html_structure("no-failures", r.out, false);
  CHECK(r.out.find("No failed offers") != std::string::npos);
}

TEST_CASE("report html: the injection corpus comes out as text, in HTML and Markdown") {
  testutil::TempDir tmp;
  const std::string db = (tmp / "case.db").string();
  ingest_injection(db);

  auto html = report(db, "html", {"--case", kCaseId});
  REQUIRE_MESSAGE(html.code == 0, html.err);
  check_html_structure("html-injection", html.out, true);
  for (const auto& live : kLive)
    CHECK_MESSAGE(lower(html.out).find(lower(live)) == std::string::npos, "live markup in the HTML: " << live);
  for (const auto& esc : kEscaped)
    CHECK_MESSAGE(html.out.find(esc) != std::string::npos, "payload not found escaped in the HTML: " << esc);
  // the payloads reached every part of the report: failures of four agents, coverage samples
  CHECK_MESSAGE(count(html.out, "&lt;script&gt;alert(1)&lt;/script&gt;") >= 5, "the <script> payload is missing places");
  CHECK_MESSAGE(html.out.find("Unmatched in ") != std::string::npos, "no unmatched samples: the corpus lost a row");
  // the state lanes and the rates name agents by their ids, escaped; the 6 failures are markers
  const std::string lanes = section_of(html.out, "states");
  CHECK(lanes.find("<title>agent &lt;svg onload=alert(1)&gt;</title>") != std::string::npos);
  CHECK(lanes.find("<title>agent 1046&#39; onmouseover=&#39;x</title>") != std::string::npos);
  CHECK(count(lanes, "class=\"fm\"") == 6);
  CHECK(count(lanes, "<g class=\"lane\">") == 6);
  const std::string rates = section_of(html.out, "rates");
  CHECK(rates.find("<tr><td>&lt;svg onload=alert(1)&gt;</td>") != std::string::npos);
  CHECK(rates.find("<tr><td>1046&#39; onmouseover=&#39;x</td>") != std::string::npos);

  auto md = report(db, "md", {"--case", kCaseId});
  REQUIRE_MESSAGE(md.code == 0, md.err);
  const std::string text = md_outside_code(md.out);
  for (const char* live : {"<script", "<img", "<svg", "</style>", "<style>", "](javascript:", "<b>", "&lt;"})
    CHECK_MESSAGE(lower(text).find(live) == std::string::npos,
                  "raw markup outside code spans in the Markdown: " << live << "\n" << md.out);
  // names and reasons that are not in code spans are backslash-escaped
  CHECK(md.out.find("\\<script\\>alert(1)\\</script\\>") != std::string::npos);
  CHECK(md.out.find("\\&amp;lt;") != std::string::npos);  // shows "&amp;lt;", not "&lt;"
  CHECK(md.out.find("\\</style\\>\\<style\\>") != std::string::npos);
  CHECK(md.out.find("# callaudit report — case \\<script\\>alert('case')\\</script\\>\n") != std::string::npos);
  check_markdown_shape("html-injection md", md.out);
}

TEST_CASE("report html: the state lanes of three scenarios, counted from their inputs") {
  struct Case {
    const char* scenario;
    size_t lanes, ready, not_ready, busy, unseen, markers;
  };
  const Case cases[] = {
      // 1044 refused at 09:30:13; its window (09:28:13 to 09:32:13) begins Available (ready since
      // 08:59:16) and holds "Available -> Busy" (Busy is not ready in Netcall) at 09:30:10; 1045
      // has no failure, so no lane
      {"r2-netcall-agent-went-busy-before-offer", 1, 1, 1, 0, 0, 1},
      // 1045 did not answer at 12:06 (ringing from 12:06:10); AwayBreak (not ready) since 12:00
      // holds for the whole window; its Ready at 12:15:00 is after the window
      {"r3-offered-while-on-break", 1, 0, 1, 0, 0, 1},
      // a CDR only: four agents with one failure each and no state change at all
      {"r5-network-incident-many-agents", 4, 0, 0, 0, 4, 4},
  };
  for (const auto& c : cases) {
    const fs::path dir = testutil::source_dir() / "fixtures" / "scenarios" / c.scenario;
    testutil::TempDir tmp;
    const std::string db = (tmp / "case.db").string();
    REQUIRE_MESSAGE(ingest_scenario(dir, db).code == 0, c.scenario);
    auto r = report(db, "html");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const std::string lanes = section_of(r.out, "states");
    REQUIRE_MESSAGE(!lanes.empty(), c.scenario << ": no states section");
    CHECK_MESSAGE(count(lanes, "<g class=\"lane\">") == c.lanes, c.scenario);
    CHECK_MESSAGE(count(lanes, "class=\"sb sb-ready\"") == c.ready, c.scenario);
    CHECK_MESSAGE(count(lanes, "class=\"sb sb-not-ready\"") == c.not_ready, c.scenario);
    CHECK_MESSAGE(count(lanes, "class=\"sb sb-busy\"") == c.busy, c.scenario);
    CHECK_MESSAGE(count(lanes, "class=\"sb sb-unseen\"") == c.unseen, c.scenario);
    CHECK_MESSAGE(count(lanes, "class=\"sb ") == c.ready + c.not_ready + c.busy + c.unseen, c.scenario);
    CHECK_MESSAGE(count(lanes, "class=\"fm\"") == c.markers, c.scenario);
    const std::string said = "Every agent with failures has a lane: " + std::to_string(c.lanes) +
                             (c.lanes == 1 ? " agent, " : " agents, ") + std::to_string(c.markers) +
                             (c.markers == 1 ? " window, " : " windows, ") + std::to_string(c.markers) +
                             (c.markers == 1 ? " failure." : " failures.");
    CHECK_MESSAGE(lanes.find(said) != std::string::npos, c.scenario << ": " << lanes.substr(0, 400));
    // the legend names every state and verdict
    for (const char* word : {">ready<", ">busy<", ">not ready<", ">no state seen<", ">agent<", ">system<"})
      CHECK_MESSAGE(lanes.find(word) != std::string::npos, c.scenario << ": legend without " << word);
  }
}

TEST_CASE("report html: headless Chromium renders a scenario report and the injection report cleanly") {
  if (!have_chromium()) {
    FAIL(kNoChromium);
    return;
  }
  testutil::TempDir tmp;

  // control: the console capture works (an inline script under the report's policy is reported)
  {
    const fs::path page = tmp / "control.html";
    testutil::write_file(page,
                         "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                         "'none'; style-src 'unsafe-inline'\"><title>c</title></head><body><p id=\"p\">x</p>"
                         "<script>document.title='ran'</script></body></html>\n");
    Browser b = chromium(page, "--dump-dom", tmp / "control");
    REQUIRE_MESSAGE(b.code == 0, "chromium exited " << b.code << "\n" << b.err);
    CHECK_MESSAGE(!console_problems(b.err).empty(),
                  "the control page's blocked script left no console line: the console check would see nothing\n"
                      << b.err);
    CHECK_MESSAGE(b.out.find("<title>c</title>") != std::string::npos, "the control page's script ran:\n" << b.out);
  }

  // a scenario with an incident and several agents
  {
    const fs::path dir = testutil::source_dir() / "fixtures" / "scenarios" / "r5-network-incident-many-agents";
    const std::string db = (tmp / "r5.db").string();
    REQUIRE(ingest_scenario(dir, db).code == 0);
    const fs::path page = tmp / "r5.html";
    auto r = testutil::run_cli({"report", "--db", db, "--patterns", patterns_dir().string(), "--format", "html",
                                "--case", "4711", "-o", page.string()});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    render_and_check("r5 scenario", page, tmp / "r5");
    if (const char* keep = std::getenv("CALLAUDIT_KEEP_SCREENSHOTS"))
      fs::copy_file(tmp / "r5" / "shot.png", fs::path(keep) / "report-r5.png", fs::copy_options::overwrite_existing);
  }

  // the injection corpus
  {
    const std::string db = (tmp / "inj.db").string();
    ingest_injection(db);
    const fs::path page = tmp / "inj.html";
    auto r = testutil::run_cli({"report", "--db", db, "--patterns", patterns_dir().string(), "--format", "html",
                                "--case", kCaseId, "-o", page.string()});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    render_and_check("html-injection", page, tmp / "inj");
    if (const char* keep = std::getenv("CALLAUDIT_KEEP_SCREENSHOTS"))
      fs::copy_file(tmp / "inj" / "shot.png", fs::path(keep) / "report-injection.png",
                    fs::copy_options::overwrite_existing);
  }
}
