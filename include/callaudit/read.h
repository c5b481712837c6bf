// Reading inputs: plain files, directories (recursive), compressed files and archives read in
// place (.gz, .bz2, .xz, .zip, .tar), and standard input. Produces byte streams with names.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "callaudit/result.h"

namespace callaudit {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `cap` bytes; 0 means end of input. An error ends the stream.
  virtual Result<size_t> read(char* buf, size_t cap) = 0;
};

// A source over bytes in memory (tests, samples).
std::unique_ptr<ByteSource> memory_source(std::string bytes);

struct InputStream {
  std::string name;                  // as the user gave it; inside an archive "bundle.zip:inner/path"
  std::unique_ptr<ByteSource> source;
  std::optional<std::uint64_t> size;  // known for plain files
};

struct ReadLimits {
  std::uint64_t max_expansion = 1000;   // uncompressed / compressed size, per archive
  int max_depth = 3;                    // archives inside archives
};

// Walks `args` in order and calls `on_input` for every readable stream. Problems (missing
// file, unreadable, corrupt archive, symlink loop) go to `on_error` with the input's name;
// the walk goes on with the rest.
void walk_inputs(const std::vector<std::string>& args,
                 const std::function<void(InputStream&)>& on_input,
                 const std::function<void(const std::string& name, const std::string& message)>& on_error,
                 const ReadLimits& limits = {});

// A 64-bit content fingerprint, fed chunk by chunk.
class Fingerprint {
 public:
  void update(const char* data, size_t n);
  [[nodiscard]] std::string hex() const;
  [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

 private:
  std::uint64_t h_ = 0x9E3779B97F4A7C15ULL;
  std::uint64_t bytes_ = 0;
  std::uint64_t tail_ = 0;
  int tail_n_ = 0;
};

// Splits a byte source into lines (LF or CRLF), with a cap on line length. Fingerprints all
// bytes read.
class LineReader {
 public:
  explicit LineReader(ByteSource& src, size_t max_line = 1 << 20);
  // Next line without its end-of-line bytes. Returns false at end of input or on a read
  // error (see error()).
  bool next(std::string_view& line);
  [[nodiscard]] std::int64_t line_number() const { return line_no_; }
  [[nodiscard]] bool truncated() const { return truncated_; }  // the last line was cut at max_line
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] const Fingerprint& fingerprint() const { return fp_; }
  // Peeks at the first bytes of the input without consuming them.
  std::string_view peek(size_t n);

 private:
  bool fill();
  ByteSource& src_;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  size_t max_line_;
  bool eof_ = false;
  bool truncated_ = false;
  std::int64_t line_no_ = 0;
  std::string error_;
  std::string long_line_;
  Fingerprint fp_;
};

}  // namespace callaudit
