// A scan sink that keeps every event and every refused line (line number, reason).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "callaudit/ingest.h"

namespace testutil {

class Collect : public callaudit::ScanSink {
 public:
  callaudit::Status on_event(const callaudit::Event& e) override {
    events.push_back(e);
    return {};
  }
  callaudit::Status on_unmatched(std::int64_t line, std::string_view, const std::string& why) override {
    refused.emplace_back(line, why);
    return {};
  }
  std::vector<callaudit::Event> events;
  std::vector<std::pair<std::int64_t, std::string>> refused;
};

}  // namespace testutil
