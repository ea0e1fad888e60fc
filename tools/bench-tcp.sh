#!/usr/bin/env bash
# TCP throughput between two namespace VMs on one gannetd node over AF_PACKET (issue 18):
# iperf3 (one stream, SECONDS each), with the VMs' offloads at their defaults (TSO, GSO and
# checksum offload on: Gannet segments super-frames on receive and sends runs of segments as
# one super-frame again to the other VM's veth) and then with
# them off (`ethtool -K eth0 tso off gso off tx off`: the VMs' kernels segment and checksum
# themselves). A figure of the whole path: two kernels, two veths, gannetd's two AF_PACKET
# rings, one worker. Prints one line per mode (Gbit/s, sender side, median of ROUNDS).
#
# Usage: tools/bench-tcp.sh [SECONDS]      (root; after `swift build -c release`)
#   ROUNDS=3, WORKERS=1, GANNET_BIN=.build/release
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${GANNET_BIN:-.build/release}
seconds=${1:-10}
rounds=${ROUNDS:-3}
workers=${WORKERS:-1}
command -v iperf3 >/dev/null || apt-get install -y -qq iperf3 >/dev/null
tag=bt$$
host=gb-$tag
tmp=$(mktemp -d)
cleanup() {
  [ -n "${gpid:-}" ] && kill "$gpid" 2>/dev/null && wait "$gpid" 2>/dev/null || true
  for n in 1 2; do ip netns del "gv-$tag-$n" 2>/dev/null || true; done
  ip netns del "$host" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$host"
for n in 1 2; do
  ns=gv-$tag-$n
  ip netns add "$ns"
  ip link add "t$tag$n" netns "$host" type veth peer name eth0 netns "$ns"
  ip -n "$ns" link set eth0 address "fa:16:3e:00:00:0$n"
  ip -n "$ns" addr add "10.0.0.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$host" link set "t$tag$n" up
done
cat > "$tmp/gannetd.json" <<JSON
{"node": {"name": "bench-tcp", "role": "compute", "tunnel_ip": "192.0.2.11", "dvr_host_mac": "fa:16:3f:00:00:11"},
 "control_socket": "$tmp/gannetd.sock",
 "state_file": "$tmp/state.json", "workers": $workers}
JSON
ip netns exec "$host" "$bin/gannetd" --config "$tmp/gannetd.json" 2>"$tmp/gannetd.log" &
gpid=$!
ctl() { "$bin/gannetctl" "$@" --socket "$tmp/gannetd.sock" >/dev/null; }
for _ in $(seq 100); do ctl show node 2>/dev/null && break; sleep 0.1; done
ctl show node 2>/dev/null || { cat "$tmp/gannetd.log" >&2; exit 1; }
ctl network create net --tenant t --vni 1001
for n in 1 2; do ctl port create "vm$n" --network net --mac "fa:16:3e:00:00:0$n" --ip "10.0.0.$n" --local "af-packet:t$tag$n"; done
ip netns exec "gv-$tag-1" ping -c 3 -i 0.2 -W 2 -q 10.0.0.2 >/dev/null
run() {   # run MODE -> median Gbit/s over the rounds
  local out=() r
  for r in $(seq "$rounds"); do
    ip netns exec "gv-$tag-2" iperf3 -s -1 -D >/dev/null 2>&1 || true
    sleep 0.3
    out+=("$(ip netns exec "gv-$tag-1" iperf3 -c 10.0.0.2 -t "$seconds" -J 2>/dev/null \
      | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_sent"]["bits_per_second"] / 1e9))')")
  done
  printf '%s\n' "${out[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'
}
on=$(run on)
super=$("$bin/gannetctl" show counters --json --socket "$tmp/gannetd.sock" | python3 -c \
  'import json,sys; p = json.load(sys.stdin)["ports"]; print(sum(x["rx_super_frames"] for x in p), "super-frames segmented,",
   sum(x["tx_super_frames"] for x in p), "sent whole again")')
for n in 1 2; do ip netns exec "gv-$tag-$n" ethtool -K eth0 tso off gso off tx off >/dev/null; done
off=$(run off)
echo "TCP vm1 -> vm2, one stream, ${seconds} s, median of $rounds, $workers worker(s), AF_PACKET, $(date -u +%F)"
echo "offloads on (defaults):  $on Gbit/s   ($super)"
echo "offloads off:            $off Gbit/s"
