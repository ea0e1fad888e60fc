#!/usr/bin/env bash
# Checks the release build's machine code of the packet path for Swift runtime calls
# that must never happen per packet or per burst: swift_retain, swift_release,
# swift_allocObject (and their bridge/unknown variants).
#
# Hot functions are found by what they do, not only by name, because the optimizer
# inlines the worker loop into its caller: every function that reads the TSC (the graph
# runner's per-node cycle counters) or calls a DPDK burst function, plus every symbol of
# Worker.poll, Graph.run/dispatch/scatter, a node's process, a port's rx/tx, or the
# segmentation of received super-frames (AF_PACKET, vhost-user).
#
# Usage: tools/check-hot-asm.sh [BINARY]     (default .build/release/gannet-bench)
set -euo pipefail
bin=${1:-.build/release/gannet-bench}
[ -x "$bin" ] || { echo "no $bin: run swift build -c release first" >&2; exit 2; }
asm=$(mktemp)
trap 'rm -f "$asm"' EXIT
objdump -d --no-show-raw-insn "$bin" | swift demangle --simplified > "$asm"

awk '
  function flush() {
    if (name != "" && hot) {
      n_hot++
      printf "hot: %s\n", substr(name, 1, 110)
      if (bad != "") { printf "  FORBIDDEN:%s\n", bad; n_bad++ }
    }
  }
  /^[0-9a-f]+ <.*>:$/ {
    flush()
    name = $0; sub(/^[0-9a-f]+ </, "", name); sub(/>:$/, "", name); hot = 0; bad = ""; ended = 0; padded = 0
    if (name ~ /Worker\.poll\(\)|Graph\.(run|dispatch|scatter)\(|GraphNodes\.dispatch\(|\.process\(_:|Port\.(rx\(into:|tx\(_:count:releaser:)|BufferReleaser\.release\(|receiveSegments\(|receiveSuperFrame\(|sendCoalesced\(|superFrameForGuest\(|SegmentRun\.find\(|GSOFrame\.(write|init)\(/) hot = 1
    next
  }
  # The linker may place a symbol-less function (merged value witnesses, say) right after
  # a labelled one: code that starts a frame after the labelled function ended (ret, ud2
  # or jmp) and alignment padding belongs to another function, not to the hot one.
  /\t(ret|ud2|jmp) / || /\t(ret|ud2)$/ { ended = 1; padded = 0 }
  /\t(nop|cs nopw|xchg +%ax,%ax|int3)/ { if (ended) padded = 1; next }
  /\tpush +%rbp$/ {
    if (ended && padded) { flush(); name = "(no symbol, after " name ")"; hot = 0; bad = "" }
  }
  /\t[a-z]/ && !/\t(ret|ud2|jmp)/ { ended = 0; padded = 0 }
  /rdtsc/ { hot = 1 }
  /call.*(swift_retain|swift_release|swift_allocObject|swift_bridgeObjectRetain|swift_bridgeObjectRelease|swift_unknownObjectRetain|swift_unknownObjectRelease)/ {
    sub(/^.*call +[0-9a-f]+ /, ""); bad = bad " " $0
  }
  END {
    flush()
    printf "%d hot functions checked, %d with runtime retain/release/alloc calls\n", n_hot, n_bad
    if (n_hot == 0) { print "no hot function found: the check itself is broken"; exit 2 }
    exit (n_bad > 0)
  }' "$asm"
