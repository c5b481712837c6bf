// Shared pieces of the subcommands: option parsing, terminal detection, messages.
#pragma once
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iosfwd>
#include <malloc.h>
#include <ostream>
#include <string>
#include <vector>

#include "callaudit/patterns.h"
#include "callaudit/result.h"

namespace callaudit::cli {

namespace po = boost::program_options;

struct Env {
  std::ostream& out;
  std::ostream& err;
  bool out_tty = false;
  bool err_tty = false;
};

struct Command {
  const char* name;
  const char* summary;
  const char* usage;     // "callaudit ingest [options] INPUT..."
  const char* examples;  // lines of examples
  int (*run)(Env& env, const std::vector<std::string>& args);
};

const std::vector<Command>& commands();
const Command& command(const char* name);

// Parses args against desc (+ positional); prints help or a usage error. Returns -1 when the
// caller should go on, else the exit status.
int parse_args(Env& env, const Command& cmd, po::options_description& desc,
               const po::positional_options_description* pos, const std::vector<std::string>& args,
               po::variables_map& vm);

// Loads patterns/ (from --patterns or the default place); prints the error on failure.
Result<Catalog> load_catalog(Env& env, const std::string& dir);

void add_common(po::options_description& desc, std::string& db, std::string& patterns);

// The default of --threads: one more than the cores (at most 8) where there are two or more, else 1.
int default_threads();
// --threads N (ingest, analyze), defaulting to the value `threads` holds.
void add_threads(po::options_description& desc, int& threads);

int usage_error(Env& env, const Command& cmd, const std::string& message);
void error_line(Env& env, const std::string& message);

// Terminal colors: only on a terminal.
struct Paint {
  bool on = false;
  std::string red(const std::string& s) const { return on ? "\033[31m" + s + "\033[0m" : s; }
  std::string green(const std::string& s) const { return on ? "\033[32m" + s + "\033[0m" : s; }
  std::string yellow(const std::string& s) const { return on ? "\033[33m" + s + "\033[0m" : s; }
  std::string bold(const std::string& s) const { return on ? "\033[1m" + s + "\033[0m" : s; }
  std::string dim(const std::string& s) const { return on ? "\033[2m" + s + "\033[0m" : s; }
};

// With CALLAUDIT_TIMINGS set in the environment, `lap` writes how long the phase that just
// ended took, in wall time and in CPU time of all threads, and the memory at its end: the
// allocator's bytes in use and the resident set ("timing: diagnose 0.41 s wall 0.40 s cpu
// heap 52 MiB rss 71 MiB") to standard error: the benchmark reads these.
class PhaseClock {
 public:
  PhaseClock() : on_(std::getenv("CALLAUDIT_TIMINGS") != nullptr), t_(std::chrono::steady_clock::now()), c_(cpu()) {}
  [[nodiscard]] bool on() const { return on_; }
  void lap(Env& env, const char* phase) {
    if (!on_) return;
    auto now = std::chrono::steady_clock::now();
    double c = cpu();
    env.err << "timing: " << phase << " " << std::chrono::duration<double>(now - t_).count() << " s wall " << c - c_
            << " s cpu heap " << heap_mib() << " MiB rss " << rss_mib() << " MiB\n";
    t_ = now;
    c_ = c;
  }

 private:
  static long heap_mib() {
    const struct mallinfo2 m = mallinfo2();
    return static_cast<long>((m.uordblks + m.hblkhd) >> 20);
  }
  static long rss_mib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6) / 1024;
    return -1;
  }
  static double cpu() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  }
  bool on_;
  std::chrono::steady_clock::time_point t_;
  double c_;
};

}  // namespace callaudit::cli
