// Input walking, archive reading (libarchive) and line splitting.
// Covered by tests/read/read_test.cc.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "callaudit/read.h"

namespace callaudit {
namespace fs = std::filesystem;

namespace {

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string b) : bytes_(std::move(b)) {}
  Result<size_t> read(char* buf, size_t cap) override {
    size_t n = std::min(cap, bytes_.size() - pos_);
    std::memcpy(buf, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t pos_ = 0;
};

class FdSource : public ByteSource {
 public:
  FdSource(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~FdSource() override {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }
  Result<size_t> read(char* buf, size_t cap) override {
    for (;;) {
      ssize_t n = ::read(fd_, buf, cap);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      return Status::error(std::strerror(errno));
    }
  }

 private:
  int fd_;
  bool owned_;
};

// A source that replays bytes already read (the sniffed head) before the rest.
class PrefixSource : public ByteSource {
 public:
  PrefixSource(std::string head, std::unique_ptr<ByteSource> rest) : head_(std::move(head)), rest_(std::move(rest)) {}
  Result<size_t> read(char* buf, size_t cap) override {
    if (pos_ < head_.size()) {
      size_t n = std::min(cap, head_.size() - pos_);
      std::memcpy(buf, head_.data() + pos_, n);
      pos_ += n;
      return n;
    }
    return rest_->read(buf, cap);
  }

 private:
  std::string head_;
  size_t pos_ = 0;
  std::unique_ptr<ByteSource> rest_;
};

enum class Container { none, compressed, archive };

Container sniff(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  if (starts("PK\x03\x04") || starts("PK\x05\x06")) return Container::archive;
  if (head.size() > 262 && head.substr(257, 5) == "ustar") return Container::archive;
  if (starts("\x1f\x8b") || starts("BZh") || starts(std::string_view("\xfd" "7zXZ\0", 6)) ||
      starts("\x28\xb5\x2f\xfd"))
    return Container::compressed;
  return Container::none;
}

// libarchive reading from another ByteSource (so archives nest and stdin works).
struct ArchiveReader {
  archive* a = nullptr;
  ByteSource* inner = nullptr;
  std::vector<char> buf = std::vector<char>(1 << 16);
  std::string error;

  static la_ssize_t read_cb(archive*, void* self, const void** out) {
    auto* r = static_cast<ArchiveReader*>(self);
    auto n = r->inner->read(r->buf.data(), r->buf.size());
    if (!n.ok()) {
      r->error = n.error();
      return -1;
    }
    *out = r->buf.data();
    return static_cast<la_ssize_t>(*n);
  }
  ~ArchiveReader() {
    if (a) archive_read_free(a);
  }
};

// Reads the current entry's data of an open archive; guards against expansion bombs. The
// budget is shared by all entries of one archive: many small members cannot add up past it.
class EntrySource : public ByteSource {
 public:
  EntrySource(archive* a, std::uint64_t budget, std::shared_ptr<std::uint64_t> total, const std::string* inner_error)
      : a_(a), budget_(budget), total_(std::move(total)), inner_error_(inner_error) {}
  Result<size_t> read(char* buf, size_t cap) override {
    // Small reads: on a damaged stream libarchive then hands out what it could decompress
    // before it reports the damage.
    la_ssize_t n = archive_read_data(a_, buf, std::min<size_t>(cap, 64 * 1024));
    if (n < 0) {
      // An error of the stream beneath (an archive bomb refused there, say) says more than
      // libarchive's own message.
      if (inner_error_ && !inner_error_->empty()) return Status::error(*inner_error_);
      return Status::error(archive_error_string(a_) ? archive_error_string(a_) : "archive read error");
    }
    *total_ += static_cast<std::uint64_t>(n);
    if (budget_ && *total_ > budget_)
      return Status::error("expands to more than " + std::to_string(budget_) +
                           " bytes (over the expansion limit for its compressed size): refusing a possible archive bomb");
    return static_cast<size_t>(n);
  }

 private:
  archive* a_;
  std::uint64_t budget_;
  std::shared_ptr<std::uint64_t> total_;
  const std::string* inner_error_;
};

struct Walker {
  const std::function<void(InputStream&)>& on_input;
  const std::function<void(const std::string&, const std::string&)>& on_error;
  const ReadLimits& limits;
  std::shared_ptr<std::uint64_t> file_total;  // bytes expanded so far from the current file

  // Looks at the first bytes of `src` and either hands it on as text or opens the container.
  void dispatch(const std::string& name, std::unique_ptr<ByteSource> src, std::optional<std::uint64_t> size,
                std::uint64_t compressed_size, int depth) {
    std::string head(512, '\0');
    size_t got = 0;
    while (got < head.size()) {
      auto n = src->read(head.data() + got, head.size() - got);
      if (!n.ok()) {
        on_error(name, "cannot read: " + n.error());
        return;
      }
      if (*n == 0) break;
      got += *n;
    }
    head.resize(got);
    Container c = sniff(head);
    auto whole = std::make_unique<PrefixSource>(head, std::move(src));
    if (c == Container::none) {
      InputStream in{name, std::move(whole), size};
      on_input(in);
      return;
    }
    if (depth >= limits.max_depth) {
      on_error(name, "archive nested too deep (more than " + std::to_string(limits.max_depth) + " levels): not read");
      return;
    }
    open_container(name, std::move(whole), c, size ? *size : compressed_size, depth);
  }

  void open_container(const std::string& name, std::unique_ptr<ByteSource> src, Container c,
                      std::uint64_t compressed_size, int depth) {
    ArchiveReader r;
    r.inner = src.get();
    r.a = archive_read_new();
    archive_read_support_filter_all(r.a);
    if (c == Container::archive) {
      archive_read_support_format_zip(r.a);
      archive_read_support_format_tar(r.a);
    } else {
      archive_read_support_format_raw(r.a);
    }
    if (archive_read_open(r.a, &r, nullptr, &ArchiveReader::read_cb, nullptr) != ARCHIVE_OK) {
      std::string why = !r.error.empty()            ? r.error
                        : archive_error_string(r.a) ? archive_error_string(r.a)
                                                    : "unknown error";
      if (c == Container::compressed)
        on_error(name, r.error.empty() ? std::string("cannot decompress: the compressed stream is empty or damaged")
                                       : "cannot decompress: " + r.error);
      else
        on_error(name, "cannot open archive: " + why);
      return;
    }
    // One budget for everything a file on disk expands to, however deeply its archives nest:
    // neither many small members nor members compressed twice can add up past it.
    std::uint64_t budget = limits.max_expansion * std::max<std::uint64_t>(compressed_size, 1 << 16);
    if (depth == 0 || !file_total) file_total = std::make_shared<std::uint64_t>(0);
    auto total = file_total;
    archive_entry* entry = nullptr;
    int entries = 0;
    for (;;) {
      int rc = archive_read_next_header(r.a, &entry);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) {
        if (!r.error.empty())
          on_error(name, r.error);
        else
          on_error(name, std::string("corrupt archive: ") +
                             (archive_error_string(r.a) ? archive_error_string(r.a) : "cannot read the next entry"));
        return;
      }
      ++entries;
      if (c == Container::compressed) {
        std::string inner = name;
        // A compressed single file keeps its own name: its lines are cited as that file.
        auto es = std::make_unique<EntrySource>(r.a, budget, total, &r.error);
        dispatch(inner, std::move(es), std::nullopt, compressed_size, depth + 1);
        return;
      }
      if (archive_entry_filetype(entry) != AE_IFREG) continue;
      const char* p = archive_entry_pathname_utf8(entry);
      if (!p) p = archive_entry_pathname(entry);
      std::string inner = name + ":" + (p ? p : "?");
      auto es = std::make_unique<EntrySource>(r.a, budget, total, &r.error);
      dispatch(inner, std::move(es), std::nullopt, compressed_size, depth + 1);
    }
    if (entries == 0 && c == Container::archive) on_error(name, "archive holds no files");
  }

  void walk_path(const std::string& arg) {
    if (arg == "-") {
      dispatch("-", std::make_unique<FdSource>(0, false), std::nullopt, 0, 0);
      return;
    }
    std::error_code ec;
    fs::path p(arg);
    auto st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      auto lst = fs::symlink_status(p, ec);
      if (fs::is_symlink(lst))
        on_error(arg, "broken symbolic link");
      else
        on_error(arg, "no such file or directory");
      return;
    }
    if (fs::is_directory(st)) {
      walk_dir(p);
      return;
    }
    open_file(p, arg);
  }

  void open_file(const fs::path& p, const std::string& name) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      on_error(name, std::string("cannot open: ") + std::strerror(errno));
      return;
    }
    struct stat sb {};
    std::optional<std::uint64_t> size;
    if (::fstat(fd, &sb) == 0) {
      if (S_ISDIR(sb.st_mode)) {
        ::close(fd);
        on_error(name, "is a directory");
        return;
      }
      if (S_ISREG(sb.st_mode)) size = static_cast<std::uint64_t>(sb.st_size);
    }
    dispatch(name, std::make_unique<FdSource>(fd, true), size, size.value_or(0), 0);
  }

  void walk_dir(const fs::path& dir) {
    // Follows directory links, but never into a directory it has already entered.
    std::set<std::pair<dev_t, ino_t>> seen;
    std::vector<fs::path> stack{dir};
    std::vector<fs::path> files;
    while (!stack.empty()) {
      fs::path d = stack.back();
      stack.pop_back();
      struct stat sb {};
      if (::stat(d.c_str(), &sb) != 0) {
        on_error(d.string(), std::string("cannot read directory: ") + std::strerror(errno));
        continue;
      }
      if (!seen.insert({sb.st_dev, sb.st_ino}).second) {
        on_error(d.string(), "directory loop through a symbolic link: skipped");
        continue;
      }
      std::error_code ec;
      std::vector<fs::path> entries;
      for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(it->path());
      if (ec) on_error(d.string(), "cannot list directory: " + ec.message());
      std::sort(entries.begin(), entries.end());
      std::vector<fs::path> subdirs;
      for (const auto& e : entries) {
        std::error_code ec2;
        auto st = fs::status(e, ec2);
        if (fs::is_directory(st))
          subdirs.push_back(e);
        else
          files.push_back(e);
      }
      for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) stack.push_back(*it);
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) on_error(dir.string(), "folder holds no files");
    for (const auto& f : files) {
      std::error_code ec;
      if (!fs::exists(fs::status(f, ec))) {
        on_error(f.string(), "broken symbolic link");
        continue;
      }
      open_file(f, f.string());
    }
  }
};

}  // namespace

std::unique_ptr<ByteSource> memory_source(std::string bytes) { return std::make_unique<MemorySource>(std::move(bytes)); }

void walk_inputs(const std::vector<std::string>& args, const std::function<void(InputStream&)>& on_input,
                 const std::function<void(const std::string&, const std::string&)>& on_error,
                 const ReadLimits& limits) {
  Walker w{on_input, on_error, limits, nullptr};
  for (const auto& a : args) w.walk_path(a);
}

// ---- Fingerprint: a fast 64-bit mix over 8-byte words (not cryptographic; tells copies apart).

namespace {
inline std::uint64_t mix(std::uint64_t h, std::uint64_t w) {
  h ^= w * 0xff51afd7ed558ccdULL;
  h = (h << 31) | (h >> 33);
  return h * 0xc4ceb9fe1a85ec53ULL + 0x9E3779B97F4A7C15ULL;
}
}  // namespace

void Fingerprint::update(const char* data, size_t n) {
  bytes_ += n;
  size_t i = 0;
  while (tail_n_ > 0 && tail_n_ < 8 && i < n) {
    tail_ |= static_cast<std::uint64_t>(static_cast<unsigned char>(data[i++])) << (8 * tail_n_);
    if (++tail_n_ == 8) {
      h_ = mix(h_, tail_);
      tail_ = 0;
      tail_n_ = 0;
    }
  }
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data + i, 8);
    h_ = mix(h_, w);
  }
  for (; i < n; ++i) {
    tail_ |= static_cast<std::uint64_t>(static_cast<unsigned char>(data[i])) << (8 * tail_n_);
    ++tail_n_;
  }
}

std::string Fingerprint::hex() const {
  std::uint64_t h = mix(mix(h_, tail_ ^ static_cast<std::uint64_t>(tail_n_)), bytes_);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx-%llu", static_cast<unsigned long long>(h),
                static_cast<unsigned long long>(bytes_));
  return buf;
}

// ---- LineReader

LineReader::LineReader(ByteSource& src, size_t max_line) : src_(src), buf_(1 << 20), max_line_(max_line) {
  // room for a whole line of max_line_ bytes, its CR and LF, with space to spare
  if (buf_.size() < 2 * max_line_ + 2) buf_.resize(2 * max_line_ + 2);
}

bool LineReader::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) return false;
  auto n = src_.read(buf_.data() + end_, buf_.size() - end_);
  if (!n.ok()) {
    error_ = n.error();
    eof_ = true;
    return false;
  }
  if (*n == 0) {
    eof_ = true;
    return false;
  }
  fp_.update(buf_.data() + end_, *n);
  end_ += *n;
  return true;
}

std::string_view LineReader::peek(size_t n) {
  while (end_ - begin_ < n && fill()) {
  }
  return {buf_.data() + begin_, std::min(n, end_ - begin_)};
}

bool LineReader::next(std::string_view& line) {
  truncated_ = false;
  size_t scanned = 0;
  for (;;) {
    const char* start = buf_.data() + begin_ + scanned;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_ - scanned));
    if (nl) {
      size_t len = static_cast<size_t>(nl - (buf_.data() + begin_));
      line = {buf_.data() + begin_, len};
      begin_ += len + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() > max_line_) {
        line = line.substr(0, max_line_);
        truncated_ = true;
      }
      ++line_no_;
      return true;
    }
    scanned = end_ - begin_;
    if (scanned >= max_line_ + 2) {  // longer than max_line_ even if its last byte is a CR
      // Too long: keep the first max_line_ bytes, skip to the end of the line.
      long_line_.assign(buf_.data() + begin_, max_line_);
      truncated_ = true;
      begin_ = end_;
      for (;;) {
        if (!fill()) break;
        const char* nl2 = static_cast<const char*>(std::memchr(buf_.data() + begin_, '\n', end_ - begin_));
        if (nl2) {
          begin_ = static_cast<size_t>(nl2 - buf_.data()) + 1;
          break;
        }
        begin_ = end_;
      }
      line = long_line_;
      ++line_no_;
      return true;
    }
    if (!fill()) {
      if (end_ > begin_) {
        line = {buf_.data() + begin_, end_ - begin_};
        begin_ = end_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        ++line_no_;
        return true;
      }
      return false;
    }
  }
}

}  // namespace callaudit
