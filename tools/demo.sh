#!/usr/bin/env bash
# The demo cloud: one compute node (a network namespace running gannetd, attached to its
# VMs by AF_PACKET), two tenants with two VMs each, and the tenants use the same IPs and
# MACs. gannetctl programs everything; the kernel's own ping and a TCP transfer show what
# passes, and gannetctl shows the counters. Everything it creates is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${GANNET_BIN:-.build/release}
tag=demo$$
host=gd-$tag
tmp=$(mktemp -d)
vms=()
cleanup() {
  [ -n "${gpid:-}" ] && kill "$gpid" 2>/dev/null && wait "$gpid" 2>/dev/null || true
  for v in "${vms[@]}"; do ip netns del "$v" 2>/dev/null || true; done
  ip netns del "$host" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ctl() { "$bin/gannetctl" "$@" --socket "$tmp/gannetd.sock"; }
step() { printf '\n== %s\n' "$*"; }

step "building the node: namespace $host, four VMs"
ip netns add "$host"
i=0
for vm in a1 a2 b1 b2; do
  ns=gv-$tag-$vm; vms+=("$ns"); n=${vm:1:1}
  ip netns add "$ns"
  ip link add "t$$$i" netns "$host" type veth peer name eth0 netns "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$host" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$ns" ethtool -K eth0 tso off gso off >/dev/null   # no TSO super-frames over AF_PACKET (see README)
  ip -n "$ns" link set eth0 address "fa:16:3e:00:00:0$n"
  ip -n "$ns" addr add "10.0.0.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$host" link set "t$$$i" up
  eval "if_$vm=t$$$i"
  i=$((i + 1))
done

cat > "$tmp/gannetd.json" <<JSON
{"node": {"name": "demo-compute", "role": "compute", "tunnel_ip": "192.0.2.11", "dvr_host_mac": "fa:16:3f:00:00:11"},
 "control_socket": "$tmp/gannetd.sock", "state_file": "$tmp/state.json", "idle_sleep_us": 50}
JSON
step "starting gannetd"
ip netns exec "$host" "$bin/gannetd" --config "$tmp/gannetd.json" 2>"$tmp/gannetd.log" &
gpid=$!
for _ in $(seq 50); do ctl show node >/dev/null 2>&1 && break; sleep 0.1; done
ctl show node

step "programming two tenants with identical addresses"
ctl network create net-a --tenant tenant-a --vni 1001
ctl network create net-b --tenant tenant-b --vni 1002
ctl port create a1 --network net-a --mac fa:16:3e:00:00:01 --ip 10.0.0.1 --local "af-packet:$if_a1"
ctl port create a2 --network net-a --mac fa:16:3e:00:00:02 --ip 10.0.0.2 --local "af-packet:$if_a2"
ctl port create b1 --network net-b --mac fa:16:3e:00:00:01 --ip 10.0.0.1 --local "af-packet:$if_b1"
ctl port create b2 --network net-b --mac fa:16:3e:00:00:02 --ip 10.0.0.2 --local "af-packet:$if_b2"
ctl port list

result=0
check() { if "$@"; then echo "PASS"; else echo "FAIL"; result=1; fi; }
step "ping a1 -> a2 (tenant A)";  check ip netns exec "gv-$tag-a1" ping -c 3 -i 0.2 -W 2 -q 10.0.0.2
step "ping b2 -> b1 (tenant B)";  check ip netns exec "gv-$tag-b2" ping -c 3 -i 0.2 -W 2 -q 10.0.0.1
step "TCP transfer a1 -> a2, 4 MB, SHA-256 compared"
ip netns exec "gv-$tag-a2" timeout -s KILL 20 python3 -c '
import socket, hashlib
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 5001)); s.listen(1)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    h.update(d); n += len(d)
print(n, h.hexdigest())' > "$tmp/rx.txt" &
spid=$!
sleep 0.5
ip netns exec "gv-$tag-a1" timeout -s KILL 20 python3 -c '
import socket, hashlib, os
d = os.urandom(4000000); c = socket.create_connection(("10.0.0.2", 5001), timeout=5); c.sendall(d); c.close()
print(len(d), hashlib.sha256(d).hexdigest())' > "$tmp/tx.txt"
wait $spid || true
echo "sent     $(cat "$tmp/tx.txt")"; echo "received $(cat "$tmp/rx.txt")"
check cmp -s "$tmp/tx.txt" "$tmp/rx.txt"

step "isolation: tenant A loses a2; a1's traffic for 10.0.0.2 must not reach b2 (same IP and MAC)"
ctl port delete a2
check bash -c "! ip netns exec gv-$tag-a1 ping -c 2 -i 0.2 -W 1 -q 10.0.0.2 >/dev/null"

step "counters"
ctl show counters
step "drops by reason"
ctl show drops
if [ $result -eq 0 ]; then echo; echo "demo: every check passed"; else echo; echo "demo: some checks FAILED"; fi
exit $result
