// Ingest: detects each input's format, runs parse -> normalize, and stores the events, one
// transaction per input. Also the format test (the same scan, without a database).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "callaudit/model.h"
#include "callaudit/patterns.h"
#include "callaudit/read.h"
#include "callaudit/store.h"
#include "callaudit/timeutil.h"

namespace callaudit {

// Receives what a scan finds, record by record.
class ScanSink {
 public:
  virtual ~ScanSink() = default;
  virtual Status on_event(const Event& e) = 0;
  // The same, for a sink that keeps the event: the scan no longer needs it.
  virtual Status take_event(Event&& e) { return on_event(e); }
  virtual Status on_unmatched(std::int64_t line, std::string_view text, const std::string& why) = 0;
  virtual void on_recognized(const std::string& pattern, bool is_event) { (void)pattern, (void)is_event; }
  virtual void on_alias(const std::string& alias, const std::string& agent) { (void)alias, (void)agent; }
  virtual void on_progress(std::uint64_t bytes, std::int64_t lines) { (void)bytes, (void)lines; }
};

struct ScanStats {
  std::string format;
  std::int64_t lines = 0;
  std::int64_t records = 0;  // CSV: data rows; text: lines that start a record (not continuations)
  std::int64_t parsed = 0;
  std::int64_t unmatched = 0;
  std::int64_t blank = 0;
  std::int64_t nul_lines = 0;  // lines that began with NUL bytes (stripped)
  std::int64_t repaired = 0;   // lines recognized only after reading stray bytes as Latin-1
  std::int64_t events = 0, offers = 0, results = 0, failures = 0, states = 0;
  std::int64_t backwards = 0;
  std::int64_t first_backwards_line = 0;
  std::int64_t merged = 0;
  std::optional<TimeUs> first_at, last_at;
  std::string fingerprint;
  std::uint64_t bytes = 0;
  bool header_only = false;
  std::string note;  // e.g. "headerless: columns taken by position"
};

struct Detection {
  const FormatSpec* spec = nullptr;
  double score = 0;
  std::string why;  // when nothing fits: why not
};

// Picks the best format for an input from its first bytes.
Detection detect_format(const Catalog& cat, std::string_view head);

// Scans one input with one format. Returns an error only when the input cannot be read at
// all (read error, missing required columns); unmatched lines are data, not errors.
// `parse_threads` > 1: the lines of a text input are parsed by that many worker threads, in
// chunks, and handed to the normalizer in input order (the result does not depend on it).
// `keep_detail` = false: the events carry no `detail` (see Normalizer).
Result<ScanStats> scan(const FormatSpec& spec, const Catalog& cat, const ZoneConverter& zone, ByteSource& src,
                       ScanSink& sink, int parse_threads = 1, bool keep_detail = true);

struct IngestOptions {
  std::string forced_format;  // --as
  std::string zone;           // --tz ("" = UTC, assumed)
  // 1: scan and store one after the other on one thread; 2: the scan (read, parse,
  // normalize) runs on its own thread and hands events in batches to the database writer
  // (this thread); N >= 3: besides, N - 1 parser threads parse the chunks of a text input.
  // (On two cores, parser threads only add work: the scan and the writer already fill them.)
  int threads = 2;
  // false: events are stored without `detail` (NULL), which only queries of the database show;
  // for analyze's temporary database, removed after the report (saves the text and its pages).
  bool keep_detail = true;
  // false: offer events are counted but not stored (the events after one keep the numbers they
  // would have): for analyze's temporary database, where nothing reads them (the diagnosis
  // counts offers by their results and never cites an offer line).
  bool keep_offers = true;
  std::function<void(const std::string& name, std::uint64_t bytes, std::int64_t lines)> progress;
};

struct InputReport {
  std::string name;
  std::string status;  // "ingested", "duplicate", "error"
  std::string message;
  ScanStats stats;
  std::vector<std::pair<std::int64_t, std::string>> unmatched_samples;  // first few (line, why)
};

class Ingester {
 public:
  Ingester(const Catalog& cat, Store& store, IngestOptions opts, const ZoneConverter& zone);
  InputReport ingest(InputStream& in);

 private:
  const Catalog& cat_;
  Store& store_;
  IngestOptions opts_;
  const ZoneConverter& zone_;
};

// The head of an input: its first bytes, put back in front of the rest.
std::string read_head(ByteSource& src, size_t n, std::string& error);
std::unique_ptr<ByteSource> prefixed(std::string head, ByteSource& rest);

}  // namespace callaudit
