// Ring times come from the input (queue_log data1, a CSV column). A number too big for the
// timeline, negative, or NaN is refused with a message naming the value; it is never cast.
#include <doctest/doctest.h>

#include "callaudit/ingest.h"
#include "collect.h"
#include "helpers.h"

using namespace callaudit;

namespace {

using testutil::Collect;

Collect run(const std::string& log) {
  auto cat = Catalog::load(testutil::source_dir() / "patterns");
  REQUIRE(cat.ok());
  const FormatSpec* fs = cat->find("asterisk-queue-log");
  REQUIRE(fs);
  auto zone = ZoneConverter::make("UTC");
  REQUIRE(zone.ok());
  auto src = memory_source(log);
  Collect sink;
  auto st = scan(*fs, *cat, *zone, *src, sink);
  REQUIRE(st.ok());
  return sink;
}

}  // namespace

TEST_CASE("a ring time in range is kept in milliseconds") {
  auto c = run("1709647290|1709647290.12|support|PJSIP/1001|RINGNOANSWER|15000\n");
  REQUIRE(c.refused.empty());
  REQUIRE(c.events.size() == 1);
  REQUIRE(c.events[0].ring_ms);
  CHECK(*c.events[0].ring_ms == 15000);
}

TEST_CASE("ring times out of range are refused with the value named, not cast") {
  for (const char* bad : {"1e40", "-5", "nan", "inf", "604800001"}) {
    INFO("data1 = " << bad);
    auto c = run(std::string("1709647290|1709647290.12|support|PJSIP/1001|RINGNOANSWER|") + bad + "\n");
    CHECK(c.events.empty());
    REQUIRE(c.refused.size() == 1);
    CHECK(c.refused[0].first == 1);
    CHECK(c.refused[0].second.find(std::string("ring time '") + bad + "'") != std::string::npos);
    CHECK(c.refused[0].second.find("out of range") != std::string::npos);
  }
  // the week itself is still a (very long) ring
  auto c = run("1709647290|1709647290.12|support|PJSIP/1001|RINGNOANSWER|604800000\n");
  REQUIRE(c.events.size() == 1);
  CHECK(*c.events[0].ring_ms == 604800000);
}
