// The SQLite timeline: one database file per case. Schema in docs/timeline-schema.md.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "callaudit/model.h"
#include "callaudit/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace callaudit {

constexpr int kSchemaVersion = 1;

struct InputRow {
  std::int64_t id = 0;
  std::string path;
  std::string format;
  std::string fingerprint;
  std::int64_t bytes = 0;
  std::int64_t lines = 0;
  std::int64_t records = 0;
  std::int64_t parsed = 0;
  std::int64_t unmatched = 0;
  std::int64_t events = 0;
  std::int64_t offers = 0;
  std::int64_t results = 0;
  std::int64_t failures = 0;
  std::int64_t states = 0;
  std::string zone;
  bool zone_assumed = false;
  std::string precision;
  std::optional<TimeUs> first_at, last_at;
  std::int64_t backwards = 0;
  std::int64_t merged = 0;
};

// What a diagnosis loads of the timeline: every result and state change, with only the columns
// its rules read. Gathered by the store as it inserts them (Store::keep_timeline), so that a
// database filled by this process need not be read back. Texts are numbers into `words`
// (0: the empty text); agents are numbered in the order they first appear in `events`.
struct TimelineDigest {
  struct Failure {  // a failed result
    std::int64_t id = 0;
    std::int64_t input_id = 0, line = 0;
    TimeUs at = 0, at_end = 0;
    std::int64_t ring_ms = 0;
    int agent = 0;
    std::int32_t text = -1;  // index into `texts`
    bool has_ring = false;
    [[nodiscard]] std::optional<std::int64_t> ring() const {
      return has_ring ? std::optional<std::int64_t>(ring_ms) : std::nullopt;
    }
  };
  struct Texts {  // of a failure: what the rules compare
    std::uint32_t kind = 0, kind_basis = 0, confidence = 0, reason = 0;
  };
  struct State {
    std::int64_t id = 0;
    std::int64_t input_id = 0, line = 0;
    TimeUs at = 0, at_end = 0;
    int agent = 0;
    std::uint32_t state = 0, initiator = 0;  // words
  };
  std::vector<std::string> words{std::string()};
  std::vector<std::uint32_t> agents;  // agent i's id, a word
  std::vector<std::uint32_t> names;   // agent i's display name: the last non-empty one stored
  std::vector<Failure> failures;      // in storage order
  std::vector<Texts> texts;
  std::vector<std::pair<TimeUs, int>> answered;  // (time, agent), in storage order
  std::vector<State> states;                     // in storage order
};

// A prepared statement with RAII.
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, const std::string& sql);
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  ~Statement();
  [[nodiscard]] bool ok() const { return st_ != nullptr; }
  [[nodiscard]] const std::string& error() const { return error_; }
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, const std::string& v);
  Statement& bind(int i, std::string_view v);
  // Binds text that stays valid until the statement is stepped and reset: not copied.
  Statement& bind_static(int i, std::string_view v);
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, std::optional<std::int64_t> v);
  Statement& bind(int i, std::optional<int> v);
  Statement& bind(int i, double v);
  Statement& bind_null(int i);
  // Binds without a copy: `v` must stay unchanged until the step is done and reset() is called.
  Statement& bind_static_or_null(int i, std::string_view v);
  // Steps once: true while there is a row.
  bool step();
  void reset();
  // reset() without unbinding: for a statement whose every parameter is bound before each step.
  void rewind();
  [[nodiscard]] int columns() const;
  [[nodiscard]] std::int64_t int64(int col) const;
  [[nodiscard]] double real(int col) const;
  [[nodiscard]] std::string text(int col) const;
  // The column's text, valid until the next step or reset.
  [[nodiscard]] std::string_view text_view(int col) const;
  [[nodiscard]] bool is_null(int col) const;
  [[nodiscard]] std::string name(int col) const;
  [[nodiscard]] int type(int col) const;
  [[nodiscard]] int status() const { return rc_; }
  // SQL text after the first statement, which prepare did not read.
  [[nodiscard]] const std::string& rest() const { return rest_; }
  sqlite3_stmt* raw() { return st_; }

 private:
  sqlite3_stmt* st_ = nullptr;
  std::string error_;
  std::string rest_;
  int rc_ = 0;
};

class Store {
 public:
  enum class Mode { read_write, read_only };
  static Result<std::unique_ptr<Store>> open(const std::string& path, Mode mode);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  sqlite3* db() { return db_; }
  Status exec(const std::string& sql);
  // For a database deleted at the end of the run (analyze's temporary one): commits no longer
  // wait for the disk to hold the data (synchronous = OFF; about 0.1 s for a 1 GiB log). A
  // crash of the machine may leave such a file corrupt, but nothing opens it again.
  Status skip_sync() { return exec("PRAGMA synchronous = OFF;"); }

  // One input = one transaction.
  Status begin_input(const InputRow& row);
  Status add_event(const Event& e);
  // An event of the input that is not stored keeps its number: the events stored after it are
  // numbered as in a database that stores it too.
  void skip_event() { ++next_event_id_; }
  Status add_unmatched(std::int64_t line, std::string_view text, const std::string& why);
  // Applies member-name aliases found in this input to every event of the case.
  Status add_alias(const std::string& alias, const std::string& agent);
  // Commits, unless the same content is already in: then rolls back and returns its path.
  Result<std::optional<std::string>> finish_input(const InputRow& row);
  void abort_input();
  // Gathers a TimelineDigest of the events stored from now on, if `events` is empty: then the
  // digest is the whole table (a rolled-back input is undone in it too) until an alias
  // rewrites stored agents or it grows over `budget_bytes`, either of which drops it. The
  // digest's vectors become the diagnosis' own, so it costs little more than the diagnosis'
  // read of the table would: the default lets a 4 GiB FreeSWITCH debug log's (about 145 MiB)
  // through and drops larger ones. Returns whether it is gathering.
  static constexpr std::size_t kTimelineBudget = std::size_t{256} << 20;
  bool keep_timeline(std::size_t budget_bytes = kTimelineBudget);
  // The digest, when it is still the whole table and no input is open; given once.
  std::optional<TimelineDigest> take_timeline();
  [[nodiscard]] bool keeps_timeline() const { return gatherer_ != nullptr; }
  // Building an index over a million events takes seconds; over the state changes alone, a
  // fraction of that. all: for queries; for_report: the state changes only, for the HTML
  // report's lanes (and the unmatched samples); none: a report that reads neither through an
  // index.
  enum class Indexes { all, for_report, none };
  Status create_indexes(Indexes which = Indexes::all);
  std::optional<std::string> find_fingerprint(const std::string& fp);

  [[nodiscard]] std::int64_t current_input() const { return input_id_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  Store() = default;
  Status check_schema(Mode mode);
  sqlite3* db_ = nullptr;
  std::string path_;
  std::int64_t input_id_ = 0;
  std::int64_t next_event_id_ = 1;  // of the open input's next event
  Statement insert_event_;
  Statement insert_unmatched_;
  std::int64_t unmatched_stored_ = 0;
  struct Gatherer;
  std::unique_ptr<Gatherer> gatherer_;  // while keeping the timeline's digest
};

constexpr int kUnmatchedSamplesPerInput = 100;

}  // namespace callaudit
