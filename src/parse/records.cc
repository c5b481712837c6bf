// Field helpers, extracts and event rules shared by text and CSV formats.
// Covered by tests/parse/parse_test.cc.
#include <re2/re2.h>

#include "callaudit/parse.h"

namespace callaudit {

const std::string* field(const FieldPairs& f, std::string_view name) {
  for (const auto& [k, v] : f)
    if (k == name) return &v;
  return nullptr;
}

void set_field(FieldPairs& f, std::string_view name, std::string value) {
  for (auto& [k, v] : f)
    if (k == name) {
      v = std::move(value);
      return;
    }
  f.emplace_back(std::string(name), std::move(value));
}

namespace {

bool holds(const Condition& c, const FieldPairs& f) {
  const std::string* v = field(f, c.field);
  return v && RE2::FullMatch(*v, *c.re);
}

// "{field}" in a set value copies that field; other text stays.
std::string expand(const std::string& tmpl, const FieldPairs& f) {
  if (tmpl.find('{') == std::string::npos) return tmpl;
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{') {
      size_t end = tmpl.find('}', i);
      if (end != std::string::npos) {
        const std::string* v = field(f, std::string_view(tmpl).substr(i + 1, end - i - 1));
        if (v) out += *v;
        i = end;
        continue;
      }
    }
    out += tmpl[i];
  }
  return out;
}

void run_extracts(const FormatSpec& spec, FieldPairs& f) {
  for (const auto& x : spec.extracts) {
    const std::string* v = field(f, x.field);
    if (!v || v->empty()) continue;
    int n = x.re->NumberOfCapturingGroups();
    std::vector<re2::StringPiece> groups(static_cast<size_t>(n) + 1);
    std::string value = *v;  // f may grow below
    if (!x.re->Match(value, 0, value.size(), RE2::UNANCHORED, groups.data(), n + 1)) continue;
    for (const auto& [name, idx] : x.re->NamedCapturingGroups()) {
      const auto& g = groups[static_cast<size_t>(idx)];
      if (g.data() == nullptr) continue;
      const std::string* existing = field(f, name);
      if (existing && !existing->empty()) continue;
      set_field(f, name, std::string(g.data(), g.size()));
    }
  }
}

}  // namespace

void apply_rules(const FormatSpec& spec, Record& rec, const std::vector<const EventRule*>& candidates) {
  run_extracts(spec, rec.fields);
  for (const EventRule* r : candidates) {
    bool ok = true;
    for (const auto& c : r->when)
      if (!holds(c, rec.fields)) {
        ok = false;
        break;
      }
    if (!ok) continue;
    for (const auto& c : r->unless)
      if (holds(c, rec.fields)) {
        ok = false;
        break;
      }
    if (!ok) continue;
    rec.rule = r;
    FieldPairs assigned;
    for (const auto& [k, v] : r->set) assigned.emplace_back(k, expand(v, rec.fields));
    for (auto& [k, v] : assigned) set_field(rec.fields, k, std::move(v));
    rec.kind = r->emit ? RecordKind::event : RecordKind::noise;
    if (r->unmatched) {
      rec.kind = RecordKind::unmatched;
      rec.why = "no rule knows this record (" + r->name + ")";
    }
    return;
  }
  rec.rule = nullptr;
  rec.kind = RecordKind::noise;
}

}  // namespace callaudit
