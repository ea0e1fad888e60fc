#!/usr/bin/env bash
# Scale report for the cloud in etcd (issue 19; a report, not a timed test): writes the keys
# of NODES nodes x PORTS ports each (networks of 100 ports, node records and liveness) into
# a fresh etcd, then measures one real node's gannet-agent + gannetd:
#   - time to converge from empty (agent start -> program applied at the store's revision),
#   - time to converge after one port change written with gannetctl --cloud,
#   - the etcd requests per second one agent causes while the cloud is idle (etcd's own
#     grpc_server_handled_total), and what NODES agents would cause.
# The node under test (node-0000) runs gannetd with its PORTS ports on veth interfaces in a
# namespace of its own; gannetd's log lines give each commit's phase times. Needs root and a
# release build (swift build -c release).
#
# Usage: tools/cloud-scale.sh [NODES] [PORTS]     (default 1000 100)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nodes=${1:-1000}
ports=${2:-100}
bin=$here/.build/release
[ -x "$bin/gannet-agent" ] || { echo "build first: swift build -c release" >&2; exit 1; }
tag=$$
dir=$(mktemp -d /tmp/gannet-scale.XXXXXX)
ns=gnScale$tag
client=$((20000 + RANDOM % 20000))
url=http://127.0.0.1:$client
cleanup() {
  [ -n "${agent:-}" ] && kill "$agent" 2>/dev/null || true
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null || true
  [ -n "${etcd:-}" ] && kill "$etcd" 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

etcd --name scale --data-dir "$dir/etcd" --listen-client-urls "$url" --advertise-client-urls "$url" \
  --listen-peer-urls "http://127.0.0.1:$((client + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((client + 1))" \
  --initial-cluster "scale=http://127.0.0.1:$((client + 1))" --quota-backend-bytes 8589934592 --max-txn-ops 10000 \
  --max-request-bytes 33554432 >"$dir/etcd.log" 2>&1 &
etcd=$!
for _ in $(seq 100); do etcdctl --endpoints "$url" endpoint health >/dev/null 2>&1 && break; sleep 0.2; done

echo "writing $nodes nodes x $ports ports into etcd ..." >&2
t0=$(date +%s.%N)
python3 - "$url" "$nodes" "$ports" <<'EOF'
import base64, json, sys, urllib.request
url, nodes, ports = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b64 = lambda s: base64.b64encode(s.encode()).decode()
def txn(puts):
    body = json.dumps({"success": [{"request_put": {"key": b64(k), "value": b64(v)}} for k, v in puts]}).encode()
    urllib.request.urlopen(urllib.request.Request(url + "/v3/kv/txn", body, {"Content-Type": "application/json"})).read()
batch = []
def put(k, v):
    batch.append(("/gannet/" + k, json.dumps(v, separators=(",", ":"), sort_keys=True)))
    if len(batch) >= 5000: txn(batch); batch.clear()
total = nodes * ports
networks = (total + 99) // 100
for n in range(networks):
    put(f"objects/networks/net-{n:05d}", {"id": f"net-{n:05d}", "tenant": f"tenant-{n // 10:04d}", "vni": 1000 + n, "learning": False,
                                          "learningLimit": 4096, "agingSeconds": 300, "securityLists": []})
for i in range(nodes):
    name = f"node-{i:04d}"
    put(f"nodes/{name}", {"name": name, "role": "compute", "tunnel_ip": f"10.{100 + i // 250}.0.{i % 250 + 1}",
                          "dvr_mac": f"fa:16:3f:{i // 65536:02x}:{i // 256 % 256:02x}:{i % 256:02x}"})
    put(f"alive/{name}", {"lease_ttl": 5})
for p in range(total):
    node, net, host = p // ports, p // 100, p % 100
    put(f"objects/ports/p-{p:06d}", {"id": f"p-{p:06d}", "network": f"net-{net:05d}", "mac": f"fa:16:3e:{p // 65536:02x}:{p // 256 % 256:02x}:{p % 256:02x}",
                                     "fixedIPs": [f"10.{net // 256}.{net % 256}.{host + 10}"], "location": {"local": {"_0": f"af-packet:d{p % ports}"}},
                                     "portSecurity": True, "securityGroups": [], "node": f"node-{node:04d}"})
if batch: txn(batch)
EOF
t1=$(date +%s.%N)
rev=$(etcdctl --endpoints "$url" get /gannet/ --prefix --keys-only --limit 1 -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
keys=$(etcdctl --endpoints "$url" get /gannet/ --prefix --keys-only --limit 1 -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
printf 'keys written        %s in %.1f s (revision %s)\n' "$keys" "$(echo "$t1 - $t0" | bc)" "$rev"

# node-0000: gannetd with its ports on dummy interfaces, then its agent.
ip netns add "$ns"
for i in $(seq 0 $((ports - 1))); do ip -n "$ns" link add "d$i" type veth peer name "e$i"; ip -n "$ns" link set "d$i" up; done
cat >"$dir/gannetd.json" <<EOF
{"node": {"name": "node-0000", "role": "compute", "tunnel_ip": "10.100.0.1", "dvr_host_mac": "fa:16:3f:00:00:00"},
 "control_socket": "$dir/gannetd.sock", "state_file": "$dir/state.json", "workers": 1}
EOF
ip netns exec "$ns" "$bin/gannetd" --config "$dir/gannetd.json" >"$dir/gannetd.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do "$bin/gannetctl" show node --socket "$dir/gannetd.sock" >/dev/null 2>&1 && break; sleep 0.1; done
applied() {   # the agent's applied revision as gannetd shows it; 0 while gannetd is busy committing
  "$bin/gannetctl" show node --json --socket "$dir/gannetd.sock" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("agent",{}).get("applied_revision",0))' 2>/dev/null || echo 0
}
wait_applied() {   # wait_applied REV -> seconds
  local start=$1 target=$2
  while [ "$(applied)" -lt "$target" ]; do
    sleep 0.5
    kill -0 "$agent" 2>/dev/null || { echo "agent died: $(tail -5 "$dir/agent.log")" >&2; exit 1; }
  done
  echo "$(date +%s.%N) - $start" | bc
}
t0=$(date +%s.%N)
"$bin/gannet-agent" --etcd "$url" --socket "$dir/gannetd.sock" >"$dir/agent.log" 2>&1 &
agent=$!
rev=$(etcdctl --endpoints "$url" get /gannet/ --prefix --keys-only --limit 1 -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
secs=$(wait_applied "$t0" "$rev")
printf 'converge from empty %.2f s  (%s ports, %s chassis; gannetd commit %s s)\n' "$secs" \
  "$("$bin/gannetctl" show ports --json --socket "$dir/gannetd.sock" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" "$nodes" \
  "$("$bin/gannetctl" show node --json --socket "$dir/gannetd.sock" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["commit_seconds"], 2))')"

# One port change (a remote port gets a second fixed IP), written through gannetctl --cloud.
t0=$(date +%s.%N)
net=$((ports / 100)); target=$(printf 'p-%06d' "$ports")   # node-0001's first port
"$bin/gannetctl" port update "$target" --ip "10.$((net / 256)).$((net % 256)).$((ports % 100 + 10))" \
  --ip "10.$((net / 256)).$((net % 256)).250" --cloud "$url" >/dev/null
t1=$(date +%s.%N)
rev=$(etcdctl --endpoints "$url" get /gannet/ --prefix --keys-only --limit 1 -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
secs=$(wait_applied "$t1" "$rev")
printf 'one port change     gannetctl --cloud %.2f s (reads and checks the whole cloud), agent converged %.2f s after the write\n' \
  "$(echo "$t1 - $t0" | bc)" "$secs"

# etcd requests one idle agent causes (keep-alives; the watch is one long request).
handled() { curl -s "$url/metrics" | awk '/^grpc_server_handled_total/ {s += $2} END {printf "%d", s}'; }
grep committed "$dir/gannetd.log" | tail -3 >&2; grep applied "$dir/agent.log" | tail -3 >&2
h0=$(handled); sleep 20; h1=$(handled)
rate=$(echo "scale=2; ($h1 - $h0) / 20" | bc)
printf 'etcd requests       %s/s from one idle agent (lease TTL 5 s: a keep-alive every 1.7 s); %s agents: ~%s/s\n' "$rate" "$nodes" \
  "$(echo "$rate * $nodes" | bc)"
