#!/usr/bin/env bash
# Builds the libFuzzer targets (release, -sanitize=fuzzer,address; see Fuzz/) and runs each
# for a bounded time on its committed seed corpus (Fuzz/corpus/TARGET).
#
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]      default: 20 s, every target
#   FUZZ_RUNS=N tools/fuzz.sh 0 fuzz-frames           stop after N executions instead
#   FUZZ_JOBS=K                                       K parallel fuzzing processes per target
#
# Exits non-zero on the first crash, leak, timeout or failed assertion; the input that
# caused it is kept in .build-fuzz/artifacts/ and printed in hex.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
# A fatalError in a target is reported by libFuzzer, not by the Swift backtracer (whose
# memory reads ASan would flag).
export SWIFT_BACKTRACE=enable=no
secs=${1:-20}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz-frames fuzz-control fuzz-state fuzz-config)
for t in "${targets[@]}"; do
  GANNET_FUZZ=1 swift build -c release --build-path .build-fuzz -Xswiftc -sanitize=fuzzer,address --product "$t"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p .build-fuzz/artifacts
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  args=(-max_len=4096 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=".build-fuzz/artifacts/$t-")
  [ "$secs" -gt 0 ] && args+=(-max_total_time="$secs")
  [ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
  [ -n "${FUZZ_JOBS:-}" ] && args+=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
  echo "== $t (${secs}s${FUZZ_RUNS:+, $FUZZ_RUNS runs})"
  if ! TMPDIR="$work" ".build-fuzz/release/$t" "${args[@]}" "$work/$t" "Fuzz/corpus/$t" > "$work/$t.log" 2>&1; then
    tail -40 "$work/$t.log"
    for a in .build-fuzz/artifacts/"$t"-*; do [ -f "$a" ] && { echo "input: $a"; od -A d -t x1 "$a" | head -20; }; done
    echo "$t: FAILED" >&2
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^Done" "$work/$t.log" | tr '\n' ' '
  echo
done
echo "fuzzing: ${#targets[@]} targets, no crash"
