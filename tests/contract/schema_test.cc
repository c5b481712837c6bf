// The JSON of `diagnose --format json` validates against the JSON Schema published in
// docs/diagnosis-json.md, for every scenario and for all fixtures together; and a document
// that breaks the contract is rejected (so the check can fail).
#include <doctest/doctest.h>

#include "helpers.h"

namespace fs = std::filesystem;
using testutil::run_cli;

namespace {

int validate(const fs::path& json) {
  std::string cmd = "/usr/bin/python3 " + (testutil::source_dir() / "tests/tools/validate_json.py").string() + " " +
                    (testutil::source_dir() / "docs/diagnosis-json.md").string() + " " + json.string();
  return std::system(cmd.c_str());
}

}  // namespace

TEST_CASE("diagnose JSON validates against the documented schema") {
  testutil::TempDir tmp;
  std::vector<std::string> args = {"ingest", "--db", (tmp / "all.db").string(), "--tz", "Europe/London"};
  for (const auto& dir : fs::directory_iterator(testutil::source_dir() / "fixtures/logs")) {
    if (!dir.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(dir.path()))
      if (f.path().filename() != "expected.toml") args.push_back(f.path().string());
  }
  REQUIRE(run_cli(args).code == 0);
  auto r = run_cli({"diagnose", "--db", (tmp / "all.db").string(), "--format", "json"});
  REQUIRE(r.code == 0);
  testutil::write_file(tmp / "all.json", r.out);
  CHECK(validate(tmp / "all.json") == 0);

  // an empty case is valid too
  testutil::write_file(tmp / "empty.csv", "Agent ID,Agent,State,Start Time\n");
  REQUIRE(run_cli({"ingest", "--db", (tmp / "empty.db").string(), (tmp / "empty.csv").string()}).code == 0);
  auto e = run_cli({"diagnose", "--db", (tmp / "empty.db").string(), "--format", "json"});
  testutil::write_file(tmp / "empty.json", e.out);
  CHECK(validate(tmp / "empty.json") == 0);

  // the check can fail: a verdict outside the five words breaks the contract
  std::string broken = r.out;
  auto pos = broken.find("\"verdict\": \"");
  REQUIRE(pos != std::string::npos);
  broken.insert(pos + 12, "maybe-");
  testutil::write_file(tmp / "broken.json", broken);
  CHECK(validate(tmp / "broken.json") != 0);
}

TEST_CASE("every scenario's golden JSON validates against the documented schema") {
  int n = 0;
  for (const auto& dir : fs::directory_iterator(testutil::source_dir() / "fixtures/scenarios")) {
    fs::path golden = dir.path() / "expected.json";
    if (!fs::exists(golden)) continue;
    INFO(golden.string());
    CHECK(validate(golden) == 0);
    ++n;
  }
  CHECK(n >= 12);
}
