#!/usr/bin/env bash
# Soak (run by hand, as root; not part of tools/test.sh): one node with four VMs on one
# network under ping, a TCP stream, malformed frames at a fixed rate and a change storm,
# for DURATION seconds. Prints gannetd's RSS every 30 s and, at the end, whether the daemon
# lived, how RSS moved after the first minute, and the frame accounting of every VM port:
# frames the VM's kernel sent == frames gannetd received + frames its ring overflowed. The VMs
# keep their offloads: a TSO super-frame is one frame to the kernel and several rx packets to
# gannetd, so frames received = rx packets − rx segments + rx super-frames, plus super-frames
# dropped whole by name (rx-truncated, rx-gso-malformed, rx-gso-unsupported).
#
#   tools/soak.sh [DURATION_S=600] [MALFORMED_PER_S=25000]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
duration=${1:-600}
rate=${2:-25000}
swift build -c release --product gannetd >/dev/null
swift build -c release --product gannetctl >/dev/null
tag=$(printf '%x' $((RANDOM * 32768 + RANDOM)))
host=gsH$tag
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null || true
  sleep 0.5
  for i in 1 2 3 4; do ip netns del "gsV$tag$i" 2>/dev/null || true; done
  ip netns del "$host" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$host"
for i in 1 2 3 4; do
  ns=gsV$tag$i
  ip netns add "$ns"
  ip link add "s$tag$i" netns "$host" type veth peer name eth0 netns "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip -n "$ns" link set eth0 address "fa:16:3e:00:00:0$i"
  ip -n "$ns" addr add "10.0.0.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$host" link set "s$tag$i" up
done
ip netns exec "$host" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
cat > "$dir/gannetd.json" <<JSON
{"node": {"name": "soak", "role": "compute", "tunnel_ip": "192.0.2.11", "dvr_host_mac": "fa:16:3f:00:00:11"},
 "control_socket": "$dir/sock", "state_file": "$dir/state.json", "workers": 1, "idle_sleep_us": 0}
JSON
ip netns exec "$host" .build/release/gannetd --config "$dir/gannetd.json" 2> "$dir/gannetd.log" &
daemon=$!
ctl() { GANNET_SOCKET="$dir/sock" .build/release/gannetctl "$@"; }
for _ in $(seq 100); do ctl show node >/dev/null 2>&1 && break; sleep 0.1; done
ctl network create net-a --tenant t --vni 1001 >/dev/null
for i in 1 2 3 4; do ctl port create "vm$i" --network net-a --mac "fa:16:3e:00:00:0$i" --ip "10.0.0.$i" --local "af-packet:s$tag$i" >/dev/null; done
vm() { ip netns exec "gsV$tag$1" "${@:2}"; }

# Load: ping (vm1 → vm2), a TCP stream (vm3 → vm4), malformed frames (vm1), a change storm.
vm 1 ping -q -i 0.01 -w "$duration" 10.0.0.2 > "$dir/ping.txt" 2>&1 & pids+=($!)
vm 4 timeout "$((duration + 5))" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 5001)); s.listen(8)
while True:
    c, _ = s.accept()
    while c.recv(65536): pass
' & pids+=($!)
vm 3 timeout "$duration" python3 -c '
import socket, time
buf = bytes(65536)
while True:
    try:
        c = socket.create_connection(("10.0.0.4", 5001), timeout=5)
        for _ in range(2000): c.sendall(buf)
        c.close()
    except OSError: time.sleep(0.2)
' & pids+=($!)
# Lengths from 6 bytes after the EtherType up: a VLAN-tagged frame too short to hold its tag
# is discarded by the kernel's receive path (skb_vlan_untag) before any packet socket sees
# it, so it would count as "sent" by the VM and never reach gannetd.
vm 1 timeout -s INT "$duration" python3 -c '
import os, random, socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(("eth0", 0))
rate, sent, t0 = '"$rate"', 0, time.time()
own = bytes.fromhex("fa163e000001")
kinds = [b"\x08\x00", b"\x08\x06", b"\x81\x00", b"\x88\xa8", b"\x86\xdd", os.urandom(2)]
try:
    while True:
        n = random.randrange(6, 200)
        dst = random.choice([bytes.fromhex("ffffffffffff"), bytes.fromhex("fa163e000002"), os.urandom(6)])
        frame = dst + random.choice([own, os.urandom(6)]) + random.choice(kinds) + os.urandom(n)
        try: s.send(frame); sent += 1
        except OSError: pass
        if sent % 500 == 0:
            ahead = sent / rate - (time.time() - t0)
            if ahead > 0: time.sleep(ahead)
finally:
    open("'"$dir"'/malformed.txt", "w").write(str(sent))
' & pids+=($!)
(
  end=$((SECONDS + duration)); k=0
  while [ $SECONDS -lt $end ]; do
    k=$((k + 1))
    ctl port create "r$k" --network net-a --mac "fa:16:3e:10:$(printf '%02x:%02x' $((k / 256 % 256)) $((k % 256)))" --remote 192.0.2.$((k % 200 + 20)) >/dev/null 2>&1 || true
    ctl network create "x$k" --tenant t --vni $((5000 + k)) >/dev/null 2>&1 || true
    ctl port update vm4 --ip 10.0.0.4 >/dev/null 2>&1 || true
    ctl port delete "r$((k - 5))" >/dev/null 2>&1 || true
    ctl network delete "x$((k - 3))" >/dev/null 2>&1 || true
    printf 'this is not json\n{"version": 1, "op": "port.create", "args": {"id": "vm1"}}\n' | timeout 2 nc -U -q1 "$dir/sock" >/dev/null 2>&1 || true
    echo "$k" > "$dir/changes.txt"
  done
) & pids+=($!)

rss() { awk '/VmRSS/ {print $2}' "/proc/$daemon/status"; }
start=$SECONDS; first=""
while [ $((SECONDS - start)) -lt "$duration" ]; do
  sleep 30
  kill -0 "$daemon" 2>/dev/null || { echo "gannetd DIED"; tail -20 "$dir/gannetd.log"; exit 1; }
  r=$(rss); [ $((SECONDS - start)) -ge 60 ] && [ -z "$first" ] && first=$r
  echo "t=$((SECONDS - start))s rss=${r}kB"
done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
sleep 1
kill -0 "$daemon" || { echo "gannetd DIED"; exit 1; }
last=$(rss)
echo "gannetd alive; RSS after 1 min ${first}kB, at the end ${last}kB"
echo "ping: $(tail -2 "$dir/ping.txt" | head -1)"
echo "malformed frames sent: $(cat "$dir/malformed.txt" 2>/dev/null); changes: $(cat "$dir/changes.txt") rounds"
ctl show counters --json > "$dir/counters.json"
ctl show drops --json > "$dir/drops.json"
python3 - "$dir" "$tag" <<'PY'
import json, subprocess, sys
d, tag = sys.argv[1], sys.argv[2]
counters = {p["port"]: p for p in json.load(open(f"{d}/counters.json"))["ports"]}
drops = json.load(open(f"{d}/drops.json"))
ok = True
for i in range(1, 5):
    st = json.loads(subprocess.run(["ip", "-n", f"gsV{tag}{i}", "-j", "-s", "link", "show", "eth0"], capture_output=True, text=True).stdout)
    sent = st[0]["stats64"]["tx"]["packets"]
    c = counters[f"vm{i}"]
    got = c["rx_packets"] - c["rx_segments"] + c["rx_super_frames"] + sum(r["count"] for r in drops if r["where"] == f"port vm{i}"
        and r["reason"] in ("rx-truncated", "rx-gso-malformed", "rx-gso-unsupported"))
    over = sum(r["count"] for r in drops if r["where"] == f"port vm{i}" and r["reason"] == "rx-ring-overflow")
    print(f"vm{i}: kernel sent {sent}, gannetd received {got} + ring overflow {over} = {got + over}")
    ok &= got + over == sent
print("named drops:", ", ".join(f'{r["where"]} {r["reason"]} {r["count"]}' for r in drops))
print("every frame accounted for" if ok else "FRAMES UNACCOUNTED")
sys.exit(0 if ok else 1)
PY
