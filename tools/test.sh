#!/usr/bin/env bash
# Every test: unit and node tests, namespace/veth I/O tests (root), the zero-allocation
# benchmark threshold, and the release build's hot-path assembly check.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
echo "== build (debug, with tests and tools)"
swift build --build-tests
echo "== swift test"
swift test --skip-build
echo "== zero heap allocations per packet (package-benchmark, 1M packets)"
swift package benchmark thresholds check --target HotPathBenchmarks --path Benchmarks/Thresholds --no-progress
echo "== release build: no retain/release/alloc in hot functions"
swift build -c release --product gannet-bench
swift build -c release --product gannetd
tools/check-hot-asm.sh .build/release/gannet-bench
tools/check-hot-asm.sh .build/release/gannetd
echo "all checks passed"
