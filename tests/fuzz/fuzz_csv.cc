// libFuzzer target: one input = the bytes of a CSV export. The CsvTokenizer is fed the bytes
// whole and again in chunks of random sizes (seeded by the input, so a saved input replays):
// both must give the same rows, lines and raw text. Then, for every shipped CSV format:
// parse_csv_line and detect_score on the head; when its CsvMapper takes the first row, the
// mapper and the Normalizer over the rows, and (on one input in kScanEvery) the real scan
// (CsvTokenizer -> CsvMapper -> Normalizer) through callaudit::scan with short reads and a
// sink that discards, checking its accounting.
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "callaudit/normalize.h"
#include "callaudit/parse.h"
#include "fuzz_common.h"

using namespace callaudit;

namespace {

// scan() costs a 1 MiB read buffer (~35 ms under ASan here): it runs on one input in
// kScanEvery, picked by a hash of the input; the mapper + normalizer loop runs on every input.
constexpr std::uint64_t kScanEvery = 4;

void check_event(const Event& e) {
  FUZZ_CHECK(e.at <= e.at_end, "an event ends before it starts (at > at_end)");
  FUZZ_CHECK(!e.agent.empty(), "an event without an agent");
  FUZZ_CHECK(e.line >= 1, "an event on line < 1");
}

bool same_row(const CsvTokenizer::Row& a, const CsvTokenizer::Row& b) {
  return a.cells == b.cells && a.line == b.line && a.raw == b.raw && a.unterminated_quote == b.unterminated_quote &&
         a.too_long == b.too_long && a.last_line == b.last_line;
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

  // Whole and chunked tokenization must agree.
  std::vector<CsvTokenizer::Row> whole_rows;
  CsvTokenizer whole;
  {
    whole.feed(in);
    whole.finish();
    CsvTokenizer::Row row;
    while (whole.next(row)) whole_rows.push_back(row);
  }
  std::vector<CsvTokenizer::Row> chunk_rows;
  CsvTokenizer chunked;
  {
    std::mt19937_64 rng(seed);
    CsvTokenizer::Row row;
    size_t pos = 0;
    while (pos < in.size()) {
      // Mostly tiny chunks (every boundary inside a BOM, a quote pair or a CRLF), sometimes big.
      size_t n = rng() % 8 == 0 ? 1 + rng() % 4096 : 1 + rng() % 5;
      n = std::min(n, in.size() - pos);
      chunked.feed(in.substr(pos, n));
      pos += n;
      if (rng() % 2 == 0)
        while (chunked.next(row)) chunk_rows.push_back(row);
    }
    chunked.finish();
    while (chunked.next(row)) chunk_rows.push_back(row);
  }
  FUZZ_CHECK(whole_rows.size() == chunk_rows.size(), "CsvTokenizer: chunked feed gives another number of rows");
  for (size_t i = 0; i < whole_rows.size(); ++i)
    FUZZ_CHECK(same_row(whole_rows[i], chunk_rows[i]), "CsvTokenizer: chunked feed gives another row");
  FUZZ_CHECK(whole.lines() == chunked.lines(), "CsvTokenizer: chunked feed counts other lines");
  for (size_t i = 1; i < whole_rows.size(); ++i)
    FUZZ_CHECK(whole_rows[i].line > whole_rows[i - 1].line, "CsvTokenizer: row lines do not rise");

  std::string_view head = in.substr(0, 64 * 1024);
  std::string_view first_line = head.substr(0, head.find('\n'));
  (void)parse_csv_line(first_line);
  const ZoneConverter& zone = fuzz::zone((seed & 2) != 0);
  const bool run_scan = (seed >> 8) % kScanEvery == 0;
  for (const auto& f : cat.formats) {
    if (f->layout != Layout::csv) continue;
    const FormatSpec& spec = *f;
    double score = detect_score(spec, head);
    FUZZ_CHECK(score >= 0 && score <= 1, "detect_score out of 0..1");
    if (whole_rows.empty()) continue;

    // Mapper + normalizer over the rows, as scan() drives them. When the mapper refuses the
    // first row, scan() stops there with an error: nothing more to run for this format.
    CsvMapper mapper(spec);
    bool was_header = false;
    if (!mapper.start(whole_rows[0].cells, was_header, whole_rows[0].raw).ok()) continue;
    Normalizer norm(spec, cat.codes, zone);
    Record rec;
    Event e;
    for (size_t i = was_header ? 1 : 0; i < whole_rows.size(); ++i) {
      const auto& row = whole_rows[i];
      if (row.cells.size() == 1 && row.cells[0].empty()) continue;
      mapper.map(row, rec);
      if (rec.kind == RecordKind::unmatched) {
        FUZZ_CHECK(!rec.why.empty(), "an unmatched row without a reason");
        continue;
      }
      if (rec.kind == RecordKind::event) FUZZ_CHECK(rec.rule != nullptr, "an event record without its rule");
      (void)norm.feed(rec, row.line, row.raw);
      while (norm.pop(e)) check_event(e);
    }
    norm.finish();
    while (norm.pop(e)) check_event(e);

    // The real scan, with reads of random sizes, on one input in kScanEvery.
    if (!run_scan) continue;
    fuzz::ChoppySource src(in, seed ^ 0x5bd1e995, (seed & 1) ? 3 : 1 << 16);
    fuzz::DiscardSink sink;
    auto r = scan(spec, cat, zone, src, sink);
    FUZZ_CHECK(r.ok(), "scan refused rows the CsvMapper took");
    const ScanStats& st = *r;
    FUZZ_CHECK(st.bytes == size, "scan: bytes != input size");
    FUZZ_CHECK(st.records == st.parsed + st.unmatched, "scan: records != parsed + unmatched");
    FUZZ_CHECK(st.events == st.offers + st.results + st.states, "scan: events != offers + results + states");
    FUZZ_CHECK(st.failures <= st.results, "scan: more failures than results");
    FUZZ_CHECK(st.events == sink.events, "scan: counted events != events given to the sink");
    FUZZ_CHECK(st.unmatched == sink.unmatched, "scan: counted unmatched != unmatched given to the sink");
  }
  return 0;
}
