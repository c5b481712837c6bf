// classify() against the shipped code tables (SIP > Q.850 > cause > vendor reason), and that every kind named in patterns/codes exists in rules/kinds.toml.
#include <doctest/doctest.h>

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "callaudit/normalize.h"
#include "callaudit/patterns.h"
#include "helpers.h"

using namespace callaudit;
namespace fs = std::filesystem;

namespace {

fs::path root() { return CALLAUDIT_SOURCE_DIR; }

const Codes& codes() {
  static Codes c = [] {
    auto r = Catalog::load_codes(root() / "patterns" / "codes");
    REQUIRE_MESSAGE(r.ok(), r.error());
    return std::move(*r);
  }();
  return c;
}

struct ClassifyCase {
  const char* name;
  FieldPairs fields;
  const char* table;  // reason table (the format name)
  const char* kind;
  const char* basis;
  const char* confidence;
  std::optional<int> sip;
  std::optional<int> q850;
  const char* reason;  // Event::reason afterwards
};

const std::vector<ClassifyCase> kCases = {
    {"SIP 603 is a decline", {{"sip", "603"}}, "freeswitch-log", "declined_by_agent", "sip 603", "", 603, {}, ""},
    {"SIP 403 wins over the cause CALL_REJECTED",
     {{"sip", "403"}, {"cause", "CALL_REJECTED"}},
     "freeswitch-log", "forbidden", "sip 403", "", 403, 21, "CALL_REJECTED"},
    {"SIP 603 with CALL_REJECTED", {{"sip", "603"}, {"cause", "CALL_REJECTED"}}, "freeswitch-log", "declined_by_agent",
     "sip 603", "", 603, 21, "CALL_REJECTED"},
    {"CALL_REJECTED alone is a decline, with low confidence",
     {{"cause", "CALL_REJECTED"}},
     "freeswitch-log", "declined_by_agent", "cause CALL_REJECTED", "low", {}, 21, "CALL_REJECTED"},
    {"NO_ANSWER fills q850 19", {{"cause", "NO_ANSWER"}}, "freeswitch-log", "no_answer", "cause NO_ANSWER", "", {}, 19,
     "NO_ANSWER"},
    {"a q850 present is not replaced by the cause's number",
     {{"cause", "NO_ANSWER"}, {"q850", "18"}},
     "freeswitch-log", "no_answer", "q850 18", "", {}, 18, "NO_ANSWER"},
    {"q850 34 beats the vendor reason Busy", {{"q850", "34"}, {"reason", "Busy"}}, "cxone-agent-refusal",
     "network_error", "q850 34", "", {}, 34, "Busy"},
    {"Busy alone is busy", {{"reason", "Busy"}}, "cxone-agent-refusal", "busy", "reason Busy", "", {}, {}, "Busy"},
    {"q850 16 under Bad Number is a bad destination",
     {{"q850", "16"}, {"reason", "Bad Number"}},
     "cxone-agent-refusal", "bad_destination", "reason Bad Number", "", {}, 16, "Bad Number"},
    {"q850 16 with ORIGINATOR_CANCEL is the caller",
     {{"q850", "16"}, {"cause", "ORIGINATOR_CANCEL"}},
     "freeswitch-log", "caller_cancelled", "cause ORIGINATOR_CANCEL", "", {}, 16, "ORIGINATOR_CANCEL"},
    {"q850 16 alone is normal", {{"q850", "16"}}, "freeswitch-log", "normal", "q850 16", "", {}, 16, ""},
    {"SIP 487 is the caller", {{"sip", "487"}}, "freeswitch-log", "caller_cancelled", "sip 487", "", 487, {}, ""},
    {"SIP 488 is media", {{"sip", "488"}}, "freeswitch-log", "media_incompatible", "sip 488", "", 488, {}, ""},
    {"SIP 480 is an unreachable device", {{"sip", "480"}}, "freeswitch-log", "endpoint_unavailable", "sip 480", "", 480,
     {}, ""},
    {"SIP 599 is not listed: its class 5 decides", {{"sip", "599"}}, "freeswitch-log", "network_error", "sip 599", "",
     599, {}, ""},
    {"SIP 699 is not listed: class 6 says unknown", {{"sip", "699"}}, "freeswitch-log", "unknown", "sip 699 (not specific)",
     "low", 699, {}, ""},
    {"an unknown SIP class falls through to the cause",
     {{"sip", "699"}, {"cause", "USER_BUSY"}},
     "freeswitch-log", "busy", "cause USER_BUSY", "", 699, 17, "USER_BUSY"},
    {"SIP status with spaces around it", {{"sip", " 486 "}}, "freeswitch-log", "busy", "sip 486", "", 486, {}, ""},
    {"a SIP field that is no number is ignored", {{"sip", "48x"}, {"cause", "NO_ANSWER"}}, "freeswitch-log",
     "no_answer", "cause NO_ANSWER", "", {}, 19, "NO_ANSWER"},
    {"reason NA says nothing", {{"reason", "NA"}}, "cxone-agent-refusal", "unknown", "reason NA (not specific)", "low",
     {}, {}, "NA"},
    {"a vendor reason is looked up only in its own table", {{"reason", "Busy"}}, "vonage-interactions", "unknown",
     "no known code", "low", {}, {}, "Busy"},
    {"the vendor table is also searched by cause", {{"cause", "LinkFailed"}}, "cxone-agent-refusal", "link_failed",
     "reason LinkFailed", "", {}, {}, "LinkFailed"},
    {"vendor reason with low confidence", {{"reason", "Dropped"}}, "cxone-agent-refusal", "leg_dropped",
     "reason Dropped", "low", {}, {}, "Dropped"},
    {"a forced kind decides", {{"kind", "normal"}}, "freeswitch-log", "normal", "record", "", {}, {}, ""},
    {"the answered line: forced kind plus its reason", {{"kind", "normal"}, {"reason", "answered"}}, "freeswitch-log",
     "normal", "record", "", {}, {}, "answered"},
    {"no fields", {}, "freeswitch-log", "unknown", "no known code", "low", {}, {}, ""},
    {"empty fields are no fields", {{"sip", ""}, {"q850", ""}, {"cause", ""}, {"reason", ""}}, "cxone-agent-refusal",
     "unknown", "no known code", "low", {}, {}, ""},
    {"an unknown cause name", {{"cause", "SOMETHING_NEW"}}, "freeswitch-log", "unknown", "no known code", "low", {}, {},
     "SOMETHING_NEW"},
    {"FreeSWITCH-internal cause numbers are not Q.850", {{"cause", "LOSE_RACE"}}, "freeswitch-log", "lost_race",
     "cause LOSE_RACE", "", {}, {}, "LOSE_RACE"},
    {"a cause that says unknown gives way to the vendor reason",
     {{"cause", "NORMAL_UNSPECIFIED"}, {"reason", "Cancel"}},
     "ziwo-calls", "caller_cancelled", "reason Cancel", "", {}, 31, "Cancel"},
};

std::string opt(const std::optional<int>& v) { return v ? std::to_string(*v) : "none"; }

}  // namespace

TEST_CASE("classify() picks kind and basis by code precedence") {
  for (const auto& c : kCases) {
    INFO("case: " << std::string(c.name));
    Event e;
    e.type = EventType::result;
    classify(e, c.fields, codes(), c.table);
    CHECK(e.kind == c.kind);
    CHECK(e.kind_basis == c.basis);
    CHECK(e.confidence == c.confidence);
    CHECK(opt(e.sip) == opt(c.sip));
    CHECK(opt(e.q850) == opt(c.q850));
    CHECK(e.reason == c.reason);
  }
}

TEST_CASE("classify() overwrites what a reused Event held") {
  Event e;
  classify(e, {{"sip", "603"}, {"q850", "21"}}, codes(), "freeswitch-log");
  REQUIRE(e.kind == "declined_by_agent");
  classify(e, FieldPairs{}, codes(), "freeswitch-log");
  CHECK(e.kind == "unknown");
  CHECK_FALSE(e.sip.has_value());
  CHECK_FALSE(e.q850.has_value());
}

TEST_CASE("every kind named in patterns/codes exists in rules/kinds.toml") {
  // codes/ and rules/ as shipped, with an empty formats/ so that a format file being edited
  // elsewhere cannot hide this check.
  testutil::TempDir tmp;
  fs::create_directories(tmp / "formats");
  fs::create_directory_symlink(root() / "patterns" / "codes", tmp / "codes");
  fs::create_directory_symlink(root() / "patterns" / "rules", tmp / "rules");
  auto cat = Catalog::load(tmp.path());
  REQUIRE_MESSAGE(cat.ok(), cat.error());
  const Codes& c = cat->codes;
  REQUIRE(c.kinds.size() >= 18);
  REQUIRE(c.kinds.count("unknown") == 1);
  REQUIRE(c.kinds.count("normal") == 1);

  int checked = 0;
  auto check = [&](const std::string& where, const std::string& kind) {
    ++checked;
    CHECK_MESSAGE(c.kinds.count(kind) == 1, where << ": kind '" << kind << "' is not in kinds.toml");
  };
  for (const auto& [n, e] : c.q850) check("q850.toml " + std::to_string(n), e.kind);
  for (const auto& [n, e] : c.sip) check("sip.toml " + std::to_string(n), e.kind);
  for (const auto& [cls, kind] : c.sip_classes) check("sip.toml class " + cls, kind);
  for (const auto& [name, e] : c.causes) check("freeswitch-causes.toml " + name, e.kind);
  for (const auto& [table, entries] : c.vendor)
    for (const auto& [name, e] : entries) check("vendor-reasons.toml [" + table + "] " + name, e.kind);
  CHECK(c.q850.size() > 50);
  CHECK(c.sip.size() > 40);
  CHECK(c.sip_classes.size() == 5);
  CHECK(c.causes.size() > 60);
  CHECK(c.vendor.size() >= 6);
  CHECK(checked > 200);
}
