#!/usr/bin/env bash
# Gannet and its peers on the shared workloads, in one go (issue 15): per round and workload,
# back to back, dpdk-testpmd io (the ceiling), gannet-bench, DPDK l3fwd-lpm (W2) and OVS-DPDK,
# each on the same pcap through net_pcap(infinite_rx) -> net_null(no-rx=1), one forwarding
# core, the same memory mode. The peers run through ../shared/peers/run-peers.sh (its `one`
# command: its own measurement, warm-up and window); gannet-bench measures itself with the
# same warm-up and window. Prints the medians over the rounds and the ratios.
#
# Usage: tools/bench-peers.sh [WORKLOAD...]     (default: w1 w2 w3 w4 w4-1k w4-1m w5 w6)
#   w4-1k: W4's first 1,000 flows (1k live SNAT sessions); w4-1m: W4 with 1,000,000 more live
#   sessions prefilled in the table. Both against W4's ceiling (the same frames); OVS runs W4 only.
#   ROUNDS=2 WARMUP=3 WINDOW=5: rounds, seconds of warm-up and of measurement per run.
#   PEERS="testpmd-io l3fwd-lpm ovs-dpdk": which peers.
# Needs root and a release build (swift build -c release). Installs what the peers need
# (Debian's dpdk, dpdk-doc for l3fwd's sources, openvswitch-switch-dpdk) and builds l3fwd
# with the shared harness's own steps, once. W6's ceiling is testpmd on W1's pcap (the same
# frames); W6 runs on OVS with the same security-group policy (two conntrack zones).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${GANNET_SHARED:-$here/../shared}
harness=$shared/peers/run-peers.sh
[ -x "$harness" ] || [ -f "$harness" ] || { echo "no $harness (set GANNET_SHARED)" >&2; exit 1; }
bench=$here/.build/release/gannet-bench
[ -x "$bench" ] || { echo "build first: swift build -c release" >&2; exit 1; }
workloads=${*:-w1 w2 w3 w4 w4-1k w4-1m w5 w6}
rounds=${ROUNDS:-2}
export WARMUP=${WARMUP:-3} WINDOW=${WINDOW:-5}
peers=${PEERS:-testpmd-io l3fwd-lpm ovs-dpdk}
dir=/tmp/gannet-workloads
"$here/tools/workloads.sh" "$dir"
# The harness reads its pcaps from PCAPS: the same generator's output.
export PCAPS=$dir RESULTS=${RESULTS:-/tmp/gannet-bench-peers}
mkdir -p "$RESULTS/logs"
# Setup through the harness's own functions (everything but its final dispatch).
# shellcheck disable=SC1090
(source <(sed -e "s|^HERE=.*|HERE=$shared/peers|" -e "s|^SELF=.*|SELF=$harness|" -e '/^case \${1:-all} in/,$d' "$harness"); install_deps; [[ " $peers " == *" l3fwd-lpm "* ]] && build_l3fwd; true) >&2

# W4's first 1,000 packets are its first 1,000 flows.
editcap -r "$dir/w4_snat.pcap" "$dir/w4_1k.pcap" 1-1000
out=$(mktemp)
trap 'rm -f "$out"' EXIT
applies() {   # applies PEER W
  case $1 in
    testpmd-io) true ;;              # W6: on W1's pcap; w4-1k, w4-1m: on W4's
    l3fwd-lpm) [ "$2" = w2 ] ;;
    ovs-dpdk) [ "$2" = "${2%-1?}" ] ;;
  esac
}
bench_args() {   # bench_args W -> gannet-bench's workload options
  case $1 in
    w4-1k) echo "--workload w4 --pcap $dir/w4_1k.pcap" ;;
    w4-1m) echo "--workload w4 --prefill-sessions 1000000" ;;
    *) echo "--workload $1" ;;
  esac
}
for r in $(seq 1 "$rounds"); do
  for w in $workloads; do
    for p in $peers; do
      applies "$p" "$w" || continue
      pw=${w%-1?}; [ "$p" = testpmd-io ] && [ "$w" = w6 ] && pw=w1
      echo "round $r: $p $pw" >&2
      j=$(bash "$harness" one "$p" "$pw" "$r" 2>>"$RESULTS/logs/bench-peers.err" | grep '^{' | tail -1 || true)
      echo "$w $p ${j:-{\"status\": \"failed\"\}}" >> "$out"
    done
    echo "round $r: gannet-bench $w" >&2
    # shellcheck disable=SC2086
    j=$("$bench" $(bench_args "$w") --workload-dir "$dir" --warmup "$WARMUP" --seconds "$WINDOW" --json ${GANNET_BENCH_ARGS:-} 2>/dev/null | grep '^{' || true)
    echo "$w gannet ${j:-{\"status\": \"failed\"\}}" >> "$out"
  done
done
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
rows = {}
mem = set()
for line in open(sys.argv[1]):
    w, who, j = line.split(" ", 2)
    d = json.loads(j)
    if d.get("status", "ok") != "ok" or "mpps" not in d:
        continue
    mem.add(("gannet " + d["memory"]) if who == "gannet" else ("peers " + d.get("mem", "?")))
    rows.setdefault(w, {}).setdefault(who, []).append(float(d["mpps"]))
med = lambda xs: statistics.median(xs) if xs else None
fmt = lambda x: f"{x:7.2f}" if x is not None else "     — "
print(f"one forwarding core, net_pcap(infinite_rx) -> net_null(no-rx=1), memory {', '.join(sorted(mem))}, "
      f"medians of {sys.argv[2]} rounds (Mpps)")
print(f"{'workload':9} {'testpmd':>8} {'gannet':>8} {'ratio':>6} {'l3fwd':>8} {'g/l3fwd':>8} {'ovs-dpdk':>9} {'g/ovs':>6}")
for w in sorted(rows):
    r = rows[w]
    t, g, l, o = (med(r.get(k, [])) for k in ("testpmd-io", "gannet", "l3fwd-lpm", "ovs-dpdk"))
    if t is None and w.startswith("w4-"):
        t = med(rows.get("w4", {}).get("testpmd-io", []))
    ratio = lambda a, b: f"{a / b:6.2f}" if a and b else "    — "
    print(f"{w:9} {fmt(t):>8} {fmt(g):>8} {ratio(g, t):>6} {fmt(l):>8} {ratio(g, l):>8} {fmt(o):>9} {ratio(g, o):>6}")
PY
