// Names of the model's enums, used in SQL columns, JSON and reports alike, and Event::clear().
// Covered by tests/normalize/normalize_test.cc.
#include "callaudit/model.h"

namespace callaudit {

std::string_view to_string(EventType t) {
  switch (t) {
    case EventType::offer:
      return "offer";
    case EventType::result:
      return "result";
    case EventType::state:
      return "state";
  }
  return "?";
}

void Event::clear() {
  type = EventType::offer;
  at = at_end = 0;
  precision = Precision::second;
  for (std::string* t : {&agent, &agent_raw, &agent_name, &call, &queue, &kind, &kind_basis, &confidence, &reason,
                         &state, &vendor_state, &initiator, &detail, &raw})
    t->clear();
  sip.reset();
  q850.reset();
  ring_ms.reset();
  line = 0;
}

std::optional<EventType> event_type_from(std::string_view s) {
  if (s == "offer") return EventType::offer;
  if (s == "result") return EventType::result;
  if (s == "state") return EventType::state;
  return std::nullopt;
}

std::string_view to_string(Precision p) {
  switch (p) {
    case Precision::microsecond:
      return "microsecond";
    case Precision::millisecond:
      return "millisecond";
    case Precision::second:
      return "second";
    case Precision::minute:
      return "minute";
  }
  return "?";
}

}  // namespace callaudit
