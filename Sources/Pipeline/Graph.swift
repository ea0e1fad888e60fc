import Buffers
import CDPDKShim
import IO
import Tables
#if canImport(Glibc)
import Glibc
#endif

/// What a graph run reads besides its packets: pointers into the snapshot taken for this
/// round (valid until the worker's next quiescent state), the worker's pool, releaser and
/// learn ring. Built once per round by the worker. It holds no strong reference, so
/// passing it around costs no reference counting.
@frozen
public struct GraphEnvironment {
  public let l2: L2Table
  public let floodStart: UnsafeMutablePointer<Int>
  public let floodMembers: UnsafeMutablePointer<UInt16>
  public let ports: UnsafeMutablePointer<Port>
  public let portCount: Int
  public let interfaces: UnsafeMutablePointer<InterfaceInfo>
  public let pool: NativePool
  public let releaser: BufferReleaser
  /// Worker → control thread events (MAC learning, underlay ARP).
  public let events: Unmanaged<EventRing>
  public let overlay: OverlayTables
  public let routing: RoutingTables
  public let external: ExternalTables
  /// This worker's SNAT connection table, and the rings to the other workers' (one ring per
  /// ordered pair; `handoff.workers` is the number of workers sharing the sessions).
  public let sessions: SessionTable
  public let handoff: Handoff
  /// Security groups and lists: the snapshot's tables, the node's connection table, and
  /// this worker's hit counter per rule and packet counters per interface.
  public let acl: ACLTables
  public let conntrack: ConnTrack
  public let aclCounters: ACLCounters
  /// NAT clock (seconds), read once per poll round.
  public let now: UInt32
  public let tunnelCounters: TunnelCounters
  public let generation: UInt64
  /// The worker's index: its TX queue on every port.
  public let queue: Int
  /// This worker's per-entry hit counters in the snapshot (`DataplaneSnapshot.hits`), and
  /// where the FIB's and the neighbours' start.
  public let hits: CounterBlock
  public let fibHitBase: Int
  public let neighborHitBase: Int
  /// Capture and live trace, and the modes on this round (0: off, nothing to do).
  public let tap: PacketTap
  public let tapMode: UInt32

  @inlinable
  public init(snapshot: DataplaneSnapshot, pool: NativePool, releaser: BufferReleaser, events: Unmanaged<EventRing>,
              tunnelCounters: TunnelCounters, queue: Int, sessions: SessionTable, handoff: Handoff, conntrack: ConnTrack,
              aclCounters: ACLCounters, now: UInt32, tap: PacketTap, tapMode: UInt32, ports: UnsafeMutablePointer<Port>? = nil,
              hits: CounterBlock? = nil) {
    l2 = snapshot.l2
    floodStart = snapshot.floodStart
    floodMembers = snapshot.floodMembers
    self.ports = ports ?? snapshot.ports
    portCount = snapshot.portCount
    interfaces = snapshot.interfaces
    self.pool = pool
    self.releaser = releaser
    self.events = events
    overlay = snapshot.overlay
    routing = snapshot.routing
    external = snapshot.external
    self.sessions = sessions
    self.handoff = handoff
    acl = snapshot.acl
    self.conntrack = conntrack
    self.aclCounters = aclCounters
    self.now = now
    self.tunnelCounters = tunnelCounters
    generation = snapshot.generation
    self.queue = queue
    self.tap = tap
    self.tapMode = tapMode
    self.hits = hits ?? snapshot.hits[Swift.min(queue, snapshot.hitBlocks &- 1)]
    fibHitBase = snapshot.fibHitBase
    neighborHitBase = snapshot.neighborHitBase
  }
}

/// The time-stamp counter's rate, measured once (10 ms against the monotonic clock) for
/// rate limits on the packet path. Read at graph creation, never per packet.
public enum TSC {
  /// The time-stamp counter now, out of line: for setup code (a function that reads the TSC
  /// counts as packet-path code for `tools/check-hot-asm.sh`).
  @inline(never)
  public static func now() -> UInt64 { cdpdk_rdtsc() }

  public static let hz: UInt64 = {
    var t0 = timespec(), t1 = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t0)
    let c0 = cdpdk_rdtsc()
    usleep(10_000)
    clock_gettime(CLOCK_MONOTONIC, &t1)
    let c1 = cdpdk_rdtsc()
    let ns = UInt64((t1.tv_sec - t0.tv_sec) * 1_000_000_000 + (t1.tv_nsec - t0.tv_nsec))
    return max((c1 &- c0) * 1_000_000_000 / max(ns, 1), 1_000_000)
  }()
}

/// The packet graph of one worker: one pending vector per node, visited in `NodeID`
/// order (a topological order), each node called once per vector with static dispatch
/// (a switch, no existential), and packets moved to the node named in `next[i]`.
///
/// When every packet of a vector goes to the same node and that node's vector is empty,
/// the two vectors are swapped instead of copying packets (DPDK rte_graph's "home run").
///
/// Invariant: no node replicates packets, and a run starts with at most
/// `PacketVector.capacity` packets, so no pending vector can overflow.
///
/// Thread safety: owned by one worker thread. Counters may be read by any thread.
@frozen
public struct Graph {
  /// `frames[n]` holds the packets waiting for node `n`.
  public let frames: UnsafeMutablePointer<PacketVector>
  public let counters: NodeCounters
  public let tunnelCounters: TunnelCounters
  /// This worker's security counters (hits per rule, packets per interface).
  public let aclCounters: ACLCounters
  /// This worker's operator flow hits: [2n] packets and [2n + 1] bytes of flow number n.
  public let flowHits: CounterBlock
  public var nodes: GraphNodes
  /// Per node, a bit per successor a packet was seen to take (debug builds only; release
  /// builds leave it zero). Checked against the declarations by the fixture tests.
  public let observedEdges: UnsafeMutablePointer<UInt32>

  /// `maxPorts`: the most interfaces a snapshot may have (port-output stages per port).
  public init(maxPorts: Int) {
    frames = .allocate(capacity: NodeID.count)
    for i in 0..<NodeID.count { (frames + i).initialize(to: .allocate()) }
    counters = NodeCounters()
    tunnelCounters = TunnelCounters()
    aclCounters = ACLCounters(maxInterfaces: maxPorts)
    flowHits = CounterBlock(count: 2 * FlowTables.maxFlows)
    nodes = GraphNodes(maxPorts: maxPorts)
    observedEdges = .allocate(capacity: NodeID.count)
    observedEdges.initialize(repeating: 0, count: NodeID.count)
  }

  /// Frees the vectors and counters. Control thread, after the worker stopped and every
  /// vector was drained by `run`.
  public func destroy() {
    for i in 0..<NodeID.count { frames[i].deallocate() }
    frames.deallocate()
    counters.destroy()
    tunnelCounters.destroy()
    aclCounters.destroy()
    flowHits.destroy()
    nodes.destroy()
    observedEdges.deallocate()
  }

  /// The vector that input nodes append received packets to.
  @inlinable public var input: UnsafeMutablePointer<PacketVector> { frames + Int(NodeID.ethernetInput.rawValue) }

  /// Runs every node that has packets until all vectors are empty.
  @inlinable
  public mutating func run(_ env: GraphEnvironment) {
    // One time stamp per node visit: a visit ends when the next begins (rdtsc costs tens of
    // cycles, twice per visit was ~5 % of a W6 packet).
    var stamp = cdpdk_rdtsc()
    for raw in 0..<UInt16(NodeID.count) where frames[Int(raw)].count > 0 {
      stamp = dispatch(NodeID(rawValue: raw).unsafelyUnwrapped, env, start: stamp)
    }
  }

  /// Runs node `id` on its vector; returns the time stamp that ends its visit.
  @inlinable
  mutating func dispatch(_ id: NodeID, _ env: GraphEnvironment, start: UInt64) -> UInt64 {
    let slot = frames + Int(id.rawValue)
    var v = slot.pointee
    let n = v.count
    if env.tapMode == 0 {
      nodes.dispatch(id, &v, env, counters: counters, tunnelCounters: tunnelCounters)
    } else {
      dispatchTapped(id, &v, env)
    }
    if v.count > 0 {
      scatter(v, from: slot, id: id)
    } else {
      slot.pointee.count = 0
    }
    let end = cdpdk_rdtsc()
    counters.vector(id, packets: n, cycles: end &- start)
    return end
  }

  /// `dispatch` while a capture or trace is on: the tap sees the vector before and after.
  @usableFromInline @inline(never)
  mutating func dispatchTapped(_ id: NodeID, _ v: inout PacketVector, _ env: GraphEnvironment) {
    let tapMode = env.tapMode
    env.tap.before(id, v, mode: tapMode, worker: env.queue, generation: env.generation)
    nodes.dispatch(id, &v, env, counters: counters, tunnelCounters: tunnelCounters)
    if tapMode & PacketTap.trace != 0 && v.count > 0 { env.tap.after(id, v, worker: env.queue, generation: env.generation) }
  }

  /// Moves the packets of `v` (the vector at `slot`) to the vectors of their next nodes.
  @inlinable
  func scatter(_ v: PacketVector, from slot: UnsafeMutablePointer<PacketVector>, id: NodeID) {
    let n = v.count
    #if DEBUG
    for i in 0..<n { observedEdges[Int(id.rawValue)] |= 1 << UInt32(v.next[i]) }
    #endif
    let target = v.next[0]
    if Self.allEqual(v.next, n, target) && frames[Int(target)].count == 0 {
      let empty = frames[Int(target)]
      frames[Int(target)] = v
      slot.pointee = empty
      return
    }
    for i in 0..<n {
      frames[Int(v.next[i])].append(v.packets[i])
    }
    slot.pointee.count = 0
  }

  /// Whether `next[0..<n]` are all `target`: four successors per 64-bit compare (the scan
  /// ran once per packet and node visit).
  @inlinable @inline(__always)
  static func allEqual(_ next: UnsafeMutablePointer<UInt16>, _ n: Int, _ target: UInt16) -> Bool {
    let four = UInt64(target) &* 0x0001_0001_0001_0001
    let raw = UnsafeRawPointer(next)
    var i = 0
    while i &+ 4 <= n {
      if raw.loadUnaligned(fromByteOffset: i &* 2, as: UInt64.self) != four { return false }
      i &+= 4
    }
    while i < n {
      if next[i] != target { return false }
      i &+= 1
    }
    return true
  }
}
