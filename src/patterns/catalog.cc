// Loads the data files under patterns/ into a Catalog: formats, code tables, rule parameters.
// Covered by tests/patterns/catalog_test.cc (every shipped file loads and its samples hold).
#include <re2/re2.h>
#include <re2/set.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <toml++/toml.h>

#include "callaudit/patterns.h"

#ifndef CALLAUDIT_SOURCE_PATTERNS
#define CALLAUDIT_SOURCE_PATTERNS ""
#endif

namespace callaudit {
namespace fs = std::filesystem;

std::string_view to_string(Layout l) { return l == Layout::text ? "text" : "csv"; }

double RuleParams::number(const std::string& key, double fallback) const {
  auto it = numbers.find(key);
  return it == numbers.end() ? fallback : it->second;
}

namespace {

struct Ctx {
  std::string file;
  std::string where(const toml::node& n) const {
    return file + ":" + std::to_string(n.source().begin.line);
  }
  std::string where(int line) const { return file + ":" + std::to_string(line); }
};

struct LoadError {
  std::string message;
};

std::string str_of(const toml::table& t, std::string_view key, const std::string& fallback = "") {
  if (auto v = t[key].value<std::string>()) return *v;
  return fallback;
}

std::string required_str(const Ctx& c, const toml::table& t, std::string_view key) {
  auto v = t[key].value<std::string>();
  if (!v) throw LoadError{c.where(t) + ": missing string '" + std::string(key) + "'"};
  return *v;
}

std::vector<std::string> str_list(const Ctx& c, const toml::node_view<const toml::node> n) {
  std::vector<std::string> out;
  if (!n) return out;
  if (auto s = n.value<std::string>()) {
    out.push_back(*s);
    return out;
  }
  const auto* arr = n.as_array();
  if (!arr) throw LoadError{c.where(*n.node()) + ": expected a string or an array of strings"};
  for (const auto& e : *arr) {
    auto s = e.value<std::string>();
    if (!s) throw LoadError{c.where(e) + ": expected a string"};
    out.push_back(*s);
  }
  return out;
}

std::shared_ptr<re2::RE2> compile(const Ctx& c, const std::string& pattern, int line, const std::string& what) {
  RE2::Options o;
  o.set_log_errors(false);
  auto re = std::make_shared<re2::RE2>(pattern, o);
  if (!re->ok()) throw LoadError{c.where(line) + ": " + what + ": bad regex: " + re->error()};
  return re;
}

std::string substitute_vars(const Ctx& c, const std::string& text, const std::map<std::string, std::string>& vars,
                            int line) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      size_t end = text.find('}', i);
      if (end == std::string::npos) throw LoadError{c.where(line) + ": unterminated ${...}"};
      std::string name = text.substr(i + 2, end - i - 2);
      auto it = vars.find(name);
      if (it == vars.end()) throw LoadError{c.where(line) + ": unknown variable ${" + name + "}"};
      out += it->second;
      i = end;
    } else {
      out += text[i];
    }
  }
  return out;
}

FieldPairs pairs_of(const Ctx& c, const toml::node_view<const toml::node> n) {
  FieldPairs out;
  if (!n) return out;
  const auto* t = n.as_table();
  if (!t) throw LoadError{c.where(*n.node()) + ": expected a table"};
  for (const auto& [k, v] : *t) {
    std::string value;
    if (auto s = v.value<std::string>())
      value = *s;
    else if (auto i = v.value<int64_t>())
      value = std::to_string(*i);
    else if (auto b = v.value<bool>())
      value = *b ? "true" : "false";
    else
      throw LoadError{c.where(v) + ": value of '" + std::string(k.str()) + "' must be a string or number"};
    out.emplace_back(std::string(k.str()), value);
  }
  return out;
}

std::vector<Condition> conditions_of(const Ctx& c, const toml::node_view<const toml::node> n) {
  std::vector<Condition> out;
  for (auto& [field, value] : pairs_of(c, n)) {
    int line = static_cast<int>(n.node()->source().begin.line);
    out.push_back(Condition{field, compile(c, value, line, "condition on '" + field + "'")});
  }
  return out;
}

std::optional<EventType> emit_of(const Ctx& c, const toml::table& t, bool& present) {
  present = false;
  auto e = t["emit"].value<std::string>();
  if (!e) return std::nullopt;
  present = true;
  if (*e == "none" || *e == "unmatched") return std::nullopt;
  auto type = event_type_from(*e);
  if (!type) throw LoadError{c.where(t) + ": emit must be offer, result, state or none, not '" + *e + "'"};
  return type;
}

EventRule rule_of(const Ctx& c, const toml::table& t, const std::string& fallback_name) {
  EventRule r;
  r.toml_line = static_cast<int>(t.source().begin.line);
  r.name = str_of(t, "name", fallback_name);
  r.when = conditions_of(c, t["when"]);
  r.unless = conditions_of(c, t["unless"]);
  bool present = false;
  r.emit = emit_of(c, t, present);
  r.set = pairs_of(c, t["set"]);
  r.unmatched = t["emit"].value_or(std::string()) == "unmatched";
  r.merge = str_of(t, "merge");
  if (!r.merge.empty() && r.merge != "weak" && r.merge != "primary")
    throw LoadError{c.where(t) + ": merge must be weak or primary"};
  r.next_state_initiator = str_of(t, "next_state_initiator");
  r.alias = str_of(t, "alias");
  if (!r.alias.empty() && r.alias != "source" && r.alias != "target")
    throw LoadError{c.where(t) + ": alias must be source or target"};
  r.record_leg = t["record_leg"].value_or(false);
  return r;
}

std::vector<Sample> samples_of(const Ctx& c, const toml::node_view<const toml::node> n, const char* text_key) {
  std::vector<Sample> out;
  if (!n) return out;
  const auto* arr = n.as_array();
  if (!arr) throw LoadError{c.where(*n.node()) + ": samples must be an array of tables"};
  for (const auto& e : *arr) {
    const auto* t = e.as_table();
    if (!t) throw LoadError{c.where(e) + ": a sample must be a table"};
    Sample s;
    s.toml_line = static_cast<int>(t->source().begin.line);
    s.text = required_str(c, *t, text_key);
    s.expect = pairs_of(c, (*t)["expect"]);
    out.push_back(std::move(s));
  }
  return out;
}

const std::vector<std::string> kStates = {"ready", "busy", "not_ready"};
const std::vector<std::string> kInitiators = {"agent", "supervisor", "system", "unknown"};

void check_one_of(const Ctx& c, const toml::node& n, const std::string& v, const std::vector<std::string>& allowed,
                  const char* what) {
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
    throw LoadError{c.where(n) + ": " + what + " '" + v + "' is not one of the allowed words"};
}

FormatSpec format_from(const Ctx& c, const toml::table& root) {
  FormatSpec f;
  const auto* fmt = root["format"].as_table();
  if (!fmt) throw LoadError{c.file + ": missing [format] table"};
  f.name = required_str(c, *fmt, "name");
  f.title = str_of(*fmt, "title", f.name);
  f.source = str_of(*fmt, "source", "representative");
  f.description = str_of(*fmt, "description");
  std::string layout = required_str(c, *fmt, "layout");
  if (layout == "text")
    f.layout = Layout::text;
  else if (layout == "csv")
    f.layout = Layout::csv;
  else
    throw LoadError{c.where(*fmt) + ": layout must be text or csv"};
  f.detect_min = (*fmt)["detect_min"].value_or(0.6);
  f.reason_table = str_of(*fmt, "reasons", f.name);

  const auto* time = root["time"].as_table();
  if (!time) throw LoadError{c.file + ": missing [time] table"};
  f.time_field = str_of(*time, "field", "ts");
  for (const auto& l : str_list(c, (*time)["layouts"])) {
    auto tl = TimeLayout::compile(l);
    if (!tl.ok()) throw LoadError{c.where(*time) + ": " + tl.error()};
    f.time_layouts.push_back(*tl);
  }
  if (f.time_layouts.empty()) throw LoadError{c.where(*time) + ": [time] needs layouts"};
  std::string precision = str_of(*time, "precision", "second");
  if (precision == "microsecond")
    f.precision = Precision::microsecond;
  else if (precision == "millisecond")
    f.precision = Precision::millisecond;
  else if (precision == "second")
    f.precision = Precision::second;
  else if (precision == "minute")
    f.precision = Precision::minute;
  else
    throw LoadError{c.where(*time) + ": precision must be microsecond, millisecond, second or minute"};
  std::string zone = str_of(*time, "zone", "local");
  if (zone != "local" && zone != "utc" && zone != "data")
    throw LoadError{c.where(*time) + ": zone must be local, utc or data"};
  f.needs_zone = zone == "local";
  f.result_at_ring_start = (*time)["result_at_ring_start"].value_or(false);

  std::map<std::string, std::string> vars;
  for (auto& [k, val] : pairs_of(c, root["vars"])) vars[k] = val;

  if (const auto* agent = root["agent"].as_table()) {
    for (const auto& id : str_list(c, (*agent)["ids"])) {
      auto re = compile(c, id, static_cast<int>(agent->source().begin.line), "[agent] ids");
      if (re->NamedCapturingGroups().count("id") == 0)
        throw LoadError{c.where(*agent) + ": [agent] ids pattern needs a group (?P<id>...)"};
      f.agent_ids.push_back(re);
    }
  }

  if (f.layout == Layout::text) {
    const auto* arr = root["pattern"].as_array();
    if (!arr || arr->empty()) throw LoadError{c.file + ": a text format needs [[pattern]] entries"};
    RE2::Options o;
    o.set_log_errors(false);
    auto set = std::make_shared<re2::RE2::Set>(o, RE2::ANCHOR_BOTH);
    for (const auto& e : *arr) {
      const auto* t = e.as_table();
      if (!t) throw LoadError{c.where(e) + ": [[pattern]] must be a table"};
      LinePattern p;
      p.toml_line = static_cast<int>(t->source().begin.line);
      p.name = required_str(c, *t, "name");
      p.regex = substitute_vars(c, required_str(c, *t, "regex"), vars, p.toml_line);
      p.re = compile(c, p.regex, p.toml_line, "pattern '" + p.name + "'");
      p.continuation = (*t)["continuation"].value_or(false);
      bool has_emit = false;
      (void)emit_of(c, *t, has_emit);
      if (has_emit) p.rule = rule_of(c, *t, p.name);
      p.samples = samples_of(c, (*t)["sample"], "line");
      std::string err;
      if (set->Add(p.regex, &err) < 0) throw LoadError{c.where(p.toml_line) + ": pattern '" + p.name + "': " + err};
      f.patterns.push_back(std::move(p));
    }
    if (!set->Compile()) throw LoadError{c.file + ": the patterns together are too large to compile"};
    f.set = set;
  } else {
    const auto* csv = root["csv"].as_table();
    if (!csv) throw LoadError{c.file + ": a csv format needs a [csv] table"};
    f.header = str_list(c, (*csv)["header"]);
    f.required = str_list(c, (*csv)["required"]);
    if (f.required.empty()) throw LoadError{c.where(*csv) + ": [csv] needs required = [header names]"};
    f.headerless = (*csv)["headerless"].value_or(false);
    if (auto d = (*csv)["headerless_detect"].value<std::string>())
      f.headerless_detect = compile(c, *d, static_cast<int>(csv->source().begin.line), "headerless_detect");
    if (f.headerless && f.header.empty()) throw LoadError{c.where(*csv) + ": headerless needs header = [...]"};
    if (const auto* cols = root["columns"].as_table()) {
      for (const auto& [k, v] : *cols) {
        toml::node_view<const toml::node> view{&v};
        f.columns.emplace_back(std::string(k.str()), str_list(c, view));
      }
    }
    f.samples = samples_of(c, root["sample"], "row");
  }

  if (const auto* arr = root["extract"].as_array()) {
    for (const auto& e : *arr) {
      const auto* t = e.as_table();
      if (!t) throw LoadError{c.where(e) + ": [[extract]] must be a table"};
      Extract x;
      x.toml_line = static_cast<int>(t->source().begin.line);
      x.field = required_str(c, *t, "field");
      x.re = compile(c, substitute_vars(c, required_str(c, *t, "regex"), vars, x.toml_line), x.toml_line,
                     "extract on '" + x.field + "'");
      f.extracts.push_back(std::move(x));
    }
  }
  if (const auto* arr = root["event"].as_array()) {
    int n = 0;
    for (const auto& e : *arr) {
      const auto* t = e.as_table();
      if (!t) throw LoadError{c.where(e) + ": [[event]] must be a table"};
      f.events.push_back(rule_of(c, *t, "event" + std::to_string(++n)));
    }
  }
  if (const auto* st = root["states"].as_table()) {
    for (const auto& [k, v] : *st) {
      StateValue sv;
      if (auto s = v.value<std::string>()) {
        sv.state = *s;
      } else if (const auto* t = v.as_table()) {
        sv.state = required_str(c, *t, "state");
        sv.initiator = str_of(*t, "initiator");
        if (!sv.initiator.empty()) check_one_of(c, v, sv.initiator, kInitiators, "initiator");
      } else {
        throw LoadError{c.where(v) + ": a state value is a string or { state = ..., initiator = ... }"};
      }
      check_one_of(c, v, sv.state, kStates, "state");
      f.states[std::string(k.str())] = sv;
    }
  }
  if (const auto* arr = root["initiator"].as_array()) {
    for (const auto& e : *arr) {
      const auto* t = e.as_table();
      if (!t) throw LoadError{c.where(e) + ": [[initiator]] must be a table"};
      std::string value = required_str(c, *t, "value");
      check_one_of(c, e, value, kInitiators, "initiator");
      f.initiators.emplace_back(compile(c, required_str(c, *t, "match"), static_cast<int>(t->source().begin.line),
                                        "[[initiator]] match"),
                                value);
    }
  }
  if (const auto* w = root["windows"].as_table()) {
    f.merge_window_ms = static_cast<int>((*w)["merge_ms"].value_or(int64_t{2000}));
    f.mark_window_ms = static_cast<int>((*w)["mark_ms"].value_or(int64_t{2000}));
    f.alias_window_ms = static_cast<int>((*w)["alias_ms"].value_or(int64_t{1000}));
  }
  return f;
}

toml::table parse_toml(const fs::path& file) {
  try {
    return toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw LoadError{file.string() + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description())};
  }
}

std::vector<fs::path> toml_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".toml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

CodeEntry entry_of(const Ctx& c, const toml::node& v, const std::string& name) {
  CodeEntry e;
  e.name = name;
  if (auto s = v.value<std::string>()) {
    e.kind = *s;
    return e;
  }
  const auto* t = v.as_table();
  if (!t) throw LoadError{c.where(v) + ": '" + name + "' must be a kind or a table"};
  e.kind = required_str(c, *t, "kind");
  e.confidence = str_of(*t, "confidence");
  if (auto n = (*t)["number"].value<int64_t>()) e.number = static_cast<int>(*n);
  if (auto nm = (*t)["name"].value<std::string>()) e.name = *nm;
  return e;
}

void load_code_file(const fs::path& file, Codes& codes) {
  Ctx c{file.string()};
  toml::table root = parse_toml(file);
  std::string stem = file.stem().string();
  auto int_key = [&](const toml::key& k, const toml::node& v) {
    try {
      return std::stoi(std::string(k.str()));
    } catch (...) {
      throw LoadError{c.where(v) + ": '" + std::string(k.str()) + "' is not a number"};
    }
  };
  if (const auto* t = root["codes"].as_table()) {
    auto& target = stem == "sip" ? codes.sip : codes.q850;
    for (const auto& [k, v] : *t) {
      int code = int_key(k, v);
      CodeEntry e = entry_of(c, v, std::string(k.str()));
      if (const auto* vt = v.as_table()) {
        if (auto nm = (*vt)["phrase"].value<std::string>()) e.name = *nm;
      }
      e.number = code;
      target[code] = e;
    }
  }
  if (const auto* t = root["classes"].as_table())
    for (const auto& [k, v] : *t) codes.sip_classes[std::string(k.str())] = v.value_or(std::string());
  if (const auto* t = root["causes"].as_table())
    for (const auto& [k, v] : *t) codes.causes[std::string(k.str())] = entry_of(c, v, std::string(k.str()));
  if (stem == "vendor-reasons") {
    for (const auto& [table, v] : root) {
      const auto* t = v.as_table();
      if (!t) continue;
      auto& target = codes.vendor[std::string(table.str())];
      for (const auto& [k, e] : *t) target[std::string(k.str())] = entry_of(c, e, std::string(k.str()));
    }
  }
}

void flatten_rules(const Ctx& c, const toml::table& t, const std::string& prefix, RuleParams& out) {
  for (const auto& [k, v] : t) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = v.as_table()) {
      flatten_rules(c, *sub, key, out);
    } else if (auto d = v.value<double>()) {
      out.numbers[key] = *d;
    } else if (const auto* arr = v.as_array()) {
      auto& list = out.lists[key];
      for (const auto& e : *arr) list.push_back(e.value_or(std::string()));
    } else if (auto s = v.value<std::string>()) {
      out.texts[key] = *s;
    }
  }
}

}  // namespace

Result<FormatSpec> Catalog::load_format(const fs::path& file) {
  try {
    Ctx c{file.string()};
    toml::table root = parse_toml(file);
    FormatSpec f = format_from(c, root);
    f.file = file;
    return f;
  } catch (const LoadError& e) {
    return Status::error(e.message);
  }
}

Result<Codes> Catalog::load_codes(const fs::path& dir) {
  Codes codes;
  try {
    for (const auto& file : toml_files(dir)) load_code_file(file, codes);
  } catch (const LoadError& e) {
    return Status::error(e.message);
  }
  return codes;
}

Result<RuleParams> Catalog::load_rules(const fs::path& dir) {
  RuleParams params;
  try {
    for (const auto& file : toml_files(dir)) {
      Ctx c{file.string()};
      toml::table root = parse_toml(file);
      std::string stem = file.stem().string();
      flatten_rules(c, root, stem == "diagnosis" ? "" : stem, params);
    }
  } catch (const LoadError& e) {
    return Status::error(e.message);
  }
  return params;
}

Result<RuleParams> Catalog::load_rules_file(const fs::path& file) {
  RuleParams params;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return Status::error(file.string() + ": no such rules file");
  try {
    Ctx c{file.string()};
    flatten_rules(c, parse_toml(file), "", params);
  } catch (const LoadError& e) {
    return Status::error(e.message);
  }
  return params;
}

Result<Catalog> Catalog::load(const fs::path& dir) {
  Catalog cat;
  cat.dir = dir;
  std::error_code ec;
  if (!fs::is_directory(dir / "formats", ec))
    return Status::error("no pattern folder at '" + dir.string() + "' (expected formats/, codes/, rules/ inside)");
  for (const auto& file : toml_files(dir / "formats")) {
    auto f = load_format(file);
    if (!f.ok()) return f.status();
    if (cat.find(f->name)) return Status::error(file.string() + ": format name '" + f->name + "' is used twice");
    cat.formats.push_back(std::make_shared<FormatSpec>(std::move(*f)));
  }
  auto codes = load_codes(dir / "codes");
  if (!codes.ok()) return codes.status();
  cat.codes = std::move(*codes);
  // kinds.toml lives with the rules but describes kinds: read it into the code tables.
  try {
    fs::path kinds = dir / "rules" / "kinds.toml";
    if (fs::exists(kinds, ec)) {
      Ctx c{kinds.string()};
      toml::table root = parse_toml(kinds);
      if (const auto* t = root["kinds"].as_table()) {
        for (const auto& [k, v] : *t) {
          const auto* kt = v.as_table();
          if (!kt) throw LoadError{c.where(v) + ": a kind must be a table"};
          KindInfo info;
          info.verdict = required_str(c, *kt, "verdict");
          info.confidence = str_of(*kt, "confidence", "medium");
          // the JSON contract's words, which the diagnosis keeps as numbers (the message's start
          // is made out here: clang 14 lets no lambda capture the structured bindings k and v)
          const std::string where = c.where(v) + ": kind '" + std::string(k.str()) + "': ";
          auto one_of = [&where](const char* what, const std::string& word, const auto& words) {
            if (!word.empty() && std::find(words.begin(), words.end(), word) != words.end()) return;
            std::string list;
            for (std::string_view w : words)
              if (!w.empty()) list += (list.empty() ? "" : ", ") + std::string(w);
            throw LoadError{where + what + " '" + word + "' is not one of " + list};
          };
          one_of("verdict", info.verdict, kVerdictWords);
          one_of("confidence", info.confidence, kConfidenceWords);
          info.cls = str_of(*kt, "class");
          info.failure = (*kt)["failure"].value_or(true);
          info.title = str_of(*kt, "title", std::string(k.str()));
          cat.codes.kinds[std::string(k.str())] = info;
        }
      }
    }
  } catch (const LoadError& e) {
    return Status::error(e.message);
  }
  auto rules = load_rules(dir / "rules");
  if (!rules.ok()) return rules.status();
  cat.rules = std::move(*rules);
  return cat;
}

const FormatSpec* Catalog::find(std::string_view name) const {
  for (const auto& f : formats)
    if (f->name == name) return f.get();
  return nullptr;
}

fs::path Catalog::default_dir() {
  if (const char* env = std::getenv("CALLAUDIT_PATTERNS"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
      if (fs::is_directory(p / "patterns" / "formats", ec)) return p / "patterns";
      if (fs::is_directory(p / "share" / "callaudit" / "patterns", ec)) return p / "share" / "callaudit" / "patterns";
    }
  }
  return CALLAUDIT_SOURCE_PATTERNS;
}

}  // namespace callaudit
