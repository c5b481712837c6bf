#!/usr/bin/env bash
# The main job on shipped data: installs what is missing, builds, and analyzes the demo
# ticket bundle (a zip with an agent audit log, a call event history and a gzipped FreeSWITCH
# log): ingest, diagnosis, and the HTML report to attach to the case.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh >/dev/null
mkdir -p out
rm -f out/demo.db
./build/callaudit analyze --db out/demo.db --tz Europe/London --case 4711 -o out/demo-report.html \
  fixtures/logs/bundle.zip
echo
./build/callaudit diagnose --db out/demo.db
echo
echo "report: out/demo-report.html   timeline: out/demo.db"
echo "next: ./build/callaudit explain --db out/demo.db ID | timeline --db out/demo.db --agent 1042 | query --db out/demo.db SQL"
