#!/usr/bin/env bash
# The demo cloud: a compute node (a network namespace running gannetd, attached to its
# VMs by AF_PACKET), two tenants with two VMs each, and the tenants use the same IPs and
# MACs; then a second compute node joined by a VXLAN underlay, with a third VM of tenant A.
# gannetctl programs everything; the kernel's own ping and a TCP transfer show what
# passes, and gannetctl shows the counters. Everything it creates is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${GANNET_BIN:-.build/release}
tag=demo$$
host=gd-$tag
host2=gd2-$tag
tmp=$(mktemp -d)
vms=()
cleanup() {
  [ -n "${gpid:-}" ] && kill "$gpid" 2>/dev/null && wait "$gpid" 2>/dev/null || true
  [ -n "${gpid2:-}" ] && kill "$gpid2" 2>/dev/null && wait "$gpid2" 2>/dev/null || true
  for v in "${vms[@]}"; do ip netns del "$v" 2>/dev/null || true; done
  ip netns del "$host" 2>/dev/null || true
  ip netns del "$host2" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ctl() { "$bin/gannetctl" "$@" --socket "$tmp/gannetd.sock"; }
ctl2() { "$bin/gannetctl" "$@" --socket "$tmp/gannetd2.sock"; }
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
  ip -n "$ns" link set eth0 address "fa:16:3e:00:00:0$n"
  ip -n "$ns" addr add "10.0.0.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$host" link set "t$$$i" up
  eval "if_$vm=t$$$i"
  i=$((i + 1))
done

# The underlay: one veth between the two nodes; each gannetd owns its tunnel IP on it.
ip netns add "$host2"
ip netns exec "$host2" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip link add ul0 netns "$host" type veth peer name ul0 netns "$host2"
ip -n "$host" link set ul0 up
ip -n "$host2" link set ul0 up
for n in 1 2; do
  if [ "$n" = 1 ]; then sock=$tmp/gannetd.sock; else sock=$tmp/gannetd2.sock; fi
  cat > "$tmp/gannetd$n.json" <<JSON
{"node": {"name": "demo-compute-$n", "role": "compute", "tunnel_ip": "192.0.2.1$n", "dvr_host_mac": "fa:16:3f:00:00:1$n"},
 "control_socket": "$sock", "state_file": "$tmp/state$n.json", "idle_sleep_us": 50,
 "underlay": {"interface": "af-packet:ul0", "prefix_length": 24}}
JSON
done
step "starting gannetd"
ip netns exec "$host" "$bin/gannetd" --config "$tmp/gannetd1.json" 2>"$tmp/gannetd.log" &
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

step "a second compute node over VXLAN (VNI 1001): VM a3 of tenant A lives there"
ns=gv-$tag-a3; vms+=("$ns")
ip netns add "$ns"
ip link add "t$$""9" netns "$host2" type veth peer name eth0 netns "$ns"
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip -n "$ns" link set eth0 address fa:16:3e:00:00:03 mtu 1450   # the network MTU: underlay 1500 - 50
ip -n "$ns" addr add 10.0.0.3/24 dev eth0
ip -n "$ns" link set eth0 up
ip -n "$host2" link set "t$$""9" up
ip netns exec "$host2" "$bin/gannetd" --config "$tmp/gannetd2.json" 2>"$tmp/gannetd2.log" &
gpid2=$!
for _ in $(seq 50); do ctl2 show node >/dev/null 2>&1 && break; sleep 0.1; done
ctl2 network create net-a --tenant tenant-a --vni 1001
ctl2 port create a3 --network net-a --mac fa:16:3e:00:00:03 --ip 10.0.0.3 --local "af-packet:t$$""9"
ctl2 port create a1 --network net-a --mac fa:16:3e:00:00:01 --ip 10.0.0.1 --remote 192.0.2.11
ctl port create a3 --network net-a --mac fa:16:3e:00:00:03 --ip 10.0.0.3 --remote 192.0.2.12
for _ in $(seq 50); do
  ctl show tunnels --json | grep -q '"resolved"' && ctl2 show tunnels --json | grep -q '"resolved"' && break
  sleep 0.1
done
step "ping a1 (node 1) -> a3 (node 2) through the tunnel; a1's ARP is answered on node 1"
check bash -c "ip netns exec gv-$tag-a1 ping -c 3 -i 0.2 -W 2 -q 10.0.0.3 | tee /dev/stderr | grep -q ' 0% packet loss'"
step "tunnels on node 1"
ctl show tunnels
ctl fdb show --remote

step "dry run on node 1: a1's TCP SYN to a3, through a private copy of the graph (nothing is sent)"
ctl trace packet --port a1 'ip 10.0.0.1 > 10.0.0.3 tcp 40000 > 22 flags S'
step "live trace on node 1: a1's next ping"
ctl trace start --port a1 --filter icmp --count 1 >/dev/null
ip netns exec "gv-$tag-a1" ping -c 1 -W 2 -q 10.0.0.3 >/dev/null
for _ in $(seq 50); do ctl trace show --json | grep -q '"port-output"' && break; sleep 0.1; done
ctl trace show
step "operator flow: drop a1's ICMP at its port (the next pings fail), then remove it"
ctl flow add no-icmp --in-port a1 --proto icmp --action drop
check bash -c "! ip netns exec gv-$tag-a1 ping -c 2 -i 0.2 -W 1 -q 10.0.0.3 >/dev/null"
ctl flow list
ctl flow delete no-icmp
step "dump-flows (node 1): every L2 entry, its hits and where it comes from"
ctl dump-flows --table l2

step "counters (node 1)"
ctl show counters
step "drops by reason"
ctl show drops
if [ $result -eq 0 ]; then echo; echo "demo: every check passed"; else echo; echo "demo: some checks FAILED"; fi
exit $result
