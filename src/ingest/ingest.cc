// Ingest orchestration: detection, scan (read -> parse -> normalize), store.
// Covered by tests/ingest/ingest_test.cc and the fixture table tests.
#include "callaudit/ingest.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

#include "callaudit/normalize.h"
#include "callaudit/parse.h"

namespace callaudit {

namespace {

class HeadSource : public ByteSource {
 public:
  HeadSource(std::string head, ByteSource& rest) : head_(std::move(head)), rest_(rest) {}
  Result<size_t> read(char* buf, size_t cap) override {
    if (pos_ < head_.size()) {
      size_t n = std::min(cap, head_.size() - pos_);
      std::memcpy(buf, head_.data() + pos_, n);
      pos_ += n;
      return n;
    }
    return rest_.read(buf, cap);
  }

 private:
  std::string head_;
  size_t pos_ = 0;
  ByteSource& rest_;
};

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
    if (n == 9 || i + n >= s.size() + (n == 0 ? 1 : 0)) return n == 0;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n + 1;
  }
  return true;
}

// Control bytes shown as \xNN, so a message never writes raw control bytes to a terminal.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Bytes that are not valid UTF-8 read as Latin-1 (the usual other encoding of exports).
std::string latin1_repaired(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
    bool ok = n != 9 && i + n < s.size();
    for (size_t k = 1; ok && k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) ok = false;
    if (ok) {
      out.append(s.substr(i, n + 1));
      i += n + 1;
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
      ++i;
    }
  }
  return out;
}

std::string unmatched_why(const std::string& why, std::string_view line) {
  if (line.find('\0') != std::string_view::npos) return why + " (holds NUL bytes)";
  if (!valid_utf8(line)) return why + " (not valid UTF-8)";
  return why;
}

// Counts and forwards one recognized or unmatched record.
struct Counter {
  ScanStats& st;
  ScanSink& sink;
  Normalizer& norm;
  bool text = false;  // text formats count records here: recognized lines that start a record
  Status handle(Record& rec, std::int64_t line, std::string_view raw) {
    if (text && (rec.kind == RecordKind::noise || rec.kind == RecordKind::event)) ++st.records;
    switch (rec.kind) {
      case RecordKind::unmatched:
        ++st.unmatched;
        return sink.on_unmatched(line, raw, unmatched_why(rec.why, raw));
      case RecordKind::continuation:
      case RecordKind::noise: {
        ++st.parsed;
        static const std::string kNoRule = "(no rule)";
        // (no ?: between a std::string and a literal here: it would copy the name per line)
        const std::string& name = !rec.pattern.empty() ? rec.pattern : rec.rule ? rec.rule->name : kNoRule;
        sink.on_recognized(name, false);
        Status s = norm.feed(rec, line, raw);  // flagged noise (leg status, marks)
        if (!s.ok()) {
          --st.parsed;
          ++st.unmatched;
          return sink.on_unmatched(line, raw, s.message());
        }
        return drain();
      }
      case RecordKind::event: {
        Status s = norm.feed(rec, line, raw);
        if (!s.ok()) {
          ++st.unmatched;
          return sink.on_unmatched(line, raw, s.message());
        }
        ++st.parsed;
        sink.on_recognized(rec.pattern.empty() ? rec.rule->name : rec.pattern, true);
        return drain();
      }
    }
    return {};
  }
  Status drain() {
    while (Event* next = norm.next_ready()) {
      Event& e = *next;
      ++st.events;
      switch (e.type) {
        case EventType::offer:
          ++st.offers;
          break;
        case EventType::result:
          ++st.results;
          if (is_failure(e)) ++st.failures;
          break;
        case EventType::state:
          ++st.states;
          break;
      }
      if (!st.first_at || e.at < *st.first_at) st.first_at = e.at;
      if (!st.last_at || e.at_end > *st.last_at) st.last_at = e.at_end;
      Status s = sink.take_event(std::move(e));
      norm.drop();
      if (!s.ok()) return s;
    }
    return {};
  }
};

// ---- text inputs: lines in chunks, parsed by workers, handed on in input order
//
// The reader copies lines into chunks of about 256 KiB; each chunk is parsed on its own (by
// `parse_threads` workers, or inline with one) and then handed to the normalizer strictly in
// input order, so the result is the same whatever the number of threads. The only link
// between lines inside the parser, "has a record been seen yet" for continuation lines, is
// settled in order at hand-over.

struct LineChunk {
  struct Line {
    size_t off = 0, len = 0;
    std::int64_t no = 0;
    bool truncated = false;
    bool repaired = false;
  };
  std::string buf;  // the lines' bytes, back to back: the records' raw lines point here
  std::vector<Line> lines;
  std::vector<Record> recs;       // one per line (truncated lines: unused)
  std::uint64_t bytes_after = 0;  // input bytes read when the chunk was full (progress)
  std::string error;              // a parse failure (exception) in this chunk
  bool parsed = false;

  [[nodiscard]] std::string_view line(const Line& l) const { return std::string_view(buf).substr(l.off, l.len); }
  void clear() {
    buf.clear();
    lines.clear();
    bytes_after = 0;
    error.clear();
    parsed = false;
  }
};

void parse_chunk(TextParser& parser, LineChunk& c) {
  try {
    if (c.recs.size() < c.lines.size()) c.recs.resize(c.lines.size());
    for (size_t i = 0; i < c.lines.size(); ++i) {
      LineChunk::Line& l = c.lines[i];
      if (l.truncated) continue;
      std::string_view line = c.line(l);
      Record& rec = c.recs[i];
      parser.parse(line, rec, /*line_outlives_record=*/true);  // the chunk outlives its records
      if (rec.kind == RecordKind::unmatched && !valid_utf8(line)) {
        // RE2 reads UTF-8: a Latin-1 name in a line hides the line from every pattern. Read
        // the stray bytes as Latin-1 and try again; the stored raw line stays as it was.
        std::string repaired = latin1_repaired(line);
        Record again;
        parser.parse(repaired, again);
        if (again.kind != RecordKind::unmatched) {
          l.repaired = true;
          rec = std::move(again);  // its fields are views into its own copy of `repaired`
        }
      }
    }
  } catch (const std::exception& e) {
    c.error = std::string("parse failed: ") + e.what();
  }
}

// Parse workers: each takes the next chunk handed to it and marks it parsed.
class ParsePool {
 public:
  ParsePool(const FormatSpec& spec, int n) {
    for (int i = 0; i < n; ++i)
      workers_.emplace_back([this, &spec] {
        TextParser parser(spec);
        parser.assume_record_seen();  // settled in order at hand-over
        for (;;) {
          LineChunk* c = nullptr;
          {
            std::unique_lock lock(mu_);
            work_.wait(lock, [&] { return stop_ || !todo_.empty(); });
            if (todo_.empty()) return;  // stopping
            c = todo_.front();
            todo_.pop_front();
          }
          parse_chunk(parser, *c);
          {
            std::lock_guard lock(mu_);
            c->parsed = true;
          }
          done_.notify_all();
        }
      });
  }
  ParsePool(const ParsePool&) = delete;
  ParsePool& operator=(const ParsePool&) = delete;
  ~ParsePool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      todo_.clear();  // chunks not started are dropped; running ones finish first
    }
    work_.notify_all();
    for (auto& t : workers_) t.join();
  }
  void submit(LineChunk& c) {
    {
      std::lock_guard lock(mu_);
      todo_.push_back(&c);
    }
    work_.notify_one();
  }
  void wait(const LineChunk& c) {
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return c.parsed; });
  }

 private:
  std::mutex mu_;
  std::condition_variable work_, done_;
  std::deque<LineChunk*> todo_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

Status scan_text(const FormatSpec& spec, ByteSource& src, ScanStats& st, Counter& counter, ScanSink& sink,
                 int parse_threads) {
  constexpr size_t kChunkBytes = 256 << 10;
  constexpr size_t kChunkLines = 4096;
  const int workers = parse_threads > 1 ? parse_threads : 0;
  const size_t depth = workers ? static_cast<size_t>(2 * workers + 2) : 1;
  std::vector<LineChunk> ring(depth);
  // declared after `ring`: destroyed (workers joined) before the chunks they may still parse
  std::optional<ParsePool> pool;
  std::optional<TextParser> inline_parser;
  if (workers) {
    pool.emplace(spec, workers);
  } else {
    inline_parser.emplace(spec);
    inline_parser->assume_record_seen();
  }

  LineReader reader(src);
  bool eof = false;
  std::int64_t nul_lines = 0, blank = 0;  // (the reader thread's, when there is one)
  // Reads lines into `c` until it is full or the input ends.
  auto fill = [&](LineChunk& c) {
    c.clear();
    std::string_view line;
    while (c.buf.size() < kChunkBytes && c.lines.size() < kChunkLines) {
      if (!reader.next(line)) {
        eof = true;
        break;
      }
      LineChunk::Line l;
      l.no = reader.line_number();
      if (reader.truncated()) {
        l.truncated = true;
        line = line.substr(0, 200);
      } else {
        if (!line.empty() && line.front() == '\0') {
          ++nul_lines;
          while (!line.empty() && line.front() == '\0') line.remove_prefix(1);
        }
        if (line.empty()) {
          ++blank;
          continue;
        }
      }
      l.off = c.buf.size();
      l.len = line.size();
      c.buf.append(line);
      c.lines.push_back(l);
    }
    c.bytes_after = reader.fingerprint().bytes();
  };

  bool seen_record = false;
  std::uint64_t next_progress = 64 << 20;
  // Hands one parsed chunk to the normalizer, in input order.
  auto hand_over = [&](LineChunk& c) -> Status {
    if (!c.error.empty()) return Status::error(c.error);
    for (size_t i = 0; i < c.lines.size(); ++i) {
      const LineChunk::Line& l = c.lines[i];
      std::string_view line = c.line(l);
      if (l.truncated) {
        ++st.unmatched;
        Status s = sink.on_unmatched(l.no, line, "line longer than 1 MiB: cut, not parsed");
        if (!s.ok()) return s;
        continue;
      }
      Record& rec = c.recs[i];
      if (rec.kind == RecordKind::continuation && !seen_record) {
        rec.kind = RecordKind::unmatched;
        // a repaired line was only tried again because the line as read fitted nothing
        rec.why = l.repaired ? "fits no layout of " + spec.name
                             : "continuation line (" + rec.pattern + ") with no record before it";
      } else if (l.repaired) {
        ++st.repaired;
      }
      if (rec.kind == RecordKind::noise || rec.kind == RecordKind::event) seen_record = true;
      Status s = counter.handle(rec, l.no, line);
      if (!s.ok()) return s;
    }
    if (c.bytes_after >= next_progress) {
      sink.on_progress(c.bytes_after, c.lines.empty() ? 0 : c.lines.back().no);
      while (next_progress <= c.bytes_after) next_progress += 64 << 20;
    }
    return {};
  };

  if (pool) {
    // A reader thread fills the ring ahead and hands each chunk to the parsers; this thread
    // takes the parsed chunks in order. `produced` and `consumed` count chunks.
    std::mutex mu;
    std::condition_variable changed;
    size_t produced = 0, consumed = 0;
    bool done = false, stop = false;
    std::string read_failure;
    std::thread filler([&] {
      try {
        for (;;) {
          {
            std::unique_lock lock(mu);
            changed.wait(lock, [&] { return stop || produced - consumed < depth; });
            if (stop) break;
          }
          LineChunk& c = ring[produced % depth];  // free: consumed, or never used
          fill(c);
          if (c.lines.empty() && eof) break;
          pool->submit(c);
          {
            std::lock_guard lock(mu);
            ++produced;
          }
          changed.notify_all();
          if (eof) break;
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        read_failure = e.what();
      }
      {
        std::lock_guard lock(mu);
        done = true;
      }
      changed.notify_all();
    });
    // on every way out: the reader stops and is joined before the ring and the pool go
    struct Join {
      std::thread& t;
      std::mutex& mu;
      std::condition_variable& cv;
      bool& stop;
      ~Join() {
        {
          std::lock_guard lock(mu);
          stop = true;
        }
        cv.notify_all();
        t.join();
      }
    } join{filler, mu, changed, stop};
    for (size_t k = 0;; ++k) {
      {
        std::unique_lock lock(mu);
        changed.wait(lock, [&] { return produced > k || done; });
        if (produced <= k) break;  // done, and every chunk handed over
      }
      LineChunk& c = ring[k % depth];
      pool->wait(c);
      Status s = hand_over(c);
      if (!s.ok()) return s;
      {
        std::lock_guard lock(mu);
        ++consumed;
      }
      changed.notify_all();
    }
    if (!read_failure.empty()) return Status::error("read failed: " + read_failure);
  }
  // one thread: read, parse and hand over each chunk in turn
  while (!pool && !eof) {
    LineChunk& c = ring[0];
    fill(c);
    if (c.lines.empty()) break;
    parse_chunk(*inline_parser, c);
    c.parsed = true;
    Status s = hand_over(c);
    if (!s.ok()) return s;
  }
  st.nul_lines += nul_lines;
  st.blank += blank;
  if (!reader.error().empty())
    return Status::error("read error after line " + std::to_string(reader.line_number()) + ": " + reader.error() +
                         "; nothing from this input was stored");
  st.lines = reader.line_number();
  st.fingerprint = reader.fingerprint().hex();
  st.bytes = reader.fingerprint().bytes();
  return {};
}

}  // namespace

std::string read_head(ByteSource& src, size_t n, std::string& error) {
  std::string head(n, '\0');
  size_t got = 0;
  while (got < n) {
    auto r = src.read(head.data() + got, n - got);
    if (!r.ok()) {
      error = r.error();
      break;
    }
    if (*r == 0) break;
    got += *r;
  }
  head.resize(got);
  return head;
}

std::unique_ptr<ByteSource> prefixed(std::string head, ByteSource& rest) {
  return std::make_unique<HeadSource>(std::move(head), rest);
}

Detection detect_format(const Catalog& cat, std::string_view head) {
  Detection best;
  for (const auto& f : cat.formats) {
    double s = detect_score(*f, head);
    if (s > best.score) {
      best.score = s;
      best.spec = f.get();
    }
  }
  if (best.spec) return best;
  if (head.empty()) {
    best.why = "empty: nothing to read";
    return best;
  }
  // Text has few control bytes and is mostly valid UTF-8 (or at least not random high bytes).
  size_t control = 0, high = 0;
  for (unsigned char c : head) {
    if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f) ++control;
    if (c >= 0x80) ++high;
  }
  bool binary = control * 20 > head.size() || (high * 4 > head.size() && !valid_utf8(head.substr(0, 4096)));
  if (binary) {
    best.why = "looks binary (" + std::to_string(control * 100 / head.size()) + "% control bytes, " +
               std::to_string(high * 100 / head.size()) + "% high bytes in the first " + std::to_string(head.size()) +
               " bytes): not a log this tool reads";
    return best;
  }
  std::string_view first = head.substr(0, head.find('\n'));
  if (first.size() > 120) first = first.substr(0, 120);
  best.why = "no known format fits (first line: \"" + printable(first) +
             "\"); see 'callaudit formats list', or force one with --as";
  return best;
}

Result<ScanStats> scan(const FormatSpec& spec, const Catalog& cat, const ZoneConverter& zone, ByteSource& src,
                       ScanSink& sink, int parse_threads, bool keep_detail) {
  ScanStats st;
  st.format = spec.name;
  Normalizer norm(spec, cat.codes, zone, keep_detail);
  Counter counter{st, sink, norm, spec.layout == Layout::text};
  Record rec;
  if (spec.layout == Layout::text) {
    Status s = scan_text(spec, src, st, counter, sink, parse_threads);
    if (!s.ok()) return s;
  } else {
    CsvTokenizer tok;
    CsvMapper mapper(spec);
    Fingerprint fp;
    std::vector<char> buf(1 << 20);
    bool started = false;
    CsvTokenizer::Row row;
    std::uint64_t next_progress = 64 << 20;
    auto handle_rows = [&]() -> Status {
      while (tok.next(row)) {
        if (!started) {
          bool was_header = false;
          Status s = mapper.start(row.cells, was_header, row.raw);
          if (!s.ok()) return Status::error("line " + std::to_string(row.line) + ": " + s.message());
          started = true;
          if (was_header) continue;
          st.note = "no header row: columns taken by position";
        }
        if (row.cells.size() == 1 && row.cells[0].empty()) {
          ++st.blank;
          continue;
        }
        ++st.records;
        mapper.map(row, rec);
        Status s = counter.handle(rec, row.line, row.raw);
        if (!s.ok()) return s;
      }
      return {};
    };
    for (;;) {
      auto n = src.read(buf.data(), buf.size());
      if (!n.ok()) return Status::error("read error: " + n.error());
      if (*n == 0) break;
      fp.update(buf.data(), *n);
      tok.feed(std::string_view(buf.data(), *n));
      Status s = handle_rows();
      if (!s.ok()) return s;
      if (fp.bytes() >= next_progress) {
        sink.on_progress(fp.bytes(), tok.lines());
        next_progress += 64 << 20;
      }
    }
    tok.finish();
    Status s = handle_rows();
    if (!s.ok()) return s;
    st.lines = tok.lines();
    st.header_only = started && st.records == 0;
    st.fingerprint = fp.hex();
    st.bytes = fp.bytes();
  }
  norm.finish();
  Status s = counter.drain();
  if (!s.ok()) return s;
  for (const auto& [alias, agent] : norm.aliases()) sink.on_alias(alias, agent);
  st.backwards = norm.backwards();
  st.first_backwards_line = norm.first_backwards_line();
  st.merged = norm.merged();
  return st;
}

namespace {

class StoreSink : public ScanSink {
 public:
  StoreSink(Store& store, InputReport& report, const std::string& name,
            const std::function<void(const std::string&, std::uint64_t, std::int64_t)>& progress, bool keep_offers)
      : store_(store), report_(report), name_(name), progress_(progress), keep_offers_(keep_offers) {}
  Status on_event(const Event& e) override {
    if (!keep_offers_ && e.type == EventType::offer) {
      store_.skip_event();
      return {};
    }
    return store_.add_event(e);
  }
  Status on_unmatched(std::int64_t line, std::string_view text, const std::string& why) override {
    if (report_.unmatched_samples.size() < 5) report_.unmatched_samples.emplace_back(line, why);
    return store_.add_unmatched(line, text, why);
  }
  void on_alias(const std::string& alias, const std::string& agent) override { aliases.emplace_back(alias, agent); }
  void on_progress(std::uint64_t bytes, std::int64_t lines) override {
    if (progress_) progress_(name_, bytes, lines);
  }
  std::vector<std::pair<std::string, std::string>> aliases;

 private:
  Store& store_;
  InputReport& report_;
  const std::string& name_;
  const std::function<void(const std::string&, std::uint64_t, std::int64_t)>& progress_;
  bool keep_offers_;
};

// The scan thread hands events to the database writer in batches through a short queue: the
// scan never waits for SQLite unless the writer falls a few batches behind, and memory stays
// bounded whatever the input's size.
struct Batch {
  // The first `count` are this batch's events; those after them are left from an earlier
  // batch, kept for the room of their texts (the scan swaps its next events into them).
  std::vector<Event> events;
  size_t count = 0;
  std::vector<std::tuple<std::int64_t, std::string, std::string>> unmatched;  // (line, text, why)
  std::optional<std::pair<std::uint64_t, std::int64_t>> progress;            // (bytes, lines)
};

class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}
  // false when the writer has given up: the scan should stop.
  bool push(Batch&& b) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < capacity_ || aborted_; });
    if (aborted_) return false;
    q_.push_back(std::move(b));
    not_empty_.notify_one();
    return true;
  }
  // false once the queue is closed and empty.
  bool pop(Batch& b) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return false;
    b = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }
  void abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    q_.clear();
    not_full_.notify_all();
  }
  // The writer hands a written batch back; the scan fills it again on its own thread, its
  // events' texts swapped with those the normalizer fills next (nothing is freed on the
  // writer's thread, nor allocated again on the scan's).
  void give_back(Batch&& b) {
    std::lock_guard lock(mu_);
    if (spent_.size() < capacity_ + 2) spent_.push_back(std::move(b));
  }
  Batch take_spent() {
    std::lock_guard lock(mu_);
    if (spent_.empty()) return {};
    Batch b = std::move(spent_.back());
    spent_.pop_back();
    return b;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> q_;
  std::vector<Batch> spent_;
  size_t capacity_;
  bool closed_ = false, aborted_ = false;
};

constexpr size_t kBatchEvents = 4096;

// The scan thread's side: collects what the scan finds into batches for the writer.
class QueueSink : public ScanSink {
 public:
  explicit QueueSink(BatchQueue& q) : q_(q) {}
  Status on_event(const Event& e) override { return take_event(Event(e)); }
  // Swaps `e` with an event left in the batch from an earlier one: the normalizer gets that
  // event's texts back to fill with its next record, with their room.
  Status take_event(Event&& e) override {
    if (cur_.count < cur_.events.size())
      std::swap(cur_.events[cur_.count], e);
    else
      cur_.events.push_back(std::move(e));
    return ++cur_.count >= kBatchEvents ? flush() : Status();
  }
  Status on_unmatched(std::int64_t line, std::string_view text, const std::string& why) override {
    // the store keeps the first samples of each input only: copy no more than that
    if (unmatched_++ < kUnmatchedSamplesPerInput) cur_.unmatched.emplace_back(line, std::string(text.substr(0, 4096)), why);
    return {};
  }
  void on_alias(const std::string& alias, const std::string& agent) override { aliases.emplace_back(alias, agent); }
  void on_progress(std::uint64_t bytes, std::int64_t lines) override {
    cur_.progress = {bytes, lines};
    (void)flush();
  }
  Status flush() {
    if (cur_.count == 0 && cur_.unmatched.empty() && !cur_.progress) return {};
    bool ok = q_.push(std::move(cur_));
    cur_ = q_.take_spent();
    cur_.count = 0;
    cur_.unmatched.clear();
    cur_.progress.reset();
    cur_.events.reserve(kBatchEvents);
    if (!ok) return Status::error("stopped: the database writer failed");
    return {};
  }
  std::vector<std::pair<std::string, std::string>> aliases;

 private:
  BatchQueue& q_;
  Batch cur_;
  std::int64_t unmatched_ = 0;
};

// Runs the scan on its own thread while this one hands what it finds to `writer`.
Result<ScanStats> scan_and_store(const FormatSpec& spec, const Catalog& cat, const ZoneConverter& zone, ByteSource& src,
                                 StoreSink& writer, int parse_threads, bool keep_detail) {
  BatchQueue queue(4);
  QueueSink sink(queue);
  std::optional<Result<ScanStats>> scanned;
  std::thread scanner([&] {
    try {
      auto r = scan(spec, cat, zone, src, sink, parse_threads, keep_detail);
      if (r.ok()) {
        Status f = sink.flush();
        if (!f.ok()) r = f;
      }
      scanned.emplace(std::move(r));
    } catch (const std::exception& e) {
      scanned.emplace(Status::error(std::string("scan failed: ") + e.what()));
    }
    queue.close();
  });
  Status written;
  Batch b;
  while (queue.pop(b)) {
    if (!written.ok()) continue;
    for (size_t i = 0; i < b.count; ++i) {
      written = writer.on_event(b.events[i]);
      if (!written.ok()) break;
    }
    for (const auto& [line, text, why] : b.unmatched) {
      if (!written.ok()) break;
      written = writer.on_unmatched(line, text, why);
    }
    if (!written.ok()) queue.abort();
    if (b.progress) writer.on_progress(b.progress->first, b.progress->second);
    queue.give_back(std::move(b));
  }
  scanner.join();
  if (!written.ok()) return written;
  writer.aliases = std::move(sink.aliases);
  return std::move(*scanned);
}

}  // namespace

Ingester::Ingester(const Catalog& cat, Store& store, IngestOptions opts, const ZoneConverter& zone)
    : cat_(cat), store_(store), opts_(std::move(opts)), zone_(zone) {}

InputReport Ingester::ingest(InputStream& in) {
  InputReport rep;
  rep.name = in.name;
  std::string err;
  std::string head = read_head(*in.source, 64 * 1024, err);
  if (!err.empty()) {
    rep.status = "error";
    rep.message = "cannot read: " + err;
    return rep;
  }
  const FormatSpec* spec = nullptr;
  std::string detected;  // with --as: the format detection would have chosen, if another
  if (!opts_.forced_format.empty()) {
    spec = cat_.find(opts_.forced_format);
    if (!spec) {
      rep.status = "error";
      rep.message = "unknown format '" + opts_.forced_format + "' (see 'callaudit formats list')";
      return rep;
    }
    if (head.empty()) {
      rep.status = "error";
      rep.message = "empty: nothing to read";
      return rep;
    }
    // what the content looks like, for when no line of it fits the forced format
    if (Detection d = detect_format(cat_, head); d.spec && d.spec != spec) detected = d.spec->name;
  } else {
    Detection d = detect_format(cat_, head);
    if (!d.spec) {
      rep.status = "error";
      rep.message = d.why;
      return rep;
    }
    spec = d.spec;
  }
  InputRow row;
  row.path = in.name;
  row.format = spec->name;
  row.zone = spec->needs_zone ? zone_.name() : "(times carry their zone)";
  row.zone_assumed = spec->needs_zone && opts_.zone.empty();
  row.precision = std::string(to_string(spec->precision));
  Status st = store_.begin_input(row);
  if (!st.ok()) {
    rep.status = "error";
    rep.message = "database: " + st.message();
    return rep;
  }
  auto src = prefixed(std::move(head), *in.source);
  StoreSink sink(store_, rep, in.name, opts_.progress, opts_.keep_offers);
  // --threads 2 is the scan beside the writer; from 3 on, N - 1 parser threads besides
  const int parse_threads = opts_.threads >= 3 ? opts_.threads - 1 : 1;
  auto scanned = opts_.threads > 1 ? scan_and_store(*spec, cat_, zone_, *src, sink, parse_threads, opts_.keep_detail)
                                   : scan(*spec, cat_, zone_, *src, sink, 1, opts_.keep_detail);
  if (!scanned.ok()) {
    store_.abort_input();
    rep.status = "error";
    rep.message = scanned.error();
    rep.stats.format = spec->name;
    return rep;
  }
  ScanStats& s = *scanned;
  if (!opts_.forced_format.empty() && s.records == 0 && s.unmatched > 0) {
    // Not one line fits a layout of the format: it is not this file's. Storing it would only
    // hide the mistake behind a count of unmatched lines. (Lines that fit a layout but cannot
    // be normalized, an unknown state say, are records: counted unmatched with their reason.)
    store_.abort_input();
    rep.status = "error";
    rep.message = "none of its " + std::to_string(s.unmatched) + " lines fits " + spec->name +
                  " (forced with --as): nothing stored; " +
                  (detected.empty() ? std::string("no other known format fits it either")
                                    : "its content looks like " + detected + " (drop --as to read it so)");
    rep.stats = s;
    return rep;
  }
  for (const auto& [alias, agent] : sink.aliases) {
    Status a = store_.add_alias(alias, agent);
    if (!a.ok()) {
      store_.abort_input();
      rep.status = "error";
      rep.message = "database: " + a.message();
      return rep;
    }
  }
  row.fingerprint = spec->name + ":" + s.fingerprint;
  row.bytes = static_cast<std::int64_t>(s.bytes);
  row.lines = s.lines;
  row.records = s.records;
  row.parsed = s.parsed;
  row.unmatched = s.unmatched;
  row.events = s.events;
  row.offers = s.offers;
  row.results = s.results;
  row.failures = s.failures;
  row.states = s.states;
  row.first_at = s.first_at;
  row.last_at = s.last_at;
  row.backwards = s.backwards;
  row.merged = s.merged;
  auto fin = store_.finish_input(row);
  rep.stats = s;
  if (!fin.ok()) {
    rep.status = "error";
    rep.message = "database: " + fin.error();
    return rep;
  }
  if (fin->has_value()) {
    rep.status = "duplicate";
    rep.message = "already ingested (same content as " + **fin + "): nothing added";
    Statement z(store_.db(), "SELECT zone FROM inputs WHERE fingerprint = ?");
    z.bind(1, row.fingerprint);
    if (spec->needs_zone && z.step() && z.text(0) != row.zone) {
      // The same file read in another zone would be another timeline: say so, add nothing.
      rep.status = "error";
      rep.message = "already ingested with its times read in " + z.text(0) + " (as " + **fin + "); this run asked for " +
                    row.zone + ": nothing added. To read it in another zone, ingest it into a new database";
    }
    return rep;
  }
  rep.status = "ingested";
  return rep;
}

}  // namespace callaudit
