#!/usr/bin/env bash
# Measures dpdk-testpmd --forward-mode=io and gannet-bench side by side, in one run, on the
# same workload pcap and the same port setup (net_pcap infinite_rx -> net_null, one
# forwarding core, same memory mode), and prints both rates and their ratio.
#
# Usage: tools/bench-vs-testpmd.sh [WORKLOAD] [SECONDS]     (default w1, 10)
#   WORKLOAD: w1 w2 w3 w4 w5, or w4-1k (W4's first 1,000 flows: 1k live SNAT sessions).
#   GANNET_BENCH_ARGS: more gannet-bench options, e.g. "--prefill-sessions 1000000" for W4
#   with 1M live sessions.
# Needs: a release build (swift build -c release), dpdk-testpmd (Debian package dpdk-dev).
set -euo pipefail
w=${1:-w1}
secs=${2:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${GANNET_WORKLOADS:-/tmp/gannet-workloads}
"$here/tools/workloads.sh" "$dir"
base=${w%-1k}
pcap=$dir/$(python3 -c "import json,sys;print(json.load(open('$dir/manifest.json'))['workloads']['$base']['file'])")
extra=()
if [ "$w" != "$base" ]; then
  # The first 1,000 packets (= flows) of the workload.
  small=$dir/${base}_1k.pcap
  editcap -r "$pcap" "$small" 1-1000
  pcap=$small
  extra=(--pcap "$small")
fi
bench=$here/.build/release/gannet-bench
[ -x "$bench" ] || { echo "build first: swift build -c release" >&2; exit 1; }

if grep -q '^HugePages_Free: *[1-9]' /proc/meminfo && grep -q hugetlbfs /proc/mounts; then
  mem=(--in-memory); mode=hugepages
else
  mem=(--no-huge -m 2048 --no-shconf); mode=no-huge
fi
npk=$(python3 -c "import json;print(json.load(open('$dir/manifest.json'))['workloads']['$base']['packets'])")
mbufs=$(( npk + 8192 > 16384 ? npk + 8192 : 16384 ))

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# testpmd: main lcore 0 + forwarding lcore 1; stats every second; stop with SIGINT.
timeout -s INT $((secs + 6)) dpdk-testpmd "${mem[@]}" -l 0-1 --no-pci --file-prefix "tp$$" \
  --log-level '*:warning' \
  --vdev=net_pcap0,rx_pcap="$pcap",infinite_rx=1 --vdev=net_null0,no-rx=1 \
  -- --forward-mode=io --nb-cores=1 --total-num-mbufs=$mbufs --stats-period=1 </dev/null >"$log" 2>&1 || true
# Rx-pps of port 0 (the pcap port): non-zero samples, the first (partial) one dropped, median.
tp=$(grep -E '^ +Rx-pps:' "$log" | awk 'NR%2==1 && $2 > 0 {print $2}' | tail -n +2 | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}')
[ "${tp:-0}" -gt 0 ] || { echo "testpmd produced no rate; its log:" >&2; tail -30 "$log" >&2; exit 1; }

# shellcheck disable=SC2086
gj=$("$bench" --workload "$base" --workload-dir "$dir" --seconds "$secs" --json "${extra[@]}" ${GANNET_BENCH_ARGS:-} 2>/dev/null | grep '^{')
gm=$(python3 -c "import json,sys;print(json.loads(sys.argv[1])['mpps'])" "$gj")
python3 - "$w" "$mode" "$tp" "$gm" <<'PY'
import sys
w, mode, tp, gm = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 1e6, float(sys.argv[4])
import os
if os.environ.get("GANNET_BENCH_ARGS"): w += " (" + os.environ["GANNET_BENCH_ARGS"] + ")"
print(f"workload {w}, DPDK net_pcap(infinite_rx) -> net_null, 1 forwarding core, memory {mode}")
print(f"  dpdk-testpmd io-forward (median)  {tp:7.2f} Mpps")
print(f"  gannet-bench                      {gm:7.2f} Mpps")
print(f"  ratio gannet / testpmd             {gm / tp:6.2f}")
PY
