// Shared by the libFuzzer targets: the shipped catalog (loaded once), a sink that discards,
// a per-process temp folder, a byte source that returns short reads, and a way to stop with
// a message when an invariant breaks (libFuzzer then saves the input as crash-*).
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include "callaudit/ingest.h"
#include "callaudit/patterns.h"
#include "callaudit/read.h"

namespace fuzz {

// Stops the run: an invariant of the code under test does not hold for this input.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::fflush(stderr);
  std::abort();
}
#define FUZZ_CHECK(cond, what) \
  do {                         \
    if (!(cond)) ::fuzz::fail(what); \
  } while (0)

inline std::filesystem::path patterns_dir() {
  if (const char* env = std::getenv("CALLAUDIT_PATTERNS"); env && *env) return env;
  return std::filesystem::path(CALLAUDIT_SOURCE_DIR) / "patterns";
}

// The shipped catalog, loaded once per process.
inline const callaudit::Catalog& catalog() {
  static const callaudit::Catalog cat = [] {
    auto c = callaudit::Catalog::load(patterns_dir());
    if (!c.ok()) {
      std::fprintf(stderr, "cannot load the catalog from %s: %s\n", patterns_dir().c_str(), c.error().c_str());
      std::exit(2);
    }
    return std::move(*c);
  }();
  return cat;
}

inline const callaudit::ZoneConverter& zone(bool utc) {
  static const callaudit::ZoneConverter z_utc = *callaudit::ZoneConverter::make("");
  static const callaudit::ZoneConverter z_london = *callaudit::ZoneConverter::make("Europe/London");
  return utc ? z_utc : z_london;
}

// A folder of this process, removed at exit.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "callaudit-fuzz-XXXXXX").string();
    if (!mkdtemp(templ.data())) fail("mkdtemp");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline const std::filesystem::path& temp_dir() {
  static TempDir dir;
  return dir.path();
}

inline void write_file(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) fail("cannot write the temp file");
}

// FNV-1a: a seed derived from the input, so a saved input replays the same chunking.
inline std::uint64_t seed_of(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Discards everything a scan finds, but checks what it is given.
class DiscardSink : public callaudit::ScanSink {
 public:
  callaudit::Status on_event(const callaudit::Event& e) override {
    ++events;
    FUZZ_CHECK(e.at <= e.at_end, "an event ends before it starts (at > at_end)");
    FUZZ_CHECK(!e.agent.empty(), "an event without an agent");
    FUZZ_CHECK(e.line >= 1, "an event on line < 1");
    return {};
  }
  callaudit::Status on_unmatched(std::int64_t line, std::string_view text, const std::string& why) override {
    (void)text;
    ++unmatched;
    FUZZ_CHECK(line >= 1, "an unmatched record on line < 1");
    FUZZ_CHECK(!why.empty(), "an unmatched record without a reason");
    return {};
  }
  std::int64_t events = 0;
  std::int64_t unmatched = 0;
};

// A source over bytes in memory that returns reads of random sizes (1..max), like a pipe or
// a decompressor, so chunk boundaries fall everywhere.
class ChoppySource : public callaudit::ByteSource {
 public:
  ChoppySource(std::string_view bytes, std::uint64_t seed, size_t max_chunk)
      : bytes_(bytes), rng_(seed), max_chunk_(max_chunk) {}
  callaudit::Result<size_t> read(char* buf, size_t cap) override {
    if (pos_ >= bytes_.size() || cap == 0) return size_t{0};
    size_t n = std::uniform_int_distribution<size_t>(1, max_chunk_)(rng_);
    n = std::min({n, cap, bytes_.size() - pos_});
    std::memcpy(buf, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
  std::mt19937_64 rng_;
  size_t max_chunk_;
};

}  // namespace fuzz
