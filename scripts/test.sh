#!/usr/bin/env bash
# Builds and runs the whole test suite twice: warnings as errors, then under
# AddressSanitizer + UndefinedBehaviorSanitizer; then fuzzes each libFuzzer target for 30 s.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser
export TZ=${TZ:-Europe/London}  # local time must never leak into results
BUILD_DIR=build-ci scripts/build.sh -DCALLAUDIT_WERROR=ON
(cd build-ci && ctest --output-on-failure -j2)
BUILD_DIR=build-asan BUILD_TYPE=Debug scripts/build.sh -DCALLAUDIT_WERROR=ON -DCALLAUDIT_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j2)
# A short fuzz run of every libFuzzer target (tests/fuzz/, clang; docs/fuzzing.md): 30 s each,
# plus building build-fuzz/ (a few minutes). A crash fails CI and is saved under fixtures/bad/.
scripts/fuzz.sh 30
