#!/usr/bin/env bash
# The main job on shipped data: installs what is missing, builds, and analyzes the demo case.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh >/dev/null
mkdir -p out
rm -f out/demo.db
./build/callaudit ingest --db out/demo.db --tz Europe/London fixtures/demo/
