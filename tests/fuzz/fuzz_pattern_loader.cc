// libFuzzer target: one input = the text of a format file. It is written to a temp .toml and
// loaded with Catalog::load_format (and, as a rules file, Catalog::load_rules_file). A format
// that loads is then used: check_samples, detection, and a scan of its own samples through
// the parser and the normalizer with the shipped code tables. Each sample, whole and cut in
// half, must read the same with the fast dispatch as through the RE2::Set alone.
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
    TextParser parser(spec), reference(spec, false);
    Record rec, ref;
    for (const auto& p : spec.patterns) {
      for (const auto& s : p.samples) {
        for (std::string_view text : {std::string_view(s.text), std::string_view(s.text).substr(0, s.text.size() / 2)}) {
          parser.parse(text, rec);
          reference.parse(text, ref);
          FUZZ_CHECK(rec.kind == ref.kind && rec.pattern == ref.pattern && rec.fields == ref.fields &&
                         rec.rule == ref.rule && rec.why == ref.why,
                     "the fast dispatch and the RE2::Set give different records");
        }
        (void)explain_mismatch(p, s.text);
      }
    }
  }
  auto src = memory_source(input);
  fuzz::DiscardSink sink;
  (void)scan(spec, cat, fuzz::zone(false), *src, sink);
  return 0;
}
