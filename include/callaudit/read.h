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

class MappedFile;

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `cap` bytes; 0 means end of input. An error ends the stream.
  virtual Result<size_t> read(char* buf, size_t cap) = 0;
  // The rest of the input as bytes in memory, when it is a plain file that can be mapped: the
  // mapping, with in `from` the offset in it of the next byte read() would give. The caller
  // then reads the mapping instead and calls read() no more. nullptr when the source cannot.
  virtual std::shared_ptr<MappedFile> mapped(std::uint64_t& from) {
    (void)from;
    return nullptr;
  }
};

// A plain file mapped read-only into memory, as long as it was when mapped. Should another
// program cut the file short meanwhile, the bytes past its new end read as zeros and shrank()
// becomes true, instead of the process being killed (SIGBUS) when it touches them.
class MappedFile {
 public:
  // nullptr when the file cannot be mapped (the caller reads it instead).
  static std::shared_ptr<MappedFile> map(int fd, std::uint64_t size);
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();
  [[nodiscard]] const char* data() const { return data_; }
  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] bool shrank() const;
  // Done with the bytes before `upto`: the pages go out of this process's memory (the page
  // cache keeps them, and touching them again maps them again), in steps of 8 MiB, so that
  // the resident size does not grow with the file. From one thread at a time.
  void release_before(size_t upto);

 private:
  MappedFile(const char* data, size_t size, int slot) : data_(data), size_(size), slot_(slot) {}
  const char* data_;
  size_t size_;
  int slot_;  // its entry in the table the SIGBUS handler reads
  size_t released_ = 0;
};

// ByteSource::mapped() for a source that replays a head read earlier from the start of `rest`
// and still has `unread` bytes of it to give.
std::shared_ptr<MappedFile> mapped_after_head(ByteSource& rest, size_t unread, std::uint64_t& from);

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
// bytes read. A plain file is read through a mapping (ByteSource::mapped): its lines are views
// into it, without a copy, for as long as the reader lives.
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
  // The mapping the lines point into, or nullptr when the input is read into a buffer (then a
  // line's bytes are good only until the next call).
  [[nodiscard]] const char* mapped_data() const { return map_ ? map_->data() : nullptr; }
  // With a mapping: done with the bytes before `p` (see MappedFile::release_before). May be
  // called from another thread than the one reading, one thread at a time.
  void release_before(const char* p) {
    if (map_) map_->release_before(static_cast<size_t>(p - map_->data()));
  }

 private:
  bool fill();
  bool next_mapped(std::string_view& line);
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
  std::shared_ptr<MappedFile> map_;
  size_t mpos_ = 0;     // next byte of the mapping to read
  size_t fp_done_ = 0;  // bytes of the mapping fingerprinted (up to 1 MiB ahead of mpos_)
};

}  // namespace callaudit
