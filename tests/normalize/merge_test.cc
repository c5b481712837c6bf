// Weak records (channel legs) merge into primary ones (mod_callcenter lines) one to one: two
// quick offers to the same agent stay two offers with two results.
#include <doctest/doctest.h>

#include "callaudit/ingest.h"
#include "collect.h"
#include "helpers.h"

using namespace callaudit;

using testutil::Collect;

TEST_CASE("two failed offers to one agent within the merge window stay two") {
  auto cat = Catalog::load(testutil::source_dir() / "patterns");
  REQUIRE(cat.ok());
  const FormatSpec* fs = cat->find("freeswitch-log");
  REQUIRE(fs);
  auto zone = ZoneConverter::make("");
  REQUIRE(zone.ok());
  const std::string pfx = "2024-03-05 14:02:";
  std::string log =
      pfx + "10.000000 97.53% [DEBUG] mod_callcenter.c:1180 Updated Agent 1001@default set state = Receiving\n" +
      "aaaaaaaa-0000-4000-8000-000000000001 " + pfx +
      "10.001000 97.53% [NOTICE] switch_channel.c:1143 New Channel sofia/internal/sip:1001@10.0.0.21:5060 "
      "[aaaaaaaa-0000-4000-8000-000000000001]\n" +
      "aaaaaaaa-0000-4000-8000-000000000001 " + pfx +
      "10.200000 97.53% [NOTICE] sofia.c:8748 Hangup sofia/internal/sip:1001@10.0.0.21:5060 [CS_CONSUME_MEDIA] "
      "[USER_BUSY]\n" +
      "cccccccc-0000-4000-8000-000000000009 " + pfx +
      "10.201000 97.53% [DEBUG] mod_callcenter.c:2139 Agent 1001@default Origination Canceled : USER_BUSY\n" + pfx +
      "10.900000 97.53% [DEBUG] mod_callcenter.c:1180 Updated Agent 1001@default set state = Receiving\n" +
      "bbbbbbbb-0000-4000-8000-000000000002 " + pfx +
      "10.901000 97.53% [NOTICE] switch_channel.c:1143 New Channel sofia/internal/sip:1001@10.0.0.21:5060 "
      "[bbbbbbbb-0000-4000-8000-000000000002]\n" +
      "bbbbbbbb-0000-4000-8000-000000000002 " + pfx +
      "11.000000 97.53% [NOTICE] switch_ivr_originate.c:3820 Hangup sofia/internal/sip:1001@10.0.0.21:5060 "
      "[CS_CONSUME_MEDIA] [NO_ANSWER]\n" +
      "cccccccc-0000-4000-8000-000000000009 " + pfx +
      "11.001000 97.53% [DEBUG] mod_callcenter.c:2139 Agent 1001@default Origination Canceled : NO_ANSWER\n";
  auto src = memory_source(log);
  Collect sink;
  auto st = scan(*fs, *cat, *zone, *src, sink);
  REQUIRE(st.ok());
  CHECK(st->offers == 2);
  CHECK(st->results == 2);
  CHECK(st->merged == 4);  // each leg line folded into its own mod_callcenter line
  std::vector<std::string> kinds;
  for (const auto& e : sink.events)
    if (e.type == EventType::result) kinds.push_back(e.kind);
  CHECK(kinds == std::vector<std::string>{"busy", "no_answer"});
}

TEST_CASE("without detail the events are the same but for the detail, merges included") {
  auto cat = Catalog::load(testutil::source_dir() / "patterns");
  REQUIRE(cat.ok());
  auto zone = ZoneConverter::make("");
  REQUIRE(zone.ok());
  const std::string log = testutil::read_file(testutil::source_dir() / "fixtures/logs/freeswitch-log/freeswitch.log");
  REQUIRE(!log.empty());
  auto run = [&](bool keep_detail, int threads) {
    auto src = memory_source(log);
    Collect sink;
    auto st = scan(*cat->find("freeswitch-log"), *cat, *zone, *src, sink, threads, keep_detail);
    REQUIRE(st.ok());
    return std::make_pair(*st, sink.events);
  };
  for (int threads : {1, 3}) {
    CAPTURE(threads);
    auto [with_st, with] = run(true, threads);
    auto [without_st, without] = run(false, threads);
    CHECK(with_st.merged > 0);
    CHECK(without_st.merged == with_st.merged);
    CHECK(without_st.events == with_st.events);
    REQUIRE(without.size() == with.size());
    int with_detail = 0;
    for (size_t i = 0; i < with.size(); ++i) {
      CAPTURE(with[i].line);
      if (!with[i].detail.empty()) ++with_detail;
      CHECK(without[i].detail.empty());
      Event a = with[i];
      a.detail.clear();
      CHECK(a.line == without[i].line);
      CHECK(a.raw == without[i].raw);
      CHECK(a.kind == without[i].kind);
      CHECK(a.sip == without[i].sip);
      CHECK(a.reason == without[i].reason);
      CHECK(a.initiator == without[i].initiator);
      CHECK(a.agent == without[i].agent);
      CHECK(a.at == without[i].at);
    }
    CHECK(with_detail > 0);
  }
}
