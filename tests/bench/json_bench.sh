#!/usr/bin/env bash
# Builds json_bench against a built callaudit library and runs it: checks that the JSON, CSV
# and text renderings equal the reference writers' byte for byte, and prints MB/s of each.
#   tests/bench/json_bench.sh [--db DB] [--repeat N] [--random N]
# BUILD_DIR (default build-release) must hold libcallaudit_lib.a from a Release configure; the
# writers themselves (src/report/json.cc, diagnosis_out.cc) are compiled from the tree here.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${BUILD_DIR:-build-release}
[ -f "$dir/libcallaudit_lib.a" ] || { echo "no $dir/libcallaudit_lib.a: build with BUILD_TYPE=Release first" >&2; exit 2; }
bin="$dir/json_bench"
libs=$(sed -n '/^build callaudit:/,/LINK_LIBRARIES/p' "$dir/build.ninja" | sed -n 's/^ *LINK_LIBRARIES = //p')
srcs="tests/bench/json_bench.cc tests/bench/json_reference.cc src/report/json.cc src/report/diagnosis_out.cc"
if [ ! -x "$bin" ] || [ -n "$(find $srcs include/callaudit/json.h "$dir/libcallaudit_lib.a" -newer "$bin")" ]; then
  ${CXX:-g++} -std=c++20 -O3 -DNDEBUG -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Werror -DFMT_SHARED -DHAS_STRING_VIEW=1 -DONLY_C_LOCALE=1 \
    -DUSE_OS_TZDB=1 -Iinclude -Isrc $srcs -o "$bin" \
    $(cd "$dir" && for l in $libs; do case $l in /*) echo "$l" ;; *) echo "$PWD/$l" ;; esac; done) -pthread
fi
exec "$bin" --patterns "${CALLAUDIT_PATTERNS:-patterns}" "$@"
