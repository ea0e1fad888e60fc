#!/usr/bin/env bash
# Installs the Debian packages Gannet needs, when missing (Debian 12, as root).
# Swift itself is expected at /opt/swift or on PATH.
set -euo pipefail
pkgs=(libdpdk-dev dpdk dpdk-dev libpcap-dev libnuma-dev pkg-config python3-scapy tshark iproute2 iputils-ping traceroute
      netcat-openbsd procps binutils ethtool valgrind prometheus qemu-system-x86 busybox-static cpio iperf3
      etcd-server etcd-client)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
command -v swift >/dev/null || { echo "swift not found (expected /opt/swift/usr/bin)" >&2; exit 1; }
