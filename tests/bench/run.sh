#!/usr/bin/env bash
# The callaudit performance benchmark (docs/performance.md).
#
#   tests/bench/run.sh [SIZE...]          # default 100M; e.g. tests/bench/run.sh 100M 1G
#
# For each SIZE: generates a FreeSWITCH log (tests/bench/gen.py, cached under
# build-bench/bench-data/), warms the page cache, then measures on that same file, each under
# /usr/bin/time -v: grep -c 'Origination Canceled' (the baseline), callaudit ingest into a fresh
# database, callaudit analyze -o report.json into a fresh --db (again with --threads 1), the
# same without --db (the README's command, a temporary database; again with --threads 1),
# callaudit diagnose --format json alone on the ingested database, and the "last status of the agent before each failed offer"
# question in callaudit's SQL. With lnav installed: lnav indexing the file with a custom format
# (tests/bench/lnav/) and lnav answering the same question in SQL. Then the correlate+diagnose
# micro-benchmark: a timeline database written directly (tests/bench/gen_timeline.py) and
# callaudit diagnose --format json > /dev/null on it.
#
# Environment:
#   FORMAT=freeswitch|asterisk|cxone   input format (default freeswitch; lnav only for freeswitch)
#   SEED=1                             generator seed
#   REPEAT=1                           runs per measurement; the fastest (wall) is reported
#   TIMELINE="3M 1M"                   states and failures of the micro-benchmark; TIMELINE=0 skips it
#   TIMELINE_TIMEOUT=150               seconds before the micro-benchmark's diagnose is stopped and
#                                      reported as "> N s" (0: no limit); keeps the default run short
#   LNAV=1                             0 skips lnav even when installed
#   ONE_CORE=0                         1: also run analyze pinned to one core (taskset -c 0)
#   CALLAUDIT=path                     the executable (default build-bench/callaudit, built if missing)
#   BENCH_DIR=dir                      cache and scratch (default build-bench/bench-data)
#
# Every figure is printed with the load average taken just before it: the machine may be
# shared. Results also go to $BENCH_DIR/results-<date>.md, and the phase times that analyze
# and diagnose print with CALLAUDIT_TIMINGS=1 (scan+store, indexes, diagnosis phases, save,
# report) to $BENCH_DIR/phases-<date>-*.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
FORMAT=${FORMAT:-freeswitch}
SEED=${SEED:-1}
REPEAT=${REPEAT:-1}
TIMELINE=${TIMELINE:-3M 1M}
TIMELINE_TIMEOUT=${TIMELINE_TIMEOUT:-150}
LNAV=${LNAV:-1}
ONE_CORE=${ONE_CORE:-0}
BENCH_DIR=${BENCH_DIR:-$root/build-bench/bench-data}
CALLAUDIT=${CALLAUDIT:-$root/build-bench/callaudit}
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(100M)

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time (/usr/bin/time)" >&2
  apt-get install -y time >/dev/null
fi
if [ ! -x "$CALLAUDIT" ]; then
  echo "building $CALLAUDIT (Release)" >&2
  BUILD_DIR=build-bench BUILD_TYPE=Release NINJA_FLAGS=callaudit scripts/build.sh
fi
mkdir -p "$BENCH_DIR"
scratch="$BENCH_DIR/scratch"
mkdir -p "$scratch"
export CALLAUDIT_PATTERNS="$root/patterns"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
tsv="$BENCH_DIR/results-$stamp.tsv"
printf 'size\tstep\twall_s\tuser_s\tsys_s\trss_kb\tload1\tbytes\tlines\tevents\n' >"$tsv"

gen_hash=$(sha1sum tests/bench/gen.py | cut -c1-8)
tl_hash=$(sha1sum tests/bench/gen_timeline.py | cut -c1-8)

# measure SIZE STEP BYTES LINES EVENTS -- command...   (stdout of the command goes to $out;
# $pre, when set, runs untimed before each repeat)
out=/dev/null
pre=""
measure() {
  local size=$1 step=$2 bytes=$3 lines=$4 events=$5
  shift 6
  local best_wall="" best_line=""
  for _ in $(seq "$REPEAT"); do
    local load t
    load=$(cut -d' ' -f1 /proc/loadavg)
    t="$scratch/time.txt"
    [ -n "$pre" ] && eval "$pre"
    local t0 t1 rc=0
    t0=$(date +%s%N)
    /usr/bin/time -v -o "$t" "$@" >"$out" 2>"$scratch/stderr.txt" || rc=$?
    t1=$(date +%s%N)
    if [ "$rc" = 124 ]; then
      echo "  (stopped after ${TIMELINE_TIMEOUT} s: $step)" >&2
    elif [ "$rc" != 0 ]; then
      echo "FAILED ($rc): $step: $*" >&2
      tail -5 "$scratch/stderr.txt" >&2
    fi
    local wall user sys rss
    # wall from the nanosecond clock (GNU time prints it to 10 ms only)
    wall=$(awk "BEGIN{printf \"%.3f\", ($t1 - $t0) / 1e9}")
    user=$(awk -F': ' '/User time/ {print $2}' "$t")
    sys=$(awk -F': ' '/System time/ {print $2}' "$t")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$t")
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then
      best_wall=$wall
      best_line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$size" "$step" "$wall" "$user" "$sys" "$rss" "$load" "$bytes" "$lines" "$events")
    fi
  done
  printf '%s\n' "$best_line" >>"$tsv"
  printf '  %-34s %8.2f s wall  %8.2f s cpu  %7.1f MiB  (load %s)\n' "$step" "$best_wall" \
    "$(awk "BEGIN{print $(cut -f4 <<<"$best_line") + $(cut -f5 <<<"$best_line")}")" \
    "$(awk "BEGIN{print $(cut -f6 <<<"$best_line") / 1024}")" "$(cut -f7 <<<"$best_line")" >&2
}

lnav_home=""
if [ "$LNAV" = 1 ] && [ "$FORMAT" = freeswitch ] && command -v lnav >/dev/null; then
  lnav_home="$scratch/lnav-home"
  rm -rf "$lnav_home"
  mkdir -p "$lnav_home"
  HOME="$lnav_home" lnav -i tests/bench/lnav/freeswitch_log.json >/dev/null 2>&1
fi

case $FORMAT in
  freeswitch) pattern='Origination Canceled'; ext=log ;;
  asterisk) pattern='RINGNOANSWER'; ext=log ;;
  cxone) pattern='NoAnswer'; ext=csv ;;
  *) echo "unknown FORMAT $FORMAT" >&2; exit 2 ;;
esac

# "the last status of the agent before each failed offer", in callaudit's SQL
last_status_sql="SELECT f.id, f.agent, f.reason, (SELECT s.vendor_state FROM events s WHERE s.agent = f.agent AND s.type = 'state' AND s.at < f.at ORDER BY s.at DESC LIMIT 1) AS last_status FROM events f WHERE f.type = 'result' AND f.kind <> 'normal'"

for size in "${sizes[@]}"; do
  input="$BENCH_DIR/$FORMAT-$size-s$SEED-$gen_hash.$ext"
  inputs=("$input")
  [ "$FORMAT" = cxone ] && inputs+=("${input%.csv}.states.csv")
  if [ ! -f "$input" ]; then
    echo "generating $input" >&2
    /usr/bin/time -f '  generated in %e s (%U s user), %M KiB' \
      python3 tests/bench/gen.py --format "$FORMAT" --size "$size" --seed "$SEED" -o "$input" \
      --stats "$input.json" 2>&1 | tail -1 >&2
  fi
  bytes=0
  for f in "${inputs[@]}"; do bytes=$((bytes + $(stat -c %s "$f"))); done
  lines=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['lines'])" "$input.json")
  cat "${inputs[@]}" >/dev/null # page cache warm
  echo "== $FORMAT $size: $bytes bytes, $lines lines ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))" >&2

  # (to a file: GNU grep stops at the first match when its output is /dev/null)
  out="$scratch/grep.txt"
  measure "$size" "grep -c (baseline)" "$bytes" "$lines" "" -- grep -c "$pattern" "${inputs[@]}"
  out=/dev/null
  echo "  grep count: $(tr '\n' ' ' <"$scratch/grep.txt")" >&2

  db="$scratch/ingest.db"
  rm -f "$db" "$db-journal"
  # each repeat must start from a fresh database
  pre='rm -f "$db" "$db-journal"'
  measure "$size" "callaudit ingest" "$bytes" "$lines" "" -- "$CALLAUDIT" ingest --db "$db" --tz UTC "${inputs[@]}"
  pre=""
  events=$("$CALLAUDIT" query --db "$db" --format csv "SELECT count(*) FROM events" | tail -1)
  failures=$("$CALLAUDIT" query --db "$db" --format csv "SELECT count(*) FROM events WHERE type = 'result' AND kind <> 'normal'" | tail -1)
  states=$("$CALLAUDIT" query --db "$db" --format csv "SELECT count(*) FROM events WHERE type = 'state'" | tail -1)
  echo "  events $events (failures $failures, state changes $states); database $(($(stat -c %s "$db") / 1048576)) MiB" >&2
  # fill in the events column of this size's rows so far
  sed -i "s/^\($size\t[^\t]*\t.*\)\t$/\1\t$events/" "$tsv"

  adb="$scratch/analyze.db"
  pre='rm -f "$adb" "$adb-journal"'
  export CALLAUDIT_TIMINGS=1  # analyze prints the time of each phase on standard error
  measure "$size" "callaudit analyze" "$bytes" "$lines" "$events" -- \
    "$CALLAUDIT" analyze --tz UTC --db "$adb" -o "$scratch/report.json" "${inputs[@]}"
  sed 's/^timing: /    /' "$scratch/stderr.txt" >&2
  cp "$scratch/stderr.txt" "$BENCH_DIR/phases-$stamp-$size-analyze.txt"
  measure "$size" "callaudit analyze --threads 1" "$bytes" "$lines" "$events" -- \
    "$CALLAUDIT" analyze --threads 1 --tz UTC --db "$adb" -o "$scratch/report.json" "${inputs[@]}"
  sed 's/^timing: /    /' "$scratch/stderr.txt" >&2
  # the README's main command: no --db, so a temporary database without the saved diagnosis
  measure "$size" "callaudit analyze (temporary db)" "$bytes" "$lines" "$events" -- \
    env TMPDIR="$scratch" "$CALLAUDIT" analyze --tz UTC -o "$scratch/report.json" "${inputs[@]}"
  sed 's/^timing: /    /' "$scratch/stderr.txt" >&2
  cp "$scratch/stderr.txt" "$BENCH_DIR/phases-$stamp-$size-analyze-temporary.txt"
  measure "$size" "callaudit analyze --threads 1 (temporary db)" "$bytes" "$lines" "$events" -- \
    env TMPDIR="$scratch" "$CALLAUDIT" analyze --threads 1 --tz UTC -o "$scratch/report.json" "${inputs[@]}"
  sed 's/^timing: /    /' "$scratch/stderr.txt" >&2
  unset CALLAUDIT_TIMINGS
  if [ "$ONE_CORE" = 1 ] && command -v taskset >/dev/null; then
    measure "$size" "callaudit analyze (1 core)" "$bytes" "$lines" "$events" -- \
      taskset -c 0 "$CALLAUDIT" analyze --tz UTC --db "$adb" -o "$scratch/report.json" "${inputs[@]}"
  fi
  pre=""
  rm -f "$adb"
  measure "$size" "callaudit diagnose --format json" "$bytes" "$lines" "$events" -- \
    "$CALLAUDIT" diagnose --db "$db" --format json
  out="$scratch/last-status.callaudit.csv"
  measure "$size" "callaudit query last-status" "$bytes" "$lines" "$events" -- \
    "$CALLAUDIT" query --db "$db" --format csv "$last_status_sql"
  out=/dev/null
  echo "  callaudit last-status rows: $(($(wc -l <"$scratch/last-status.callaudit.csv") - 1))" >&2

  if [ -n "$lnav_home" ]; then
    measure "$size" "lnav index (count)" "$bytes" "$lines" "$events" -- \
      env HOME="$lnav_home" lnav -n -c ';SELECT count(*) FROM freeswitch_log' "$input"
    out="$scratch/last-status.lnav.txt"
    measure "$size" "lnav last-status SQL" "$bytes" "$lines" "$events" -- \
      env HOME="$lnav_home" lnav -n -c "$(cat tests/bench/lnav/last_status.sql)" "$input"
    out=/dev/null
    echo "  lnav last-status rows: $(($(wc -l <"$scratch/last-status.lnav.txt") - 1))" >&2
  fi
  rm -f "$db"
done

if [ "$TIMELINE" != 0 ]; then
  read -r tl_states tl_failures <<<"$TIMELINE"
  tl_db="$BENCH_DIR/timeline-$tl_states-$tl_failures-s$SEED-$tl_hash.db"
  if [ ! -f "$tl_db" ]; then
    echo "generating $tl_db" >&2
    python3 tests/bench/gen_timeline.py --callaudit "$CALLAUDIT" --states "$tl_states" --failures "$tl_failures" \
      --seed "$SEED" -o "$tl_db"
  fi
  echo "== timeline: $tl_states state changes, $tl_failures failures (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  work="$scratch/timeline.db"
  # diagnose saves its result into the database: every run starts from the same copy
  pre='cp "$tl_db" "$work"; cat "$work" >/dev/null'
  limit=()
  [ "$TIMELINE_TIMEOUT" != 0 ] && limit=(timeout "$TIMELINE_TIMEOUT")
  export CALLAUDIT_TIMINGS=1
  measure "timeline" "diagnose --format json ($tl_failures)" "$(stat -c %s "$tl_db")" "" "" -- \
    "${limit[@]}" "$CALLAUDIT" diagnose --db "$work" --format json
  unset CALLAUDIT_TIMINGS
  # the phases: load, rules (correlate + R1-R6), evidence, cited lines, save, then the JSON
  sed 's/^timing: /    /' "$scratch/stderr.txt" >&2
  cp "$scratch/stderr.txt" "$BENCH_DIR/phases-$stamp-timeline.txt"
  pre=""
  rm -f "$work"
fi

{
echo "callaudit benchmark $stamp: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Release build $CALLAUDIT (built $(date -u -r "$CALLAUDIT" +%Y-%m-%dT%H:%MZ)), git now $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include || echo ' (src dirty)'), REPEAT=$REPEAT, page cache warm"
python3 - "$tsv" "$TIMELINE_TIMEOUT" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def f(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None
print()
def rate(n, t):
    if not n or not t:
        return ""
    v = n / t
    return "%.2fM" % (v / 1e6) if v >= 1e6 else "%.0fk" % (v / 1e3) if v >= 1e4 else "%.0f" % v
print("| size | step | wall s | cpu s | MB/s wall | MB/s cpu | lines/s | events/s | peak RSS MiB | × grep | load |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
by = {}
for r in rows:
    by[(r["size"], r["step"])] = r
for r in rows:
    wall, cpu = f(r["wall_s"]), (f(r["user_s"]) or 0) + (f(r["sys_s"]) or 0)
    b, l, e = f(r["bytes"]), f(r["lines"]), f(r["events"])
    g = by.get((r["size"], "grep -c (baseline)"))
    tl = r["size"] == "timeline"
    ratio = wall / f(g["wall_s"]) if g and not tl and f(g["wall_s"]) else None
    grep_row = r["step"].startswith("grep")
    print("| %s | %s | %.3g | %.2f | %s | %s | %s | %s | %.0f | %s | %s |" % (
        r["size"], r["step"], wall, cpu,
        "" if tl or not b else "%.1f" % (b / 1e6 / wall),
        "" if tl or not b or not cpu else "%.1f" % (b / 1e6 / cpu),
        "" if tl else rate(l, wall),
        "" if tl or grep_row else rate(e, wall),
        f(r["rss_kb"]) / 1024, "" if ratio is None else "%.1f" % ratio, r["load1"]))
print()
for size in dict.fromkeys(r["size"] for r in rows if r["size"] != "timeline"):
    a, i, d = by.get((size, "callaudit analyze")), by.get((size, "lnav index (count)")), by.get((size, "lnav last-status SQL"))
    a1 = by.get((size, "callaudit analyze --threads 1"))
    if a1:
        print("%s: analyze --threads 1: %.1f MB/s wall, %.1f MB/s per CPU second (target >= 130 one thread)"
              % (size, f(a1["bytes"]) / 1e6 / f(a1["wall_s"]), f(a1["bytes"]) / 1e6 / (f(a1["user_s"]) + f(a1["sys_s"]))))
    q = by.get((size, "callaudit query last-status"))
    if a:
        mbs = f(a["bytes"]) / 1e6 / f(a["wall_s"])
        cpu = f(a["user_s"]) + f(a["sys_s"])
        print("%s: analyze %.1f MB/s wall, %.1f MB/s per CPU second (targets: >= 250 both cores, >= 130 one thread);"
              " peak RSS %.0f MiB (target <= 256)" % (size, mbs, f(a["bytes"]) / 1e6 / cpu, f(a["rss_kb"]) / 1024))
    if a and i:
        print("%s: analyze / lnav index = %.2f (target <= 0.5)" % (size, f(a["wall_s"]) / f(i["wall_s"])))
    if a and d:
        print("%s: lnav last-status / analyze = %.2f (target >= 3)" % (size, f(d["wall_s"]) / f(a["wall_s"])))
    # the README's command: the same without --db
    t, t1 = by.get((size, "callaudit analyze (temporary db)")), by.get((size, "callaudit analyze --threads 1 (temporary db)"))
    if t:
        print("%s: analyze without --db %.1f MB/s wall, peak RSS %.0f MiB" % (size, f(t["bytes"]) / 1e6 / f(t["wall_s"]), f(t["rss_kb"]) / 1024)
              + ("; / lnav index = %.2f" % (f(t["wall_s"]) / f(i["wall_s"])) if i else "")
              + ("; lnav last-status / it = %.2f" % (f(d["wall_s"]) / f(t["wall_s"])) if d else ""))
    if t1:
        print("%s: analyze --threads 1 without --db: %.1f MB/s wall, %.1f MB/s per CPU second, peak RSS %.0f MiB"
              % (size, f(t1["bytes"]) / 1e6 / f(t1["wall_s"]), f(t1["bytes"]) / 1e6 / (f(t1["user_s"]) + f(t1["sys_s"])),
                 f(t1["rss_kb"]) / 1024))
    if q and d:
        print("%s: lnav last-status / callaudit query last-status = %.1f" % (size, f(d["wall_s"]) / f(q["wall_s"])))
limit = float(sys.argv[2] or 0)
for r in rows:
    if r["size"] == "timeline":
        stopped = limit and f(r["wall_s"]) >= limit - 0.5
        print("timeline: %s %s%.2f s wall, %.2f s cpu, peak RSS %.0f MiB (target <= 2 s)%s"
              % (r["step"], "> " if stopped else "", f(r["wall_s"]), f(r["user_s"]) + f(r["sys_s"]),
                 f(r["rss_kb"]) / 1024, " (stopped by TIMELINE_TIMEOUT)" if stopped else ""))
EOF
} | tee "$BENCH_DIR/results-$stamp.md"
echo "results: $BENCH_DIR/results-$stamp.md (raw: $tsv)" >&2
