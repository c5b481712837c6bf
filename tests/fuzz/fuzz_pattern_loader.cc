// libFuzzer target: one input = the text of a format file. It is written to a temp .toml and
// loaded with Catalog::load_format (and, as a rules file, Catalog::load_rules_file). A format
// that loads is then used: check_samples, detection, and a scan of its own samples through
// the parser and the normalizer with the shipped code tables.
#include <string>
#include <string_view>

#include "callaudit/parse.h"
#include "fuzz_common.h"

using namespace callaudit;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::catalog();
  (void)fuzz::temp_dir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const Catalog& cat = fuzz::catalog();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path file = fuzz::temp_dir() / "format.toml";
  fuzz::write_file(file, in);

  (void)Catalog::load_rules_file(file);
  auto loaded = Catalog::load_format(file);
  if (!loaded.ok()) {
    FUZZ_CHECK(!loaded.error().empty(), "load_format failed without a message");
    return 0;
  }
  const FormatSpec& spec = *loaded;
  (void)check_samples(spec);

  // An input made of the format's own samples (under its header for CSV).
  std::string input;
  if (spec.layout == Layout::csv) {
    for (size_t i = 0; i < spec.header.size(); ++i) input += (i ? "," : "") + spec.header[i];
    input += "\n";
    for (const auto& s : spec.samples) input += s.text + "\n";
  } else {
    for (const auto& p : spec.patterns)
      for (const auto& s : p.samples) input += s.text + "\n";
  }
  (void)detect_score(spec, input);
  if (spec.layout == Layout::text) {
    TextParser parser(spec);
    Record rec;
    for (const auto& p : spec.patterns) {
      for (const auto& s : p.samples) {
        parser.parse(s.text, rec);
        (void)explain_mismatch(p, s.text);
      }
    }
  }
  auto src = memory_source(input);
  fuzz::DiscardSink sink;
  (void)scan(spec, cat, fuzz::zone(false), *src, sink);
  return 0;
}
