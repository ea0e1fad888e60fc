#!/usr/bin/env bash
# Instructions per packet of every workload, the deterministic performance guard (issue 15):
# gannet-bench's memory backend (no DPDK, exactly N packets) under callgrind, counting the
# instructions executed in gannet-bench's own code (libc's memcpy picks a variant per CPU,
# so it is left out), (I(N2) − I(N1)) / (N2 − N1) so that setup cancels out. Fails when a
# workload costs more than 3 % above its committed threshold; says so when it costs 3 %
# less (lower the threshold in the same change: --update rewrites the file).
#
# Usage: tools/instr-guard.sh [--update]     (after `swift build -c release --product gannet-bench`)
set -euo pipefail
cd "$(dirname "$0")/.."
thresholds=Benchmarks/Thresholds/instructions-per-packet.json
update=0
[ "${1:-}" = "--update" ] && update=1
tools/workloads.sh /tmp/gannet-workloads
work=$(mktemp -d /tmp/gannet-instr.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp .build/release/gannet-bench "$work/gannet-bench"
strip "$work/gannet-bench"          # valgrind cannot read the Swift release build's DWARF
n1=100000 n2=600000
own() {   # own() WORKLOAD PACKETS ARGS... -> instructions executed inside gannet-bench
  local w=$1 n=$2; shift 2
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.$w.$n" "$work/gannet-bench" --backend memory --workload-dir /tmp/gannet-workloads \
    --workload "$w" --packets "$n" "$@" >/dev/null 2>"$work/err.$w.$n" || { cat "$work/err.$w.$n" >&2; return 1; }
  callgrind_annotate --threshold=100 "$work/cg.$w.$n" | awk -v obj="[$work/gannet-bench]" 'index($0, obj) { gsub(",", "", $1); s += $1 } END { printf "%d\n", s }'
}
results="$work/results"
: > "$results"
for w in w1 w2 w3 w4 w5 w6; do
  a=$(own $w $n1); b=$(own $w $n2)
  echo "$w $(( b - a ))" >> "$results"
done
python3 - "$thresholds" "$results" "$update" $((n2 - n1)) <<'PY'
import json, sys
path, results, update, packets = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
measured = {w: int(i) / packets for w, i in (l.split() for l in open(results))}
try:
    limits = json.load(open(path))
except FileNotFoundError:
    limits = {}
bad = []
print(f"{'workload':10}{'instr/packet':>14}{'threshold':>12}")
for w, v in measured.items():
    t = limits.get(w)
    verdict = ""
    if t is None:
        verdict = "no threshold"
    elif v > t * 1.03:
        verdict = "REGRESSION (> +3 %)"; bad.append(w)
    elif v < t * 0.97:
        verdict = "faster: lower the threshold (tools/instr-guard.sh --update)"
    print(f"{w:10}{v:14.1f}{(t or 0):12.1f}  {verdict}")
if update:
    json.dump({w: round(v, 1) for w, v in measured.items()}, open(path, "w"), indent=2, sort_keys=True)
    open(path, "a").write("\n")
    print(f"wrote {path}")
elif bad:
    sys.exit(f"instructions per packet rose more than 3 % on {', '.join(bad)}")
PY
