// Kind mapping, as a table written from formats.md and diagnosis.md §1 (not from the code
// tables): every vendor reason, platform cause and code those documents name.
#include <doctest/doctest.h>

#include "callaudit/normalize.h"
#include "helpers.h"

using namespace callaudit;

namespace {

struct Row {
  const char* table;  // vendor-reasons table (format name)
  const char* field;  // reason | cause | sip | q850
  const char* value;
  const char* kind;
};

const Row kRows[] = {
    // CXone refusal reasons (formats.md §4)
    {"cxone-agent-refusal", "reason", "Bad Number", "bad_destination"},
    {"cxone-agent-refusal", "reason", "Busy", "busy"},
    {"cxone-agent-refusal", "reason", "ContactAlreadyRouted", "already_routed"},
    {"cxone-agent-refusal", "reason", "Error", "network_error"},
    {"cxone-agent-refusal", "reason", "Invalid Call Leg", "leg_dropped"},
    {"cxone-agent-refusal", "reason", "NoAnswer", "no_answer"},
    {"cxone-agent-refusal", "reason", "LinkFailed", "link_failed"},
    {"cxone-agent-refusal", "reason", "Dropped", "leg_dropped"},
    {"cxone-agent-refusal", "reason", "AgentLinkTimeout", "link_timeout"},
    {"cxone-agent-refusal", "reason", "NA", "unknown"},
    {"cxone-agent-refusal", "reason", "(Zero) 0 Cause Code", "unknown"},
    {"cxone-agent-refusal", "reason", "Agent Cancelled", "declined_by_agent"},
    // Netcall statuses without a SIP code (formats.md §7)
    {"netcall-event-history", "reason", "Failure (Rejected by Agent Console)", "rejected_not_ready"},
    {"netcall-event-history", "reason", "Failure (No Answer)", "no_answer"},
    // Vonage call outcomes (formats.md §8)
    {"vonage-interactions", "reason", "Normal", "normal"},
    {"vonage-interactions", "reason", "NumberBusy", "busy"},
    {"vonage-interactions", "reason", "NoAnswer", "no_answer"},
    {"vonage-interactions", "reason", "NumberUnobtainable", "endpoint_unavailable"},
    {"vonage-interactions", "reason", "NumberChanged", "bad_destination"},
    {"vonage-interactions", "reason", "CallRejected", "media_incompatible"},
    {"vonage-interactions", "reason", "CallFailed", "unknown"},
    {"vonage-interactions", "reason", "VoicemailDrop", "normal"},
    // ZIWO call results (formats.md §10)
    {"ziwo-calls", "reason", "Answered", "normal"},
    {"ziwo-calls", "reason", "Busy", "busy"},
    {"ziwo-calls", "reason", "Cancel", "caller_cancelled"},
    {"ziwo-calls", "reason", "Lose-race", "lost_race"},
    {"ziwo-calls", "reason", "Timeout", "no_answer"},
    {"ziwo-calls", "reason", "Failed", "unknown"},
    // Asterisk queue_log events (formats.md §3)
    {"asterisk-queue-log", "reason", "RINGNOANSWER", "no_answer"},
    {"asterisk-queue-log", "reason", "RINGCANCELED", "caller_cancelled"},
    {"asterisk-queue-log", "reason", "AGENTDUMP", "agent_hung_up"},
    {"asterisk-queue-log", "reason", "CONNECT", "normal"},
    // FreeSWITCH causes (diagnosis.md §1)
    {"", "cause", "NO_ANSWER", "no_answer"},
    {"", "cause", "ALLOTTED_TIMEOUT", "no_answer"},
    {"", "cause", "NO_USER_RESPONSE", "no_answer"},
    {"", "cause", "USER_BUSY", "busy"},
    {"", "cause", "USER_NOT_REGISTERED", "endpoint_unavailable"},
    {"", "cause", "SUBSCRIBER_ABSENT", "endpoint_unavailable"},
    {"", "cause", "UNALLOCATED_NUMBER", "bad_destination"},
    {"", "cause", "INCOMPATIBLE_DESTINATION", "media_incompatible"},
    {"", "cause", "RECOVERY_ON_TIMER_EXPIRE", "network_error"},
    {"", "cause", "NORMAL_TEMPORARY_FAILURE", "network_error"},
    {"", "cause", "NORMAL_CIRCUIT_CONGESTION", "network_error"},
    {"", "cause", "SWITCH_CONGESTION", "network_error"},
    {"", "cause", "NETWORK_OUT_OF_ORDER", "network_error"},
    {"", "cause", "GATEWAY_DOWN", "network_error"},
    {"", "cause", "PROGRESS_TIMEOUT", "network_error"},
    {"", "cause", "MEDIA_TIMEOUT", "network_error"},
    {"", "cause", "LOSE_RACE", "lost_race"},
    {"", "cause", "ORIGINATOR_CANCEL", "caller_cancelled"},
    {"", "cause", "NORMAL_CLEARING", "normal"},
    {"", "cause", "NORMAL_UNSPECIFIED", "unknown"},
    {"", "cause", "INTERWORKING", "unknown"},
    {"", "cause", "CALL_REJECTED", "declined_by_agent"},
    // SIP final statuses (diagnosis.md §1)
    {"", "sip", "603", "declined_by_agent"},
    {"", "sip", "486", "busy"},
    {"", "sip", "600", "busy"},
    {"", "sip", "401", "forbidden"},
    {"", "sip", "403", "forbidden"},
    {"", "sip", "407", "forbidden"},
    {"", "sip", "480", "endpoint_unavailable"},
    {"", "sip", "404", "bad_destination"},
    {"", "sip", "410", "bad_destination"},
    {"", "sip", "484", "bad_destination"},
    {"", "sip", "485", "bad_destination"},
    {"", "sip", "604", "bad_destination"},
    {"", "sip", "302", "bad_destination"},
    {"", "sip", "488", "media_incompatible"},
    {"", "sip", "606", "media_incompatible"},
    {"", "sip", "408", "network_error"},
    {"", "sip", "481", "network_error"},
    {"", "sip", "500", "network_error"},
    {"", "sip", "502", "network_error"},
    {"", "sip", "503", "network_error"},
    {"", "sip", "504", "network_error"},
    {"", "sip", "487", "caller_cancelled"},
    {"", "sip", "200", "normal"},
    // Q.850 causes (diagnosis.md §1)
    {"", "q850", "17", "busy"},
    {"", "q850", "52", "forbidden"},
    {"", "q850", "54", "forbidden"},
    {"", "q850", "57", "forbidden"},
    {"", "q850", "1", "bad_destination"},
    {"", "q850", "2", "bad_destination"},
    {"", "q850", "3", "bad_destination"},
    {"", "q850", "22", "bad_destination"},
    {"", "q850", "28", "bad_destination"},
    {"", "q850", "58", "media_incompatible"},
    {"", "q850", "65", "media_incompatible"},
    {"", "q850", "88", "media_incompatible"},
    {"", "q850", "27", "network_error"},
    {"", "q850", "34", "network_error"},
    {"", "q850", "38", "network_error"},
    {"", "q850", "41", "network_error"},
    {"", "q850", "42", "network_error"},
    {"", "q850", "102", "network_error"},
    {"", "q850", "111", "network_error"},
};

}  // namespace

TEST_CASE("every reason, cause and code named in formats.md and diagnosis.md maps to its kind") {
  auto codes = Catalog::load_codes(testutil::source_dir() / "patterns/codes");
  REQUIRE(codes.ok());
  for (const auto& r : kRows) {
    FieldPairs f;
    f.emplace_back(r.field, r.value);
    Event e;
    e.type = EventType::result;
    classify(e, f, *codes, r.table);
    CHECK_MESSAGE(e.kind == r.kind, r.table << " " << r.field << " '" << r.value << "' gave " << e.kind);
  }
}

TEST_CASE("the SIP status wins over every other code (diagnosis.md §1, domain.md §3.4)") {
  auto codes = Catalog::load_codes(testutil::source_dir() / "patterns/codes");
  REQUIRE(codes.ok());
  FieldPairs f = {{"sip", "403"}, {"q850", "21"}, {"cause", "CALL_REJECTED"}};
  Event e;
  e.type = EventType::result;
  classify(e, f, *codes, "");
  CHECK(e.kind == "forbidden");
  CHECK(e.kind_basis == "sip 403");
}
