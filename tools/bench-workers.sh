#!/usr/bin/env bash
# Worker scaling (issue 15, item 4): gannet-bench with one worker and with N, alternating,
# ROUNDS rounds, on the same workloads, dpdk backend (net_pcap with one rx_pcap per worker ->
# pipeline -> net_null(no-rx=1) with a TX queue per worker), one core per worker. Prints the
# medians and the ratio N workers / 1 worker.
#
# Usage: tools/bench-workers.sh [WORKLOAD...]      (default: w1 w2 w4)
#   WORKERS=2 ROUNDS=3 WARMUP=2 WINDOW=5
# Needs root (DPDK), a release build (swift build -c release) and at least WORKERS CPUs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bench=$here/.build/release/gannet-bench
[ -x "$bench" ] || { echo "build first: swift build -c release" >&2; exit 1; }
workloads=${*:-w1 w2 w4}
workers=${WORKERS:-2} rounds=${ROUNDS:-3} warmup=${WARMUP:-2} window=${WINDOW:-5}
dir=/tmp/gannet-workloads
"$here/tools/workloads.sh" "$dir" >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq 1 "$rounds"); do
  for w in $workloads; do
    for n in 1 "$workers"; do
      echo "round $r: $w, $n worker(s)" >&2
      j=$("$bench" --workload "$w" --workload-dir "$dir" --warmup "$warmup" --seconds "$window" --workers "$n" --json 2>/dev/null \
          | grep '^{' || true)
      echo "$w $n ${j:-{\"status\": \"failed\"\}}" >> "$out"
    done
  done
done
python3 - "$out" "$workers" "$rounds" <<'PY'
import json, statistics, sys, datetime
path, n, rounds = sys.argv[1], sys.argv[2], sys.argv[3]
rates, drops = {}, {}
for line in open(path):
    w, k, j = line.split(" ", 2)
    o = json.loads(j)
    if "mpps" in o:
        rates.setdefault((w, k), []).append(o["mpps"])
        drops[(w, k)] = drops.get((w, k), 0) + sum(o.get("drops", {}).values())
print(f"gannet-bench worker scaling, {datetime.date.today()}, dpdk backend, {rounds} rounds, medians (Mpps)")
print(f"| workload | 1 worker | {n} workers | ratio | drops ({n} workers, all rounds) |")
print("|---|---|---|---|---|")
for w in dict.fromkeys(k[0] for k in rates):
    one, many = rates.get((w, "1")), rates.get((w, n))
    if not one or not many:
        print(f"| {w} | {one} | {many} | failed | |"); continue
    a, b = statistics.median(one), statistics.median(many)
    print(f"| {w} | {a:.2f} | {b:.2f} | {b / a:.2f}x | {drops.get((w, n), 0)} |")
PY
