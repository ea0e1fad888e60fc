#!/usr/bin/env bash
# The main job: set up, build in release mode, run the demo cloud (tools/demo.sh: two
# tenants with identical addresses on one gannetd, ping and TCP, counters), then measure
# W1 (L2 forwarding, DPDK net_pcap -> net_null, one core) beside
# dpdk-testpmd --forward-mode=io on the same pcap and ports.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
swift build -c release
tools/demo.sh
dir=${GANNET_WORKLOADS:-/tmp/gannet-workloads}
tools/workloads.sh "$dir"
.build/release/gannet-bench --workload w1 --workload-dir "$dir" --seconds "${SECONDS_PER_RUN:-5}"
echo
GANNET_WORKLOADS=$dir tools/bench-vs-testpmd.sh w1 "${SECONDS_PER_RUN:-5}"
