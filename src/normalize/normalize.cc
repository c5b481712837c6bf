// Records -> Events. Covered by tests/normalize/normalize_test.cc.
#include "callaudit/normalize.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>

namespace callaudit {

namespace {

using FieldPtr = const std::string_view*;

std::optional<int> to_int(FieldPtr s) {
  if (!s) return std::nullopt;
  std::string_view v = *s;
  while (!v.empty() && (v.front() == ' ')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ')) v.remove_suffix(1);
  int out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) return std::nullopt;
  return out;
}

std::optional<double> to_double(FieldPtr f) {
  if (!f || f->empty()) return std::nullopt;
  try {
    size_t used = 0;
    std::string s(*f);
    double d = std::stod(s, &used);
    if (used != s.size()) return std::nullopt;
    return d;
  } catch (...) {
    return std::nullopt;
  }
}

bool nonempty(FieldPtr s) { return s && !s->empty(); }

// No offer rings for a week; beyond that the figure is junk (and a cast of it to an integer,
// or adding it to the event time, could overflow). NaN fails both comparisons.
constexpr double kMaxRingMs = 7.0 * 24 * 3600 * 1000;
bool ring_in_range(double ms) { return ms >= 0.0 && ms <= kMaxRingMs; }
Status ring_out_of_range(std::string_view value, std::string_view unit) {
  std::string shown(value.substr(0, 40));
  if (value.size() > 40) shown += "...";
  return Status::error("ring time '" + shown + "' " + std::string(unit) + " is out of range (0 to 7 days)");
}

// std::map<std::string, V> lookups by a view, without making a string
template <class M>
auto find_in(const M& m, std::string_view key) {
  if constexpr (requires { m.find(key); })
    return m.find(key);
  else
    return m.find(std::string(key));
}

}  // namespace

void classify_views(Event& e, const CodeViews& v, const Codes& codes, const std::string& reason_table) {
  e.sip = to_int(v.sip);
  e.q850 = to_int(v.q850);
  FieldPtr cause = v.cause;
  FieldPtr reason = v.reason;
  if (nonempty(reason))
    e.reason.assign(*reason);
  else if (nonempty(cause))
    e.reason.assign(*cause);
  else
    e.reason.clear();

  // A level names its kind and confidence in the code tables; its basis ("sip 603") is
  // written only for the level that decides.
  enum class Basis { from_sip, from_q850, from_cause, from_reason };
  struct Level {
    const std::string* kind;
    const std::string* confidence;
    Basis basis;
    std::string_view text;  // cause or reason text
    bool numeric;
    int code = 0;           // sip or q850 status
  };
  static const std::string kEmpty;
  Level levels[4];
  size_t nlevels = 0;
  auto basis_of = [&](const Level& l) {
    switch (l.basis) {
      case Basis::from_sip:
        return "sip " + std::to_string(l.code);
      case Basis::from_q850:
        return "q850 " + std::to_string(l.code);
      case Basis::from_cause:
        return "cause " + std::string(l.text);
      case Basis::from_reason:
        return "reason " + std::string(l.text);
    }
    return std::string();
  };
  // A kind set by the format's own rule (an answered offer, say) decides outright.
  FieldPtr forced = v.kind;
  if (e.sip) {
    auto it = codes.sip.find(*e.sip);
    if (it != codes.sip.end()) {
      levels[nlevels++] = {&it->second.kind, &it->second.confidence, Basis::from_sip, {}, true, *e.sip};
    } else {
      auto c = codes.sip_classes.find(std::to_string(*e.sip / 100));
      if (c != codes.sip_classes.end()) levels[nlevels++] = {&c->second, &kEmpty, Basis::from_sip, {}, true, *e.sip};
    }
  }
  if (e.q850) {
    auto it = codes.q850.find(*e.q850);
    if (it != codes.q850.end()) levels[nlevels++] = {&it->second.kind, &it->second.confidence, Basis::from_q850, {}, true, *e.q850};
  }
  if (nonempty(cause)) {
    auto it = find_in(codes.causes, *cause);
    if (it != codes.causes.end()) {
      levels[nlevels++] = {&it->second.kind, &it->second.confidence, Basis::from_cause, *cause, false};
      if (!e.q850 && it->second.number && *it->second.number > 0 && *it->second.number <= 127)
        e.q850 = it->second.number;
    }
  }
  auto table = codes.vendor.find(reason_table);
  if (table != codes.vendor.end()) {
    for (FieldPtr r : {reason, cause}) {
      if (!nonempty(r)) continue;
      auto it = find_in(table->second, *r);
      if (it != table->second.end()) {
        levels[nlevels++] = {&it->second.kind, &it->second.confidence, Basis::from_reason, *r, false};
        break;
      }
    }
  }
  // The most specific informative level decides. "unknown" informs nothing; a numeric code
  // that says "normal" is overruled by a later level that names a failure (CXone lists cause
  // 16 under Bad Number; FreeSWITCH reports q850 16 for its internal causes).
  if (nonempty(forced)) {
    e.kind.assign(*forced);
    e.confidence.clear();
    e.kind_basis = "record";
    return;
  }
  const Level* chosen = nullptr;
  for (size_t i = 0; !chosen && i < nlevels; ++i) {
    const Level& l = levels[i];
    if (*l.kind == "unknown") continue;
    if (*l.kind == "normal" && l.numeric) {
      bool later_failure = false;
      for (size_t j = i + 1; j < nlevels; ++j)
        if (*levels[j].kind != "normal" && *levels[j].kind != "unknown") later_failure = true;
      if (later_failure) continue;
    }
    chosen = &l;
    break;
  }
  if (chosen) {
    e.kind = *chosen->kind;
    e.confidence = *chosen->confidence;
    e.kind_basis = basis_of(*chosen);
  } else {
    e.kind = "unknown";
    e.confidence = "low";
    e.kind_basis = nlevels == 0 ? "no known code" : basis_of(levels[0]) + " (not specific)";
  }
}

void classify(Event& e, const Fields& f, const Codes& codes, const std::string& reason_table) {
  classify_views(e, {field(f, "sip"), field(f, "q850"), field(f, "cause"), field(f, "reason"), field(f, "kind")}, codes,
                 reason_table);
}

void classify(Event& e, const FieldPairs& f, const Codes& codes, const std::string& reason_table) {
  Fields fields;
  for (const auto& [k, v] : f) fields.set(k, v);
  classify(e, fields, codes, reason_table);
}

Normalizer::Normalizer(const FormatSpec& spec, const Codes& codes, const ZoneConverter& zone, bool keep_detail)
    : spec_(spec), codes_(codes), zone_(zone), keep_detail_(keep_detail) {}

Result<TimeUs> Normalizer::read_time(std::string_view text) const {
  ParsedTime p;
  for (const auto& l : spec_.time_layouts) {
    if (l.parse(text, p)) {
      if (p.has_offset || p.is_epoch || !spec_.needs_zone) return p.value;
      return zone_.to_utc(p.value);
    }
  }
  std::string layouts;
  for (const auto& l : spec_.time_layouts) layouts += (layouts.empty() ? "" : " or ") + l.text();
  return Status::error("time '" + std::string(text) + "' does not fit " + layouts);
}

std::string Normalizer::agent_id_uncached(std::string_view raw) const {
  re2::StringPiece text(raw.data(), raw.size());
  for (const auto& re : spec_.agent_ids) {
    std::string id;
    if (RE2::PartialMatch(text, *re, &id)) {
      // the id group may not be the first: look it up by name
      int n = re->NumberOfCapturingGroups();
      std::vector<re2::StringPiece> g(static_cast<size_t>(n) + 1);
      if (re->Match(text, 0, text.size(), RE2::UNANCHORED, g.data(), n + 1)) {
        auto it = re->NamedCapturingGroups().find("id");
        const auto& s = g[static_cast<size_t>(it->second)];
        if (s.data() && !s.empty()) return std::string(s.data(), s.size());
      }
    }
  }
  return std::string(raw);
}

const std::string& Normalizer::agent_id(std::string_view raw) const {
  // A log names few agents, many times each: remember each raw name's id.
  auto it = agent_ids_.find(raw);
  if (it != agent_ids_.end()) return it->second;
  if (agent_ids_.size() >= 4096) agent_ids_.clear();
  return agent_ids_.emplace(std::string(raw), agent_id_uncached(raw)).first->second;
}

void Normalizer::find_slots(const Fields& f, Slots& out) const {
  const std::string& time_name = spec_.time_field;
  for (const auto& en : f) {
    std::string_view n = en.name;
    if (n == time_name && !out.v[kTime]) out.v[kTime] = &en.value;
    Slot s = kSlots;
    switch (n.size()) {
      case 3:
        s = n == "sip" ? kSip : n == "leg" ? kLeg : kSlots;
        break;
      case 4:
        s = n == "call" ? kCall : n == "kind" ? kKind : n == "q850" ? kQ850 : kSlots;
        break;
      case 5:
        s = n == "agent" ? kAgent : n == "queue" ? kQueue : n == "state" ? kState : n == "cause" ? kCause : kSlots;
        break;
      case 6:
        s = n == "detail" ? kDetail : n == "reason" ? kReason : n == "ring_s" ? kRingS : kSlots;
        break;
      case 7:
        s = n == "ring_ms" ? kRingMs : n == "started" ? kStarted : kSlots;
        break;
      case 9:
        s = n == "initiator" ? kInitiator : kSlots;
        break;
      case 10:
        s = n == "agent_name" ? kAgentName : kSlots;
        break;
      default:
        break;
    }
    if (s != kSlots && !out.v[s]) out.v[s] = &en.value;
  }
}

Status Normalizer::make_event(const Slots& f, std::int64_t line, std::string_view raw, Event& e) {
  e.line = line;
  e.raw.assign(raw);
  FieldPtr ts = f[kTime];
  if (!nonempty(ts)) return Status::error("no time in field '" + spec_.time_field + "'");
  auto at = read_time(*ts);
  if (!at.ok()) return at.status();
  e.at = *at;
  e.precision = spec_.precision;
  e.at_end = spec_.precision == Precision::minute ? e.at + 60 * kUsPerSecond - 1 : e.at;

  FieldPtr agent = f[kAgent];
  if (!nonempty(agent)) return Status::error("no agent on this " + std::string(to_string(e.type)));
  e.agent_raw.assign(*agent);
  e.agent = agent_id(*agent);
  if (!aliases_.empty())
    if (auto it = aliases_.find(e.agent); it != aliases_.end()) {
      if (e.agent_name.empty()) e.agent_name = it->first;
      e.agent = it->second;
    }
  if (FieldPtr n = f[kAgentName]; nonempty(n)) e.agent_name.assign(*n);
  if (FieldPtr c = f[kCall]; nonempty(c)) e.call.assign(*c);
  if (FieldPtr q = f[kQueue]; nonempty(q)) e.queue.assign(*q);
  if (FieldPtr d = f[kDetail]; keep_detail_ && nonempty(d)) e.detail.assign(*d);

  if (e.type == EventType::state) {
    FieldPtr st = f[kState];
    if (!nonempty(st)) return Status::error("no state on this state change");
    e.vendor_state.assign(*st);
    auto it = spec_.states.find(e.vendor_state);
    if (it == spec_.states.end())
      return Status::error("unknown state '" + e.vendor_state + "' (add it to [states] in " +
                           spec_.file.filename().string() + ")");
    e.state = it->second.state;
    std::string initiator = it->second.initiator;
    if (FieldPtr by_view = f[kInitiator]; nonempty(by_view)) {
      std::string by(*by_view);
      std::string mapped;
      for (const auto& [re, value] : spec_.initiators)
        if (RE2::FullMatch(by, *re)) {
          mapped = value;
          break;
        }
      if (mapped.empty() && (by == "agent" || by == "supervisor" || by == "system" || by == "unknown")) mapped = by;
      if (mapped.empty()) return Status::error("unknown initiator '" + by + "'");
      initiator = mapped;
    }
    e.initiator = initiator.empty() ? "unknown" : initiator;
  } else if (e.type == EventType::result) {
    classify_views(e, {f[kSip], f[kQ850], f[kCause], f[kReason], f[kKind]}, codes_, spec_.reason_table);
    FieldPtr ring_ms = f[kRingMs], ring_s = f[kRingS];
    if (auto ms = to_double(ring_ms)) {
      if (!ring_in_range(*ms)) return ring_out_of_range(*ring_ms, "ms");
      e.ring_ms = static_cast<std::int64_t>(*ms);
    } else if (auto sec = to_double(ring_s)) {
      if (!ring_in_range(*sec * 1000.0)) return ring_out_of_range(*ring_s, "s");
      e.ring_ms = static_cast<std::int64_t>(*sec * 1000.0);
    } else if (FieldPtr started = f[kStarted]; nonempty(started)) {
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
  Slots f;
  find_slots(rec.fields, f);
  if (rule.record_leg) {
    FieldPtr leg = f[kLeg];
    auto sip = to_int(f[kSip]);
    if (nonempty(leg) && sip) {
      // Legs whose status nobody asks for (answered calls) must not pile up over a long log:
      // keep the map small by dropping the oldest half now and then.
      if (legs_.size() >= 4096) {
        std::vector<std::pair<std::uint64_t, std::string>> by_age;
        for (const auto& [k, v] : legs_) by_age.emplace_back(v.second, k);
        std::sort(by_age.begin(), by_age.end());
        for (size_t i = 0; i < by_age.size() / 2; ++i) legs_.erase(by_age[i].second);
      }
      auto it = legs_.find(*leg);
      if (it == legs_.end()) it = legs_.emplace(std::string(*leg), std::pair<int, std::uint64_t>{}).first;
      it->second = {*sip, ++leg_clock_};
    }
  }
  if (!rule.emit) {
    if (!rule.next_state_initiator.empty()) {
      FieldPtr agent = f[kAgent];
      FieldPtr ts = f[kTime];
      if (nonempty(agent) && nonempty(ts)) {
        auto at = read_time(*ts);
        if (!at.ok()) return at.status();
        const std::string& id = agent_id(*agent);
        auto m = marks_.find(id);
        if (m == marks_.end()) m = marks_.emplace(id, std::pair<TimeUs, std::string>{}).first;
        m->second = {*at, rule.next_state_initiator};
      }
    }
    return {};
  }
  // made in place at the end of the queue, in a slot that keeps its texts' room
  Pending& added = pending_.emplace_back();
  Event& e = added.e;
  e.type = *rule.emit;
  Status st = make_event(f, line, raw, e);
  if (!st.ok()) {
    pending_.pop_back();
    return st;
  }
  added.merge = rule.merge.empty()       ? Merge::none
                : rule.merge == "weak"    ? Merge::weak
                : rule.merge == "primary" ? Merge::primary
                                          : Merge::none;

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
        if (keep_detail_ && e.detail.empty()) e.detail = "set by the platform after the preceding failure";
      }
      marks_.erase(m);
    }
  } else if (e.type == EventType::result) {
    if (FieldPtr leg = f[kLeg]; nonempty(leg)) {
      auto it = legs_.find(*leg);
      if (it != legs_.end()) {
        if (!e.sip) {
          // the record's fields with the leg's SIP status in place of its own (views: no copies)
          const std::string sip = std::to_string(it->second.first);
          const std::string_view sip_view(sip);
          classify_views(e, {&sip_view, f[kQ850], f[kCause], f[kReason], f[kKind]}, codes_, spec_.reason_table);
        }
        legs_.erase(it);
      }
    }
    if (!e.ring_ms) {
      auto it = last_offer_.find(e.agent);
      if (it != last_offer_.end() && e.at >= it->second.at && e.at - it->second.at <= 300 * kUsPerSecond) {
        const std::string& oc = it->second.call;
        if (oc.empty() || e.call.empty() || oc == e.call) e.ring_ms = (e.at - it->second.at) / 1000;
      }
    }
  } else if (e.type == EventType::offer) {
    auto it = last_offer_.find(e.agent);
    if (it == last_offer_.end()) it = last_offer_.emplace(e.agent, LastOffer{}).first;
    it->second.at = e.at;
    it->second.call = e.call;
  }

  TimeUs now = e.at;
  if (added.merge != Merge::none) {
    // Find a partner of the other kind (weak <-> primary), same agent and type, within the window.
    // A weak record pairs with a primary one not paired yet, and the other way round; events
    // already released are out of reach, as they were handed on.
    const Merge partner = added.merge == Merge::primary ? Merge::weak : Merge::primary;
    for (size_t i = released_; i + 1 < pending_.size(); ++i) {
      Pending& q = pending_[i];
      if (q.done || q.released || q.merge != partner) continue;
      if (q.e.type != e.type || q.e.agent != e.agent) continue;
      if (std::llabs(q.e.at - e.at) > spec_.merge_window_ms * 1000LL) continue;
      if (added.merge == Merge::primary)
        merge_into(added, q);
      else
        merge_into(q, added);
      break;
    }
  }
  release(now);
  return {};
}

Normalizer::Pending& Normalizer::Ring::emplace_back() {
  if (n_ == slots_.size()) {
    std::vector<Pending> grown(std::max<size_t>(16, 2 * slots_.size()));
    for (size_t i = 0; i < n_; ++i) grown[i] = std::move((*this)[i]);
    slots_ = std::move(grown);
    head_ = 0;
  }
  Pending& p = (*this)[n_++];
  p.e.clear();
  p.merge = Merge::none;
  p.done = p.released = false;
  return p;
}

void Normalizer::merge_into(Pending& primary, Pending& weak) {
  Event& p = primary.e;
  const Event& w = weak.e;
  if (!p.sip && w.sip) {
    // the leg's SIP status is more specific than the primary's cause name
    const std::string sip = std::to_string(*w.sip);
    const std::string reason = p.reason;
    const std::string_view sip_view(sip), reason_view(reason);
    classify_views(p, {&sip_view, nullptr, reason.empty() ? nullptr : &reason_view, nullptr, nullptr}, codes_,
                   spec_.reason_table);
    p.reason = reason;
  }
  if (!p.ring_ms && w.ring_ms) p.ring_ms = w.ring_ms;
  if (keep_detail_) {
    std::string link = "line " + std::to_string(w.line) + ": " + w.raw;
    if (!w.detail.empty()) link += " (" + w.detail + ")";
    p.detail = p.detail.empty() ? link : p.detail + "; " + link;
  }
  weak.done = true;
  primary.merge = Merge::primary_merged;
  ++merged_;
}

void Normalizer::release(TimeUs now) {
  const TimeUs window = spec_.merge_window_ms * 1000LL;
  while (released_ < pending_.size()) {
    Pending& p = pending_[released_];
    if (!p.done && now - p.e.at <= window && now >= p.e.at) break;
    p.released = true;
    ++released_;
  }
}

Event* Normalizer::next_ready() {
  while (released_ > 0) {
    Pending& front = pending_.front();
    if (!front.done) return &front.e;
    pending_.pop_front();
    --released_;
  }
  return nullptr;
}

void Normalizer::drop() {
  if (released_ == 0) return;
  pending_.pop_front();
  --released_;
}

bool Normalizer::pop(Event& out) {
  Event* e = next_ready();
  if (!e) return false;
  out = std::move(*e);
  drop();
  return true;
}

void Normalizer::finish() {
  for (size_t i = 0; i < pending_.size(); ++i) pending_[i].released = true;
  released_ = pending_.size();
}

}  // namespace callaudit
