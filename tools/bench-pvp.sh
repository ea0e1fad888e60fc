#!/usr/bin/env bash
# PVP (physical → virtual → physical, issue 18), Gannet and OVS-DPDK side by side with the
# same guest: a pcap looped by net_pcap(infinite_rx) → the switch → a vhost-user port → the
# guest, dpdk-testpmd in macswap mode over DPDK's virtio-user → the switch → net_null(no-rx=1).
# The switch forwards on one core (FWD_CORE=1: gannetd's one worker, OVS's one PMD); the guest
# forwards on the other (MAIN_CORE=0). Both switches run DPDK with --no-huge. Mpps = frames
# the null port transmitted in the measurement window (gannetctl show counters; OVS's
# Interface statistics). Prints the medians over the rounds.
#
# Traffic: 60-byte UDP frames, 256 flows, from MAC B to the guest's MAC G; macswap sends them
# back from G to B. Gannet: one network with ports `wire` (the pcap; port security off, it
# sends from B), `guest` (vhost-user, MAC G) and `sink` (net_null, MAC B): L2 forwarding by
# destination MAC. OVS: in_port=wire → guest, in_port=guest → sink (OpenFlow, no learning).
#
# Usage: tools/bench-pvp.sh            (root; after `swift build -c release`)
#   ROUNDS=3 WARMUP=3 WINDOW=5 PEERS="gannet ovs-dpdk"
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${GANNET_SHARED:-$here/../shared}
harness=$shared/peers/run-peers.sh
[ -f "$harness" ] || { echo "no $harness (set GANNET_SHARED)" >&2; exit 1; }
bin=$here/.build/release
[ -x "$bin/gannetd" ] || { echo "build first: swift build -c release" >&2; exit 1; }
rounds=${ROUNDS:-3}
peers=${PEERS:-gannet ovs-dpdk}
export WARMUP=${WARMUP:-3} WINDOW=${WINDOW:-5}
# The harness's functions and cleanup (ovs_start, ovs_stop, stop_pid, new_prefix, STARTED,
# CLEAN_DIRS; its trap stops what was started and removes what was created).
# shellcheck disable=SC1090
source <(sed -e "s|^HERE=.*|HERE=$shared/peers|" -e "s|^SELF=.*|SELF=$harness|" -e '/^case \${1:-all} in/,$d' "$harness")
[[ $peers == *ovs-dpdk* ]] && install_deps >&2

G=fa:16:3e:00:00:0a B=fa:16:3e:00:00:0b
work=$(mktemp -d /var/tmp/gannet-pvp.XXXXXX); CLEAN_DIRS+=("$work")
pcap=$work/pvp.pcap
python3 - "$pcap" "$G" "$B" <<'PY'
import struct, sys
path, g, b = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), bytes.fromhex(sys.argv[3].replace(":", ""))
def csum(d):
    s = sum(struct.unpack("!%dH" % (len(d) // 2), d))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
with open(path, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(256):
        udp = struct.pack("!HHHH", 1024 + i, 5001, 8 + 18, 0) + bytes(18)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0, bytes([10, 0, 0, 11]), bytes([10, 0, 0, 10]))
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        frame = g + b + b"\x08\x00" + ip + udp
        f.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)
PY

testpmd_guest() {   # testpmd_guest SOCKET LOG: the guest, macswap over virtio-user, on MAIN_CORE
  new_prefix
  dpdk-testpmd --no-huge -m 1024 --no-pci --file-prefix="$PREFIX" --lcores "0@$MAIN_CORE,1@$MAIN_CORE" --main-lcore 0 \
    --vdev "net_virtio_user0,path=$1,queues=1" -- --forward-mode=macswap --nb-cores=1 --stats-period=1 </dev/null >"$2" 2>&1 &
  STARTED+=($!)
}
rate() {   # rate COMMAND...: Mpps from a counter read by COMMAND, over the window after the warm-up
  sleep "$WARMUP"
  local a b t0 t1
  a=$("$@"); t0=$(date +%s.%N)
  sleep "$WINDOW"
  b=$("$@"); t1=$(date +%s.%N)
  python3 -c "print('%.3f' % (($b - $a) / ($t1 - $t0) / 1e6))"
}

gannet_run() {
  local d; d=$(mktemp -d /var/tmp/gannet-pvp-g.XXXXXX); CLEAN_DIRS+=("$d")
  cat > "$d/gannetd.json" <<JSON
{"node": {"name": "pvp", "role": "compute", "tunnel_ip": "192.0.2.11", "dvr_host_mac": "fa:16:3f:00:00:11"},
 "control_socket": "$d/gannetd.sock", "state_file": "$d/state.json", "workers": 1, "cores": [$FWD_CORE],
 "dpdk": {"enabled": true, "memory_mb": 1024}}
JSON
  "$bin/gannetd" --config "$d/gannetd.json" >"$d/gannetd.log" 2>&1 &
  STARTED+=($!)
  ctl() { "$bin/gannetctl" "$@" --socket "$d/gannetd.sock"; }
  for _ in $(seq 200); do ctl show node >/dev/null 2>&1 && break; sleep 0.1; done
  ctl network create pvp --tenant t --vni 1 >/dev/null
  ctl port create guest --network pvp --mac $G --ip 10.0.0.10 --local "vhost-user:$d/guest.sock" >/dev/null
  ctl port create sink --network pvp --mac $B --ip 10.0.0.11 --local "dpdk:net_null0,no-rx=1" >/dev/null
  testpmd_guest "$d/guest.sock" "$d/testpmd.log"
  for _ in $(seq 100); do grep -q "Press enter\|Start automatic\|forwards packets on" "$d/testpmd.log" 2>/dev/null && break; sleep 0.1; done
  ctl port create wire --network pvp --mac fa:16:3e:00:00:0c --ip 10.0.0.12 --no-port-security \
    --local "dpdk:net_pcap0,rx_pcap=$pcap,infinite_rx=1" >/dev/null
  sink_tx() { ctl show counters --json | python3 -c 'import json,sys; print(next(p["tx_packets"] for p in json.load(sys.stdin)["ports"] if p["port"] == "sink"))'; }
  rate sink_tx
  ctl show counters >&2 || true
  for ((i=${#STARTED[@]}-1; i>=0; i--)); do stop_pid "${STARTED[$i]}"; done
  STARTED=()
}

ovs_run() {
  new_prefix
  ovs_start "$PREFIX"
  VS add-br br0 -- set bridge br0 datapath_type=netdev fail-mode=secure
  VS add-port br0 sink -- set Interface sink type=dpdk options:dpdk-devargs="net_null0,no-rx=1" ofport_request=2
  VS add-port br0 guest -- set Interface guest type=dpdkvhostuser ofport_request=3
  OF del-flows br0
  OF add-flow br0 "in_port=1,actions=output:3"
  OF add-flow br0 "in_port=3,actions=output:2"
  local sock=$OVS_RUN/guest   # dpdkvhostuser: OVS serves the socket in its run directory
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  testpmd_guest "$sock" "$OVS_RUN/testpmd.log"
  for _ in $(seq 100); do grep -q "Press enter\|Start automatic\|forwards packets on" "$OVS_RUN/testpmd.log" 2>/dev/null && break; sleep 0.1; done
  VS add-port br0 wire -- set Interface wire type=dpdk options:dpdk-devargs="net_pcap0,rx_pcap=$pcap,infinite_rx=1" ofport_request=1
  sink_tx() { VS get Interface sink statistics:tx_packets; }
  rate sink_tx
  AP dpctl/show -s >"$work/ovs-dpctl.txt" 2>&1 || true
  local testpmd_pid=${STARTED[-1]}
  stop_pid "$testpmd_pid" INT
  ovs_stop
}

out=$work/results
: > "$out"
for r in $(seq "$rounds"); do
  for p in $peers; do
    log "round $r: $p"
    # Not in a subshell: the harness's cleanup must see every process started.
    case $p in
      gannet) gannet_run > "$work/m" || echo fail > "$work/m" ;;
      ovs-dpdk) ovs_run > "$work/m" || echo fail > "$work/m" ;;
    esac
    echo "$p $(tail -1 "$work/m")" >> "$out"
  done
done
python3 - "$out" "$rounds" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    who, v = line.split()
    try: rows.setdefault(who, []).append(float(v))
    except ValueError: pass
med = {k: statistics.median(v) for k, v in rows.items() if v}
print(f"PVP, 60-byte frames, 256 flows: pcap -> switch -> vhost-user -> testpmd macswap (virtio-user) -> switch -> null;")
print(f"switch on one core, guest on another, --no-huge, medians of {sys.argv[2]} rounds (Mpps)")
for k in ("gannet", "ovs-dpdk"):
    if k in rows: print(f"{k:9} {med.get(k, float('nan')):7.2f}   rounds: {' '.join('%.2f' % x for x in rows[k])}")
if "gannet" in med and "ovs-dpdk" in med and med["ovs-dpdk"] > 0:
    print(f"gannet / ovs-dpdk: {med['gannet'] / med['ovs-dpdk']:.2f}")
PY
