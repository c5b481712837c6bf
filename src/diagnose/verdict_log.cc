// The full verdicts of a diagnosis, serialized in order: in memory up to a limit, then in an
// unlinked temporary file. Covered by tests/diagnose/verdict_log_test.cc.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <cstring>
#include <stdexcept>

#include "callaudit/diagnose.h"

namespace callaudit {

namespace {

// ---- a compact encoding: varints (signed ones zigzagged), length-prefixed strings

void put_u(std::string& b, std::uint64_t v) {
  while (v >= 0x80) {
    b.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  b.push_back(static_cast<char>(v));
}
void put_i(std::string& b, std::int64_t v) {
  put_u(b, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}
void put_s(std::string& b, std::string_view s) {
  put_u(b, s.size());
  b.append(s);
}
template <typename T>
void put_opt(std::string& b, const std::optional<T>& v) {
  b.push_back(v ? 1 : 0);
  if (v) put_i(b, static_cast<std::int64_t>(*v));
}

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  std::uint64_t u() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const auto c = static_cast<unsigned char>(byte());
      v |= static_cast<std::uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
    throw std::runtime_error("verdict log: a number is too long");
  }
  std::int64_t i() {
    const std::uint64_t z = u();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  // Into `out` (its room reused).
  void s(std::string& out) {
    const std::uint64_t n = u();
    if (n > b_.size() - p_) throw std::runtime_error("verdict log: a text runs past its record");
    out.assign(b_.substr(p_, static_cast<size_t>(n)));
    p_ += static_cast<size_t>(n);
  }
  template <typename T>
  std::optional<T> opt() {
    if (!byte()) return std::nullopt;
    return static_cast<T>(i());
  }
  [[nodiscard]] bool done() const { return p_ == b_.size(); }

 private:
  char byte() {
    if (p_ >= b_.size()) throw std::runtime_error("verdict log: a record ends early");
    return b_[p_++];
  }
  std::string_view b_;
  size_t p_ = 0;
};

void encode(std::string& b, const FailureVerdict& v) {
  put_i(b, v.id);
  put_i(b, v.at);
  put_i(b, v.at_end);
  for (const std::string* s : {&v.agent, &v.agent_name, &v.call, &v.queue, &v.format, &v.file}) put_s(b, *s);
  put_i(b, v.line);
  for (const std::string* s : {&v.raw, &v.reason}) put_s(b, *s);
  put_opt(b, v.sip);
  put_opt(b, v.q850);
  put_opt(b, v.ring_ms);
  for (const std::string* s : {&v.code_kind, &v.kind_basis, &v.kind, &v.verdict, &v.confidence, &v.rule, &v.why})
    put_s(b, *s);
  // most evidence is in the failure's own file, and one piece is the failure's own line: a
  // flag byte says which texts are the failure's, and only the others are written
  put_u(b, v.evidence.size());
  for (const Evidence& e : v.evidence) {
    const bool same_file = e.file == v.file, same_text = e.text == v.raw;
    b.push_back(static_cast<char>((same_file ? 1 : 0) | (same_text ? 2 : 0)));
    put_s(b, e.role);
    put_i(b, e.event_id);
    put_s(b, e.note);
    if (!same_file) put_s(b, e.file);
    put_i(b, e.line);
    put_i(b, e.at);
    if (!same_text) put_s(b, e.text);
  }
  put_opt(b, v.incident);
  put_u(b, v.trace.size());
  for (const RuleTrace& t : v.trace) {
    put_s(b, t.rule);
    b.push_back(t.fired ? 1 : 0);
    put_s(b, t.why);
  }
}

// Into `v`, every field set (a verdict decoded before keeps the room of its texts: a reader
// going through a million verdicts allocates almost nothing).
void decode(std::string_view bytes, FailureVerdict& v) {
  Reader r(bytes);
  v.id = r.i();
  v.at = r.i();
  v.at_end = r.i();
  for (std::string* s : {&v.agent, &v.agent_name, &v.call, &v.queue, &v.format, &v.file}) r.s(*s);
  v.line = r.i();
  for (std::string* s : {&v.raw, &v.reason}) r.s(*s);
  v.sip = r.opt<int>();
  v.q850 = r.opt<int>();
  v.ring_ms = r.opt<std::int64_t>();
  for (std::string* s : {&v.code_kind, &v.kind_basis, &v.kind, &v.verdict, &v.confidence, &v.rule, &v.why}) r.s(*s);
  v.evidence.resize(static_cast<size_t>(r.u()));
  for (Evidence& e : v.evidence) {
    const std::uint64_t same = r.u();
    if (same > 3) throw std::runtime_error("verdict log: a bad evidence flag");
    r.s(e.role);
    e.event_id = r.i();
    r.s(e.note);
    if (same & 1)
      e.file = v.file;
    else
      r.s(e.file);
    e.line = r.i();
    e.at = r.i();
    if (same & 2)
      e.text = v.raw;
    else
      r.s(e.text);
  }
  v.incident = r.opt<std::int64_t>();
  v.trace.resize(static_cast<size_t>(r.u()));
  for (RuleTrace& t : v.trace) {
    r.s(t.rule);
    t.fired = r.u() != 0;
    r.s(t.why);
  }
  if (!r.done()) throw std::runtime_error("verdict log: a record is longer than its fields");
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

struct VerdictLog::Impl {
  static constexpr size_t kWriteBuffer = 1u << 20;
  size_t spill_bytes;
  std::vector<std::uint64_t> starts;  // offset of each record; the next record's start ends it
  std::uint64_t end = 0;              // bytes appended so far
  std::string mem;                    // the records while in memory; then the write buffer
  int fd = -1;
  std::uint64_t written = 0;          // bytes before mem[0]: in the file, or read once and dropped
  std::string scratch;
  // a read window over the file: get()'s; each for_each() has its own, so that two readers
  // on two threads do not take turns re-reading it
  struct Window {
    std::string bytes;
    std::uint64_t at = 0;
  };
  Window window;
  // an appender and a reader on two threads: everything above is used under `mu`
  mutable std::mutex mu;
  std::condition_variable grown;
  bool streaming = false, closed = false;
  std::string close_error;
  bool reader_waiting = false;  // in record(), for a verdict not appended yet
  size_t unannounced = 0;       // appended since the reader was last woken
  // read once: what the reader has taken (bytes) is dropped; the appender waits on `drained`
  bool read_once = false, reader_gone = false, appender_waiting = false;
  std::uint64_t taken = 0;
  std::condition_variable drained;

  explicit Impl(size_t spill) : spill_bytes(spill) {}
  ~Impl() {
    if (fd >= 0) ::close(fd);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status open_file() {
    const char* dir = std::getenv("TMPDIR");
    std::string path = std::string(dir && *dir ? dir : "/tmp") + "/callaudit-verdicts-XXXXXX";
    fd = ::mkstemp(path.data());
    if (fd < 0) return Status::error("cannot create a temporary file for the verdicts in " + path + ": " + errno_text());
    ::unlink(path.c_str());
    return Status();
  }

  Status flush() {
    size_t off = 0;
    while (off < mem.size()) {
      ssize_t n = ::write(fd, mem.data() + off, mem.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Status::error("cannot write the temporary verdict file: " + errno_text());
      off += static_cast<size_t>(n);
    }
    written += mem.size();
    mem.clear();
    // the records kept in memory before the spill leave a buffer as large as the limit: give
    // it back, a write buffer is all that is needed from now on
    if (mem.capacity() > 2 * kWriteBuffer) {
      std::string().swap(mem);
      mem.reserve(kWriteBuffer);
    }
    return Status();
  }

  // The bytes [at, at + n) of the log, under `mu`; valid until the next call or append.
  std::string_view bytes(std::uint64_t at, size_t n, size_t read_ahead, Window& w) {
    // in memory, or still in the write buffer (a record is never split between the two)
    if (at >= written) return std::string_view(mem).substr(static_cast<size_t>(at - written), n);
    if (fd < 0) throw std::logic_error("verdict log: a verdict read once was asked for again");
    if (at >= w.at && at + n <= w.at + w.bytes.size())
      return std::string_view(w.bytes).substr(static_cast<size_t>(at - w.at), n);
    const size_t want = static_cast<size_t>(std::min<std::uint64_t>(std::max(n, read_ahead), written - at));
    w.bytes.resize(want);
    size_t got = 0;
    while (got < want) {
      ssize_t r = ::pread(fd, w.bytes.data() + got, want - got, static_cast<off_t>(at + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) throw std::runtime_error("cannot read back the temporary verdict file: " + (r < 0 ? errno_text() : std::string("it is shorter than written")));
      got += static_cast<size_t>(r);
    }
    w.at = at;
    return std::string_view(w.bytes).substr(0, n);
  }

  size_t length(size_t i) const {
    const std::uint64_t next = i + 1 < starts.size() ? starts[i + 1] : end;
    return static_cast<size_t>(next - starts[i]);
  }

  // Record i, decoded; waits for it while the log streams. false: there is no record i.
  // `copy`: the caller's room for the record's bytes, decoded outside the lock.
  bool record(size_t i, size_t read_ahead, Window& w, std::string& copy, FailureVerdict& out) {
    {
      std::unique_lock lock(mu);
      reader_waiting = true;
      grown.wait(lock, [&] { return i < starts.size() || !streaming || closed; });
      reader_waiting = false;
      if (i >= starts.size()) {
        if (streaming && !close_error.empty()) throw std::runtime_error(close_error);
        return false;
      }
      // copied out: the buffer may grow (and move) once the lock is let go
      copy.assign(bytes(starts[i], length(i), read_ahead, w));
      if (read_once) {
        taken = starts[i] + length(i);
        // drop what was taken now and then (not per verdict: that would move the rest each time)
        if (taken - written >= std::min<std::uint64_t>(kWriteBuffer, spill_bytes / 2 + 1)) {
          mem.erase(0, static_cast<size_t>(taken - written));
          written = taken;
        }
        // the appender waits until the reader is half the spill size behind (not woken for
        // each verdict taken: it would append one and wait again)
        if (appender_waiting && end - taken <= spill_bytes / 2) drained.notify_one();
      }
    }
    decode(copy, out);
    return true;
  }
};

VerdictLog::VerdictLog(size_t spill_bytes) : impl_(std::make_shared<Impl>(spill_bytes)) {}

Status VerdictLog::append(const FailureVerdict& v) {
  Impl& m = *impl_;
  std::string encoded;  // encoded outside the lock: a reader waits only for the copy
  encoded.swap(m.scratch);  // (scratch is the appender's own; kept for its capacity)
  encoded.clear();
  encode(encoded, v);
  Status st;
  bool notify = false;
  {
    std::unique_lock lock(m.mu);
    if (m.closed) throw std::logic_error("verdict log: append after close");
    if (m.read_once) {
      // wait while the reader is behind by more than the spill size (woken first, so that it
      // does not wait for verdicts it was not told of)
      if (!m.reader_gone && m.end - m.taken > m.spill_bytes) {
        m.unannounced = 0;
        m.grown.notify_all();
        m.appender_waiting = true;
        m.drained.wait(lock, [&] { return m.reader_gone || m.end - m.taken <= m.spill_bytes / 2; });
        m.appender_waiting = false;
      }
      m.starts.push_back(m.end);
      m.end += encoded.size();
      if (m.reader_gone)
        m.written = m.end;  // nobody reads it: nothing is kept (reader_left() emptied the buffer)
      else
        m.mem += encoded;
    } else {
      if (m.fd < 0 && m.mem.size() + encoded.size() > m.spill_bytes) st = m.open_file();
      if (st.ok()) {
        m.starts.push_back(m.end);
        m.end += encoded.size();
        m.mem += encoded;
        if (m.fd >= 0 && m.mem.size() >= Impl::kWriteBuffer) st = m.flush();
      }
    }
    // a waiting reader is woken every few verdicts, not for each (close() wakes it at the end)
    if (m.reader_waiting && ++m.unannounced >= 32) {
      m.unannounced = 0;
      notify = true;
    }
  }
  encoded.swap(m.scratch);
  if (notify) m.grown.notify_all();
  return st;
}

Status VerdictLog::finish() {
  Status st;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->fd >= 0 && !impl_->mem.empty()) st = impl_->flush();
  }
  close(st.ok() ? "" : st.message());
  return st;
}

void VerdictLog::stream(bool read_once) {
  std::lock_guard lock(impl_->mu);
  impl_->streaming = true;
  impl_->read_once = read_once;
}

void VerdictLog::reader_left() const {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->read_once) return;  // the verdicts are kept for whoever reads them next
    impl_->reader_gone = true;
    impl_->mem.clear();
    impl_->written = impl_->end;
  }
  impl_->drained.notify_all();
}

void VerdictLog::close(const std::string& error) {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->closed) return;
    impl_->closed = true;
    impl_->close_error = error;
  }
  impl_->grown.notify_all();
}

size_t VerdictLog::size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->starts.size();
}

size_t VerdictLog::held_bytes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->mem.size();
}

bool VerdictLog::spilled() const {
  std::lock_guard lock(impl_->mu);
  return impl_->fd >= 0;
}

FailureVerdict VerdictLog::get(size_t i) const {
  FailureVerdict v;
  // near-sequential reads hit the window
  std::string copy;
  if (!impl_->record(i, 64u << 10, impl_->window, copy, v)) throw std::out_of_range("verdict log: no verdict " + std::to_string(i));
  return v;
}

void VerdictLog::for_each(const std::function<void(FailureVerdict&)>& fn) const {
  FailureVerdict v;
  Impl::Window w;
  bool once = false;
  {
    std::lock_guard lock(impl_->mu);
    once = impl_->read_once;
  }
  // the read-once reader leaves however it leaves (an exception of fn's or of the log's)
  struct Leave {
    const VerdictLog* log;
    ~Leave() {
      if (log) log->reader_left();
    }
  } leave{once ? this : nullptr};
  std::string copy;
  // one verdict decoded into again and again: its texts keep their room
  for (size_t i = 0; impl_->record(i, 4u << 20, w, copy, v); ++i) fn(v);
}

Word Diagnosis::word(std::string_view s) {
  if (s.empty()) return {};
  auto it = words_->find(s);
  if (it == words_->end()) it = words_->emplace(s).first;
  return Word(&*it);
}

Status Diagnosis::add(const FailureVerdict& v) {
  FailureBrief b;
  b.id = v.id;
  b.at = v.at;
  b.at_end = v.at_end;
  b.agent = word(v.agent);
  b.kind = word(v.kind);
  auto verdict = VerdictWord::find(v.verdict);
  auto confidence = ConfidenceWord::find(v.confidence);
  auto rule = RuleWord::find(v.rule);
  if (!verdict) return Status::error("failure " + std::to_string(v.id) + ": '" + v.verdict + "' is not a verdict");
  if (!confidence)
    return Status::error("failure " + std::to_string(v.id) + ": '" + v.confidence + "' is not a confidence");
  if (!rule) return Status::error("failure " + std::to_string(v.id) + ": '" + v.rule + "' is not a rule");
  b.verdict = *verdict;
  b.confidence = *confidence;
  b.rule = *rule;
  if (v.incident) {
    if (*v.incident <= 0 || *v.incident > INT32_MAX)
      return Status::error("failure " + std::to_string(v.id) + ": incident " + std::to_string(*v.incident) + " out of range");
    b.incident_id = static_cast<std::int32_t>(*v.incident);
  }
  failures.push_back(b);
  return verdicts.append(v);
}

}  // namespace callaudit
