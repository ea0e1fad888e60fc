#!/usr/bin/env bash
# Every test: unit and node tests, namespace/veth I/O tests (root), the zero-allocation
# benchmark threshold, the release build's hot-path assembly check, instructions per packet of every
# workload against committed thresholds (callgrind), and a bounded run of
# every libFuzzer target.
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
echo "== instructions per packet of every workload (callgrind), at most 3 % above Benchmarks/Thresholds"
tools/instr-guard.sh
echo "== fuzzing (libFuzzer + ASan, 20 s per target on the seed corpora in Fuzz/corpus)"
tools/fuzz.sh 20
echo "all checks passed"
