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
  /// The SNAT connection table (used on the worker that polls the underlay and the uplink).
  public let sessions: SessionTable
  /// NAT clock (seconds), read once per poll round.
  public let now: UInt32
  public let tunnelCounters: TunnelCounters
  public let generation: UInt64
  /// The worker's index: its TX queue on every port.
  public let queue: Int

  @inlinable
  public init(snapshot: DataplaneSnapshot, pool: NativePool, releaser: BufferReleaser, events: Unmanaged<EventRing>,
              tunnelCounters: TunnelCounters, queue: Int, sessions: SessionTable, now: UInt32) {
    l2 = snapshot.l2
    floodStart = snapshot.floodStart
    floodMembers = snapshot.floodMembers
    ports = snapshot.ports
    portCount = snapshot.portCount
    interfaces = snapshot.interfaces
    self.pool = pool
    self.releaser = releaser
    self.events = events
    overlay = snapshot.overlay
    routing = snapshot.routing
    external = snapshot.external
    self.sessions = sessions
    self.now = now
    self.tunnelCounters = tunnelCounters
    generation = snapshot.generation
    self.queue = queue
  }
}

/// The time-stamp counter's rate, measured once (10 ms against the monotonic clock) for
/// rate limits on the packet path. Read at graph creation, never per packet.
public enum TSC {
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
  public var ethernetInput = EthernetInput()
  public var underlayARP = UnderlayARP()
  public var vxlanInput = VXLANInput()
  public var externalInput = ExternalInput()
  public var externalARP = ExternalARP()
  public var fipDNAT = FIPDNAT()
  public var snatOut2In = SNATOut2In()
  public var ip4External = IP4External()
  public var fipSNAT = FIPSNAT()
  public var snatIn2Out = SNATIn2Out()
  public var l2Input = L2Input()
  public var arpResponder = ARPResponder()
  public var l2Forward = L2Forward()
  public var ip4Input = IP4Input()
  public var ip4Lookup = IP4Lookup()
  public var ip4Local = IP4Local()
  public var icmpError = ICMPError(tscHz: TSC.hz)
  public var l2Flood = L2Flood()
  public var vxlanEncap = VXLANEncap()
  public var portOutput: PortOutput
  public var errorDrop = ErrorDrop()

  /// `maxPorts`: the most interfaces a snapshot may have (port-output stages per port).
  public init(maxPorts: Int) {
    frames = .allocate(capacity: NodeID.count)
    for i in 0..<NodeID.count { (frames + i).initialize(to: .allocate()) }
    counters = NodeCounters()
    tunnelCounters = TunnelCounters()
    portOutput = PortOutput(portCount: maxPorts)
  }

  /// Frees the vectors and counters. Control thread, after the worker stopped and every
  /// vector was drained by `run`.
  public func destroy() {
    for i in 0..<NodeID.count { frames[i].deallocate() }
    frames.deallocate()
    counters.destroy()
    tunnelCounters.destroy()
    ip4Lookup.destroy()
    portOutput.destroy()
  }

  /// The vector that input nodes append received packets to.
  @inlinable public var input: UnsafeMutablePointer<PacketVector> { frames + Int(NodeID.ethernetInput.rawValue) }

  /// Runs every node that has packets until all vectors are empty.
  @inlinable
  public mutating func run(_ env: GraphEnvironment) {
    for raw in 0..<UInt16(NodeID.count) where frames[Int(raw)].count > 0 {
      dispatch(NodeID(rawValue: raw).unsafelyUnwrapped, env)
    }
  }

  @inlinable
  mutating func dispatch(_ id: NodeID, _ env: GraphEnvironment) {
    let start = cdpdk_rdtsc()
    let slot = frames + Int(id.rawValue)
    var v = slot.pointee
    let n = v.count
    switch id {
    case .ethernetInput:
      ethernetInput.process(&v, underlayPort: env.overlay.underlayPort, uplinkPort: env.external.uplinkPort, counters: counters)
    case .externalInput: externalInput.process(&v, external: env.external, counters: counters)
    case .externalARP: externalARP.process(&v, external: env.external, events: env.events, counters: counters)
    case .fipDNAT: fipDNAT.process(&v, external: env.external, counters: counters)
    case .snatOut2In: snatOut2In.process(&v, routing: env.routing, external: env.external, sessions: env.sessions, now: env.now,
                                         counters: counters)
    case .ip4External: ip4External.process(&v, routing: env.routing, external: env.external, counters: counters)
    case .fipSNAT: fipSNAT.process(&v, external: env.external, counters: counters)
    case .snatIn2Out:
      snatIn2Out.process(&v, routing: env.routing, external: env.external, sessions: env.sessions, now: env.now, counters: counters)
    case .underlayARP: underlayARP.process(&v, overlay: env.overlay, events: env.events, counters: counters)
    case .vxlanInput:
      vxlanInput.process(&v, overlay: env.overlay, routing: env.routing, tunnelCounters: tunnelCounters, counters: counters)
    case .l2Input:
      l2Input.process(&v, interfaces: env.interfaces, table: env.l2, events: env.events, generation: env.generation, counters: counters)
    case .arpResponder: arpResponder.process(&v, overlay: env.overlay, counters: counters)
    case .l2Forward:
      l2Forward.process(&v, table: env.l2, portCount: env.portCount, underlayPort: env.overlay.underlayPort, counters: counters)
    case .ip4Input: ip4Input.process(&v, routing: env.routing, counters: counters)
    case .ip4Lookup: ip4Lookup.process(&v, routing: env.routing, counters: counters)
    case .ip4Local: ip4Local.process(&v, routing: env.routing, counters: counters)
    case .icmpError: icmpError.process(&v, env: env, counters: counters)
    case .l2Flood: l2Flood.process(&v, env: env, counters: counters)
    case .vxlanEncap: vxlanEncap.process(&v, overlay: env.overlay, tunnelCounters: tunnelCounters, counters: counters)
    case .portOutput: portOutput.process(&v, ports: env.ports, portCount: env.portCount, releaser: env.releaser, queue: env.queue)
    case .errorDrop: errorDrop.process(&v, releaser: env.releaser)
    }
    if v.count > 0 {
      scatter(v, from: slot)
    } else {
      slot.pointee.count = 0
    }
    counters.vector(id, packets: n, cycles: cdpdk_rdtsc() &- start)
  }

  /// Moves the packets of `v` (the vector at `slot`) to the vectors of their next nodes.
  @inlinable
  func scatter(_ v: PacketVector, from slot: UnsafeMutablePointer<PacketVector>) {
    let n = v.count
    let target = v.next[0]
    var same = true
    for i in 1..<n where v.next[i] != target { same = false; break }
    if same && frames[Int(target)].count == 0 {
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
}
