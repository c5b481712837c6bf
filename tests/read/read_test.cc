// Reading inputs: LineReader (line ends, long lines, chunked reads, peek), Fingerprint, walk_inputs (dirs, links, .gz, .zip, corrupt and truncated archives).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "callaudit/read.h"
#include "helpers.h"

using namespace callaudit;
namespace fs = std::filesystem;

namespace {

// Hands out the bytes a few at a time, cycling through `sizes` (1-3 bytes per read by
// default), so lines cross every read boundary.
class ChunkSource : public ByteSource {
 public:
  explicit ChunkSource(std::string bytes, std::vector<size_t> sizes = {1, 2, 3})
      : bytes_(std::move(bytes)), sizes_(std::move(sizes)) {}
  Result<size_t> read(char* buf, size_t cap) override {
    size_t want = sizes_[calls_++ % sizes_.size()];
    size_t n = std::min({want, cap, bytes_.size() - pos_});
    std::memcpy(buf, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string bytes_;
  std::vector<size_t> sizes_;
  size_t calls_ = 0;
  size_t pos_ = 0;
};

// Gives `good` bytes, then fails.
class FailingSource : public ByteSource {
 public:
  explicit FailingSource(std::string good) : good_(std::move(good)) {}
  Result<size_t> read(char* buf, size_t cap) override {
    if (pos_ < good_.size()) {
      size_t n = std::min(cap, good_.size() - pos_);
      std::memcpy(buf, good_.data() + pos_, n);
      pos_ += n;
      return n;
    }
    return Status::error("disk on fire");
  }

 private:
  std::string good_;
  size_t pos_ = 0;
};

struct Lines {
  std::vector<std::string> lines;
  std::vector<bool> truncated;
  std::int64_t last_line_no = 0;
  std::string error;
  std::string fingerprint;
};

Lines read_all(ByteSource& src, size_t max_line = 1 << 20) {
  Lines out;
  LineReader r(src, max_line);
  std::string_view line;
  while (r.next(line)) {
    out.lines.emplace_back(line);
    out.truncated.push_back(r.truncated());
    out.last_line_no = r.line_number();
  }
  out.error = r.error();
  out.fingerprint = r.fingerprint().hex();
  return out;
}

std::string fingerprint_of(std::string_view bytes) {
  Fingerprint f;
  f.update(bytes.data(), bytes.size());
  return f.hex();
}

std::string show(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "[" + x + "]";
  return s;
}

// The three ways of feeding a reader: everything in one read, one byte per read, 1-3 bytes.
enum class Feed { whole, bytewise, chunks };
const char* to_text(Feed f) { return f == Feed::whole ? "whole" : f == Feed::bytewise ? "bytewise" : "1-3 bytes"; }

Lines read_with(Feed f, const std::string& input, size_t max_line) {
  if (f == Feed::whole) {
    auto src = memory_source(input);
    return read_all(*src, max_line);
  }
  ChunkSource src(input, f == Feed::bytewise ? std::vector<size_t>{1} : std::vector<size_t>{1, 2, 3});
  return read_all(src, max_line);
}

struct LineCase {
  const char* name;
  std::string input;
  size_t max_line;
  std::vector<std::string> lines;
  std::vector<size_t> truncated;  // indexes of lines that must be flagged truncated
};

constexpr size_t kBig = 1 << 20;

void check_line_case(const LineCase& c, Feed f) {
  INFO("case: " << std::string(c.name) << ", fed " << std::string(to_text(f)));
  Lines got = read_with(f, c.input, c.max_line);
  CHECK(show(got.lines) == show(c.lines));
  for (size_t i = 0; i < got.lines.size(); ++i) {
    bool want = std::find(c.truncated.begin(), c.truncated.end(), i) != c.truncated.end();
    CHECK_MESSAGE(got.truncated[i] == want, "line index " << i);
  }
  CHECK(got.last_line_no == static_cast<std::int64_t>(c.lines.size()));
  CHECK(got.error.empty());
  // every byte goes through the fingerprint, however the lines were cut
  CHECK(got.fingerprint == fingerprint_of(c.input));
}

const std::vector<LineCase> kLineCases = {
    {"LF", "a\nbb\nccc\n", kBig, {"a", "bb", "ccc"}, {}},
    {"CRLF", "a\r\nbb\r\n", kBig, {"a", "bb"}, {}},
    {"mixed LF and CRLF", "a\r\nb\nc\r\n", kBig, {"a", "b", "c"}, {}},
    {"last line without newline", "a\nlast", kBig, {"a", "last"}, {}},
    {"last line without newline after CRLF", "a\r\nlast", kBig, {"a", "last"}, {}},
    {"empty input", "", kBig, {}, {}},
    {"a single newline is one empty line", "\n", kBig, {""}, {}},
    {"a single CRLF is one empty line", "\r\n", kBig, {""}, {}},
    {"blank lines are kept", "\n\nx\n\n", kBig, {"", "", "x", ""}, {}},
    {"a lone CR inside a line is not a line end", "a\rb\n", kBig, {"a\rb"}, {}},
    {"NUL bytes are ordinary bytes", std::string("a\0b\nc\n", 6), kBig, {std::string("a\0b", 3), "c"}, {}},
    {"lines below max_line are whole", "0123456789abcde\nxy\n", 16, {"0123456789abcde", "xy"}, {}},
    {"long line at end of input without newline", "0123456789abcdef0123456789", 16, {"0123456789abcdef"}, {0}},
    {"long CRLF line", std::string(40, 'x') + "\r\nok\r\n", 16, {std::string(16, 'x'), "ok"}, {0}},
    {"two long lines around a short one",
     "0123456789abcdefXYZ\nshort\n" + std::string(100, 'q') + "\nend",
     16,
     {"0123456789abcdef", "short", std::string(16, 'q'), "end"},
     {0, 2}},
    {"a line many times max_line", std::string(300, 'z') + "\nnext\n", 16,
     {std::string(16, 'z'), "next"}, {0}},
};

}  // namespace

TEST_CASE("LineReader splits lines the same way however the bytes arrive") {
  for (const auto& c : kLineCases) {
    // Fed whole, the reader sees a long line together with its newline; fed in small reads
    // it sees the line grow past max_line first. Both must cut it. (Whole-feeding is checked
    // in the test below.)
    bool has_long = !c.truncated.empty();
    if (!has_long) check_line_case(c, Feed::whole);
    check_line_case(c, Feed::bytewise);
    check_line_case(c, Feed::chunks);
  }
}

// Former bug: LineReader::next() only cut a line when it has
// scanned max_line bytes WITHOUT finding a newline in the buffer. When the source delivers the
// whole line and its newline in one read (a file read in 1 MiB blocks, memory_source), the
// newline is found first and the whole over-long line is returned with truncated() false.
// And with one-byte reads a line of exactly max_line bytes is flagged truncated although
// nothing was cut (whole or 1-3-byte reads do not flag it).
TEST_CASE("LineReader cuts a line longer than max_line whatever the read size") {
  for (const auto& c : kLineCases)
    if (!c.truncated.empty()) check_line_case(c, Feed::whole);

  LineCase exact{"a line of exactly max_line bytes is not cut", "0123456789abcdef\nnext\n", 16,
                 {"0123456789abcdef", "next"}, {}};
  check_line_case(exact, Feed::whole);
  check_line_case(exact, Feed::chunks);
  check_line_case(exact, Feed::bytewise);
}

TEST_CASE("LineReader: the line after a cut line is read whole") {
  // Cut line first, then a line that itself crosses read boundaries.
  std::string input = std::string(20, 'L') + "\nsecond line here\nthird\n";
  for (Feed f : {Feed::bytewise, Feed::chunks}) {
    INFO("fed " << std::string(to_text(f)));
    Lines got = read_with(f, input, 16);
    REQUIRE(got.lines.size() == 3);
    CHECK(got.lines[0] == std::string(16, 'L'));
    CHECK(got.truncated[0]);
    CHECK(got.lines[1] == "second line here");  // exactly 16 bytes
    CHECK(got.lines[2] == "third");
    CHECK_FALSE(got.truncated[2]);
  }
}

TEST_CASE("LineReader: truncated() describes only the last line returned") {
  ChunkSource src(std::string(30, 'a') + "\nb\n");
  LineReader r(src, 16);
  std::string_view line;
  REQUIRE(r.next(line));
  CHECK(r.truncated());
  REQUIRE(r.next(line));
  CHECK(line == "b");
  CHECK_FALSE(r.truncated());
  CHECK_FALSE(r.next(line));
}

TEST_CASE("LineReader: line numbers count lines, not reads") {
  ChunkSource src("one\r\ntwo\n\nfour");
  LineReader r(src);
  std::string_view line;
  std::vector<std::pair<std::int64_t, std::string>> got;
  while (r.next(line)) got.emplace_back(r.line_number(), std::string(line));
  REQUIRE(got.size() == 4);
  CHECK(got[0] == std::make_pair(std::int64_t{1}, std::string("one")));
  CHECK(got[1] == std::make_pair(std::int64_t{2}, std::string("two")));
  CHECK(got[2] == std::make_pair(std::int64_t{3}, std::string("")));
  CHECK(got[3] == std::make_pair(std::int64_t{4}, std::string("four")));
}

TEST_CASE("LineReader: peek() does not consume") {
  SUBCASE("from memory") {
    auto src = memory_source("first line\nsecond\n");
    LineReader r(*src);
    CHECK(r.peek(5) == "first");
    CHECK(r.peek(5) == "first");  // peeking twice gives the same bytes
    CHECK(r.peek(0).empty());
    std::string_view line;
    REQUIRE(r.next(line));
    CHECK(line == "first line");
    REQUIRE(r.next(line));
    CHECK(line == "second");
  }
  SUBCASE("across many small reads") {
    ChunkSource src("0123456789\nabc\n");
    LineReader r(src);
    CHECK(r.peek(12) == "0123456789\na");
    std::string_view line;
    REQUIRE(r.next(line));
    CHECK(line == "0123456789");
    CHECK(r.line_number() == 1);
    REQUIRE(r.next(line));
    CHECK(line == "abc");
  }
  SUBCASE("more than the input holds") {
    ChunkSource src("ab\n");
    LineReader r(src);
    CHECK(r.peek(100) == "ab\n");
    std::string_view line;
    REQUIRE(r.next(line));
    CHECK(line == "ab");
    CHECK_FALSE(r.next(line));
  }
}

TEST_CASE("LineReader: a read error ends the lines and is kept in error()") {
  FailingSource src("good\npartial");
  LineReader r(src);
  std::string_view line;
  REQUIRE(r.next(line));
  CHECK(line == "good");
  // the bytes before the error still form a last line
  REQUIRE(r.next(line));
  CHECK(line == "partial");
  CHECK_FALSE(r.next(line));
  CHECK(r.error() == "disk on fire");
}

// ---- Fingerprint

TEST_CASE("Fingerprint: the same bytes in any chunking give the same value") {
  std::string data;
  for (int i = 0; i < 203; ++i) data += static_cast<char>((i * 37 + 11) % 256);
  const std::string whole = fingerprint_of(data);
  const std::vector<std::vector<size_t>> chunkings = {{1}, {2}, {3}, {5}, {7}, {8}, {9}, {16}, {1, 7}, {3, 8, 1, 13}, {200}};
  for (const auto& sizes : chunkings) {
    Fingerprint f;
    size_t pos = 0, k = 0;
    while (pos < data.size()) {
      size_t n = std::min(sizes[k++ % sizes.size()], data.size() - pos);
      f.update(data.data() + pos, n);
      pos += n;
    }
    INFO("first chunk size " << sizes[0]);
    CHECK(f.hex() == whole);
    CHECK(f.bytes() == data.size());
  }
  // empty updates change nothing
  Fingerprint f;
  f.update(data.data(), 0);
  f.update(data.data(), data.size());
  f.update(data.data(), 0);
  CHECK(f.hex() == whole);
}

TEST_CASE("Fingerprint: different bytes give different values") {
  std::string base(64, 'a');
  const std::string h = fingerprint_of(base);
  for (size_t pos : {size_t{0}, size_t{7}, size_t{8}, size_t{31}, size_t{63}}) {
    std::string other = base;
    other[pos] = 'b';
    INFO("changed byte " << pos);
    CHECK(fingerprint_of(other) != h);
  }
  // order matters: two 8-byte words swapped
  CHECK(fingerprint_of("AAAAAAAABBBBBBBB") != fingerprint_of("BBBBBBBBAAAAAAAA"));
  CHECK(fingerprint_of("abc") != fingerprint_of("abd"));
  CHECK(fingerprint_of("abc") == fingerprint_of("abc"));
}

TEST_CASE("Fingerprint: the length is part of it") {
  // zero bytes add nothing to the mixed words: only the length tells these apart
  std::vector<std::string> seen;
  for (size_t n = 0; n <= 20; ++n) {
    std::string zeros(n, '\0');
    Fingerprint f;
    f.update(zeros.data(), zeros.size());
    CHECK(f.bytes() == n);
    std::string h = f.hex();
    INFO("length " << n);
    CHECK(std::find(seen.begin(), seen.end(), h) == seen.end());
    seen.push_back(h);
  }
}

// ---- walk_inputs

namespace {

struct Walked {
  std::vector<std::string> names;
  std::vector<std::string> contents;
  std::vector<std::string> read_errors;  // error() of the LineReader over each stream
  std::vector<std::pair<std::string, std::string>> errors;
  std::vector<std::optional<std::uint64_t>> sizes;
};

Walked walk(const std::vector<std::string>& args) {
  Walked w;
  walk_inputs(
      args,
      [&](InputStream& in) {
        w.names.push_back(in.name);
        w.sizes.push_back(in.size);
        // the stream of an archive entry lives only during this call: read it here
        LineReader r(*in.source);
        std::string text;
        std::string_view line;
        while (r.next(line)) text += std::string(line) + "\n";
        w.contents.push_back(text);
        w.read_errors.push_back(r.error());
      },
      [&](const std::string& name, const std::string& message) { w.errors.emplace_back(name, message); });
  return w;
}

std::string errors_text(const Walked& w) {
  std::string s;
  for (const auto& [n, m] : w.errors) s += n + ": " + m + "\n";
  return s;
}

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace

TEST_CASE("walk_inputs: a folder is read recursively, in sorted order") {
  testutil::TempDir tmp;
  fs::path in = tmp / "in";
  testutil::write_file(in / "z.txt", "zulu\n");
  testutil::write_file(in / "a.txt", "alpha\n");
  testutil::write_file(in / "sub" / "c.txt", "charlie\n");
  testutil::write_file(in / "m.log", "mike\nmike2");
  fs::create_directories(in / "empty");

  Walked w = walk({in.string()});
  INFO(errors_text(w));
  CHECK(w.errors.empty());
  std::vector<std::string> names = {(in / "a.txt").string(), (in / "m.log").string(), (in / "sub" / "c.txt").string(),
                                    (in / "z.txt").string()};
  CHECK(show(w.names) == show(names));
  CHECK(show(w.contents) == show({"alpha\n", "mike\nmike2\n", "charlie\n", "zulu\n"}));
  // plain files know their size
  REQUIRE(w.sizes.size() == 4);
  CHECK(w.sizes[0] == std::optional<std::uint64_t>(6));
  CHECK(w.sizes[1] == std::optional<std::uint64_t>(10));
}

TEST_CASE("walk_inputs: arguments are walked in the order given, and a problem does not stop the walk") {
  testutil::TempDir tmp;
  testutil::write_file(tmp / "a.txt", "A\n");
  testutil::write_file(tmp / "b.txt", "B\n");
  std::string missing = (tmp / "nope.log").string();
  Walked w = walk({(tmp / "b.txt").string(), missing, (tmp / "a.txt").string()});
  CHECK(show(w.names) == show({(tmp / "b.txt").string(), (tmp / "a.txt").string()}));
  CHECK(show(w.contents) == show({"B\n", "A\n"}));
  REQUIRE(w.errors.size() == 1);
  CHECK(w.errors[0].first == missing);
  CHECK(w.errors[0].second.find("no such file") != std::string::npos);
}

TEST_CASE("walk_inputs: broken symbolic links are reported") {
  testutil::TempDir tmp;
  fs::path dir = tmp / "d";
  testutil::write_file(dir / "ok.txt", "ok\n");
  fs::create_symlink(tmp / "gone.txt", dir / "dangling.txt");
  Walked w = walk({dir.string()});
  CHECK(show(w.names) == show({(dir / "ok.txt").string()}));
  REQUIRE(w.errors.size() == 1);
  CHECK(w.errors[0].first == (dir / "dangling.txt").string());
  CHECK(w.errors[0].second.find("broken symbolic link") != std::string::npos);

  Walked direct = walk({(dir / "dangling.txt").string()});
  CHECK(direct.names.empty());
  REQUIRE(direct.errors.size() == 1);
  CHECK(direct.errors[0].second.find("broken symbolic link") != std::string::npos);
}

TEST_CASE("walk_inputs: a directory symlink loop is reported, not followed forever") {
  testutil::TempDir tmp;
  fs::path top = tmp / "loop";
  testutil::write_file(top / "x.txt", "x\n");
  testutil::write_file(top / "sub" / "y.txt", "y\n");
  fs::create_directory_symlink("..", top / "sub" / "up");  // sub/up -> loop
  fs::create_directory_symlink(".", top / "self");          // self -> loop

  Walked w = walk({top.string()});
  // each real file exactly once
  CHECK(show(w.names) == show({(top / "sub" / "y.txt").string(), (top / "x.txt").string()}));
  INFO(errors_text(w));
  REQUIRE(w.errors.size() == 2);
  std::vector<std::string> where = {w.errors[0].first, w.errors[1].first};
  std::sort(where.begin(), where.end());
  CHECK(where[0] == (top / "self").string());
  CHECK(where[1] == (top / "sub" / "up").string());
  for (const auto& [name, message] : w.errors) CHECK(message.find("loop") != std::string::npos);
}

TEST_CASE("walk_inputs: a .gz file is read decompressed under its own name") {
  testutil::TempDir tmp;
  std::string text;
  for (int i = 1; i <= 300; ++i) text += "line " + std::to_string(i) + " of the compressed log\n";
  testutil::write_file(tmp / "f.log", text);
  REQUIRE(sh("gzip -c " + q(tmp / "f.log") + " > " + q(tmp / "f.log.gz")) == 0);
  REQUIRE(fs::file_size(tmp / "f.log.gz") < text.size());  // really compressed

  Walked w = walk({(tmp / "f.log.gz").string()});
  INFO(errors_text(w));
  CHECK(w.errors.empty());
  REQUIRE(w.names.size() == 1);
  CHECK(w.names[0] == (tmp / "f.log.gz").string());
  CHECK(w.contents[0] == text);
  CHECK(w.read_errors[0].empty());
  CHECK_FALSE(w.sizes[0].has_value());  // the decompressed size is not known in advance
}

TEST_CASE("walk_inputs: every supported compressor is read in place") {
  struct Case {
    const char* tool;  // compresses stdin to stdout
    const char* ext;
  };
  const Case cases[] = {{"gzip -c", ".gz"}, {"bzip2 -c", ".bz2"}, {"xz -c", ".xz"}, {"zstd -q -c", ".zst"}};
  testutil::TempDir tmp;
  std::string text;
  for (int i = 1; i <= 50; ++i) text += "entry " + std::to_string(i) + "\r\n";
  testutil::write_file(tmp / "plain.log", text);
  std::string want;
  for (int i = 1; i <= 50; ++i) want += "entry " + std::to_string(i) + "\n";  // CRLF read as line ends
  for (const auto& c : cases) {
    INFO("compressor " << std::string(c.tool));
    fs::path out = tmp / (std::string("plain.log") + c.ext);
    REQUIRE(sh(std::string(c.tool) + " < " + q(tmp / "plain.log") + " > " + q(out)) == 0);
    REQUIRE(testutil::read_file(out) != text);
    Walked w = walk({out.string()});
    INFO(errors_text(w));
    CHECK(w.errors.empty());
    REQUIRE(w.names.size() == 1);
    CHECK(w.names[0] == out.string());
    CHECK(w.contents[0] == want);
  }
}

TEST_CASE("walk_inputs: a .tar and a .tar.gz yield their files, named archive:path") {
  testutil::TempDir tmp;
  fs::path dir = tmp / "t";
  testutil::write_file(dir / "a.txt", "tar a\n");
  testutil::write_file(dir / "sub" / "c.txt", "tar c\n");
  // -r style: the directory entry "sub/" is in the archive too and must be skipped
  REQUIRE(sh("cd " + q(dir) + " && tar -cf x.tar a.txt sub && tar -czf x.tar.gz a.txt sub") == 0);
  for (const char* name : {"x.tar", "x.tar.gz"}) {
    std::string arc = (dir / name).string();
    INFO(arc);
    Walked w = walk({arc});
    INFO(errors_text(w));
    CHECK(w.errors.empty());
    CHECK(show(w.names) == show({arc + ":a.txt", arc + ":sub/c.txt"}));
    CHECK(show(w.contents) == show({"tar a\n", "tar c\n"}));
  }
}

TEST_CASE("walk_inputs: a .zip yields one stream per file, named zip:path") {
  testutil::TempDir tmp;
  fs::path dir = tmp / "z";
  testutil::write_file(dir / "a.txt", "from a\nsecond a\n");
  testutil::write_file(dir / "sub" / "c.txt", "from c\n");
  REQUIRE(sh("cd " + q(dir) + " && zip -q b.zip a.txt sub/c.txt") == 0);

  std::string zip = (dir / "b.zip").string();
  Walked w = walk({zip});
  INFO(errors_text(w));
  CHECK(w.errors.empty());
  CHECK(show(w.names) == show({zip + ":a.txt", zip + ":sub/c.txt"}));
  CHECK(show(w.contents) == show({"from a\nsecond a\n", "from c\n"}));

  // made with -r, the zip also holds the entry "sub/" for the folder: no stream for it
  REQUIRE(sh("cd " + q(dir) + " && zip -q -r r.zip a.txt sub") == 0);
  REQUIRE(sh("unzip -l " + q(dir / "r.zip") + " | grep -q ' sub/$'") == 0);
  std::string rzip = (dir / "r.zip").string();
  Walked r = walk({rzip});
  INFO(errors_text(r));
  CHECK(r.errors.empty());
  CHECK(show(r.names) == show({rzip + ":a.txt", rzip + ":sub/c.txt"}));
}

TEST_CASE("walk_inputs: a .gz inside a .zip is opened too") {
  testutil::TempDir tmp;
  fs::path dir = tmp / "n";
  testutil::write_file(dir / "inner.log", "nested line\n");
  REQUIRE(sh("cd " + q(dir) + " && gzip inner.log && zip -q outer.zip inner.log.gz") == 0);
  std::string zip = (dir / "outer.zip").string();
  Walked w = walk({zip});
  INFO(errors_text(w));
  CHECK(w.errors.empty());
  CHECK(show(w.names) == show({zip + ":inner.log.gz"}));
  CHECK(show(w.contents) == show({"nested line\n"}));
}

TEST_CASE("walk_inputs: a corrupt zip is reported, not a crash") {
  testutil::TempDir tmp;
  std::string junk = "PK\x03\x04";
  for (int i = 0; i < 40; ++i) junk += "this is not a zip entry at all; ";
  testutil::write_file(tmp / "bad.zip", junk);
  testutil::write_file(tmp / "good.txt", "still read\n");

  std::string bad = (tmp / "bad.zip").string();
  Walked w = walk({bad, (tmp / "good.txt").string()});
  INFO(errors_text(w));
  REQUIRE_FALSE(w.errors.empty());
  CHECK(w.errors[0].first.rfind(bad, 0) == 0);  // the zip itself (or an entry of it) is named
  // the walk goes on after it
  REQUIRE_FALSE(w.names.empty());
  CHECK(w.names.back() == (tmp / "good.txt").string());
  CHECK(w.contents.back() == "still read\n");
}

TEST_CASE("walk_inputs: a truncated .gz surfaces an error") {
  testutil::TempDir tmp;
  auto make_truncated = [&](const std::string& stem, const std::string& text) {
    testutil::write_file(tmp / stem, text);
    REQUIRE(sh("gzip -c " + q(tmp / stem) + " > " + q(tmp / (stem + ".gz"))) == 0);
    std::string gz = testutil::read_file(tmp / (stem + ".gz"));
    testutil::write_file(tmp / (stem + ".gz"), gz.substr(0, gz.size() / 2));
    return (tmp / (stem + ".gz")).string();
  };

  SUBCASE("large: the stream starts, then its read fails (LineReader::error), no on_error") {
    // Varied text so the first half of the compressed file holds far more than the 512
    // bytes walk_inputs sniffs before handing the stream on.
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "row " + std::to_string(i) + " value " + std::to_string((i * 7919) % 10007) + "\n";
    std::string name = make_truncated("big.log", text);
    Walked w = walk({name});
    INFO(errors_text(w));
    REQUIRE(w.names.size() == 1);
    CHECK(w.names[0] == name);
    CHECK_FALSE(w.read_errors[0].empty());
    CHECK(w.errors.empty());
    // what was read before the error is a true prefix of the text
    CHECK(w.contents[0].size() > 512);
    CHECK(w.contents[0].size() < text.size());
    std::string got = w.contents[0];
    size_t last_nl = got.rfind('\n', got.size() - 2);  // the last line may be cut mid-way
    CHECK(text.compare(0, last_nl + 1, got, 0, last_nl + 1) == 0);
  }
  SUBCASE("small: opening the .gz fails, so on_error reports it and no stream is handed on") {
    std::string text;
    for (int i = 0; i < 12; ++i) text += "short line " + std::to_string(i) + "\n";
    REQUIRE(text.size() < 512);
    std::string name = make_truncated("small.log", text);
    Walked w = walk({name});
    CHECK(w.names.empty());
    REQUIRE(w.errors.size() == 1);
    CHECK(w.errors[0].first == name);
    CHECK_FALSE(w.errors[0].second.empty());
  }
}

// Former bug: EntrySource::read() passed the caller's capacity
// (LineReader asks for up to 1 MiB) straight to archive_read_data(). On a truncated .gz,
// libarchive then returns the error at once and drops everything it had decompressed; with
// reads of at most 128 KiB it hands out the readable part first (here 128 KiB; zcat recovers
// about 190 KiB). So only the 512 sniffed bytes of the file are read before the error.
TEST_CASE("walk_inputs: a truncated .gz yields its readable part before the error") {
  testutil::TempDir tmp;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "row " + std::to_string(i) + " value " + std::to_string((i * 7919) % 10007) + "\n";
  testutil::write_file(tmp / "big.log", text);
  REQUIRE(sh("gzip -k " + q(tmp / "big.log")) == 0);
  std::string gz = testutil::read_file(tmp / "big.log.gz");
  testutil::write_file(tmp / "big.log.gz", gz.substr(0, gz.size() / 2));
  Walked w = walk({(tmp / "big.log.gz").string()});
  REQUIRE(w.names.size() == 1);
  CHECK_FALSE(w.read_errors[0].empty());
  CHECK(w.contents[0].size() > 65536);
}

TEST_CASE("walk_inputs: ReadLimits stop deep nesting and archive bombs") {
  testutil::TempDir tmp;
  fs::path dir = tmp / "lim";
  testutil::write_file(dir / "inner.log", "nested line\n");
  REQUIRE(sh("cd " + q(dir) + " && gzip -k inner.log && zip -q outer.zip inner.log.gz") == 0);

  auto walk_limited = [&](const std::string& arg, const ReadLimits& limits, Walked& w) {
    walk_inputs(
        {arg},
        [&](InputStream& in) {
          w.names.push_back(in.name);
          LineReader r(*in.source);
          std::string text;
          std::string_view line;
          while (r.next(line)) text += std::string(line) + "\n";
          w.contents.push_back(text);
          w.read_errors.push_back(r.error());
        },
        [&](const std::string& name, const std::string& message) { w.errors.emplace_back(name, message); }, limits);
  };

  SUBCASE("a .gz inside a .zip is one level too deep for max_depth 1") {
    ReadLimits limits;
    limits.max_depth = 1;
    Walked w;
    std::string zip = (dir / "outer.zip").string();
    walk_limited(zip, limits, w);
    CHECK(w.names.empty());
    REQUIRE(w.errors.size() == 1);
    CHECK(w.errors[0].first == zip + ":inner.log.gz");
    CHECK(w.errors[0].second.find("nested too deep") != std::string::npos);
    // ... and a plain .gz is fine at that depth
    Walked plain;
    walk_limited((dir / "inner.log.gz").string(), limits, plain);
    CHECK(plain.errors.empty());
    CHECK(show(plain.contents) == show({"nested line\n"}));
  }
  SUBCASE("expansion beyond max_expansion x max(compressed size, 64 KiB) is refused") {
    // 2 MiB of one repeated line compresses to a few KiB; with max_expansion 4 the budget is
    // 4 x 64 KiB = 256 KiB.
    std::string line(63, 'a');
    std::string text;
    while (text.size() < (2u << 20)) text += line + "\n";
    testutil::write_file(dir / "bomb.log", text);
    REQUIRE(sh("gzip -k " + q(dir / "bomb.log")) == 0);
    ReadLimits limits;
    limits.max_expansion = 4;
    Walked w;
    walk_limited((dir / "bomb.log.gz").string(), limits, w);
    REQUIRE(w.names.size() == 1);
    CHECK(w.read_errors[0].find("expansion limit") != std::string::npos);
    CHECK(w.contents[0].size() <= 4u * 65536u + 1);  // (+1: the "\n" added after a cut last line)
    // the default limit reads it all
    Walked all;
    walk_limited((dir / "bomb.log.gz").string(), ReadLimits{}, all);
    REQUIRE(all.names.size() == 1);
    CHECK(all.read_errors[0].empty());
    CHECK(all.contents[0] == text);
  }
}
