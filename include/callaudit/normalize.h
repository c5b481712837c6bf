// Normalizing: turns recognized records into Events in one vocabulary (UTC times, agent ids,
// failure kinds from the code tables, normalized states and initiators), with the few
// stateful links a log needs (a SIP status carried to its leg's hangup, a system mark on the
// next state change, member-name aliases, weak records merged into primary ones).
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "callaudit/model.h"
#include "callaudit/parse.h"
#include "callaudit/patterns.h"
#include "callaudit/timeutil.h"

namespace callaudit {

// Sets kind, kind_basis, confidence, sip, q850 and reason of a result from its fields, by the
// precedence SIP > Q.850 > platform cause > vendor reason.
void classify(Event& e, const Fields& f, const Codes& codes, const std::string& reason_table);
// The same from the five fields it reads, each a view or null (no lookups by name).
struct CodeViews {
  const std::string_view* sip = nullptr;
  const std::string_view* q850 = nullptr;
  const std::string_view* cause = nullptr;
  const std::string_view* reason = nullptr;
  const std::string_view* kind = nullptr;  // a kind set by the format's own rule
};
void classify_views(Event& e, const CodeViews& v, const Codes& codes, const std::string& reason_table);
void classify(Event& e, const FieldPairs& f, const Codes& codes, const std::string& reason_table);

class Normalizer {
 public:
  // keep_detail = false leaves Event::detail empty (merged legs are still merged and counted):
  // for a database nobody will query, since neither the diagnosis nor the report reads it.
  Normalizer(const FormatSpec& spec, const Codes& codes, const ZoneConverter& zone, bool keep_detail = true);
  // Takes a record that matched a rule. Returns an error (the record then counts as
  // unmatched) when it cannot be normalized: unreadable time, unknown state, no agent.
  Status feed(const Record& rec, std::int64_t line, std::string_view raw);
  // Events whose merge window has passed, in input order.
  bool pop(Event& out);
  // The same without a move: the next ready event (nullptr if none), for the caller to take
  // from; drop() then forgets it.
  Event* next_ready();
  void drop();
  // End of input: releases everything.
  void finish();

  [[nodiscard]] const std::map<std::string, std::string>& aliases() const { return aliases_; }
  [[nodiscard]] std::int64_t backwards() const { return backwards_; }
  [[nodiscard]] std::int64_t first_backwards_line() const { return first_backwards_line_; }
  [[nodiscard]] std::int64_t merged() const { return merged_; }

 private:
  // The fields the normalizer reads, found in one pass over a record's fields (the first of
  // a name wins, as with field()).
  enum Slot : std::uint8_t {
    kTime, kAgent, kAgentName, kCall, kQueue, kDetail, kState, kInitiator, kSip, kQ850, kCause, kReason,
    kKind, kRingMs, kRingS, kStarted, kLeg, kSlots
  };
  struct Slots {
    const std::string_view* v[kSlots] = {};
    const std::string_view* operator[](Slot s) const { return v[s]; }
  };
  void find_slots(const Fields& f, Slots& out) const;
  enum class Merge : std::uint8_t { none, weak, primary, primary_merged };
  struct Pending {
    Event e;
    Merge merge = Merge::none;
    bool done = false;      // merged into its partner: never handed on
    bool released = false;  // its merge window has passed: pop() hands it on
  };
  // Events waiting for their merge window, oldest first, in slots used over and over: a slot's
  // Event keeps its texts' room for the next record (or takes the room of what the caller swaps
  // into it), so that a long log allocates no texts per event.
  class Ring {
   public:
    [[nodiscard]] size_t size() const { return n_; }
    Pending& operator[](size_t i) { return slots_[(head_ + i) & (slots_.size() - 1)]; }
    Pending& front() { return (*this)[0]; }
    Pending& emplace_back();  // a cleared slot at the end
    void pop_front() {
      head_ = (head_ + 1) & (slots_.size() - 1);
      --n_;
    }
    void pop_back() { --n_; }

   private:
    std::vector<Pending> slots_;  // a power of two of them
    size_t head_ = 0, n_ = 0;
  };
  struct LastOffer {
    TimeUs at = 0;
    std::string call;
  };
  Status make_event(const Slots& f, std::int64_t line, std::string_view raw, Event& e);
  Result<TimeUs> read_time(std::string_view text) const;
  const std::string& agent_id(std::string_view raw) const;  // memoized agent_id_uncached()
  std::string agent_id_uncached(std::string_view raw) const;
  void release(TimeUs now);
  void merge_into(Pending& primary, Pending& weak);

  const FormatSpec& spec_;
  const Codes& codes_;
  const ZoneConverter& zone_;
  bool keep_detail_;
  // Events in input order; the first `released_` of them (less the merged ones) are ready.
  Ring pending_;
  size_t released_ = 0;
  template <class V>
  using ByName = std::unordered_map<std::string, V, ViewHash, std::equal_to<>>;
  ByName<std::pair<int, std::uint64_t>> legs_;  // leg -> (SIP status, age)
  std::uint64_t leg_clock_ = 0;
  ByName<std::pair<TimeUs, std::string>> marks_;  // agent -> (time, initiator)
  ByName<LastOffer> last_offer_;                  // agent -> its last offer
  std::pair<TimeUs, std::string> alias_source_{0, ""};
  std::map<std::string, std::string> aliases_;    // member name -> agent id
  TimeUs last_at_ = 0;
  std::int64_t backwards_ = 0;
  std::int64_t first_backwards_line_ = 0;
  std::int64_t merged_ = 0;
  mutable ByName<std::string> agent_ids_;  // raw -> id
};

}  // namespace callaudit
