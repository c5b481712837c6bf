// callaudit: the thin executable over the library.
#include <iostream>

#include "callaudit/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::ios::sync_with_stdio(false);
  return callaudit::cli::run(args, std::cout, std::cerr);
}
