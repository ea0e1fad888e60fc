import Buffers
import IO
import Tables
import Wire

/// What the L2 nodes know of one interface (a worker port index).
@frozen
public struct InterfaceInfo: Sendable {
  /// Bridge domain of the network the interface's port belongs to; 0 = not attached.
  public var domain: UInt16
  /// Anti-spoofing: the source MAC must be `mac`.
  public var portSecurity: Bool
  /// The network learns source MACs seen on this interface.
  public var learning: Bool
  /// Where l2-input sends the interface's non-ARP frames: l2-forward, or acl-egress when
  /// security groups or lists filter the port (a stored node, so l2-input decides nothing
  /// more per packet than before filtering existed).
  public var nonARPNext: UInt16
  public var mac: MACAddress
  /// Security groups or lists filter the port.
  public var filtered: Bool {
    get { nonARPNext == NodeID.aclEgress.rawValue }
    set { nonARPNext = newValue ? NodeID.aclEgress.rawValue : NodeID.l2Forward.rawValue }
  }
  public init(domain: UInt16, portSecurity: Bool, mac: MACAddress, learning: Bool = false, filtered: Bool = false) {
    self.domain = domain
    self.portSecurity = portSecurity
    self.learning = learning
    self.nonARPNext = filtered ? NodeID.aclEgress.rawValue : NodeID.l2Forward.rawValue
    self.mac = mac
  }
}

/// The value an `L2Table` entry holds:
///
///     31       30        29       28       27     26         25 … 16   15 … 0
///     +--------+---------+--------+--------+------+----------+---------+-----------------------------------+
///     | remote | learned | stale  | router | snat | filtered | (zero)  | interface, tunnel or router iface |
///     +--------+---------+--------+--------+------+----------+---------+-----------------------------------+
///
/// `router` entries are a router interface's gateway MAC: frames to it are routed.
/// `remote` entries name a tunnel index (the MAC is behind another node's VTEP) instead of
/// a local interface. `learned` entries came from MAC learning; `stale` ones have not been
/// seen since the last aging pass, and the first frame from that MAC announces it again.
public enum L2Value {
  public static let remote: UInt32 = 1 << 31
  public static let learned: UInt32 = 1 << 30
  public static let stale: UInt32 = 1 << 29
  public static let router: UInt32 = 1 << 28
  /// With `router`: the router's SNAT port MAC on the SNAT node (frames go to snat-in2out).
  public static let snat: UInt32 = 1 << 27
  /// With a local interface: security groups or lists filter it (frames go to acl-ingress).
  public static let filtered: UInt32 = 1 << 26
  /// With `router`: frames for this MAC are routed even when they come out of a tunnel (a
  /// DRG attachment's or an RPC's, on the DRG's gateway node).
  public static let transit: UInt32 = 1 << 25
  public static let interfaceMask: UInt32 = 0xffff
  @inlinable public static func local(_ interface: Int) -> UInt32 { UInt32(interface) }
  @inlinable public static func tunnel(_ index: Int) -> UInt32 { remote | UInt32(index) }
}

/// What a worker polls: RX queues `firstQueue`, `firstQueue + queueStep`, … of `port`, those
/// below the port's queue count (a port with one queue: only when `firstQueue` is 0). A port
/// polled whole by one worker is `PollEntry(port)`; a port whose device spreads input over
/// its queues (RSS, an AF_PACKET fanout group) may be shared, worker w of W taking (w, W).
@frozen
public struct PollEntry: Sendable, Hashable {
  public var port: UInt16
  public var firstQueue: UInt8
  public var queueStep: UInt8
  public init(_ port: Int, firstQueue: Int = 0, queueStep: Int = 1) {
    self.port = UInt16(port)
    self.firstQueue = UInt8(firstQueue)
    self.queueStep = UInt8(queueStep)
  }
}

/// Everything a worker reads, published as one immutable snapshot through `RCUBox`:
/// the interface set (ports, what network each belongs to, which to poll), flood lists
/// per bridge domain, and the L2 table.
///
/// Thread safety: immutable after `init`. Workers read it without locks between two
/// quiescent states; the control thread builds it and `retire` frees its arrays after a
/// grace period. The `Port`s are not closed by `retire`: the control plane closes a port
/// once no published snapshot names it.
public final class DataplaneSnapshot: @unchecked Sendable {
  public let generation: UInt64
  public let l2: L2Table
  public let portCount: Int
  public let ports: UnsafeMutablePointer<Port>
  public let interfaces: UnsafeMutablePointer<InterfaceInfo>
  /// Worker w polls `poll[pollStart[w] ..< pollStart[w + 1]]`; each RX queue has one poller.
  public let workers: Int
  public let pollStart: UnsafeMutablePointer<Int>
  public let poll: UnsafeMutablePointer<PollEntry>
  /// Members of domain d are `floodMembers[floodStart[d] ..< floodStart[d + 1]]`.
  public let domainCount: Int
  public let floodStart: UnsafeMutablePointer<Int>
  public let floodMembers: UnsafeMutablePointer<UInt16>
  /// Underlay, tunnels, decap and ARP-responder tables (see `OverlayTables`).
  public let overlay: OverlayTables
  /// Router interfaces, VRFs, FIB, neighbours (see `RoutingTables`).
  public let routing: RoutingTables
  /// Uplink, external gateways, hosted floating IPs (see `ExternalTables`).
  public let external: ExternalTables
  /// Security groups and lists (see `ACLTables`).
  public let acl: ACLTables
  /// Operator flows at each interface's ingress (see `FlowTables`).
  public let flows: FlowTables
  /// Per-entry hit counters of this snapshot's tables (`dump-flows`), one block per worker,
  /// written by that worker only: packets and bytes of L2 slot s at [2s, 2s + 1], of FIB
  /// entry f at `fibHitBase + 2f`, of neighbour slot n at `neighborHitBase + 2n`. They live
  /// as long as the snapshot: the control thread adds them up when it retires it.
  public let hits: UnsafeMutablePointer<CounterBlock>
  public let hitBlocks: Int
  public let fibHitBase: Int
  public let neighborHitBase: Int

  /// - Parameters:
  ///   - interfaces: one per port, same order.
  ///   - poll: per worker, the ports (and queues) it polls for input.
  ///   - domains: how many bridge domains (1…domains) exist.
  ///   - overlay: the underlay and tunnels; the default is no overlay.
  public init(generation: UInt64, ports: [Port], interfaces: [InterfaceInfo], poll: [[PollEntry]], domains: Int,
              l2: [(domain: UInt16, mac: MACAddress, value: UInt32)], overlay: OverlayConfig = OverlayConfig(),
              routing: RoutingConfig = RoutingConfig(), external: ExternalConfig = ExternalConfig(), acl: ACLConfig = ACLConfig(),
              flows: [[FlowEntry]] = []) {
    precondition(ports.count == interfaces.count && ports.count <= Int(UInt16.max))
    self.generation = generation
    self.l2 = L2Table(l2)
    portCount = ports.count
    self.ports = .allocate(capacity: max(ports.count, 1))
    self.ports.initialize(from: ports, count: ports.count)
    self.interfaces = .allocate(capacity: max(ports.count, 1))
    self.interfaces.initialize(from: interfaces, count: interfaces.count)
    workers = poll.count
    pollStart = .allocate(capacity: poll.count + 1)
    let flat = poll.flatMap { $0 }
    self.poll = .allocate(capacity: max(flat.count, 1))
    self.poll.initialize(from: flat, count: flat.count)
    var at = 0
    for (w, list) in poll.enumerated() {
      pollStart[w] = at
      at += list.count
    }
    pollStart[poll.count] = at
    domainCount = domains
    floodStart = .allocate(capacity: domains + 2)
    var members: [UInt16] = []
    for d in 0...domains {
      floodStart[d] = members.count
      if d > 0 {
        for (i, info) in interfaces.enumerated() where Int(info.domain) == d { members.append(UInt16(i)) }
      }
    }
    floodStart[domains + 1] = members.count
    floodMembers = .allocate(capacity: max(members.count, 1))
    floodMembers.initialize(from: members, count: members.count)
    self.overlay = OverlayTables(overlay, domains: domains)
    self.routing = RoutingTables(routing, domains: domains)
    self.external = ExternalTables(external, routing: routing)
    self.acl = ACLTables(acl, interfaces: ports.count)
    self.flows = FlowTables(flows, interfaces: ports.count)
    fibHitBase = 2 * self.l2.table.capacity
    neighborHitBase = fibHitBase + 2 * self.routing.fibCount
    hitBlocks = max(poll.count, 1)
    hits = .allocate(capacity: hitBlocks)
    for w in 0..<hitBlocks { (hits + w).initialize(to: CounterBlock(count: neighborHitBase + 2 * self.routing.neighbors.capacity)) }
  }

  /// An empty data plane: no ports.
  public convenience init() {
    self.init(generation: 0, ports: [], interfaces: [], poll: [[]], domains: 0, l2: [])
  }

  /// Frees the snapshot's arrays (not its ports). `RCUBox` calls it after the grace period.
  public static let retire: @Sendable (DataplaneSnapshot) -> Void = { s in
    s.l2.destroy()
    s.ports.deinitialize(count: s.portCount)
    s.ports.deallocate()
    s.interfaces.deallocate()
    s.poll.deallocate()
    s.pollStart.deallocate()
    s.floodStart.deallocate()
    s.floodMembers.deallocate()
    s.overlay.destroy()
    s.routing.destroy()
    s.external.destroy()
    s.acl.destroy()
    s.flows.destroy()
    for w in 0..<s.hitBlocks { s.hits[w].destroy() }
    s.hits.deinitialize(count: s.hitBlocks)
    s.hits.deallocate()
  }

  /// Packets and bytes counted for hit counter pair `i` (an index from the layout above),
  /// summed over workers. Any thread.
  public func hitTotals(_ i: Int) -> (packets: UInt64, bytes: UInt64) {
    var p: UInt64 = 0, b: UInt64 = 0
    for w in 0..<hitBlocks {
      p &+= hits[w].read(i)
      b &+= hits[w].read(i + 1)
    }
    return (p, b)
  }
}
