// Normalizing: turns recognized records into Events in one vocabulary (UTC times, agent ids,
// failure kinds from the code tables, normalized states and initiators), with the few
// stateful links a log needs (a SIP status carried to its leg's hangup, a system mark on the
// next state change, member-name aliases, weak records merged into primary ones).
#pragma once
#include <deque>
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
void classify(Event& e, const FieldPairs& f, const Codes& codes, const std::string& reason_table);

// Hashes std::string and std::string_view alike (lookups by view without a copy).
struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

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
  // End of input: releases everything.
  void finish();

  [[nodiscard]] const std::map<std::string, std::string>& aliases() const { return aliases_; }
  [[nodiscard]] std::int64_t backwards() const { return backwards_; }
  [[nodiscard]] std::int64_t first_backwards_line() const { return first_backwards_line_; }
  [[nodiscard]] std::int64_t merged() const { return merged_; }

 private:
  struct Pending {
    Event e;
    std::string merge;  // "", "weak", "primary"
    bool done = false;
  };
  Status make_event(const Record& rec, std::int64_t line, std::string_view raw, Event& e);
  Result<TimeUs> read_time(std::string_view text) const;
  const std::string& agent_id(std::string_view raw) const;  // memoized agent_id_uncached()
  std::string agent_id_uncached(std::string_view raw) const;
  void release(TimeUs now);
  void merge_into(Pending& primary, Pending& weak);

  const FormatSpec& spec_;
  const Codes& codes_;
  const ZoneConverter& zone_;
  bool keep_detail_;
  std::deque<Pending> pending_;
  std::deque<Event> ready_;
  std::map<std::string, std::pair<int, std::uint64_t>, std::less<>> legs_;  // leg -> (SIP status, age)
  std::uint64_t leg_clock_ = 0;
  std::map<std::string, std::pair<TimeUs, std::string>> marks_;  // agent -> (time, initiator)
  std::map<std::string, TimeUs> last_offer_;               // agent -> offer time
  std::map<std::string, std::string> last_offer_call_;
  std::pair<TimeUs, std::string> alias_source_{0, ""};
  std::map<std::string, std::string> aliases_;             // member name -> agent id
  TimeUs last_at_ = 0;
  std::int64_t backwards_ = 0;
  std::int64_t first_backwards_line_ = 0;
  std::int64_t merged_ = 0;
  mutable std::unordered_map<std::string, std::string, ViewHash, std::equal_to<>> agent_ids_;  // raw -> id
};

}  // namespace callaudit
