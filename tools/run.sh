#!/usr/bin/env bash
# The main job: set up, build in release mode, and run gannet-bench on the W1 workload
# (L2 forwarding, DPDK net_pcap -> net_null, one core), then the same against
# dpdk-testpmd --forward-mode=io on the same pcap and ports, side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
swift build -c release --product gannet-bench
dir=${GANNET_WORKLOADS:-/tmp/gannet-workloads}
tools/workloads.sh "$dir"
.build/release/gannet-bench --workload w1 --workload-dir "$dir" --seconds "${SECONDS_PER_RUN:-5}"
echo
GANNET_WORKLOADS=$dir tools/bench-vs-testpmd.sh w1 "${SECONDS_PER_RUN:-5}"
