// Shared test helpers: temp folders, running the library's pipeline into a temp database.
#pragma once
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "callaudit/cli.h"

namespace testutil {

inline std::filesystem::path source_dir() { return CALLAUDIT_SOURCE_DIR; }

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("callaudit-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f << content;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct RunResult {
  int code;
  std::string out;
  std::string err;
};

// Runs the command line in-process.
inline RunResult run_cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = callaudit::cli::run(args, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace testutil
