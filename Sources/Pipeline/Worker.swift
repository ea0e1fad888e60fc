import Buffers
import CDPDKShim
import IO
import Synchronization
import Tables
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// One poll-mode worker: polls the ports of the current snapshot in turn, runs each
/// received burst through its graph, and reports a quiescent state after every round
/// (l3fwd's loop shape: rx burst → graph → tx → quiescent). Ports, tables and flood lists
/// all come from the published `DataplaneSnapshot`, so the control plane adds, moves and
/// removes ports without stopping the worker.
///
/// Thread safety: `poll` and `run` on the worker's own thread only. The control thread
/// creates the worker, publishes snapshots through `tables`, and calls `destroy` after
/// the worker has stopped.
@frozen
public struct Worker {
  public static let defaultMaxPorts = 1024
  public let index: Int
  public var graph: Graph
  public let pool: NativePool
  public let releaser: BufferReleaser
  public let maxPorts: Int
  /// Strong references: they keep the tables and QSBR alive as long as the worker.
  public let tables: RCUBox<DataplaneSnapshot>
  public let qsbr: QSBR
  /// The same objects, read on the hot path without reference counting
  /// (`_withUnsafeGuaranteedRef`). Valid while `tables`/`qsbr` above hold them.
  @usableFromInline let hotTables: Unmanaged<RCUBox<DataplaneSnapshot>>
  @usableFromInline let hotQSBR: Unmanaged<QSBR>
  /// Packets asked of a port per burst (testpmd's default is 32).
  public let burst: Int
  /// Events to the control thread: MAC learning, underlay ARP (this worker is the only producer).
  public let events: EventRing
  @usableFromInline let hotEvents: Unmanaged<EventRing>
  /// This worker's SNAT connection table: it alone writes it (with several workers, each
  /// owns the sessions of its slice of every router's port range, `NATPartition`), and the
  /// rings that carry packets of other workers' sessions to them and theirs to it.
  public let sessions: SessionTable
  let ownsSessions: Bool
  public let handoff: Handoff
  let ownsHandoff: Bool
  /// The node's connection table of security groups and lists, shared by every worker.
  public let conntrack: ConnTrack
  let ownsConntrack: Bool
  @usableFromInline let tscHz: UInt64
  /// `show runtime`: [0] poll rounds, [1] rounds that found packets, [2] TSC cycles spent in
  /// those. Written by this worker only; any thread reads.
  public let runtime: CounterBlock
  /// The TSC when the worker was created (idle share = 1 − busy cycles / cycles since).
  public let startTSC: UInt64
  /// Capture and live trace (shared by the node's workers; off unless an operator asks).
  public let tap: PacketTap
  let ownsTap: Bool
  /// Session slots the expiry clock hand visits per poll round.
  public static let expiryBudget = 64

  public init(index: Int, tables: RCUBox<DataplaneSnapshot>, maxPorts: Int = defaultMaxPorts, poolSize: Int = 8192,
              burst: Int = 32, sessions: SessionTable? = nil, handoff: Handoff? = nil, conntrack: ConnTrack? = nil,
              tap: PacketTap? = nil) {
    precondition(handoff.map { index < $0.workers } ?? true)
    precondition(burst > 0 && burst <= PacketVector.capacity)
    self.index = index
    self.maxPorts = maxPorts
    self.graph = Graph(maxPorts: maxPorts)
    self.pool = NativePool(count: poolSize)
    self.releaser = BufferReleaser(pool: pool)
    self.tables = tables
    self.qsbr = tables.qsbr
    self.hotTables = Unmanaged.passUnretained(tables)
    self.hotQSBR = Unmanaged.passUnretained(tables.qsbr)
    self.burst = burst
    self.events = EventRing()
    self.hotEvents = Unmanaged.passUnretained(events)
    // Without a table of the node's, a minimal one of the worker's own (nodes without SNAT).
    self.sessions = sessions ?? SessionTable(capacity: 16)
    ownsSessions = sessions == nil
    self.handoff = handoff ?? Handoff(workers: 1)
    ownsHandoff = handoff == nil
    self.conntrack = conntrack ?? ConnTrack(capacity: 1024)
    ownsConntrack = conntrack == nil
    self.tap = tap ?? PacketTap(workers: index + 1)
    ownsTap = tap == nil
    tscHz = TSC.hz
    runtime = CounterBlock(count: 3)
    startTSC = TSC.now()
  }

  /// One round over every polled port of the current snapshot. Returns the number of
  /// packets received.
  @inlinable
  public mutating func poll() -> Int {
    let snap = hotTables._withUnsafeGuaranteedRef { $0.current }
    var total = 0
    let start = cdpdk_rdtsc()
    let now = UInt32(truncatingIfNeeded: start / tscHz)
    let tapMode = tap.mode
    snap._withUnsafeGuaranteedRef { s in
      // A snapshot with more ports than the graph can stage is refused by the control
      // plane (`maxPorts`); checked here too so a bug cannot write out of bounds.
      guard s.portCount <= maxPorts else { return }
      // A snapshot built for fewer workers gives this one nothing to poll.
      guard index < s.workers else { return }
      let env = GraphEnvironment(snapshot: s, pool: pool, releaser: releaser, events: hotEvents, tunnelCounters: graph.tunnelCounters, queue: index,
                                 sessions: sessions, handoff: handoff, conntrack: conntrack, aclCounters: graph.aclCounters, now: now,
                                 tap: tap, tapMode: tapMode)
      for i in s.pollStart[index]..<s.pollStart[index &+ 1] {
        let p = s.poll[i]
        let n = s.ports[Int(p.port)].rx(into: &graph.input.pointee, max: burst, inPort: p.port, firstQueue: Int(p.firstQueue),
                                         queueStep: Int(p.queueStep), pool: pool)
        if n > 0 {
          if tapMode != 0 { tap.received(graph.input.pointee, port: p.port, mode: tapMode, worker: index, generation: s.generation) }
          if s.flows.has(Int(p.port)) {
            s.flows.apply(&graph.input.pointee, interface: Int(p.port), ports: s.ports, portCount: s.portCount, pool: pool, releaser: releaser,
                          queue: index, hits: graph.flowHits, counters: graph.counters, tap: tap, tapMode: tapMode,
                          generation: s.generation)
          }
          graph.run(env)
          total &+= n
        }
      }
      if handoff.workers > 1 { total &+= receiveHandoffs(env) }
    }
    // The expiry hand moves only while there are sessions (an empty table, as on compute
    // nodes, costs one load per round instead of a 64-slot scan).
    if sessions.live > 0 { sessions.expire(now: now, budget: Self.expiryBudget) }
    runtime.add(0, 1)
    if total > 0 {
      runtime.add(1, 1)
      runtime.add(2, cdpdk_rdtsc() &- start)
    }
    let w = index
    hotQSBR._withUnsafeGuaranteedRef { $0.quiescent(worker: w) }
    return total
  }

  /// Runs the packets other workers handed to this one (`nat-handoff`), a burst per ring,
  /// from the node each resumes at. Returns how many.
  @inlinable
  mutating func receiveHandoffs(_ env: GraphEnvironment) -> Int {
    var total = 0
    for from in 0..<handoff.workers where from != index {
      var noBuffer = 0
      // Up to four bursts: a worker receives from its own queues and from every other
      // worker, so it drains faster than any one of them fills its ring.
      let n = handoff.ring(from: from, to: index).pop(into: graph.frames, max: Swift.min(4 &* burst, PacketVector.capacity / 2), pool: pool,
                                                      noBuffer: &noBuffer)
      if noBuffer > 0 { graph.counters.drop(NATHandoff.id, .natHandoffNoBuffer, UInt64(noBuffer)) }
      if n > 0 {
        graph.run(env)
        total &+= n
      }
    }
    return total
  }

  /// Polls until `stop` becomes true. Goes offline for QSBR when it returns, and while
  /// idle it yields the CPU briefly (a busy-poll daemon on a shared test machine must
  /// not starve its peers).
  public mutating func run(until stop: borrowing Atomic<Bool>, idleSleepMicroseconds: UInt32 = 0) {
    qsbr.online(worker: index)
    var idle = 0
    while !stop.load(ordering: .relaxed) {
      var got = 0
      for _ in 0..<64 { got &+= poll() }
      if got == 0 && idleSleepMicroseconds > 0 {
        idle &+= 1
        if idle > 16 {
          qsbr.offline(worker: index)
          usleep(idleSleepMicroseconds)
          qsbr.online(worker: index)
        }
      } else {
        idle = 0
      }
    }
    qsbr.offline(worker: index)
  }

  /// Frees the worker's graph and pool. Control thread, after `run` returned.
  public func destroy() {
    graph.destroy()
    runtime.destroy()
    if ownsSessions { sessions.destroy() }
    if ownsHandoff { handoff.destroy { releaser.release($0) } }
    if ownsConntrack { conntrack.destroy() }
    if ownsTap { tap.destroy() }
    releaser.destroy()
    pool.destroy()
  }
}
