// Field helpers, extracts and event rules shared by text and CSV formats.
// Covered by tests/parse/parse_test.cc.
#include <re2/re2.h>

#include "callaudit/parse.h"

namespace callaudit {

std::string_view Fields::keep(std::string_view text) {
  if (used_ < store_.size())
    store_[used_]->assign(text.data(), text.size());
  else
    store_.push_back(std::make_unique<std::string>(text));
  return *store_[used_++];
}

void Fields::set_view(std::string_view name, std::string_view value) {
  for (auto& e : entries_)
    if (e.name == name) {
      e.value = value;
      return;
    }
  entries_.push_back({name, value});
}

void Fields::set(std::string_view name, std::string_view value) {
  for (auto& e : entries_)
    if (e.name == name) {
      e.value = keep(value);
      return;
    }
  std::string_view n = keep(name);
  entries_.push_back({n, keep(value)});
}

Fields& Fields::operator=(const Fields& o) {
  if (this == &o) return *this;
  clear();
  for (const auto& e : o.entries_) {
    std::string_view n = keep(e.name);
    entries_.push_back({n, keep(e.value)});
  }
  return *this;
}

bool Fields::operator==(const Fields& o) const {
  if (entries_.size() != o.entries_.size()) return false;
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].name != o.entries_[i].name || entries_[i].value != o.entries_[i].value) return false;
  return true;
}

const std::string_view* field(const Fields& f, std::string_view name) { return f.find(name); }

void set_field(Fields& f, std::string_view name, std::string_view value) { f.set(name, value); }

namespace {

bool holds(const Condition& c, const Fields& f) {
  const std::string_view* v = f.find(c.field);
  return v && RE2::FullMatch(re2::StringPiece(v->data(), v->size()), *c.re);
}

// "{field}" in a set value copies that field; other text stays. A value that is exactly one
// "{field}", or has no braces, needs no new text: it is a view of the field or of the rule.
std::string_view expand(const std::string& tmpl, Fields& f) {
  size_t open = tmpl.find('{');
  if (open == std::string::npos) return tmpl;
  if (open == 0 && tmpl.back() == '}' && tmpl.find('}') == tmpl.size() - 1) {
    const std::string_view* v = f.find(std::string_view(tmpl).substr(1, tmpl.size() - 2));
    return v ? *v : std::string_view();
  }
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{') {
      size_t end = tmpl.find('}', i);
      if (end != std::string::npos) {
        const std::string_view* v = f.find(std::string_view(tmpl).substr(i + 1, end - i - 1));
        if (v) out += *v;
        i = end;
        continue;
      }
    }
    out += tmpl[i];
  }
  return f.keep(out);
}

void run_extracts(const FormatSpec& spec, Fields& f) {
  std::vector<re2::StringPiece> groups;
  for (const auto& x : spec.extracts) {
    const std::string_view* v = f.find(x.field);
    if (!v || v->empty()) continue;
    int n = x.re->NumberOfCapturingGroups();
    groups.assign(static_cast<size_t>(n) + 1, re2::StringPiece());
    std::string_view value = *v;  // stays valid while f grows: the text lives in f's storage
    re2::StringPiece text(value.data(), value.size());
    if (!x.re->Match(text, 0, text.size(), RE2::UNANCHORED, groups.data(), n + 1)) continue;
    for (const auto& [name, idx] : x.re->NamedCapturingGroups()) {
      const auto& g = groups[static_cast<size_t>(idx)];
      if (g.data() == nullptr) continue;
      const std::string_view* existing = f.find(name);
      if (existing && !existing->empty()) continue;
      f.set_view(name, std::string_view(g.data(), g.size()));
    }
  }
}

}  // namespace

void apply_rules(const FormatSpec& spec, Record& rec, const std::vector<const EventRule*>& candidates) {
  if (!spec.extracts.empty()) run_extracts(spec, rec.fields);
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
    if (r->set.size() == 1) {
      rec.fields.set_view(r->set[0].first, expand(r->set[0].second, rec.fields));
    } else if (!r->set.empty()) {
      // every value is expanded from the fields as they were before any assignment
      std::string_view few[8];
      std::vector<std::string_view> many;
      if (r->set.size() > 8) many.resize(r->set.size());
      std::string_view* values = many.empty() ? few : many.data();
      for (size_t i = 0; i < r->set.size(); ++i) values[i] = expand(r->set[i].second, rec.fields);
      for (size_t i = 0; i < r->set.size(); ++i) rec.fields.set_view(r->set[i].first, values[i]);
    }
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
