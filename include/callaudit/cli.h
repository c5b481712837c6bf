// The command line: subcommands from one table, each a thin layer over the library.
// Only cli/ prints.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace callaudit::cli {

// Runs `callaudit args...` (args without the program name). Returns the exit status.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace callaudit::cli
