// SQLite timeline: schema, one transaction per input, duplicate detection by fingerprint.
// Covered by tests/store/store_test.cc.
#include "callaudit/store.h"

#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "callaudit/timeutil.h"

namespace callaudit {

Statement::Statement(sqlite3* db, const std::string& sql) {
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &st_, &tail) != SQLITE_OK) {
    error_ = sqlite3_errmsg(db);
    st_ = nullptr;
    return;
  }
  if (tail) rest_ = std::string(tail);
}
Statement::Statement(Statement&& o) noexcept
    : st_(o.st_), error_(std::move(o.error_)), rest_(std::move(o.rest_)), rc_(o.rc_) {
  o.st_ = nullptr;
}
Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    if (st_) sqlite3_finalize(st_);
    st_ = o.st_;
    error_ = std::move(o.error_);
    rest_ = std::move(o.rest_);
    rc_ = o.rc_;
    o.st_ = nullptr;
  }
  return *this;
}
Statement::~Statement() {
  if (st_) sqlite3_finalize(st_);
}
Statement& Statement::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}
Statement& Statement::bind(int i, const std::string& v) {
  sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind(int i, std::string_view v) {
  sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind_static(int i, std::string_view v) {
  sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  return *this;
}
Statement& Statement::bind(int i, std::optional<std::int64_t> v) {
  if (v)
    sqlite3_bind_int64(st_, i, *v);
  else
    sqlite3_bind_null(st_, i);
  return *this;
}
Statement& Statement::bind(int i, std::optional<int> v) {
  if (v)
    sqlite3_bind_int64(st_, i, *v);
  else
    sqlite3_bind_null(st_, i);
  return *this;
}
Statement& Statement::bind(int i, double v) {
  sqlite3_bind_double(st_, i, v);
  return *this;
}
Statement& Statement::bind_null(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}
Statement& Statement::bind_static_or_null(int i, std::string_view v) {
  if (v.empty()) return bind_null(i);
  return bind_static(i, v);
}
bool Statement::step() {
  rc_ = sqlite3_step(st_);
  if (rc_ == SQLITE_ROW) return true;
  if (rc_ != SQLITE_DONE) error_ = sqlite3_errmsg(sqlite3_db_handle(st_));
  return false;
}
void Statement::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}
void Statement::rewind() { sqlite3_reset(st_); }
int Statement::columns() const { return sqlite3_column_count(st_); }
std::int64_t Statement::int64(int col) const { return sqlite3_column_int64(st_, col); }
double Statement::real(int col) const { return sqlite3_column_double(st_, col); }
std::string Statement::text(int col) const {
  const auto* p = sqlite3_column_text(st_, col);
  int n = sqlite3_column_bytes(st_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}
std::string_view Statement::text_view(int col) const {
  const auto* p = sqlite3_column_text(st_, col);
  int n = sqlite3_column_bytes(st_, col);
  return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string_view();
}
bool Statement::is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
std::string Statement::name(int col) const { return sqlite3_column_name(st_, col); }
int Statement::type(int col) const { return sqlite3_column_type(st_, col); }

namespace {

// The CHECKs list their values as `x = 'a' OR x = 'b'`, not `x IN ('a', 'b')`: SQLite builds a
// temporary table for an IN list on every row inserted, which made each insert several times
// slower.
const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS inputs (
  id            INTEGER PRIMARY KEY,
  path          TEXT NOT NULL,
  format        TEXT NOT NULL,
  fingerprint   TEXT NOT NULL UNIQUE,
  bytes         INTEGER NOT NULL,
  lines         INTEGER NOT NULL,
  records       INTEGER NOT NULL,
  parsed        INTEGER NOT NULL,
  unmatched     INTEGER NOT NULL,
  events        INTEGER NOT NULL,
  offers        INTEGER NOT NULL,
  results       INTEGER NOT NULL,
  failures      INTEGER NOT NULL,
  states        INTEGER NOT NULL,
  zone          TEXT NOT NULL,
  zone_assumed  INTEGER NOT NULL,
  precision     TEXT NOT NULL,
  first_at      INTEGER,
  last_at       INTEGER,
  backwards     INTEGER NOT NULL,
  merged        INTEGER NOT NULL,
  ingested_at   TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS events (
  id            INTEGER PRIMARY KEY,
  input_id      INTEGER NOT NULL REFERENCES inputs(id) ON DELETE CASCADE,
  line          INTEGER NOT NULL,
  type          TEXT NOT NULL CHECK (type = 'offer' OR type = 'result' OR type = 'state'),
  at            INTEGER NOT NULL,
  at_end        INTEGER NOT NULL,
  precision     TEXT NOT NULL,
  agent         TEXT NOT NULL,
  agent_raw     TEXT NOT NULL,
  agent_name    TEXT,
  call          TEXT,
  queue         TEXT,
  kind          TEXT,
  kind_basis    TEXT,
  confidence    TEXT,
  sip           INTEGER,
  q850          INTEGER,
  reason        TEXT,
  ring_ms       INTEGER,
  state         TEXT CHECK (state IS NULL OR state = 'ready' OR state = 'busy' OR state = 'not_ready'),
  vendor_state  TEXT,
  initiator     TEXT CHECK (initiator IS NULL OR initiator = 'agent' OR initiator = 'supervisor' OR initiator = 'system' OR initiator = 'unknown'),
  detail        TEXT,
  raw           TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS unmatched (
  input_id      INTEGER NOT NULL REFERENCES inputs(id) ON DELETE CASCADE,
  line          INTEGER NOT NULL,
  text          TEXT NOT NULL,
  why           TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS agent_aliases (
  alias         TEXT PRIMARY KEY,
  agent         TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS incidents (
  id            INTEGER PRIMARY KEY,
  from_at       INTEGER NOT NULL,
  to_at         INTEGER NOT NULL,
  class         TEXT NOT NULL,
  kind          TEXT NOT NULL,
  agents        INTEGER NOT NULL,
  failures      INTEGER NOT NULL,
  offers        INTEGER NOT NULL,
  verdict       TEXT NOT NULL,
  why           TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS diagnosis (
  failure_id    INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
  kind          TEXT NOT NULL,
  verdict       TEXT NOT NULL CHECK (verdict = 'agent' OR verdict = 'system' OR verdict = 'configuration' OR verdict = 'benign' OR verdict = 'unknown'),
  confidence    TEXT NOT NULL CHECK (confidence = 'high' OR confidence = 'medium' OR confidence = 'low'),
  rule          TEXT NOT NULL,
  why           TEXT NOT NULL,
  incident_id   INTEGER REFERENCES incidents(id)
) STRICT;
CREATE TABLE IF NOT EXISTS evidence (
  failure_id    INTEGER NOT NULL REFERENCES diagnosis(failure_id) ON DELETE CASCADE,
  role          TEXT NOT NULL CHECK (role = 'cause' OR role = 'context' OR role = 'consequence'),
  event_id      INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  note          TEXT
) STRICT;
CREATE VIEW IF NOT EXISTS timeline AS
  SELECT e.id, strftime('%Y-%m-%dT%H:%M:%f', e.at / 1e6, 'unixepoch') || 'Z' AS time, e.at, e.type, e.agent,
         e.agent_name, e.call, e.kind, e.sip, e.q850, e.reason, e.ring_ms, e.state, e.vendor_state, e.initiator,
         i.path AS file, e.line, i.format, e.raw
  FROM events e JOIN inputs i ON i.id = e.input_id;
CREATE VIEW IF NOT EXISTS state_changes AS
  SELECT id, time, at, agent, agent_name, state, vendor_state, initiator, file, line, raw
  FROM timeline WHERE type = 'state';
CREATE VIEW IF NOT EXISTS failures AS
  SELECT t.id, t.time, t.at, t.agent, t.agent_name, t.call, d.kind, t.kind AS code_kind, t.sip, t.q850, t.reason,
         t.ring_ms, d.verdict, d.confidence, d.rule, d.why, d.incident_id AS incident, t.file, t.line, t.raw
  FROM timeline t JOIN diagnosis d ON d.failure_id = t.id;
CREATE VIEW IF NOT EXISTS agents AS
  SELECT agent, max(agent_name) AS name,
         sum(type = 'result') AS offers,
         sum(type = 'result' AND kind <> 'normal') AS failures,
         sum(type = 'state') AS state_changes,
         min(time) AS first_seen, max(time) AS last_seen
  FROM timeline GROUP BY agent;
)SQL";

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& path, Mode mode) {
  std::unique_ptr<Store> s(new Store());
  s->path_ = path;
  // Refuse a file that exists but is not SQLite before SQLite gets to write to it.
  {
    std::ifstream f(path, std::ios::binary);
    if (f) {
      char magic[16] = {};
      f.read(magic, 16);
      auto n = f.gcount();
      if (n > 0 && (n < 16 || std::memcmp(magic, "SQLite format 3\0", 16) != 0))
        return Status::error(path + ": not a callaudit database (not an SQLite file)");
    } else if (mode == Mode::read_only) {
      return Status::error(path + ": no such database (run 'callaudit ingest' first)");
    }
  }
  // One thread at a time uses a connection: SQLite's per-call mutex is not needed.
  int flags = (mode == Mode::read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
              SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &s->db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = s->db_ ? sqlite3_errmsg(s->db_) : "cannot open";
    return Status::error(path + ": " + msg);
  }
  sqlite3_busy_timeout(s->db_, 5000);
  // A page cache of 16 MiB (the default is 2 MiB): a load appends to the table (its indexes
  // come after it), so few pages are read twice; 64 MiB gained nothing at 1 GiB of input and
  // cost about 30 MiB of memory. Sorts (index builds, ORDER BY) may use a helper thread.
  (void)s->exec("PRAGMA cache_size = -16384; PRAGMA threads = 2;");
  Status st = s->check_schema(mode);
  if (!st.ok()) return st;
  return s;
}

// Builds the TimelineDigest beside the inserts: texts interned, agents numbered on first sight.
struct Store::Gatherer {
  explicit Gatherer(std::size_t budget_bytes) : budget(budget_bytes) {}
  std::size_t budget;  // bytes
  std::uint64_t added = 0;  // results and state changes offered
  TimelineDigest d;
  std::unordered_map<std::string, std::uint32_t, ViewHash, std::equal_to<>> word_ids;
  std::vector<int> agent_of_word;  // by word: the agent's number, or -1

  std::uint32_t word(std::string_view s) {
    if (s.empty()) return 0;
    auto it = word_ids.find(s);
    if (it != word_ids.end()) return it->second;
    d.words.emplace_back(s);
    const auto id = static_cast<std::uint32_t>(d.words.size() - 1);
    word_ids.emplace(std::string(s), id);
    return id;
  }
  int agent(std::uint32_t w) {
    if (agent_of_word.size() <= w) agent_of_word.resize(w + 1, -1);
    int& a = agent_of_word[w];
    if (a < 0) {
      a = static_cast<int>(d.agents.size());
      d.agents.push_back(w);
      d.names.push_back(0);
    }
    return a;
  }
  // Where an input began, so that its rollback can be undone here too.
  struct Mark {
    size_t failures = 0, answered = 0, states = 0, agents = 0;
    std::vector<std::uint32_t> names;
  } mark;
  void begin() {
    mark.failures = d.failures.size();
    mark.answered = d.answered.size();
    mark.states = d.states.size();
    mark.agents = d.agents.size();
    mark.names = d.names;
  }
  void rollback() {
    d.failures.resize(mark.failures);
    d.texts.resize(mark.failures);
    d.answered.resize(mark.answered);
    d.states.resize(mark.states);
    for (size_t a = mark.agents; a < d.agents.size(); ++a) agent_of_word[d.agents[a]] = -1;
    d.agents.resize(mark.agents);
    d.names = mark.names;
  }
  [[nodiscard]] std::size_t bytes() const {
    return d.failures.capacity() * sizeof(TimelineDigest::Failure) + d.texts.capacity() * sizeof(TimelineDigest::Texts) +
           d.answered.capacity() * sizeof(d.answered[0]) + d.states.capacity() * sizeof(TimelineDigest::State) +
           (mark.names.capacity() + d.names.capacity() + d.agents.capacity()) * sizeof(std::uint32_t) +
           agent_of_word.capacity() * sizeof(int);
  }
  // The same values as the diagnosis' read of the stored row: empty texts are NULL there.
  // False once the digest is over its budget.
  bool add(std::int64_t input_id, std::int64_t id, const Event& e) {
    if (e.type != EventType::result && e.type != EventType::state) return true;
    if ((++added & 1023) == 0 && bytes() > budget) return false;
    const int a = agent(word(e.agent));
    if (!e.agent_name.empty()) d.names[static_cast<size_t>(a)] = word(e.agent_name);
    if (e.type == EventType::state) {
      d.states.push_back({id, input_id, e.line, e.at, e.at_end, a, word(e.state), word(e.initiator)});
    } else if (e.kind == "normal") {
      d.answered.emplace_back(e.at, a);
    } else {
      TimelineDigest::Failure f;
      f.id = id;
      f.input_id = input_id;
      f.line = e.line;
      f.at = e.at;
      f.at_end = e.at_end;
      f.agent = a;
      f.text = static_cast<std::int32_t>(d.texts.size());
      if (e.ring_ms) {
        f.ring_ms = *e.ring_ms;
        f.has_ring = true;
      }
      d.failures.push_back(f);
      d.texts.push_back({word(e.kind), word(e.kind_basis), word(e.confidence), word(e.reason)});
    }
    return true;
  }
};

bool Store::keep_timeline(std::size_t budget_bytes) {
  Statement q(db_, "SELECT EXISTS (SELECT 1 FROM events)");
  if (input_id_ == 0 && q.ok() && q.step() && q.int64(0) == 0)
    gatherer_ = std::make_unique<Gatherer>(budget_bytes);
  return gatherer_ != nullptr;
}

std::optional<TimelineDigest> Store::take_timeline() {
  if (!gatherer_ || input_id_ != 0) return std::nullopt;
  std::optional<TimelineDigest> d(std::move(gatherer_->d));
  gatherer_.reset();
  return d;
}

Store::~Store() {
  insert_event_ = Statement();
  insert_unmatched_ = Statement();
  if (db_) sqlite3_close(db_);
}

Status Store::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "error";
    sqlite3_free(err);
    return Status::error(m);
  }
  return {};
}

Status Store::check_schema(Mode mode) {
  Statement v(db_, "PRAGMA user_version");
  if (!v.ok()) return Status::error(path_ + ": " + v.error());
  if (!v.step()) return Status::error(path_ + ": " + v.error());
  std::int64_t version = v.int64(0);
  v = Statement();
  if (version > kSchemaVersion)
    return Status::error(path_ + ": written by a newer callaudit (schema version " + std::to_string(version) +
                         ", this one knows " + std::to_string(kSchemaVersion) + "); use a newer callaudit");
  if (mode == Mode::read_only) {
    if (version == 0) return Status::error(path_ + ": not a callaudit database (no timeline schema)");
    return {};
  }
  Status st = exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;");
  if (!st.ok()) return Status::error(path_ + ": " + st.message());
  if (version == 0) {
    // A database file of another program has tables but no version: refuse it.
    Statement t(db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
    if (t.ok() && t.step() && t.int64(0) > 0)
      return Status::error(path_ + ": an SQLite database of another program (no callaudit schema)");
    t = Statement();
    st = exec(std::string("BEGIN;") + kSchema + "PRAGMA user_version = " + std::to_string(kSchemaVersion) +
              "; COMMIT;");
    if (!st.ok()) return Status::error(path_ + ": cannot create the schema: " + st.message());
  }
  return {};
}

std::optional<std::string> Store::find_fingerprint(const std::string& fp) {
  Statement q(db_, "SELECT path FROM inputs WHERE fingerprint = ?");
  q.bind(1, fp);
  if (q.step()) return q.text(0);
  return std::nullopt;
}

Status Store::begin_input(const InputRow& row) {
  // The input's events all name the row inserted first in the same transaction: checking
  // each one's foreign key (a lookup per event) would find nothing. On again at its end.
  if (gatherer_) gatherer_->begin();  // where abort_input() takes the digest back to
  (void)exec("PRAGMA foreign_keys = OFF");
  Status st = exec("BEGIN IMMEDIATE");
  if (!st.ok()) {
    (void)exec("PRAGMA foreign_keys = ON");
    return st;
  }
  Statement ins(db_,
                "INSERT INTO inputs (path, format, fingerprint, bytes, lines, records, parsed, unmatched, events, offers,"
                " results, failures, states, zone, zone_assumed, precision, backwards, merged, ingested_at)"
                " VALUES (?, ?, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ?, ?, ?, 0, 0, ?)");
  if (!ins.ok()) return Status::error(ins.error());
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  // A placeholder fingerprint until the whole content has been read.
  ins.bind(1, row.path).bind(2, row.format).bind(3, "pending:" + std::to_string(now) + ":" + row.path);
  ins.bind(4, row.zone).bind(5, static_cast<std::int64_t>(row.zone_assumed)).bind(6, row.precision);
  ins.bind(7, format_utc(now - now % kUsPerSecond));
  if (ins.step(), ins.status() != 101 /*SQLITE_DONE*/) return Status::error(ins.error());
  input_id_ = sqlite3_last_insert_rowid(db_);
  unmatched_stored_ = 0;
  {
    // the events are numbered here, not by SQLite: one not stored still takes its number
    Statement last(db_, "SELECT coalesce(max(id), 0) FROM events");
    if (!last.ok() || !last.step()) return Status::error(last.error());
    next_event_id_ = last.int64(0) + 1;
  }
  if (!insert_event_.ok()) {
    insert_event_ = Statement(db_,
                              "INSERT INTO events (input_id, line, type, at, at_end, precision, agent, agent_raw,"
                              " agent_name, call, queue, kind, kind_basis, confidence, sip, q850, reason, ring_ms,"
                              " state, vendor_state, initiator, detail, raw, id)"
                              " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!insert_event_.ok()) return Status::error(insert_event_.error());
    insert_unmatched_ = Statement(db_, "INSERT INTO unmatched (input_id, line, text, why) VALUES (?,?,?,?)");
    if (!insert_unmatched_.ok()) return Status::error(insert_unmatched_.error());
  }
  return {};
}

Status Store::add_event(const Event& e) {
  Statement& s = insert_event_;
  // `e` outlives the step and reset() unbinds: SQLite need not copy the texts
  s.bind(1, input_id_).bind(2, e.line).bind_static(3, to_string(e.type)).bind(4, e.at).bind(5, e.at_end);
  s.bind_static(6, to_string(e.precision)).bind_static(7, e.agent).bind_static(8, e.agent_raw);
  s.bind_static_or_null(9, e.agent_name).bind_static_or_null(10, e.call).bind_static_or_null(11, e.queue);
  s.bind_static_or_null(12, e.kind).bind_static_or_null(13, e.kind_basis).bind_static_or_null(14, e.confidence);
  s.bind(15, e.sip).bind(16, e.q850).bind_static_or_null(17, e.reason).bind(18, e.ring_ms);
  s.bind_static_or_null(19, e.state).bind_static_or_null(20, e.vendor_state).bind_static_or_null(21, e.initiator);
  s.bind_static_or_null(22, e.detail).bind_static(23, e.raw).bind(24, next_event_id_);
  s.step();
  int rc = s.status();
  // every parameter is bound again for the next event: no need to unbind them (the texts
  // left bound point into `e`, but nothing reads them before they are bound anew)
  s.rewind();
  if (rc != SQLITE_DONE) return Status::error(sqlite3_errmsg(db_));
  // over its budget, the digest is dropped and the diagnosis reads the table
  if (gatherer_ && !gatherer_->add(input_id_, next_event_id_, e)) gatherer_.reset();
  ++next_event_id_;
  return {};
}

Status Store::add_unmatched(std::int64_t line, std::string_view text, const std::string& why) {
  if (unmatched_stored_ >= kUnmatchedSamplesPerInput) return {};
  ++unmatched_stored_;
  Statement& s = insert_unmatched_;
  s.bind(1, input_id_).bind(2, line).bind(3, text.substr(0, 4096)).bind(4, why);
  s.step();
  int rc = s.status();
  s.reset();
  if (rc != SQLITE_DONE) return Status::error(sqlite3_errmsg(db_));
  return {};
}

Status Store::add_alias(const std::string& alias, const std::string& agent) {
  Statement a(db_, "INSERT OR REPLACE INTO agent_aliases (alias, agent) VALUES (?, ?)");
  a.bind(1, alias).bind(2, agent);
  a.step();
  Statement u(db_, "UPDATE events SET agent = ?, agent_name = coalesce(agent_name, ?) WHERE agent = ?");
  u.bind(1, agent).bind(2, alias).bind(3, alias);
  u.step();
  // stored agents rewritten: the digest no longer is the table
  if (u.status() != SQLITE_DONE || sqlite3_changes(db_) > 0) gatherer_.reset();
  if (u.status() != SQLITE_DONE) return Status::error(u.error());
  return {};
}

Result<std::optional<std::string>> Store::finish_input(const InputRow& row) {
  if (auto existing = find_fingerprint(row.fingerprint)) {
    abort_input();
    return std::optional<std::string>(*existing);
  }
  Statement u(db_,
              "UPDATE inputs SET fingerprint = ?, bytes = ?, lines = ?, records = ?, parsed = ?, unmatched = ?,"
              " events = ?, offers = ?, results = ?, failures = ?, states = ?, first_at = ?, last_at = ?,"
              " backwards = ?, merged = ? WHERE id = ?");
  u.bind(1, row.fingerprint).bind(2, row.bytes).bind(3, row.lines).bind(4, row.records).bind(5, row.parsed);
  u.bind(6, row.unmatched).bind(7, row.events).bind(8, row.offers).bind(9, row.results).bind(10, row.failures);
  u.bind(11, row.states).bind(12, row.first_at).bind(13, row.last_at).bind(14, row.backwards).bind(15, row.merged);
  u.bind(16, input_id_);
  u.step();
  if (u.status() != SQLITE_DONE) {
    std::string err = u.error();
    abort_input();
    return Status::error(err);
  }
  Status st = exec("COMMIT");
  if (!st.ok()) {
    abort_input();
    return st;
  }
  (void)exec("PRAGMA foreign_keys = ON");
  input_id_ = 0;
  return std::optional<std::string>();
}

void Store::abort_input() {
  if (gatherer_) gatherer_->rollback();  // the input's events leave the digest too
  (void)exec("ROLLBACK");
  (void)exec("PRAGMA foreign_keys = ON");
  input_id_ = 0;
}

Status Store::create_indexes(Indexes which) {
  if (which == Indexes::none) return {};
  if (which == Indexes::for_report)
    // the state changes only: a few percent of the events of a log, so quick to sort
    return exec(
        "CREATE INDEX IF NOT EXISTS events_state_agent_at ON events (agent, at) WHERE type = 'state';"
        "CREATE INDEX IF NOT EXISTS unmatched_input ON unmatched (input_id, line);");
  static constexpr const char* kAll =
      "CREATE INDEX IF NOT EXISTS events_agent_at ON events (agent, at);"
      "CREATE INDEX IF NOT EXISTS events_type_at ON events (type, at);"
      "CREATE INDEX IF NOT EXISTS events_input_line ON events (input_id, line);"
      "CREATE INDEX IF NOT EXISTS unmatched_input ON unmatched (input_id, line);";
  // SQLite's sorter spills its runs to temporary files, and with temp_store = MEMORY those
  // live in memory: the index builds of a 4 GiB log would hold ~280 MiB. In files, the kernel
  // caches them instead. Where no temporary file can be written, the builds sort in memory.
  Status st = exec("PRAGMA temp_store = FILE;");
  if (st.ok()) st = exec(kAll);
  (void)exec("PRAGMA temp_store = MEMORY;");
  if (!st.ok()) st = exec(kAll);
  return st;
}

}  // namespace callaudit
