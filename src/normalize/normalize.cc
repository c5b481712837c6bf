// Records -> Events. Covered by tests/normalize/normalize_test.cc.
#include "callaudit/normalize.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>

namespace callaudit {

namespace {

std::optional<int> to_int(const std::string* s) {
  if (!s) return std::nullopt;
  std::string_view v = *s;
  while (!v.empty() && (v.front() == ' ')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ')) v.remove_suffix(1);
  int out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) return std::nullopt;
  return out;
}

std::optional<double> to_double(const std::string* s) {
  if (!s || s->empty()) return std::nullopt;
  try {
    size_t used = 0;
    double d = std::stod(*s, &used);
    if (used != s->size()) return std::nullopt;
    return d;
  } catch (...) {
    return std::nullopt;
  }
}

bool nonempty(const std::string* s) { return s && !s->empty(); }

}  // namespace

void classify(Event& e, const FieldPairs& f, const Codes& codes, const std::string& reason_table) {
  e.sip = to_int(field(f, "sip"));
  e.q850 = to_int(field(f, "q850"));
  const std::string* cause = field(f, "cause");
  const std::string* reason = field(f, "reason");
  e.reason = nonempty(reason) ? *reason : (nonempty(cause) ? *cause : std::string());

  struct Level {
    std::string kind, confidence, basis;
    bool numeric;
  };
  std::vector<Level> levels;
  // A kind set by the format's own rule (an answered offer, say) decides outright.
  const std::string* forced = field(f, "kind");
  if (e.sip) {
    auto it = codes.sip.find(*e.sip);
    if (it != codes.sip.end()) {
      levels.push_back({it->second.kind, it->second.confidence, "sip " + std::to_string(*e.sip), true});
    } else {
      auto c = codes.sip_classes.find(std::to_string(*e.sip / 100));
      if (c != codes.sip_classes.end()) levels.push_back({c->second, "", "sip " + std::to_string(*e.sip), true});
    }
  }
  if (e.q850) {
    auto it = codes.q850.find(*e.q850);
    if (it != codes.q850.end())
      levels.push_back({it->second.kind, it->second.confidence, "q850 " + std::to_string(*e.q850), true});
  }
  if (nonempty(cause)) {
    auto it = codes.causes.find(*cause);
    if (it != codes.causes.end()) {
      levels.push_back({it->second.kind, it->second.confidence, "cause " + *cause, false});
      if (!e.q850 && it->second.number && *it->second.number > 0 && *it->second.number <= 127)
        e.q850 = it->second.number;
    }
  }
  auto table = codes.vendor.find(reason_table);
  if (table != codes.vendor.end()) {
    for (const std::string* r : {reason, cause}) {
      if (!nonempty(r)) continue;
      auto it = table->second.find(*r);
      if (it != table->second.end()) {
        levels.push_back({it->second.kind, it->second.confidence, "reason " + *r, false});
        break;
      }
    }
  }
  // The most specific informative level decides. "unknown" informs nothing; a numeric code
  // that says "normal" is overruled by a later level that names a failure (CXone lists cause
  // 16 under Bad Number; FreeSWITCH reports q850 16 for its internal causes).
  const Level* chosen = nullptr;
  Level forced_level{nonempty(forced) ? *forced : std::string(), "", "record", false};
  if (nonempty(forced)) chosen = &forced_level;
  for (size_t i = 0; !chosen && i < levels.size(); ++i) {
    const Level& l = levels[i];
    if (l.kind == "unknown") continue;
    if (l.kind == "normal" && l.numeric) {
      bool later_failure = false;
      for (size_t j = i + 1; j < levels.size(); ++j)
        if (levels[j].kind != "normal" && levels[j].kind != "unknown") later_failure = true;
      if (later_failure) continue;
    }
    chosen = &l;
    break;
  }
  if (chosen) {
    e.kind = chosen->kind;
    e.confidence = chosen->confidence;
    e.kind_basis = chosen->basis;
  } else {
    e.kind = "unknown";
    e.confidence = "low";
    e.kind_basis = levels.empty() ? "no known code" : levels.front().basis + " (not specific)";
  }
}

Normalizer::Normalizer(const FormatSpec& spec, const Codes& codes, const ZoneConverter& zone)
    : spec_(spec), codes_(codes), zone_(zone) {}

Result<TimeUs> Normalizer::read_time(const std::string& text) const {
  ParsedTime p;
  for (const auto& l : spec_.time_layouts) {
    if (l.parse(text, p)) {
      if (p.has_offset || p.is_epoch || !spec_.needs_zone) return p.value;
      return zone_.to_utc(p.value);
    }
  }
  std::string layouts;
  for (const auto& l : spec_.time_layouts) layouts += (layouts.empty() ? "" : " or ") + l.text();
  return Status::error("time '" + text + "' does not fit " + layouts);
}

std::string Normalizer::agent_id(const std::string& raw) const {
  for (const auto& re : spec_.agent_ids) {
    std::string id;
    if (RE2::PartialMatch(raw, *re, &id)) {
      // the id group may not be the first: look it up by name
      int n = re->NumberOfCapturingGroups();
      std::vector<re2::StringPiece> g(static_cast<size_t>(n) + 1);
      if (re->Match(raw, 0, raw.size(), RE2::UNANCHORED, g.data(), n + 1)) {
        auto it = re->NamedCapturingGroups().find("id");
        const auto& s = g[static_cast<size_t>(it->second)];
        if (s.data() && !s.empty()) return std::string(s.data(), s.size());
      }
    }
  }
  return raw;
}

Status Normalizer::make_event(const Record& rec, std::int64_t line, std::string_view raw, Event& e) {
  const FieldPairs& f = rec.fields;
  e.type = *rec.rule->emit;
  e.line = line;
  e.raw = std::string(raw);
  const std::string* ts = field(f, spec_.time_field);
  if (!nonempty(ts)) return Status::error("no time in field '" + spec_.time_field + "'");
  auto at = read_time(*ts);
  if (!at.ok()) return at.status();
  e.at = *at;
  e.precision = spec_.precision;
  e.at_end = spec_.precision == Precision::minute ? e.at + 60 * kUsPerSecond - 1 : e.at;

  const std::string* agent = field(f, "agent");
  if (!nonempty(agent)) return Status::error("no agent on this " + std::string(to_string(e.type)));
  e.agent_raw = *agent;
  e.agent = agent_id(*agent);
  if (auto it = aliases_.find(e.agent); it != aliases_.end()) {
    if (e.agent_name.empty()) e.agent_name = it->first;
    e.agent = it->second;
  }
  if (const std::string* n = field(f, "agent_name"); nonempty(n)) e.agent_name = *n;
  if (const std::string* c = field(f, "call"); nonempty(c)) e.call = *c;
  if (const std::string* q = field(f, "queue"); nonempty(q)) e.queue = *q;
  if (const std::string* d = field(f, "detail"); nonempty(d)) e.detail = *d;

  if (e.type == EventType::state) {
    const std::string* st = field(f, "state");
    if (!nonempty(st)) return Status::error("no state on this state change");
    e.vendor_state = *st;
    auto it = spec_.states.find(*st);
    if (it == spec_.states.end())
      return Status::error("unknown state '" + *st + "' (add it to [states] in " + spec_.file.filename().string() +
                           ")");
    e.state = it->second.state;
    std::string initiator = it->second.initiator;
    if (const std::string* by = field(f, "initiator"); nonempty(by)) {
      std::string mapped;
      for (const auto& [re, value] : spec_.initiators)
        if (RE2::FullMatch(*by, *re)) {
          mapped = value;
          break;
        }
      if (mapped.empty() && (*by == "agent" || *by == "supervisor" || *by == "system" || *by == "unknown"))
        mapped = *by;
      if (mapped.empty()) return Status::error("unknown initiator '" + *by + "'");
      initiator = mapped;
    }
    e.initiator = initiator.empty() ? "unknown" : initiator;
  } else if (e.type == EventType::result) {
    classify(e, f, codes_, spec_.reason_table);
    if (auto ms = to_double(field(f, "ring_ms")))
      e.ring_ms = static_cast<std::int64_t>(*ms);
    else if (auto s = to_double(field(f, "ring_s")))
      e.ring_ms = static_cast<std::int64_t>(*s * 1000.0);
    else if (const std::string* started = field(f, "started"); nonempty(started)) {
      auto st = read_time(*started);
      if (st.ok() && *st <= e.at) e.ring_ms = (e.at - *st) / 1000;
    }
    if (spec_.result_at_ring_start && e.ring_ms && *e.ring_ms > 0) {
      // the source gives when ringing began; the offer failed (or was answered) when it stopped
      e.at += *e.ring_ms * 1000;
      e.at_end += *e.ring_ms * 1000;
    }
  }
  return {};
}

Status Normalizer::feed(const Record& rec, std::int64_t line, std::string_view raw) {
  if (!rec.rule) return {};
  const EventRule& rule = *rec.rule;
  const FieldPairs& f = rec.fields;
  if (rule.record_leg) {
    const std::string* leg = field(f, "leg");
    auto sip = to_int(field(f, "sip"));
    if (nonempty(leg) && sip) {
      // Legs whose status nobody asks for (answered calls) must not pile up over a long log:
      // keep the map small by dropping the oldest half now and then.
      if (legs_.size() >= 4096) {
        std::vector<std::pair<std::uint64_t, std::string>> by_age;
        for (const auto& [k, v] : legs_) by_age.emplace_back(v.second, k);
        std::sort(by_age.begin(), by_age.end());
        for (size_t i = 0; i < by_age.size() / 2; ++i) legs_.erase(by_age[i].second);
      }
      legs_[*leg] = {*sip, ++leg_clock_};
    }
  }
  if (!rule.next_state_initiator.empty() || !rule.alias.empty() || rule.emit) {
    // these need a time (and an agent)
  }
  if (!rule.emit) {
    if (!rule.next_state_initiator.empty()) {
      const std::string* agent = field(f, "agent");
      const std::string* ts = field(f, spec_.time_field);
      if (nonempty(agent) && nonempty(ts)) {
        auto at = read_time(*ts);
        if (!at.ok()) return at.status();
        marks_[agent_id(*agent)] = {*at, rule.next_state_initiator};
      }
    }
    return {};
  }
  Pending p;
  Status st = make_event(rec, line, raw, p.e);
  if (!st.ok()) return st;
  Event& e = p.e;
  p.merge = rule.merge;

  if (e.at < last_at_) {
    if (backwards_ == 0) first_backwards_line_ = line;
    ++backwards_;
  } else {
    last_at_ = e.at;
  }

  // Member names tied to interfaces (a same-second source/target pair).
  if (rule.alias == "source") {
    alias_source_ = {e.at, e.agent};
  } else if (rule.alias == "target" && !alias_source_.second.empty() && e.agent != alias_source_.second &&
             std::llabs(e.at - alias_source_.first) <= spec_.alias_window_ms * 1000LL && e.agent == e.agent_raw) {
    aliases_[e.agent] = alias_source_.second;
    if (e.agent_name.empty()) e.agent_name = e.agent;
    e.agent = alias_source_.second;
    alias_source_ = {0, ""};
  }

  if (e.type == EventType::state) {
    auto m = marks_.find(e.agent);
    if (m != marks_.end()) {
      if (e.at - m->second.first <= spec_.mark_window_ms * 1000LL && e.at >= m->second.first) {
        e.initiator = m->second.second;
        e.detail = e.detail.empty() ? "set by the platform after the preceding failure" : e.detail;
      }
      marks_.erase(m);
    }
  } else if (e.type == EventType::result) {
    if (const std::string* leg = field(f, "leg"); nonempty(leg)) {
      auto it = legs_.find(*leg);
      if (it != legs_.end()) {
        if (!e.sip) {
          FieldPairs with_sip = f;
          set_field(with_sip, "sip", std::to_string(it->second.first));
          classify(e, with_sip, codes_, spec_.reason_table);
        }
        legs_.erase(it);
      }
    }
    if (!e.ring_ms) {
      auto it = last_offer_.find(e.agent);
      if (it != last_offer_.end() && e.at >= it->second && e.at - it->second <= 300 * kUsPerSecond) {
        const std::string& oc = last_offer_call_[e.agent];
        if (oc.empty() || e.call.empty() || oc == e.call) e.ring_ms = (e.at - it->second) / 1000;
      }
    }
  } else if (e.type == EventType::offer) {
    last_offer_[e.agent] = e.at;
    last_offer_call_[e.agent] = e.call;
  }

  TimeUs now = e.at;
  pending_.push_back(std::move(p));
  Pending& added = pending_.back();
  if (!added.merge.empty()) {
    // Find a partner of the other kind (weak <-> primary), same agent and type, within the window.
    for (auto& q : pending_) {
      // a weak record pairs with a primary one not paired yet, and the other way round
      const char* partner = added.merge == "primary" ? "weak" : "primary";
      if (&q == &added || q.done || q.merge != partner) continue;
      if (q.e.agent != added.e.agent || q.e.type != added.e.type) continue;
      if (std::llabs(q.e.at - added.e.at) > spec_.merge_window_ms * 1000LL) continue;
      if (added.merge == "primary")
        merge_into(added, q);
      else
        merge_into(q, added);
      break;
    }
  }
  release(now);
  return {};
}

void Normalizer::merge_into(Pending& primary, Pending& weak) {
  Event& p = primary.e;
  const Event& w = weak.e;
  if (!p.sip && w.sip) {
    p.sip = w.sip;
    // the leg's SIP status is more specific than the primary's cause name
    FieldPairs f;
    f.emplace_back("sip", std::to_string(*w.sip));
    if (!p.reason.empty()) f.emplace_back("cause", p.reason);
    std::string reason = p.reason;
    classify(p, f, codes_, spec_.reason_table);
    p.reason = reason;
  }
  if (!p.ring_ms && w.ring_ms) p.ring_ms = w.ring_ms;
  std::string link = "line " + std::to_string(w.line) + ": " + w.raw;
  if (!w.detail.empty()) link += " (" + w.detail + ")";
  p.detail = p.detail.empty() ? link : p.detail + "; " + link;
  weak.done = true;
  primary.merge = "primary-merged";
  ++merged_;
}

void Normalizer::release(TimeUs now) {
  const TimeUs window = spec_.merge_window_ms * 1000LL;
  while (!pending_.empty()) {
    Pending& front = pending_.front();
    if (!front.done && now - front.e.at <= window && now >= front.e.at) break;
    if (!front.done) ready_.push_back(std::move(front.e));
    pending_.pop_front();
  }
}

bool Normalizer::pop(Event& out) {
  if (ready_.empty()) return false;
  out = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

void Normalizer::finish() {
  for (auto& p : pending_)
    if (!p.done) ready_.push_back(std::move(p.e));
  pending_.clear();
}

}  // namespace callaudit
