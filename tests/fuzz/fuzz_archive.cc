// libFuzzer target: one input = the bytes of a file given to `ingest`. It is written to a
// temp file and walked with walk_inputs (containers recognized by their first bytes: zip,
// tar, gzip, bzip2, xz, zstd, nested, with the expansion limit), and every stream is read to
// its end through a LineReader, as ingest does (head first, then the rest, half the time).
#include <string>
#include <string_view>

#include "fuzz_common.h"

using namespace callaudit;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::temp_dir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::uint64_t seed = fuzz::seed_of(in);
  const std::filesystem::path file = fuzz::temp_dir() / "input";
  fuzz::write_file(file, in);

  int streams = 0;
  walk_inputs(
      {file.string()},
      [&](InputStream& stream) {
        ++streams;
        FUZZ_CHECK(stream.source != nullptr, "an input stream without a source");
        FUZZ_CHECK(stream.name.rfind(file.string(), 0) == 0, "a stream name that does not start with the input's");
        std::unique_ptr<ByteSource> with_head;
        ByteSource* src = stream.source.get();
        if (seed & 1) {
          std::string err;
          std::string head = read_head(*stream.source, 64 * 1024, err);
          if (!err.empty()) return;
          with_head = prefixed(std::move(head), *stream.source);
          src = with_head.get();
        }
        LineReader reader(*src);
        std::string_view line;
        std::int64_t lines = 0;
        std::uint64_t line_bytes = 0;
        while (reader.next(line)) {
          ++lines;
          line_bytes += line.size();
          FUZZ_CHECK(line.size() <= (1u << 20), "a line longer than the 1 MiB cap");
        }
        if (reader.error().empty()) {
          FUZZ_CHECK(reader.line_number() == lines, "LineReader: line_number() != lines returned");
          FUZZ_CHECK(line_bytes <= reader.fingerprint().bytes(), "LineReader: more line bytes than bytes read");
        }
        (void)reader.fingerprint().hex();
      },
      [&](const std::string& name, const std::string& message) {
        FUZZ_CHECK(!name.empty(), "an error without the input's name");
        FUZZ_CHECK(!message.empty(), "an error without a message");
      });
  (void)streams;
  return 0;
}
