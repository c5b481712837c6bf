#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ into build-fuzz/ (clang, -DCALLAUDIT_FUZZ=ON:
# ASan + UBSan + coverage) and runs each for SECONDS. Usage:
#   scripts/fuzz.sh SECONDS [TARGET...]     (targets: text_parser csv pattern_loader archive,
#                                            with or without the fuzz_ prefix; default all)
# Each target starts from a seed corpus made from fixtures/ and keeps what it finds in
# build-fuzz/corpus/<target>/ (reused by the next run). A crash, leak, timeout or
# out-of-memory input is copied to fixtures/bad/fuzz-<target>-<hash>/input with a NOTE.md, and
# the script exits 1. A summary of every run (seconds, executions, corpus) is printed at the
# end and appended to build-fuzz/fuzz-runs.tsv. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${1:-}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
  exit 2
fi
shift
all=(fuzz_text_parser fuzz_csv fuzz_pattern_loader fuzz_archive)
[ $# -gt 0 ] || set -- "${all[@]}"
targets=()
for t in "$@"; do
  t=fuzz_${t#fuzz_}
  if [[ " ${all[*]} " != *" $t "* ]]; then
    echo "fuzz.sh: unknown target '$t' (known: ${all[*]})" >&2
    exit 2
  fi
  targets+=("$t")
done

scripts/setup.sh --fuzz  # clang, libFuzzer's runtime, llvm-symbolizer (only what is missing)
dir=${FUZZ_BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCALLAUDIT_FUZZ=ON >/dev/null
ninja -C "$dir" ${NINJA_FLAGS:-} "${targets[@]}"

# Seed corpora: one folder per target, rebuilt every run from fixtures/ (files over 1 MiB
# are left out; libFuzzer reads at most -max_len bytes of the others).
seeds=$dir/seeds
rm -rf "$seeds"
mkdir -p "$seeds"
add_seeds() {  # add_seeds TARGET FILE...
  local t=$1 f
  shift
  mkdir -p "$seeds/$t"
  for f in "$@"; do
    [ -f "$f" ] || continue
    [ "$(stat -c %s "$f")" -le 1048576 ] || continue
    cp "$f" "$seeds/$t/$(printf '%s' "$f" | tr '/' '_')"
  done
}
mapfile -t logs < <(find fixtures/logs fixtures/scenarios -type f \
  ! -name '*.toml' ! -name '*.json' ! -name '*.md' ! -name args ! -name '*.zip' ! -name '*.gz' | sort)
mapfile -t csvs < <(printf '%s\n' "${logs[@]}" | grep -E '\.csv$|Master' || true)
mapfile -t bad_inputs < <(find fixtures/bad -type f ! -name case.toml ! -name '*.md' ! -path '*/fuzz-*' | sort)
add_seeds fuzz_text_parser "${logs[@]}"
add_seeds fuzz_csv "${csvs[@]}" "${logs[@]:0:4}"
add_seeds fuzz_pattern_loader patterns/formats/*.toml
add_seeds fuzz_archive fixtures/logs/bundle.zip "${bad_inputs[@]}"
gzip -9nc fixtures/logs/freeswitch-log/freeswitch.log >"$seeds/fuzz_archive/freeswitch.log.gz"
gzip -9nc fixtures/logs/asterisk-queue-log/queue_log >"$seeds/fuzz_archive/queue_log.gz"

export CALLAUDIT_PATTERNS=${CALLAUDIT_PATTERNS:-$root/patterns}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
summary=()
for t in "${targets[@]}"; do
  corpus=$dir/corpus/$t
  artifacts=$dir/artifacts/$t
  log=$dir/logs/$t.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  echo "== $t: ${seconds}s (log: $log)"
  rc=0
  nice "$dir/tests/fuzz/$t" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=1024 -timeout=60 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$seeds/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  ran=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  found=0
  for a in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
    [ -f "$a" ] || continue
    found=1
    kind=${a##*/}
    kind=${kind%%-*}
    hash=$(sha1sum "$a" | cut -c1-12)
    case_dir=fixtures/bad/fuzz-${t#fuzz_}-$hash
    mkdir -p "$case_dir"
    cp "$a" "$case_dir/input"
    {
      echo "# ${t}: $kind"
      echo
      echo "Found by \`scripts/fuzz.sh\` on $(date -u +%Y-%m-%d) (libFuzzer artifact \`${a##*/}\`)."
      echo "Reproduce: \`CALLAUDIT_PATTERNS=patterns $dir/tests/fuzz/$t $case_dir/input\`."
      echo "No case.toml: tests/bad does not run this folder until a case is written for it."
      echo
      echo '```'
      grep -E -A40 '^==[0-9]+==ERROR|runtime error|fuzz invariant broken|^SUMMARY|ALARM|out-of-memory' "$log" | head -60
      echo '```'
    } >"$case_dir/NOTE.md"
    echo "!! $t: $kind saved to $case_dir/input"
    rm -f "$a"
  done
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    [ "$found" -ne 0 ] || echo "!! $t exited $rc without an artifact; see $log" >&2
    tail -30 "$log" >&2
  fi
  line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$(date -u +%Y-%m-%d)" "$t" "${ran:-?}" "${execs:-?}" \
    "${corp:-?}" "${cov:-?}" "$([ "$rc" -eq 0 ] && [ "$found" -eq 0 ] && echo clean || echo FOUND)")
  summary+=("$line")
  printf '%s\n' "$line" >>"$dir/fuzz-runs.tsv"
done
echo
printf 'date\ttarget\tseconds\texecutions\tcorpus(units/bytes)\tcov\tresult\n'
printf '%s\n' "${summary[@]}"
exit $status
