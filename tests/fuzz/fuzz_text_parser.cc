// libFuzzer target: one input = the bytes of a log. For every shipped text format, the
// TextParser and the Normalizer line by line (as scan() drives them; the same line through a
// parser without the fast dispatch must give the same record; explain_mismatch on
// an unmatched line of one input in kExplainEvery); then the real pipeline, callaudit::scan (LineReader -> TextParser
// -> Normalizer), with short reads and a sink that discards, checking its accounting. Also
// format detection over the head (of one input in kDetectEvery).
//
// Speed: each scan() builds a LineReader, whose 1 MiB buffer (allocated, zeroed, then grown
// to 1 MiB + 1) costs ~35 ms under ASan on a VM where page faults are dear, against well under
// 1 ms for the rest. So scan() runs on one input in kScanEvery (picked by a hash of the
// input, so a saved input replays the same way); the direct parser + normalizer loop runs on
// every input. See docs/fuzzing.md.
#include <string>
#include <string_view>
#include <vector>

#include "callaudit/normalize.h"
#include "callaudit/parse.h"
#include "fuzz_common.h"

using namespace callaudit;

namespace {

constexpr std::uint64_t kScanEvery = 4;
// explain_mismatch compiles regexes per call (~80% of the time when run on every input).
constexpr std::uint64_t kExplainEvery = 16;
constexpr std::uint64_t kDetectEvery = 4;

void check_event(const Event& e) {
  FUZZ_CHECK(e.at <= e.at_end, "an event ends before it starts (at > at_end)");
  FUZZ_CHECK(!e.agent.empty(), "an event without an agent");
  FUZZ_CHECK(e.line >= 1, "an event on line < 1");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::catalog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const Catalog& cat = fuzz::catalog();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::uint64_t seed = fuzz::seed_of(in);
  const ZoneConverter& zone = fuzz::zone((seed & 2) != 0);
  // Detection tries every format on up to 200 lines: a fifth of the time if run on every input.
  if ((seed >> 24) % kDetectEvery == 0) (void)detect_format(cat, in.substr(0, 64 * 1024));

  // Parser + normalizer for every text format, lines split on LF (a CR before it dropped and
  // leading NUL bytes stripped, as scan() does). Counts the lines each format recognizes.
  std::vector<const FormatSpec*> text_formats;
  std::vector<int> recognized;
  for (const auto& f : cat.formats) {
    if (f->layout != Layout::text) continue;
    const FormatSpec& spec = *f;
    text_formats.push_back(&spec);
    int hits = 0;
    bool explain = (seed >> 16) % kExplainEvery == 0;
    TextParser parser(spec);
    TextParser reference(spec, false);  // every line through the RE2::Set
    Record ref;
    Normalizer norm(spec, cat.codes, zone);
    Record rec;
    Event e;
    std::int64_t no = 0;
    size_t pos = 0;
    while (pos < in.size()) {
      size_t nl = in.find('\n', pos);
      std::string_view line = in.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      pos = nl == std::string_view::npos ? in.size() : nl + 1;
      ++no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      while (!line.empty() && line.front() == '\0') line.remove_prefix(1);
      if (line.empty()) continue;
      parser.parse(line, rec);
      reference.parse(line, ref);
      FUZZ_CHECK(rec.kind == ref.kind && rec.pattern == ref.pattern && rec.fields == ref.fields &&
                     rec.rule == ref.rule && rec.why == ref.why,
                 "the fast dispatch and the RE2::Set give different records");
      int d = parser.dispatch(line);
      FUZZ_CHECK(d >= -1 && d < static_cast<int>(spec.patterns.size()), "dispatch out of range");
      if (rec.kind == RecordKind::unmatched) {
        FUZZ_CHECK(!rec.why.empty(), "an unmatched record without a reason");
        if (explain && !spec.patterns.empty()) {
          explain = false;
          (void)explain_mismatch(spec.patterns[seed % spec.patterns.size()], line);
        }
        continue;
      }
      ++hits;
      if (rec.kind == RecordKind::event) FUZZ_CHECK(rec.rule != nullptr, "an event record without its rule");
      (void)norm.feed(rec, no, line);
      while (norm.pop(e)) check_event(e);
    }
    norm.finish();
    while (norm.pop(e)) check_event(e);
    (void)norm.aliases();
    FUZZ_CHECK(norm.backwards() >= 0 && norm.merged() >= 0, "negative normalizer counts");
    recognized.push_back(hits);
  }

  // The real scan: for every text format that recognizes a line, else for one picked by the
  // input; on one input in kScanEvery.
  if ((seed >> 8) % kScanEvery != 0) return 0;
  bool any = false;
  for (int h : recognized) any = any || h > 0;
  for (size_t k = 0; k < text_formats.size(); ++k) {
    if (any ? recognized[k] == 0 : k != seed % text_formats.size()) continue;
    const FormatSpec& spec = *text_formats[k];
    fuzz::ChoppySource src(in, seed, (seed & 1) ? 7 : 4096);
    fuzz::DiscardSink sink;
    auto r = scan(spec, cat, zone, src, sink);
    FUZZ_CHECK(r.ok(), "a text scan of bytes in memory failed");
    const ScanStats& st = *r;
    FUZZ_CHECK(st.bytes == size, "scan: bytes != input size");
    FUZZ_CHECK(st.lines == st.parsed + st.unmatched + st.blank, "scan: lines != parsed + unmatched + blank");
    FUZZ_CHECK(st.events == st.offers + st.results + st.states, "scan: events != offers + results + states");
    FUZZ_CHECK(st.failures <= st.results, "scan: more failures than results");
    FUZZ_CHECK(st.events == sink.events, "scan: counted events != events given to the sink");
    FUZZ_CHECK(st.unmatched == sink.unmatched, "scan: counted unmatched != unmatched given to the sink");
  }
  return 0;
}
