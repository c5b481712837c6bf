// Rendering a diagnosis: JSON (the stable contract, docs/diagnosis-json.md), CSV and text.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "callaudit/diagnose.h"
#include "callaudit/store.h"
#include "callaudit/timeutil.h"

namespace callaudit {

struct CoverageEntry {
  InputRow input;
  std::vector<std::pair<std::int64_t, std::string>> samples;  // (line, text)
  std::vector<std::string> whys;
};

Result<std::vector<CoverageEntry>> load_coverage(Store& store);

constexpr const char* kDiagnosisSchema = "callaudit.diagnosis/1";

void write_diagnosis_json(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage);
void write_diagnosis_csv(std::ostream& out, const Diagnosis& d);

struct TextStyle {
  bool color = false;
  const ZoneConverter* zone = nullptr;  // display zone; nullptr = UTC
};
void write_diagnosis_text(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage,
                          const TextStyle& style);
void write_explain_text(std::ostream& out, const FailureVerdict& f, const TextStyle& style);

// A time for people: UTC ("2026-03-14 09:12:33Z") or in the display zone ("... Europe/London").
std::string show_time(TimeUs t, const TextStyle& style);

}  // namespace callaudit

namespace callaudit {

struct ReportOptions {
  std::string format = "md";  // md | html | json
  std::string case_id;
  bool redact = false;
  const ZoneConverter* zone = nullptr;
};

// Masks phone numbers and the given names consistently (same input, same mask).
class Redactor {
 public:
  Redactor(bool on, std::vector<std::string> names);
  [[nodiscard]] std::string operator()(const std::string& text) const;
  [[nodiscard]] bool on() const { return on_; }

 private:
  bool on_;
  std::vector<std::pair<std::string, std::string>> names_;  // name -> mask, longest first
};

// Names worth masking: agent names known to the timeline.
std::vector<std::string> names_to_redact(Store& store);

void write_report(std::ostream& out, const Diagnosis& d, const std::vector<CoverageEntry>& coverage,
                  const ReportOptions& opts, const Redactor& redact);

}  // namespace callaudit
