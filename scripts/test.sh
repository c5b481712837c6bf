#!/usr/bin/env bash
# Builds and runs the whole test suite twice: warnings as errors, then under
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TZ=${TZ:-Europe/London}  # local time must never leak into results
BUILD_DIR=build-ci scripts/build.sh -DCALLAUDIT_WERROR=ON
(cd build-ci && ctest --output-on-failure -j2)
BUILD_DIR=build-asan BUILD_TYPE=Debug scripts/build.sh -DCALLAUDIT_WERROR=ON -DCALLAUDIT_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j2)
