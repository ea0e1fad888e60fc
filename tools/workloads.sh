#!/usr/bin/env bash
# Generates the shared benchmark workloads (pcaps + manifest.json) into DIR, once.
# Usage: tools/workloads.sh [DIR]   (default /tmp/gannet-workloads)
set -euo pipefail
dir=${1:-/tmp/gannet-workloads}
here=$(cd "$(dirname "$0")/.." && pwd)
gen=${GANNET_SHARED:-$here/../shared}/workloads/gen_workloads.py
[ -f "$gen" ] || { echo "workload generator not found at $gen (set GANNET_SHARED to the shared/ folder)" >&2; exit 1; }
if [ -f "$dir/manifest.json" ] && [ -f "$dir/w1_l2.pcap" ]; then exit 0; fi
mkdir -p "$dir"
/usr/bin/python3 "$gen" --out "$dir" >&2
