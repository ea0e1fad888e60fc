import Buffers
import Tables
import Wire

/// What the control plane says about routing, in plain values: router interfaces, each
/// VRF's routes (into `fib`), neighbours (VM IPs → MAC and where that MAC is), and the DVR
/// MACs of this and other nodes. `RoutingTables` turns it into the tables workers read.
public struct RoutingConfig: Sendable {
  public struct Interface: Sendable {
    public var vrf: Int
    public var domain: UInt16
    public var address: IPv4Address
    public var mac: MACAddress
    public var mtu: Int
    /// The lookup table of packets entering through this interface: its subnet's route
    /// table, or (nil) the router's main table, `vrf`.
    public var table: Int?
    public init(vrf: Int, domain: UInt16, address: IPv4Address, mac: MACAddress, mtu: Int, table: Int? = nil) {
      self.table = table
      self.vrf = vrf
      self.domain = domain
      self.address = address
      self.mac = mac
      self.mtu = mtu
    }
  }
  /// A forwarding entry: out of `interface`, to `gateway` (nil: connected, to the destination
  /// itself); or, with `interface` = `RoutingTables.crossing`, on to lookup table `table` (a
  /// peering crossing); or `RoutingTables.unreachable` / `.peeringDown` (dropped).
  public struct FIBEntry: Sendable {
    public var interface: Int
    public var gateway: IPv4Address?
    public var table: Int?
    /// An adjacency the compiler knows itself (a DRG attachment's MAC and tunnel).
    public var neighbor: UInt64?
    public init(interface: Int, gateway: IPv4Address?, table: Int? = nil, neighbor: UInt64? = nil) {
      self.neighbor = neighbor
      self.interface = interface
      self.gateway = gateway
      self.table = table
    }
  }
  /// Router interfaces by index; nil is an unused index (the compiler keeps indices stable,
  /// so a removed interface leaves a hole that nothing refers to).
  public var interfaces: [Interface?] = []
  /// Routes of lookup table v (`LPM4.Route.nextHop` indexes `fib`). Table v < the number of
  /// routers is router v's main table (its VRF); past them come the route tables' own
  /// (`Peering.swift` in Control), each belonging to the router `tableVRF` names.
  public var vrfRoutes: [[LPM4.Route]] = []
  /// The router (VRF) of each lookup table past the main ones (index − `vrfRoutes` main count
  /// is not used: tables without an entry here are their own VRF).
  public var tableVRF: [Int: Int] = [:]
  /// FIB entries by index; nil is an unused index (no route refers to it).
  public var fib: [FIBEntry?] = []
  /// (bridge domain, IPv4) → MAC and the L2 value where that MAC is (local interface or tunnel).
  public var neighbors: [(domain: UInt16, ip: IPv4Address, mac: MACAddress, l2: UInt32)] = []
  /// Other nodes' DVR host MACs.
  public var remoteDVRMACs: [MACAddress] = []
  /// This node's DVR host MAC: the source of frames it routes onto the overlay.
  public var localDVRMAC = MACAddress.zero
  public init() {}

  /// Adds a router interface to VRF `vrf` with its connected route (`address` with the
  /// subnet's `prefixLength`). Returns the interface's index.
  @discardableResult
  public mutating func addInterface(vrf: Int, domain: UInt16, address: IPv4Address, prefixLength: Int, mac: MACAddress,
                                    mtu: Int) -> Int {
    interfaces.append(Interface(vrf: vrf, domain: domain, address: address, mac: mac, mtu: mtu))
    addRoute(vrf: vrf, prefix: address, length: prefixLength, interface: interfaces.count - 1, gateway: nil)
    return interfaces.count - 1
  }

  /// Adds a route of VRF `vrf`: `prefix/length` out of `interface`, via `gateway` (nil: connected).
  public mutating func addRoute(vrf: Int, prefix: IPv4Address, length: Int, interface: Int, gateway: IPv4Address?) {
    while vrfRoutes.count <= vrf { vrfRoutes.append([]) }
    fib.append(FIBEntry(interface: interface, gateway: gateway))
    vrfRoutes[vrf].append(LPM4.Route(prefix: prefix, length: length, nextHop: fib.count - 1))
  }

  /// Adds the default route of a router with an external gateway: 0.0.0.0/0 to the external
  /// network (ip4-external picks floating IP or SNAT per packet).
  public mutating func addExternalRoute(vrf: Int) {
    while vrfRoutes.count <= vrf { vrfRoutes.append([]) }
    fib.append(FIBEntry(interface: Int(RoutingTables.external), gateway: nil))
    vrfRoutes[vrf].append(LPM4.Route(prefix: IPv4Address(0), length: 0, nextHop: fib.count - 1))
  }

  /// Puts router interface `index` (growing the array with holes as needed).
  public mutating func setInterface(_ index: Int, _ i: Interface) {
    while interfaces.count <= index { interfaces.append(nil) }
    interfaces[index] = i
  }

  /// Puts FIB entry `index` and its route `prefix/length` in VRF `vrf`.
  public mutating func setRoute(_ index: Int, vrf: Int, prefix: IPv4Address, length: Int, entry: FIBEntry) {
    while vrfRoutes.count <= vrf { vrfRoutes.append([]) }
    while fib.count <= index { fib.append(nil) }
    fib[index] = entry
    vrfRoutes[vrf].append(LPM4.Route(prefix: prefix, length: length, nextHop: index))
  }

  /// The L2 entries that send frames for each interface's gateway MAC to the router.
  public var gatewayL2Entries: [(domain: UInt16, mac: MACAddress, value: UInt32)] {
    // DRG attachments (no address) get their own entries where their DRG runs.
    interfaces.enumerated().compactMap { i, f in f.flatMap { $0.address.value == 0 ? nil : ($0.domain, $0.mac, L2Value.router | UInt32(i)) } }
  }
}

/// A router interface as workers read it (24 bytes).
@frozen
public struct RouterInterfaceInfo {
  public var address: UInt32
  public var domain: UInt16
  public var vrf: UInt16
  public var mac: MACAddress
  @usableFromInline var mtu32: UInt32
  /// The lookup table (`RoutingTables.vrfs` index) of packets entering here.
  public var table: UInt16
  /// The interface's MTU (kept in 32 bits so that the entry stays 24 bytes).
  @inlinable public var mtu: Int { Int(mtu32) }
  public init(address: UInt32, domain: UInt16, vrf: UInt16, mac: MACAddress, mtu: Int, table: UInt16) {
    self.address = address
    self.domain = domain
    self.vrf = vrf
    self.mac = mac
    self.mtu32 = UInt32(clamping: mtu)
    self.table = table
  }
}

/// The flat routing tables of one snapshot, read by ip4-lookup, ip4-local,
/// icmp-error and vxlan-input (DVR MAC restore).
///
/// Thread safety: immutable once built; freed by `destroy` after a grace period.
@frozen
public struct RoutingTables: @unchecked Sendable {
  /// Neighbour value: MAC in bits 0…47, where-to in bits 48…63 (bit 63 tunnel, else local
  /// interface; bit 62 the interface is filtered; the low 14 bits are the index).
  public static let neighborTunnel: UInt64 = 1 << 63
  /// Neighbour value: the local interface is filtered by security groups or lists.
  public static let neighborFiltered: UInt64 = 1 << 62
  /// `fibInterface` of a route to the external network.
  public static let external: UInt16 = 0xffff
  /// `fibInterface` of a receive entry: a /32 of an address the router owns (VPP's
  /// receive DPO), delivered to ip4-local.
  public static let receive: UInt16 = 0xfffe
  /// `fibInterface` of a peering crossing: look the destination up again in lookup table
  /// `fibGateway` (the peer LPG's router). At most `maxCrossings` per packet.
  public static let crossing: UInt16 = 0xfffd
  /// `fibInterface` of an address in a router's own CIDR blocks but on none of its
  /// subnets: local, and no route (`ip4-no-route`).
  public static let unreachable: UInt16 = 0xfffc
  /// `fibInterface` of a route to an LPG that is not peered (`peering-down`).
  public static let peeringDown: UInt16 = 0xfffb
  /// Every `fibInterface` from here up is one of the special ones above.
  public static let firstSpecial: UInt16 = 0xfffb
  /// Peering crossings one lookup may take; a longer chain is a loop (`peering-loop`).
  public static let maxCrossings = 8
  public let interfaces: UnsafeMutablePointer<RouterInterfaceInfo>
  public let interfaceCount: Int
  /// Router interface of each bridge domain, or -1.
  public let domainInterface: UnsafeMutablePointer<Int32>
  public let vrfs: UnsafeMutablePointer<LPM4>
  public let vrfCount: Int
  /// FIB entries: (interface, gateway IP or 0 for connected), and for an adjacency entry
  /// the neighbour value itself (else 0: look the neighbour up). Entries past the
  /// compiler's are adjacencies: a /32 per neighbour whose best route is the connected
  /// route of its own network (VPP's adj-fib), so that ip4-lookup's LPM result is the
  /// rewrite and a routed packet needs no neighbour hash lookup. They never beat a route
  /// the operator gave (a static /32, or a more specific route via a gateway). Then one
  /// receive entry (`receive`) per router address: its /32 in the router's VRF, which beats
  /// every other route (the address is the router's own), so ip4-lookup finds packets for
  /// the router itself and ip4-input needs no lookup of its own.
  public let fibInterface: UnsafeMutablePointer<UInt16>
  public let fibGateway: UnsafeMutablePointer<UInt32>
  public let fibNeighbor: UnsafeMutablePointer<UInt64>
  /// FIB entries in all (the compiler's, then adjacencies, then receive entries).
  public let fibCount: Int
  /// What each FIB entry past the compiler's stands for (`dump-flows`; control thread):
  /// an adjacency `adjacencyOrigin | neighbour key`, a receive entry `receiveOrigin | vrf << 32
  /// | address`; 0 for the compiler's own entries (named by `IndexAssignment.fib`).
  public let fibOrigin: UnsafeMutablePointer<UInt64>
  public static let adjacencyOrigin: UInt64 = 1 << 63
  public static let receiveOrigin: UInt64 = 1 << 62
  public let neighbors: ExactTable
  public let remoteDVRMACs: ExactTable
  public let localDVRMAC: MACAddress
  /// The smallest MTU of any router interface (Int.max without one): a packet no longer
  /// than this fits every egress, so the per-packet egress lookup can be skipped.
  public let minMTU: Int

  /// The MTU of the interface a packet to `ip` in `vrf` leaves on (the external network's
  /// for the default route to it); nil without a route.
  @inlinable
  public func egressMTU(vrf: UInt16, ip: UInt32, uplinkMTU: Int) -> Int? {
    let fib = vrfs[Int(vrf)].lookup(ip)
    guard fib >= 0 else { return nil }
    let i = fibInterface[Int(fib)]
    if i < Self.firstSpecial { return interfaces[Int(i)].mtu }
    return i == Self.external ? uplinkMTU : i == Self.receive ? Int.max : nil   // crossings and drops: not a path here
  }

  /// The FIB entry a lookup of `destination` in `table` ends on after following peering
  /// crossings (`crossing` entries), counting each entry it passes, the first one
  /// excluded, in `hits` at `fibHitBase` (nil: not counted); -1 without a route (or when it
  /// ends at the peer's external gateway), -2 when the chain is longer than `maxCrossings`
  /// (a loop). Any worker; `fib` is the first
  /// lookup's result, a `crossing` entry.
  @inlinable
  public func crossPeerings(from fib: Int, destination: UInt32, length: Int, hits: CounterBlock?, fibHitBase: Int) -> Int {
    var fib = fib
    for _ in 0..<Self.maxCrossings {
      fib = Int(vrfs[Int(fibGateway[fib])].lookup(destination))
      guard fib >= 0 else { return -1 }
      if let hits {
        hits.add(fibHitBase &+ fib &* 2, 1)
        hits.add(fibHitBase &+ fib &* 2 &+ 1, UInt64(length))
      }
      let target = fibInterface[fib]
      // No transit to the external network: the peer's gateway would translate another
      // router's addresses (OCI refuses an internet gateway as a transit target as well).
      if target == Self.external { return -1 }
      if target != Self.crossing { return fib }
    }
    return -2
  }

  /// The FIB entry for `destination` looked up in `table`, peerings followed: -1 without a
  /// route, -2 in a loop. Control thread and tests.
  public func resolve(table: Int, destination: IPv4Address) -> Int {
    let fib = Int(vrfs[table].lookup(destination.value))
    guard fib >= 0, fibInterface[fib] == Self.crossing else { return fib }
    return crossPeerings(from: fib, destination: destination.value, length: 0, hits: nil, fibHitBase: 0)
  }

  @inlinable @inline(__always)
  public static func neighborKey(domain: UInt16, ip: UInt32) -> UInt64 { UInt64(domain) << 32 | UInt64(ip) }

  public init(_ c: RoutingConfig, domains: Int) {
    interfaceCount = c.interfaces.count
    interfaces = .allocate(capacity: max(c.interfaces.count, 1))
    for (i, f) in c.interfaces.enumerated() {
      // A hole: never referred to (no L2 entry, route or domain names it).
      let f = f ?? RoutingConfig.Interface(vrf: 0, domain: 0, address: IPv4Address(0), mac: .zero, mtu: Int.max)
      (interfaces + i).initialize(to: RouterInterfaceInfo(address: f.address.value, domain: f.domain, vrf: UInt16(f.vrf), mac: f.mac,
                                                          mtu: f.mtu, table: UInt16(f.table ?? f.vrf)))
    }
    domainInterface = .allocate(capacity: domains + 1)
    domainInterface.initialize(repeating: -1, count: domains + 1)
    for (i, f) in c.interfaces.enumerated() {
      if let f, Int(f.domain) <= domains { domainInterface[Int(f.domain)] = Int32(i) }
    }
    vrfCount = c.vrfRoutes.count
    let routes = c.vrfRoutes
    var fibIface = c.fib.map { UInt16(truncatingIfNeeded: $0?.interface ?? 0) }
    var fibGw = c.fib.map { $0.map { f in f.table.map { UInt32($0) } ?? f.gateway?.value ?? 0 } ?? 0 }
    let tableVRF = (0..<c.vrfRoutes.count).map { c.tableVRF[$0] ?? $0 }
    var fibAdj = c.fib.map { $0?.neighbor ?? 0 }
    var origin = [UInt64](repeating: 0, count: c.fib.count)
    let neighborValues = c.neighbors.map { n -> (domain: UInt16, ip: UInt32, value: UInt64) in
      let tunnel = n.l2 & L2Value.remote != 0
      let index = UInt64(n.l2 & 0x3fff)
      return (n.domain, n.ip.value,
              n.mac.rawValue | index << 48 | (tunnel ? Self.neighborTunnel : 0) | (n.l2 & L2Value.filtered != 0 ? Self.neighborFiltered : 0))
    }
    // Adjacencies: where a table's routes send a neighbour's address to its own network's
    // connected route, a /32 with the neighbour value (one FIB entry per neighbour, shared
    // by every table of its router). Then receive entries: the router's own addresses,
    // replacing any other /32 to them, in every lookup table of the router (one entry each,
    // shared by the tables). Each table is built once: painted from its routes, then
    // refined with these host routes.
    var adjacency: [UInt64: Int] = [:]
    var receiveEntry: [Int: [(address: UInt32, fib: Int)]] = [:]
    for f in c.interfaces.compactMap({ $0 }) where f.vrf < routes.count && f.address.value != 0 {   // DRG attachments have none
      fibIface.append(Self.receive)
      fibGw.append(0)
      fibAdj.append(0)
      origin.append(Self.receiveOrigin | UInt64(f.vrf) << 32 | UInt64(f.address.value))
      receiveEntry[f.vrf, default: []].append((f.address.value, fibIface.count - 1))
    }
    var neighborsOfVRF: [Int: [(domain: UInt16, ip: UInt32, value: UInt64, interface: Int)]] = [:]
    for n in neighborValues where Int(n.domain) <= domains && domainInterface[Int(n.domain)] >= 0 {
      let i = Int(domainInterface[Int(n.domain)])
      neighborsOfVRF[Int(interfaces[i].vrf), default: []].append((n.domain, n.ip, n.value, i))
    }
    vrfs = .allocate(capacity: max(vrfCount, 1))
    for (v, r) in routes.enumerated() {
      var table = LPM4.Builder(r)
      for n in neighborsOfVRF[tableVRF[v]] ?? [] {
        let f = table.lookup(n.ip)
        guard f >= 0, fibGw[f] == 0, Int(fibIface[f]) == n.interface else { continue }
        let key = Self.neighborKey(domain: n.domain, ip: n.ip)
        let entry = adjacency[key] ?? {
          fibIface.append(UInt16(n.interface))
          fibGw.append(0)
          fibAdj.append(n.value)
          origin.append(Self.adjacencyOrigin | key)
          adjacency[key] = fibIface.count - 1
          return fibIface.count - 1
        }()
        table.setHost(n.ip, nextHop: entry)
      }
      for e in receiveEntry[tableVRF[v]] ?? [] { table.setHost(e.address, nextHop: e.fib) }
      (vrfs + v).initialize(to: table.finish())
    }
    fibInterface = .allocate(capacity: max(fibIface.count, 1))
    fibInterface.initialize(from: fibIface, count: fibIface.count)
    fibGateway = .allocate(capacity: max(fibGw.count, 1))
    fibGateway.initialize(from: fibGw, count: fibGw.count)
    fibNeighbor = .allocate(capacity: max(fibAdj.count, 1))
    fibNeighbor.initialize(from: fibAdj, count: fibAdj.count)
    fibCount = fibIface.count
    fibOrigin = .allocate(capacity: max(origin.count, 1))
    fibOrigin.initialize(from: origin, count: origin.count)
    neighbors = ExactTable(neighborValues.map { (Self.neighborKey(domain: $0.domain, ip: $0.ip), $0.value) })
    remoteDVRMACs = ExactTable(c.remoteDVRMACs.map { ($0.rawValue | 1 << 63, 1) })
    localDVRMAC = c.localDVRMAC
    minMTU = c.interfaces.compactMap { $0?.mtu }.min() ?? Int.max
  }

  public func destroy() {
    interfaces.deallocate()
    domainInterface.deallocate()
    for v in 0..<vrfCount { vrfs[v].destroy() }
    vrfs.deallocate()
    fibInterface.deallocate()
    fibGateway.deallocate()
    fibNeighbor.deallocate()
    fibOrigin.deallocate()
    neighbors.destroy()
    remoteDVRMACs.destroy()
  }
}
