import Benchmark
import Buffers
import IO
import Pipeline
import Tables
import Wire

/// Steady-state forwarding through the real worker and graph: in-memory replay of W1-like
/// traffic (1,000 UDP frames among 64 VM MACs) → ethernet-input → l2-input → l2-forward →
/// port-output → null sink. The measured region processes 1M packets after a warm-up,
/// and its heap allocation count must be 0 (threshold in Thresholds/, checked by
/// `swift package benchmark thresholds check`).
let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.mallocCountTotal, .wallClock, .throughput],
    maxDuration: .seconds(20), maxIterations: 5,
    thresholds: [.mallocCountTotal: .init(absolute: [.p0: 0, .p50: 0, .p100: 0])])

  Benchmark("l2-forward-1M-packets") { benchmark in
    let macs = (0..<64).map { MACAddress(0xfa, 0x16, 0x3e, 1, 0, UInt8(10 + $0)) }
    var frames: [[UInt8]] = []
    for i in 0..<1000 {
      var f = [UInt8](repeating: 0, count: 60)
      f.withUnsafeMutableBytes { p in
        let e = EthernetHeader(unchecked: p.baseAddress!)
        e.destination = macs[(i * 7) % 64]
        e.source = macs[(i * 13 + 1) % 64]
        e.etherType = EtherType.ipv4
      }
      frames.append(f)
    }
    let packets = 1_000_000, warmup = 10_000
    let replay = PcapReplayPort(store: FrameStore(frames: frames), limit: packets + warmup)
    let sink = MemoryPort(inputCapacity: 1, capture: false)
    let qsbr = QSBR(workers: 1)
    let tables = RCUBox(DataplaneSnapshot.singleNetwork(ports: [.pcapReplay(replay), .memory(sink)], poll: [0],
                                                        macs: macs.map { ($0, 1) }),
                        qsbr: qsbr, retire: DataplaneSnapshot.retire)
    var worker = Worker(index: 0, tables: tables, maxPorts: 2)
    qsbr.online(worker: 0)
    while replay.counters.read(PortCounter.rxPackets) < UInt64(warmup) { _ = worker.poll() }

    benchmark.startMeasurement()
    while !replay.finished { _ = worker.poll() }
    benchmark.stopMeasurement()

    precondition(sink.counters.read(PortCounter.txPackets) == UInt64(packets + warmup), "packets were lost")
    qsbr.offline(worker: 0)
    worker.destroy()
  }
}
