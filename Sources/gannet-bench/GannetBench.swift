import ArgumentParser
import Buffers
import CDPDKShim
import Foundation
import IO
import Pipeline
import Tables
import Wire

@main
struct GannetBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gannet-bench",
    abstract: "Measure Gannet's packet rate on one core, replaying a shared workload through the real pipeline.",
    discussion: """
      Backends:
        dpdk    net_pcap (rx_pcap=<workload>, infinite_rx=1) -> pipeline -> net_null, the setup that
                `dpdk-testpmd --forward-mode=io` is measured on. Hugepages when the machine has them,
                --no-huge otherwise; the output says which.
        memory  in-memory pcap replay -> pipeline -> null sink, no DPDK. With --packets N it processes
                exactly N packets, for `valgrind --tool=callgrind` instruction counts.

      Examples:
        gannet-bench --workload w1 --workload-dir /tmp/gannet-workloads
        gannet-bench --backend memory --packets 1000000 --json
        gannet-bench --workload w6 --backend memory --new-connections --acl-rules 1000
      """)

  enum Backend: String, ExpressibleByArgument, CaseIterable { case dpdk, memory }

  @Option(help: "Workload name from the manifest (w1: L2, w2: DVR routing, w3: floating IP, w4: SNAT, w5: VXLAN decap + L2, w6: W1 with security groups and connection tracking on both ports, w7: W2 through two VCN peerings, not in the manifest).") var workload = "w1"
  @Option(help: "Directory holding the generated pcaps and manifest.json.") var workloadDir = "/tmp/gannet-workloads"
  @Option(help: "Packet I/O backend: dpdk or memory.") var backend: Backend = .dpdk
  @Option(help: "Measured seconds (after the warm-up).") var seconds: Double = 5
  @Option(help: "Warm-up seconds, not measured.") var warmup: Double = 1
  @Option(help: "memory backend only: process exactly this many packets, then stop.") var packets: Int?
  @Option(help: "Packets asked of a port per rx burst.") var burst = 32
  @Option(help: "Replay this pcap instead of the workload's own (same tables), e.g. its first 1,000 flows.") var pcap: String?
  @Option(help: "w4: fill the connection table with this many other live sessions before measuring (e.g. 1000000).")
  var prefillSessions = 0
  @Option(help: "w6: this many ingress rules per port (the last admits the traffic) instead of the manifest's 100.") var aclRules: Int?
  @Flag(help: "w6: the rules as a stateless security list, so every packet is classified (the classifier's cost).") var aclStateless = false
  @Flag(help: """
    w6, memory backend: every packet opens a new connection (W1's frames, each with its own source address and port), \
    --packets of them (default 1,000,000, each replayed once); reports connections created per second.
    """) var newConnections = false
  @Option(help: """
    dpdk backend: this many workers, worker w on CPU w, each polling its own RX queue of the input (net_pcap with one \
    rx_pcap of the workload per worker) and sending on its own TX queue of the sink; reports the aggregate rate. SNAT \
    sessions are partitioned as in gannetd (a packet of another worker's session is handed over).
    """) var workers = 1
  @Flag(help: "Print one JSON object instead of tables.") var json = false
  @Option(help: """
    TABLESxRULES (e.g. 1x10000, 1000x10): measure validating, compiling and building the tables for one route-table \
    change on a node with that many route tables and rules, and exit (no packets).
    """) var routeScale: String?

  func validate() throws {
    guard seconds > 0, warmup >= 0 else { throw ValidationError("--seconds must be > 0 and --warmup >= 0") }
    guard (1...PacketVector.capacity).contains(burst) else { throw ValidationError("--burst must be 1…\(PacketVector.capacity)") }
    if packets != nil && backend != .memory { throw ValidationError("--packets works with --backend memory only") }
    if let p = packets, p <= 0 { throw ValidationError("--packets must be positive") }
    if newConnections && backend != .memory { throw ValidationError("--new-connections works with --backend memory only") }
    let cpus = ProcessInfo.processInfo.activeProcessorCount
    guard (1...max(cpus, 1)).contains(workers) else { throw ValidationError("--workers must be 1…\(cpus) (this machine's CPUs)") }
    if workers > 1 && backend != .dpdk { throw ValidationError("--workers above 1 needs --backend dpdk (one RX queue per worker)") }
  }

  var newConnectionPackets: Int { packets ?? 1_000_000 }

  func run() throws {
    if let routeScale {
      print(try RouteScale.run(routeScale))
      return
    }
    var w = try Workload.load(workload, directory: workloadDir)
    if aclRules != nil || aclStateless || newConnections {
      guard w.filtered else { throw ValidationError("--acl-rules, --acl-stateless and --new-connections are for w6") }
      w = w.withACLRules(aclRules ?? 100, stateless: aclStateless)
    }
    if let pcap { w.pcap = pcap }
    var memoryMode = "none"
    var ports: [IO.Port] = []
    switch backend {
    case .dpdk:
      let mode = DPDK.detectMemoryMode()
      memoryMode = mode.rawValue
      try DPDK.initialize(arguments: DPDK.ealArguments(lcores: "0", mode: mode, memoryMB: 2048))
      // net_pcap's infinite_rx keeps one mbuf per pcap packet per queue.
      let pool = try DPDK.createPool(name: "bench", count: max(16384, workers * (w.packets + 8192)))
      let rx = Array(repeating: "rx_pcap=\(w.pcap)", count: workers).joined(separator: ",")
      ports.append(.dpdk(try DPDKPort.open(name: "net_pcap0", args: "\(rx),infinite_rx=1", pool: pool, txQueues: workers)))
      // no-rx=1: a net_null port otherwise generates packets when polled (and halves the
      // rate of whatever forwards them); the sink must only sink.
      ports.append(.dpdk(try DPDKPort.open(name: "net_null0", args: "no-rx=1", pool: pool, txQueues: workers)))
    case .memory:
      var store = try FrameStore(pcapFile: w.pcap)
      if newConnections { store = try NewConnections.frames(from: store, count: newConnectionPackets) }
      ports.append(.pcapReplay(PcapReplayPort(store: store, limit: newConnections ? newConnectionPackets : packets)))
      ports.append(.memory(MemoryPort(inputCapacity: 1, capture: false)))
    }
    let qsbr = QSBR(workers: workers)
    let snapshot = try w.snapshot(input: ports[0], output: ports[1], workers: workers)
    let tables = RCUBox(snapshot, qsbr: qsbr, retire: DataplaneSnapshot.retire)
    // The SNAT connection tables, one per worker: room for the workload's flows plus the
    // prefilled sessions (shared out equally).
    let sessionTables = (0..<workers).map { _ in SessionTable(capacity: max(1 << 20, prefillSessions / workers + 2 * w.packets)) }
    for t in sessionTables where prefillSessions > 0 { try prefill(t, count: prefillSessions / workers) }
    let handoff = Handoff(workers: workers)
    // W6: gannetd's default connection table (conntrack.max_connections); with
    // --new-connections, room for two connections per packet at most half full.
    let conntrack = ConnTrack(capacity: newConnections ? max(DaemonDefaults.maxConnections, 4 * newConnectionPackets) : DaemonDefaults.maxConnections)
    if workers > 1 {
      try runWorkers(tables: tables, snapshot: snapshot, sessions: sessionTables, handoff: handoff, conntrack: conntrack, ports: ports,
                     memoryMode: memoryMode, workload: w)
      return
    }
    let sessions = sessionTables[0]
    var worker = Worker(index: 0, tables: tables, maxPorts: snapshot.portCount, burst: burst, sessions: sessions, conntrack: conntrack)
    qsbr.online(worker: 0)

    let rxCounters = ports[0].counters, txCounters = ports[1].counters
    let result: Measurement
    if let limit = newConnections ? newConnectionPackets : packets {
      let t0 = Clock.now()
      pollUntil(&worker) { rxCounters.read(PortCounter.rxPackets) + rxCounters.drops(.rxTruncated) >= UInt64(limit) }
      result = Measurement(seconds: Clock.now() - t0, rx: rxCounters.read(PortCounter.rxPackets),
                           tx: txCounters.read(PortCounter.txPackets))
    } else {
      pollFor(warmup, &worker)
      let rx0 = rxCounters.read(PortCounter.rxPackets), tx0 = txCounters.read(PortCounter.txPackets)
      worker.graph.counters.block.reset()
      let elapsed = pollFor(seconds, &worker)
      result = Measurement(seconds: elapsed, rx: rxCounters.read(PortCounter.rxPackets) - rx0,
                           tx: txCounters.read(PortCounter.txPackets) - tx0)
    }
    qsbr.offline(worker: 0)
    let report = Report(workload: w.name, backend: backend.rawValue, memory: memoryMode, burst: burst,
                        measurement: result, graph: worker.graph.counters, ports: ports,
                        connections: newConnections ? (conntrack.stat(.created), conntrack.stat(.tableFull)) : nil)
    print(json ? report.json() : report.table())
    if sessions.live > 0 { FileHandle.standardError.write(Data("live NAT sessions at the end: \(sessions.live)\n".utf8)) }
    worker.destroy()
    sessions.destroy()
    handoff.destroy { _ in }
    conntrack.destroy()
    for p in ports { p.close() }
    if backend == .dpdk { DPDK.cleanup() }
  }
}

/// Live sessions unrelated to the workload (inside 10.200.0.0/16, remotes in 100.64.0.0/10),
/// so the table holds `count` more entries while the workload runs.
func prefill(_ t: SessionTable, count: Int) throws {
  let now = NATClock.now()
  for i in 0..<count {
    let k = t.create(proto: i & 1 == 0 ? 6 : 17, externalIP: 0xc000_0201, insideIP: 0x0ac8_0000 | UInt32(i & 0xffff),
                     insidePort: UInt16(truncatingIfNeeded: 1024 + (i >> 16)), remoteIP: 0x6440_0000 | UInt32(truncatingIfNeeded: i &* 2_654_435_761) & 0x3f_ffff,
                     remotePort: 443, portLow: 1024, portHigh: 65535, now: now)
    guard k >= 0 else { throw BenchError("prefill: session \(i) refused (\(k))") }
  }
}

struct Measurement {
  let seconds: Double
  let rx: UInt64
  let tx: UInt64
  var mpps: Double { Double(rx) / seconds / 1e6 }
}

/// The measured loop, kept out of `run` (its setup code allocates; the loop must not).
@inline(never) @discardableResult
func pollFor(_ seconds: Double, _ worker: inout Worker) -> Double {
  let start = Clock.now(), end = start + seconds
  var t = start
  while t < end {
    for _ in 0..<64 { _ = worker.poll() }
    t = Clock.now()
  }
  return t - start
}

@inline(never)
func pollUntil(_ worker: inout Worker, _ done: () -> Bool) {
  while !done() { for _ in 0..<16 { _ = worker.poll() } }
}

enum Clock {
  static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}
