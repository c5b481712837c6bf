#!/usr/bin/env bash
# The main job on shipped data: installs what is missing, builds, ingests the demo ticket
# bundle (a zip with an audit log, a call event history and a gzipped FreeSWITCH log) and
# prints the diagnosis. The timeline database is left in out/demo.db for further questions.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh >/dev/null
mkdir -p out
rm -f out/demo.db
./build/callaudit ingest --db out/demo.db --tz Europe/London fixtures/logs/bundle.zip
echo
./build/callaudit diagnose --db out/demo.db
./build/callaudit diagnose --db out/demo.db --format json > out/demo-diagnosis.json
echo
echo "timeline database: out/demo.db   JSON diagnosis: out/demo-diagnosis.json"
echo "try: ./build/callaudit explain --db out/demo.db ID   or   ./build/callaudit timeline --db out/demo.db --agent 1042"
